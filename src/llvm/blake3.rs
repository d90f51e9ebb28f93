//! BLAKE3, LLVM's implementation (`llvm-c/blake3.h`): the hash of module
//! contents and cache keys.

use std::mem::MaybeUninit;

use llvm_sys::blake3::*;

/// Bytes in a BLAKE3 digest as jitcore uses it.
pub(crate) const KEY_LEN: usize = 32;

/// An incremental BLAKE3 hash (LLVM's implementation).
pub struct Blake3(Box<llvm_blake3_hasher>);

impl Blake3 {
    pub fn new() -> Blake3 {
        let mut h = Box::new(MaybeUninit::<llvm_blake3_hasher>::uninit());
        // SAFETY: llvm_blake3_hasher_init initializes every field of the
        // hasher it is given (a plain C struct with no pointers).
        unsafe {
            llvm_blake3_hasher_init(h.as_mut_ptr());
            Blake3(Box::from_raw(Box::into_raw(h).cast::<llvm_blake3_hasher>()))
        }
    }

    pub fn update(&mut self, bytes: &[u8]) -> &mut Blake3 {
        if !bytes.is_empty() {
            // SAFETY: the hasher is initialized; the bytes are readable for the call.
            unsafe { llvm_blake3_hasher_update(&mut *self.0, bytes.as_ptr().cast(), bytes.len()) };
        }
        self
    }

    /// Hashes `bytes` prefixed by their length, so a sequence of fields
    /// hashes differently from any other sequence.
    pub fn field(&mut self, bytes: &[u8]) -> &mut Blake3 {
        self.update(&(bytes.len() as u64).to_le_bytes());
        self.update(bytes)
    }

    pub fn finish(&mut self) -> [u8; KEY_LEN] {
        let mut out = [0u8; KEY_LEN];
        // SAFETY: the hasher is initialized; out has KEY_LEN writable bytes.
        unsafe { llvm_blake3_hasher_finalize(&mut *self.0, out.as_mut_ptr(), out.len()) };
        out
    }
}

impl Clone for Blake3 {
    /// The same state, to go on from separately (a prefix hashed once,
    /// finished with several suffixes).
    fn clone(&self) -> Blake3 {
        let mut h = Box::new(MaybeUninit::<llvm_blake3_hasher>::uninit());
        // SAFETY: the hasher is a plain C struct (arrays and integers, no
        // pointers, nothing to release): BLAKE3's C API forks a hash by
        // copying the hasher, and the copy is fully initialized.
        unsafe {
            std::ptr::copy_nonoverlapping(&*self.0 as *const llvm_blake3_hasher, h.as_mut_ptr(), 1);
            Blake3(Box::from_raw(Box::into_raw(h).cast::<llvm_blake3_hasher>()))
        }
    }
}

impl Default for Blake3 {
    fn default() -> Blake3 {
        Blake3::new()
    }
}

/// BLAKE3 of `bytes` (the tests' reference).
#[cfg(test)]
pub fn blake3(bytes: &[u8]) -> [u8; KEY_LEN] {
    Blake3::new().update(bytes).finish()
}
