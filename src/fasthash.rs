//! A fast, non-cryptographic hash for the hot tables of lookups (symbol
//! names, handle addresses): the multiply-rotate hash of Firefox and rustc
//! (FxHash). Not resistant to chosen collisions, which is fine for tables
//! whose keys are the host's own names and pointers; std's SipHash costs
//! more than a whole cached lookup should.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The hasher; build maps with [`FastBuild`].
#[derive(Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("chunks of 8")));
        }
        // The last 1..7 bytes as one word, without a call to memcpy.
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let word = rest.iter().rev().fold(0u64, |w, &b| (w << 8) | b as u64);
            self.add(word);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `HashMap<K, V, FastBuild>` / `HashSet<K, FastBuild>` hash with [`FastHasher`].
pub type FastBuild = BuildHasherDefault<FastHasher>;

/// The hash of `bytes` alone (to pick a shard before the map hashes again).
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = FastHasher::default();
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_input_equal_hash_and_lengths_differ() {
        assert_eq!(hash_bytes(b"main"), hash_bytes(b"main"));
        assert_ne!(hash_bytes(b"f1"), hash_bytes(b"f2"));
        // A trailing zero byte is not the same name (str's Hash also
        // writes a terminator, so maps tell "a" from "a\0" either way).
        let set: std::collections::HashSet<&str, FastBuild> = ["a", "a\0", "b"].into_iter().collect();
        assert_eq!(set.len(), 3);
    }
}
