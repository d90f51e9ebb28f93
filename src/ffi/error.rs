//! Errors: every fallible function returns a `JitcoreErrorRef`, NULL for
//! success. A non-NULL error belongs to the caller, who reads its stable
//! code (`JitcoreGetErrorCode`, which does not consume it) and consumes it
//! exactly once (`JitcoreGetErrorMessage` or `JitcoreConsumeError`). Errors
//! that no call can return (a lazy compile that failed, a rejected cache
//! entry) go to the error reporter of the engine or session, if one is set.

use std::ffi::{c_char, c_uint, CString};

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
/// owns the result until it returns it to jitcore (or consumes it). Returns
/// NULL only if the error cannot be made. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateError(Code: c_uint, Message: *const c_char) -> JitcoreErrorRef {
    crate::guard::catch_or(std::ptr::null_mut(), || {
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
/// `JITCORE_ERROR_SUCCESS`. Thread-safe; must not race the call that
/// consumes `Err`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreGetErrorCode(Err: JitcoreErrorRef) -> JitcoreErrorCode {
    crate::guard::catch_or(JitcoreErrorCode::JITCORE_ERROR_INTERNAL, || {
        if Err.is_null() {
            return JitcoreErrorCode::JITCORE_ERROR_SUCCESS;
        }
        // SAFETY: a non-NULL Err is a live error made by into_ref.
        unsafe { (*Err).error.code }
    })
}

/// Consumes `Err` and returns its message, which says what failed and on
/// what (module, symbol, file, line). The caller owns the string and frees
/// it with `JitcoreDisposeErrorMessage`. NULL gives NULL. Thread-safe for
/// distinct errors; `Err` must not be used by another thread meanwhile, nor
/// after this call.
#[no_mangle]
pub unsafe extern "C" fn JitcoreGetErrorMessage(Err: JitcoreErrorRef) -> *mut c_char {
    crate::guard::catch_or(std::ptr::null_mut(), || {
        if Err.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: a non-NULL Err is a live error made by into_ref, consumed here once.
        let e = unsafe { Box::from_raw(Err) };
        crate::llvm::cstring(&e.error.message).into_raw()
    })
}

/// Frees a message returned by `JitcoreGetErrorMessage`. NULL is ignored.
/// Thread-safe for distinct messages.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeErrorMessage(Message: *mut c_char) {
    crate::guard::catch_or((), || {
        if !Message.is_null() {
            // SAFETY: Message came from CString::into_raw in JitcoreGetErrorMessage.
            drop(unsafe { CString::from_raw(Message) });
        }
    })
}

/// Consumes `Err` without reading it. NULL is ignored. Thread-safe for
/// distinct errors; `Err` must not be used by another thread meanwhile, nor
/// after this call.
#[no_mangle]
pub unsafe extern "C" fn JitcoreConsumeError(Err: JitcoreErrorRef) {
    crate::guard::catch_or((), || {
        if !Err.is_null() {
            // SAFETY: a non-NULL Err is a live error made by into_ref, consumed here once.
            drop(unsafe { Box::from_raw(Err) });
        }
    })
}

/// Receives errors that no call can return. `Message` is borrowed for the
/// duration of the call only. Called on whichever thread meets the error (one
/// that looks symbols up, a compile thread, one whose call into a lazy
/// function compiles it), possibly on several threads at once; it must not
/// call into the engine or session. `Ctx` must stay valid until the engine
/// or session is disposed of: replacing the reporter stops new calls, but a
/// report already under way may still use the old one.
pub type JitcoreErrorReporterFunction =
    Option<unsafe extern "C" fn(Ctx: *mut std::ffi::c_void, Code: JitcoreErrorCode, Message: *const c_char)>;

/// The host's reporter and its `Ctx`, as the reporter jitcore calls.
pub(crate) fn reporter(f: JitcoreErrorReporterFunction, ctx: *mut std::ffi::c_void) -> Option<crate::report::Reporter> {
    let f = f?;
    let ctx = super::host::HostPtr(ctx);
    Some(std::sync::Arc::new(move |code, message: &str| {
        let msg = crate::llvm::cstring(message);
        // SAFETY: the host's reporter is callable from any thread with its
        // Ctx; the message is borrowed for the call.
        unsafe { f({ ctx }.0, code, msg.as_ptr()) }
    }))
}
