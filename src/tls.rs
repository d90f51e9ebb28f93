//! The per-thread storage of lowered thread-local variables (see
//! `llvm/tls.rs` for the lowering and the entry point jitted code calls).
//!
//! Each variable gets an id on its first access; each thread keeps its own
//! copy of each variable it used, made from the variable's initial value on
//! that thread's first access. A thread's copies are freed when it exits
//! (after the C++ `thread_local` destructors that were registered after its
//! first access, which run first). Removing the code of a variable
//! ([`release`]) frees the calling thread's copy at once and every other
//! thread's on its next access of any thread-local, or at its exit.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Released ids not yet dropped by every thread, and a counter of releases
/// (a thread whose last seen count differs sweeps its copies).
static RELEASED: Mutex<Vec<u64>> = Mutex::new(Vec::new());
static RELEASES: AtomicU64 = AtomicU64::new(0);

/// Ids are small integers, unique: hashing them is the identity.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One thread's copy of one variable: `size` bytes at an `align`ed offset.
struct Copy {
    buf: Vec<u8>,
    offset: usize,
}

#[derive(Default)]
struct ThreadCopies {
    copies: HashMap<u64, Copy, BuildHasherDefault<IdHasher>>,
    seen_releases: u64,
}

thread_local! {
    static COPIES: RefCell<ThreadCopies> = RefCell::new(ThreadCopies::default());
}

/// A new variable id (never 0, never reused).
pub fn new_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

fn new_copy(size: usize, align: usize, init: Option<&[u8]>) -> Copy {
    let align = align.max(1);
    let mut buf = vec![0u8; size.max(1) + align];
    let offset = buf.as_ptr().align_offset(align).min(align);
    if let Some(init) = init {
        buf[offset..offset + size].copy_from_slice(&init[..size]);
    }
    Copy { buf, offset }
}

/// The address of this thread's copy of variable `id` (`size` bytes aligned
/// to `align`, first set from `init`, zeros without).
pub fn address(id: u64, size: usize, align: usize, init: Option<&[u8]>) -> *mut u8 {
    let found = COPIES.try_with(|c| {
        let mut c = c.borrow_mut();
        let releases = RELEASES.load(Ordering::Acquire);
        if c.seen_releases != releases {
            c.seen_releases = releases;
            let released = RELEASED.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let freed = released.iter().filter_map(|r| c.copies.remove(r)).map(|copy| copy.buf.len()).sum();
            return_to_system(freed);
        }
        let copy = c.copies.entry(id).or_insert_with(|| new_copy(size, align, init));
        // A pointer into the copy's buffer, which stays put (the Vec is
        // never resized) until the copy is dropped (thread exit or release).
        copy.buf[copy.offset..].as_mut_ptr()
    });
    match found {
        Ok(p) => p,
        // The thread is exiting and its copies are gone (a destructor ran
        // after them): a copy that lives until the process ends.
        Err(_) => {
            let copy = Box::leak(Box::new(new_copy(size, align, init)));
            copy.buf[copy.offset..].as_mut_ptr()
        }
    }
}

/// The code of variables `ids` was removed: their copies are freed (this
/// thread's now, the others' on their next access or at their exit).
pub fn release(ids: &[u64]) {
    let ids: Vec<u64> = ids.iter().copied().filter(|&i| i != 0).collect();
    if ids.is_empty() {
        return;
    }
    {
        let mut released = RELEASED.lock().unwrap_or_else(|p| p.into_inner());
        let known: HashSet<u64> = released.iter().copied().collect();
        released.extend(ids.iter().filter(|i| !known.contains(i)));
    }
    RELEASES.fetch_add(1, Ordering::AcqRel);
    let freed = COPIES
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut c) => ids.iter().filter_map(|i| c.copies.remove(i)).map(|copy| copy.buf.len()).sum(),
            Err(_) => 0,
        })
        .unwrap_or(0);
    return_to_system(freed);
}

/// Large copies are freed into malloc's arenas, which keep the pages: give
/// them back to the system when much was freed (a removal is rare next to
/// accesses, so this costs little), so removed code's storage really goes.
fn return_to_system(freed: usize) {
    if freed >= 64 * 1024 {
        crate::platform::release_free_memory();
    }
}

/// How many variable copies this thread holds (for tests).
#[cfg(test)]
fn copies_here() -> usize {
    COPIES.with(|c| c.borrow().copies.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_has_its_own_copy_from_the_initial_value() {
        let id = new_id();
        let init = 42u32.to_ne_bytes();
        let p = address(id, 4, 4, Some(&init)) as usize;
        assert_eq!(p % 4, 0);
        // SAFETY: p is this thread's 4-byte, aligned copy.
        unsafe { *(p as *mut u32) = 7 };
        assert_eq!(address(id, 4, 4, Some(&init)) as usize, p);
        let other = std::thread::spawn(move || {
            let q = address(id, 4, 4, Some(&init));
            // SAFETY: as above, on the other thread.
            (q as usize, unsafe { *(q as *const u32) })
        })
        .join()
        .unwrap();
        assert_ne!(other.0, p);
        assert_eq!(other.1, 42);
        // SAFETY: p is still this thread's copy.
        assert_eq!(unsafe { *(p as *const u32) }, 7);
        let big = address(new_id(), 64, 64, None) as usize;
        assert_eq!(big % 64, 0);
    }

    #[test]
    fn released_copies_are_freed() {
        let ids: Vec<u64> = (0..10).map(|_| new_id()).collect();
        let before = copies_here();
        for &id in &ids {
            address(id, 8, 8, None);
        }
        assert_eq!(copies_here(), before + 10);
        release(&ids);
        assert_eq!(copies_here(), before);
    }
}
