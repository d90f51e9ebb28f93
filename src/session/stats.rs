//! Counters of the one compile path, readable as a plain struct.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Statistics of an engine or session. A zeroed struct is valid; fields may
/// be added at the end in later versions.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitcoreStatistics {
    /// Modules compiled from IR (cache hits not counted).
    pub ModulesCompiled: u64,
    /// Function definitions in the modules compiled.
    pub FunctionsCompiled: u64,
    /// Objects handed to the linker: compiled, from the cache, or added by the host.
    pub ObjectsLoaded: u64,
    /// Modules whose object came from the object cache.
    pub CacheHits: u64,
    /// Modules the object cache had nothing for.
    pub CacheMisses: u64,
    /// Cache results that were not valid objects for the module and were ignored.
    pub CacheRejected: u64,
    /// Bytes of object code emitted to the linker so far.
    pub ObjectBytesEmitted: u64,
    /// Materializations that failed (compile or link errors).
    pub MaterializationFailures: u64,
    /// Bytes of jitted code and data currently loaded (what removing
    /// everything would free).
    pub CodeBytesLive: u64,
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

    pub fn snapshot(&self) -> JitcoreStatistics {
        JitcoreStatistics {
            ModulesCompiled: self.modules_compiled.load(Relaxed),
            FunctionsCompiled: self.functions_compiled.load(Relaxed),
            ObjectsLoaded: self.objects_loaded.load(Relaxed),
            CacheHits: self.cache_hits.load(Relaxed),
            CacheMisses: self.cache_misses.load(Relaxed),
            CacheRejected: self.cache_rejected.load(Relaxed),
            ObjectBytesEmitted: self.object_bytes.load(Relaxed),
            MaterializationFailures: self.failures.load(Relaxed),
            CodeBytesLive: self.live_bytes.load(Relaxed),
        }
    }
}
