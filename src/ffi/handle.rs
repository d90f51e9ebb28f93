//! Module handles are addresses of cells jitcore owns: real pointers (Go's
//! checkptr and sanitizers see valid addresses, never small integers), whose
//! memory is never freed, so a dead handle can always be looked up (and is
//! recognized as dead, never freed twice). A freed cell is reused only after
//! `QUARANTINE` other cells were freed, so a stale handle is recognized as
//! dead for at least that many later modules, and the cells' memory stays
//! bounded (about `QUARANTINE` cells) however many modules come and go.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Freed cells waiting before reuse.
const QUARANTINE: usize = 65_536;
/// Cells allocated at once.
const CHUNK: usize = 1024;

/// One handle's memory: what the address of a handle points to.
#[repr(C, align(16))]
struct Cell([u8; 16]);

struct Cells {
    free: Vec<usize>,
    quarantine: VecDeque<usize>,
}

static CELLS: Mutex<Cells> = Mutex::new(Cells { free: Vec::new(), quarantine: VecDeque::new() });

fn cells() -> std::sync::MutexGuard<'static, Cells> {
    CELLS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A new handle address (never 0, 16-byte aligned, in memory jitcore owns).
pub(crate) fn allocate() -> usize {
    let mut c = cells();
    if let Some(a) = c.free.pop() {
        return a;
    }
    // A chunk that lives as long as the process: handles may be used (and
    // must be recognized) at any time.
    let chunk: &'static mut [Cell] = Box::leak((0..CHUNK).map(|_| Cell([0; 16])).collect::<Vec<_>>().into_boxed_slice());
    let mut addrs: Vec<usize> = chunk.iter().map(|cell| cell as *const Cell as usize).collect();
    let first = addrs.remove(0);
    addrs.reverse();
    c.free.extend(addrs);
    first
}

/// The handle at `address` is dead: its cell is reused after the quarantine.
pub(crate) fn release(address: usize) {
    let mut c = cells();
    c.quarantine.push_back(address);
    if c.quarantine.len() > QUARANTINE {
        if let Some(a) = c.quarantine.pop_front() {
            c.free.push(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_aligned_distinct_and_not_reused_soon() {
        let a: Vec<usize> = (0..3000).map(|_| allocate()).collect();
        assert!(a.iter().all(|&x| x != 0 && x % 16 == 0));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), a.len());
        for &x in &a {
            release(x);
        }
        // Nothing freed above is handed out again before the quarantine.
        let b: Vec<usize> = (0..3000).map(|_| allocate()).collect();
        assert!(b.iter().all(|x| !a.contains(x)));
        for &x in &b {
            release(x);
        }
    }
}
