//! The exported C functions. Only argument translation lives here: NULL
//! checks, handle casts, the panic boundary. Logic lives in the modules the
//! handles wrap.

pub mod cache;
pub mod engine;
pub mod error;
pub mod module;
pub mod session;
pub mod target;

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result};
use error::JitcoreErrorRef;

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// The panic boundary of every exported function that returns an error:
/// runs `f`, turning `Err` into a `JitcoreErrorRef` and a panic into
/// `JITCORE_ERROR_INTERNAL`.
pub(crate) fn boundary(f: impl FnOnce() -> Result<()>) -> JitcoreErrorRef {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(e)) => error::into_ref(e),
        Err(p) => error::into_ref(Error::internal(format!("jitcore panicked: {}", panic_message(&*p)))),
    }
}

/// The panic boundary of exported functions that cannot report an error:
/// a panic returns `default`.
pub(crate) fn boundary_or<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

/// Checks that a required pointer argument is not NULL.
pub(crate) fn non_null<T>(p: *const T, what: &str) -> Result<()> {
    if p.is_null() {
        return Err(Error::invalid_argument(format!("{what} must not be NULL")));
    }
    Ok(())
}

/// Borrows a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string live for `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    non_null(p, what)?;
    CStr::from_ptr(p).to_str().map_err(|_| Error::invalid_argument(format!("{what} is not valid UTF-8")))
}

/// Borrows a byte range argument; `(NULL, 0)` is the empty range.
///
/// # Safety
/// `p` must be NULL or point to `len` readable bytes live for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    non_null(p, what)?;
    Ok(std::slice::from_raw_parts(p, len))
}

/// Writes an out-parameter (checked non-NULL by the caller).
///
/// # Safety
/// `out` must be a valid, writable pointer.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    out.write(value)
}
