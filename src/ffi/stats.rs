//! Statistics: counters of an engine's or a session's compile path
//! (`JitcoreStatistics`) and of a disk cache (`JitcoreDiskCacheStatistics`),
//! copied out as plain structs. Reading them is thread-safe and never waits
//! for a compile.

use crate::cache::disk::DiskCacheStatistics;
use crate::session::stats::Statistics;

use super::cache::JitcoreObjectCacheRef;
use super::engine::{engine, JitcoreEngineRef};
use super::error::JitcoreErrorRef;
use super::session::{session, JitcoreSessionRef};
use super::{boundary, non_null, struct_size, write_sized};

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

impl From<Statistics> for JitcoreStatistics {
    fn from(s: Statistics) -> JitcoreStatistics {
        JitcoreStatistics {
            ModulesCompiled: s.modules_compiled,
            FunctionsCompiled: s.functions_compiled,
            ObjectsLoaded: s.objects_loaded,
            CacheHits: s.cache_hits,
            CacheMisses: s.cache_misses,
            CacheRejected: s.cache_rejected,
            ObjectBytesEmitted: s.object_bytes_emitted,
            MaterializationFailures: s.materialization_failures,
            CodeBytesLive: s.code_bytes_live,
        }
    }
}

/// Statistics of a disk cache. The counters are this cache handle's, since
/// it was created; `BytesOnDisk` and `Entries` describe the directory now,
/// whoever wrote it. A zeroed struct is valid; fields may be added at the
/// end in later versions.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitcoreDiskCacheStatistics {
    /// Lookups answered with a verified entry.
    pub Hits: u64,
    /// Lookups that found no usable entry (none, corrupt, or unreadable).
    pub Misses: u64,
    /// Entries written.
    pub Writes: u64,
    /// Entries that failed verification and were deleted (never loaded).
    pub CorruptDropped: u64,
    /// Entries deleted to keep the directory under the size cap.
    pub Evictions: u64,
    /// Bytes of entries in the directory now.
    pub BytesOnDisk: u64,
    /// Entries in the directory now.
    pub Entries: u64,
    /// I/O failures (directory not usable, write failed, disk full); the
    /// first one was reported through the error reporter.
    pub IOErrors: u64,
}

impl From<DiskCacheStatistics> for JitcoreDiskCacheStatistics {
    fn from(s: DiskCacheStatistics) -> JitcoreDiskCacheStatistics {
        JitcoreDiskCacheStatistics {
            Hits: s.hits,
            Misses: s.misses,
            Writes: s.writes,
            CorruptDropped: s.corrupt_dropped,
            Evictions: s.evictions,
            BytesOnDisk: s.bytes_on_disk,
            Entries: s.entries,
            IOErrors: s.io_errors,
        }
    }
}

/// Writes the engine's statistics (modules compiled, cache hits, ...) to
/// `Result`, a struct of `Size` bytes (the host's
/// `sizeof(JitcoreStatistics)`): only `Size` bytes are written, so a host
/// built against an older, smaller struct is not overrun (bytes past this
/// library's struct are zeroed). C hosts call it through the macro
/// `JitcoreEngineGetStatistics(EE, Result)`, which passes the size.
/// Errors: `INVALID_ARGUMENT` for NULL or a `Size` of 0 or over 64 KiB. Thread-safe (not with
/// `JitcoreDisposeEngine`); counters are read one by one, so a snapshot taken
/// while other threads compile may be a moment apart between fields.
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineGetStatisticsSized(
    EE: JitcoreEngineRef,
    Result: *mut JitcoreStatistics,
    Size: usize,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: EE is a live engine handle.
        let engine = unsafe { engine(EE)? };
        non_null(Result, "Result")?;
        let size = struct_size(Size, "JitcoreStatistics")?;
        // SAFETY: Result was checked non-NULL and has Size writable bytes.
        unsafe { write_sized(Result, JitcoreStatistics::from(engine.statistics()), size) };
        Ok(())
    })
}

/// Writes the session's statistics: modules and functions compiled,
/// objects loaded, cache hits and misses, code bytes live; `Size` as for
/// `JitcoreEngineGetStatisticsSized` (C: the macro
/// `JitcoreSessionGetStatistics(S, Result)`). Errors: `INVALID_ARGUMENT`
/// for NULL or a bad `Size`. Thread-safe (not with `JitcoreDisposeSession`); counters
/// are read one by one, as for an engine.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionGetStatisticsSized(
    S: JitcoreSessionRef,
    Result: *mut JitcoreStatistics,
    Size: usize,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: S is a live session handle.
        let s = unsafe { session(S)? };
        non_null(Result, "Result")?;
        let size = struct_size(Size, "JitcoreStatistics")?;
        // SAFETY: Result was checked non-NULL and has Size writable bytes.
        unsafe { write_sized(Result, JitcoreStatistics::from(s.session.statistics()), size) };
        Ok(())
    })
}

/// Writes the statistics of a disk cache: hits, misses, writes, corrupt
/// entries dropped, evictions and I/O failures of this cache since it was
/// created (in this process), and the bytes and number of entries in its
/// directory now (scanned by this call, so they include what other
/// processes wrote); `Size` as for `JitcoreEngineGetStatisticsSized` (C:
/// the macro `JitcoreDiskCacheGetStatistics(Cache, Result)`). Errors:
/// `INVALID_ARGUMENT` for NULL or a bad `Size`. Thread-safe (not
/// with `JitcoreDisposeObjectCache` of `Cache`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreDiskCacheGetStatisticsSized(
    Cache: JitcoreObjectCacheRef,
    Result: *mut JitcoreDiskCacheStatistics,
    Size: usize,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(Cache, "Cache")?;
        non_null(Result, "Result")?;
        // SAFETY: Cache is a live cache handle (contract).
        let stats = unsafe { &(*Cache).disk }.statistics();
        let size = struct_size(Size, "JitcoreDiskCacheStatistics")?;
        // SAFETY: Result was checked non-NULL and has Size writable bytes.
        unsafe { write_sized(Result, JitcoreDiskCacheStatistics::from(stats), size) };
        Ok(())
    })
}
