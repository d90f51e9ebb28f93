//! The linked-address table: the addresses lookups already found, answered
//! before ORC is asked.
//!
//! A lookup of a symbol that is compiled and linked costs ORC an
//! asynchronous query (a session-wide lock, a condition variable, several
//! allocations) though nothing is left to do. So each dylib keeps the names
//! its lookups found, with their addresses, and a lookup of a name found
//! before is answered from that table.
//!
//! Exactness. Every answer is tagged with the session's *epoch*, and only
//! an answer of the current epoch is used. Every structural change of the
//! session (adding a module, object, materializer or symbol source,
//! defining absolute symbols, removing or resetting code, changing a link
//! order) moves the epoch on when it starts and again when it ends
//! (`Session::lock_changes`, which every such change takes): after a change
//! no earlier answer is used, whatever the change did (removed the code,
//! defined the name again earlier in a link order, ...), and a lookup that
//! overlapped a change (it read the epoch before the change ended) records
//! nothing, since its answer may predate the change. Only a lookup that
//! compiles nothing and overlaps nothing is answered here; everything else
//! goes to ORC as before.
//!
//! Concurrency. Readers take one of [`SHARDS`] reader-writer locks, chosen
//! by the name's hash, for reading: concurrent lookups never wait for each
//! other. Writers (a lookup recording what ORC found) take one shard for
//! writing.
//!
//! Memory. A shard holds the answers of one epoch: the first answer of a
//! newer epoch empties it. So the tables hold at most what lookups found
//! since the last change, never an entry per name ever looked up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use crate::fasthash::{hash_bytes, FastBuild};

/// Shards per dylib (a power of two).
const SHARDS: usize = 16;

/// The session's epoch (see the module docs).
#[derive(Default)]
pub struct Epoch(AtomicU64);

impl Epoch {
    #[inline]
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Moves the epoch on (at the start and at the end of every change).
    pub fn advance(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// One shard: the answers of epoch `epoch`, by name.
#[derive(Default)]
struct Answers {
    epoch: u64,
    addresses: HashMap<Box<[u8]>, u64, FastBuild>,
}

/// A shard on a cache line of its own, so readers of different shards do
/// not contend.
#[derive(Default)]
#[repr(align(64))]
struct Shard(RwLock<Answers>);

/// A dylib's table.
pub struct LinkedTable {
    shards: Box<[Shard]>,
}

impl Default for LinkedTable {
    fn default() -> Self {
        LinkedTable { shards: (0..SHARDS).map(|_| Shard::default()).collect() }
    }
}

impl LinkedTable {
    #[inline]
    fn shard(&self, name: &[u8]) -> &Shard {
        &self.shards[(hash_bytes(name) as usize) & (SHARDS - 1)]
    }

    /// The address a lookup of `name` found in `epoch`, if one did. Names
    /// are bytes: a C host's name is answered before it is checked to be
    /// UTF-8 (a name that is not was never recorded).
    #[inline]
    pub fn get(&self, name: &[u8], epoch: u64) -> Option<u64> {
        let answers = self.shard(name).0.read().unwrap_or_else(|p| p.into_inner());
        if answers.epoch != epoch {
            return None;
        }
        answers.addresses.get(name).copied()
    }

    /// Records what a lookup that started in epoch `started` found, unless
    /// the epoch moved on since (the answer may then be out of date).
    /// Address 0 is never recorded (it is not an answer a lookup can give
    /// twice: see `Engine::lookup`).
    pub fn record(&self, epoch: &Epoch, started: u64, name: &str, address: u64) {
        if address == 0 {
            return;
        }
        let mut answers = self.shard(name.as_bytes()).0.write().unwrap_or_else(|p| p.into_inner());
        // Read under the shard's lock: a change that ends after this check
        // moves the epoch on, and the entry is never used.
        if epoch.current() != started {
            return;
        }
        if answers.epoch != started {
            answers.epoch = started;
            answers.addresses.clear();
            answers.addresses.shrink_to(64);
        }
        answers.addresses.insert(name.as_bytes().into(), address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_last_one_epoch() {
        let epoch = Epoch::default();
        let table = LinkedTable::default();
        let e = epoch.current();
        table.record(&epoch, e, "f", 0x1000);
        table.record(&epoch, e, "g", 0);
        assert_eq!(table.get(b"f", e), Some(0x1000));
        assert_eq!(table.get(b"g", e), None, "0 is not recorded");
        assert_eq!(table.get(b"h", e), None);
        // A change: the old answer is not used.
        epoch.advance();
        epoch.advance();
        let e2 = epoch.current();
        assert_eq!(table.get(b"f", e2), None);
        // A lookup that started before the change records nothing.
        table.record(&epoch, e, "f", 0x2000);
        assert_eq!(table.get(b"f", e2), None);
        // One of the new epoch replaces the shard's old contents.
        table.record(&epoch, e2, "f", 0x3000);
        assert_eq!(table.get(b"f", e2), Some(0x3000));
    }

    #[test]
    fn many_names_and_threads() {
        let epoch = Epoch::default();
        let table = LinkedTable::default();
        let e = epoch.current();
        for i in 0..1000u64 {
            table.record(&epoch, e, &format!("f{i}"), 0x1000 + i);
        }
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..1000u64 {
                        assert_eq!(table.get(format!("f{i}").as_bytes(), e), Some(0x1000 + i));
                    }
                });
            }
        });
    }
}
