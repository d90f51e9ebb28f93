//! Counters of the one compile path, readable as a plain struct.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Statistics of an engine or session (`JitcoreStatistics` in C).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Modules compiled from IR (cache hits not counted).
    pub modules_compiled: u64,
    /// Function definitions in the modules compiled.
    pub functions_compiled: u64,
    /// Objects handed to the linker: compiled, from the cache, or added by the host.
    pub objects_loaded: u64,
    /// Modules whose object came from the object cache.
    pub cache_hits: u64,
    /// Modules the object cache had nothing for.
    pub cache_misses: u64,
    /// Cache results that were not valid objects for the module and were ignored.
    pub cache_rejected: u64,
    /// Bytes of object code emitted to the linker so far.
    pub object_bytes_emitted: u64,
    /// Materializations that failed (compile or link errors).
    pub materialization_failures: u64,
    /// Bytes of jitted code and data currently loaded (what removing
    /// everything would free).
    pub code_bytes_live: u64,
}

#[derive(Default)]
pub struct Stats {
    pub modules_compiled: AtomicU64,
    pub functions_compiled: AtomicU64,
    pub objects_loaded: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub cache_rejected: AtomicU64,
    pub object_bytes: AtomicU64,
    pub failures: AtomicU64,
    pub live_bytes: AtomicU64,
}

impl Stats {
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Relaxed);
    }

    pub fn snapshot(&self) -> Statistics {
        Statistics {
            modules_compiled: self.modules_compiled.load(Relaxed),
            functions_compiled: self.functions_compiled.load(Relaxed),
            objects_loaded: self.objects_loaded.load(Relaxed),
            cache_hits: self.cache_hits.load(Relaxed),
            cache_misses: self.cache_misses.load(Relaxed),
            cache_rejected: self.cache_rejected.load(Relaxed),
            object_bytes_emitted: self.object_bytes.load(Relaxed),
            materialization_failures: self.failures.load(Relaxed),
            code_bytes_live: self.live_bytes.load(Relaxed),
        }
    }
}
