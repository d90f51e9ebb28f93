//! Errors, versions and environment checks.

use std::ffi::{c_char, c_uint, CString};

use super::{boundary, boundary_or};

// The C API names its error parameters `Err`, which a Rust parameter may not
// be called while the prelude's `Err` variant is in scope; this private
// function of that name shadows it in this file.
#[allow(unused_imports)]
use self::shadow::Err;
mod shadow {
    #[allow(dead_code)]
    pub fn Err() {}
}
use crate::error::{Error, JitcoreErrorCode};

/// An error returned by a jitcore function (`JitcoreErrorRef`).
pub struct JitcoreOpaqueError {
    error: Error,
}

/// A jitcore error. NULL means success. Every non-NULL error must be
/// consumed exactly once, by `JitcoreGetErrorMessage` or `JitcoreConsumeError`.
pub type JitcoreErrorRef = *mut JitcoreOpaqueError;

pub(crate) fn into_ref(error: Error) -> JitcoreErrorRef {
    Box::into_raw(Box::new(JitcoreOpaqueError { error }))
}

/// Takes back an error a host returned to us (from a callback).
///
/// # Safety
/// `err` must be a live, non-NULL error that nobody else consumes.
pub(crate) unsafe fn from_ref(err: JitcoreErrorRef) -> Error {
    Box::from_raw(err).error
}

/// Creates an error with `Code` and a copy of `Message` (NULL: an empty
/// message), for callbacks that return a `JitcoreErrorRef` (custom
/// materializers). A code outside the enum becomes `INTERNAL`. The caller
/// owns the result until it returns it to jitcore. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateError(Code: c_uint, Message: *const c_char) -> JitcoreErrorRef {
    boundary_or(std::ptr::null_mut(), || {
        let message = if Message.is_null() {
            String::new()
        } else {
            // SAFETY: a non-NULL Message is a NUL-terminated string.
            unsafe { std::ffi::CStr::from_ptr(Message) }.to_string_lossy().into_owned()
        };
        let code = JitcoreErrorCode::from_u32(Code).unwrap_or(JitcoreErrorCode::JITCORE_ERROR_INTERNAL);
        into_ref(Error { code, message })
    })
}

/// Returns the code of `Err` without consuming it. NULL (success) gives
/// `JITCORE_ERROR_SUCCESS`. Thread-safe for distinct errors.
#[no_mangle]
pub unsafe extern "C" fn JitcoreGetErrorCode(Err: JitcoreErrorRef) -> JitcoreErrorCode {
    boundary_or(JitcoreErrorCode::JITCORE_ERROR_INTERNAL, || {
        if Err.is_null() {
            return JitcoreErrorCode::JITCORE_ERROR_SUCCESS;
        }
        // SAFETY: a non-NULL Err is a live error made by into_ref.
        unsafe { (*Err).error.code }
    })
}

/// Consumes `Err` and returns its message, which says what failed and on
/// what (module, symbol, file, line). The caller owns the string and frees
/// it with `JitcoreDisposeErrorMessage`. NULL gives NULL.
#[no_mangle]
pub unsafe extern "C" fn JitcoreGetErrorMessage(Err: JitcoreErrorRef) -> *mut c_char {
    boundary_or(std::ptr::null_mut(), || {
        if Err.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: a non-NULL Err is a live error made by into_ref, consumed here once.
        let e = unsafe { Box::from_raw(Err) };
        crate::llvm::cstring(&e.error.message).into_raw()
    })
}

/// Frees a message returned by `JitcoreGetErrorMessage`. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeErrorMessage(Message: *mut c_char) {
    boundary_or((), || {
        if !Message.is_null() {
            // SAFETY: Message came from CString::into_raw in JitcoreGetErrorMessage.
            drop(unsafe { CString::from_raw(Message) });
        }
    })
}

/// Consumes `Err` without reading it. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn JitcoreConsumeError(Err: JitcoreErrorRef) {
    boundary_or((), || {
        if !Err.is_null() {
            // SAFETY: a non-NULL Err is a live error made by into_ref, consumed here once.
            drop(unsafe { Box::from_raw(Err) });
        }
    })
}

/// The library's version as `"MAJOR.MINOR.PATCH"`: a static string, never freed.
/// It matches the `JITCORE_VERSION_*` macros of the header it was built with.
#[no_mangle]
pub extern "C" fn JitcoreGetVersionString() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Writes the library's version numbers; any pointer may be NULL.
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
