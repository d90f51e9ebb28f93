//! Version and host checks: the library's version, which matches the
//! `JITCORE_VERSION_*` macros of the header it was built with, and whether
//! this process may map executable memory, as every engine and session
//! needs. These functions are thread-safe.

use std::ffi::{c_char, c_uint};

use super::error::JitcoreErrorRef;
use super::{boundary, boundary_or};

/// The library's version as `"MAJOR.MINOR.PATCH"`: a static string, never freed.
/// It matches the `JITCORE_VERSION_*` macros of the header it was built with.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn JitcoreGetVersionString() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Writes the library's version numbers; any pointer may be NULL.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreGetVersion(Major: *mut c_uint, Minor: *mut c_uint, Patch: *mut c_uint) {
    boundary_or((), || {
        let parse = |s: &str| s.parse::<c_uint>().unwrap_or(0);
        for (p, v) in [
            (Major, parse(env!("CARGO_PKG_VERSION_MAJOR"))),
            (Minor, parse(env!("CARGO_PKG_VERSION_MINOR"))),
            (Patch, parse(env!("CARGO_PKG_VERSION_PATCH"))),
        ] {
            if !p.is_null() {
                // SAFETY: non-NULL pointers are writable per the contract.
                unsafe { p.write(v) };
            }
        }
    })
}

/// Checks that this process may map memory executable, as JIT needs.
/// Returns NULL when it may, or `JITCORE_ERROR_JIT_EXECUTION_DENIED` naming
/// the system call that was refused (SELinux `deny_execmem`, PaX, seccomp...).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn JitcoreCheckJITExecution() -> JitcoreErrorRef {
    boundary(crate::platform::check_jit_execution)
}
