//! Statistics: counters of an engine's or a session's compile path
//! (`JitcoreStatistics`) and of a disk cache (`JitcoreDiskCacheStatistics`),
//! copied out as plain structs. Reading them is thread-safe and never waits
//! for a compile.

use crate::cache::disk::JitcoreDiskCacheStatistics;
use crate::session::stats::JitcoreStatistics;

use super::cache::JitcoreObjectCacheRef;
use super::engine::{engine, JitcoreEngineRef};
use super::error::JitcoreErrorRef;
use super::session::{session, JitcoreSessionRef};
use super::{boundary, non_null, write_out};

/// Writes the engine's statistics (modules compiled, cache hits, ...).
/// Errors: `INVALID_ARGUMENT` for NULL. Thread-safe (not with
/// `JitcoreDisposeEngine`); counters are read one by one, so a snapshot taken
/// while other threads compile may be a moment apart between fields.
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineGetStatistics(
    EE: JitcoreEngineRef,
    Result: *mut JitcoreStatistics,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: EE is a live engine handle.
        let engine = unsafe { engine(EE)? };
        non_null(Result, "Result")?;
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, engine.statistics()) };
        Ok(())
    })
}

/// Writes the session's statistics: modules and functions compiled,
/// objects loaded, cache hits and misses, code bytes live. Errors:
/// `INVALID_ARGUMENT` for NULL. Thread-safe (not with `JitcoreDisposeSession`); counters
/// are read one by one, as for an engine.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionGetStatistics(
    S: JitcoreSessionRef,
    Result: *mut JitcoreStatistics,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: S is a live session handle.
        let s = unsafe { session(S)? };
        non_null(Result, "Result")?;
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, s.session.statistics()) };
        Ok(())
    })
}

/// Writes the statistics of a disk cache: hits, misses, writes, corrupt
/// entries dropped, evictions and I/O failures of this cache since it was
/// created (in this process), and the bytes and number of entries in its
/// directory now (scanned by this call, so they include what other
/// processes wrote). Errors: `INVALID_ARGUMENT` for NULL. Thread-safe (not
/// with `JitcoreDisposeObjectCache` of `Cache`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreDiskCacheGetStatistics(
    Cache: JitcoreObjectCacheRef,
    Result: *mut JitcoreDiskCacheStatistics,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(Cache, "Cache")?;
        non_null(Result, "Result")?;
        // SAFETY: Cache is a live cache handle (contract).
        let stats = unsafe { &(*Cache).disk }.statistics();
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, stats) };
        Ok(())
    })
}
