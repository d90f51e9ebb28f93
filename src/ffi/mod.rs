//! The exported C functions. Only argument translation lives here: NULL
//! checks, handle casts, the panic boundary. Logic lives in the modules the
//! handles wrap.

// In the order of the header's sections (build.rs).
pub mod buffer;
pub mod cache;
pub mod dylib;
pub mod engine;
pub mod error;
mod host;
pub mod module;
pub mod session;
pub mod stats;
pub mod target;
pub mod tracker;
pub mod version;

use std::ffi::{c_char, CStr};

use crate::error::{Error, Result};
use error::JitcoreErrorRef;

/// The panic boundary of every exported function that returns an error:
/// runs `f`, turning `Err` into a `JitcoreErrorRef` and a panic into
/// `JITCORE_ERROR_INTERNAL`.
pub(crate) fn boundary(f: impl FnOnce() -> Result<()>) -> JitcoreErrorRef {
    match crate::guard::catch(f) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(e)) => error::into_ref(e),
        Err(p) => error::into_ref(Error::internal(format!("jitcore panicked: {p}"))),
    }
}

/// The panic boundary of exported functions that cannot report an error:
/// a panic returns `default`.
pub(crate) fn boundary_or<T>(default: T, f: impl FnOnce() -> T) -> T {
    crate::guard::catch_or(default, f)
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

/// Borrows a NUL-terminated file path argument. Linux paths are bytes: any
/// bytes but NUL are accepted (not only UTF-8).
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string live for `'a`.
pub(crate) unsafe fn path_arg<'a>(p: *const c_char, what: &str) -> Result<&'a std::path::Path> {
    use std::os::unix::ffi::OsStrExt;
    non_null(p, what)?;
    let bytes = CStr::from_ptr(p).to_bytes();
    if bytes.is_empty() {
        return Err(Error::invalid_argument(format!("{what} is empty")));
    }
    Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

/// Borrows a byte range argument; `(NULL, 0)` is the empty range.
///
/// # Safety
/// `p` must be NULL or point to `len` readable bytes live for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    slice_arg(p, len, what)
}

/// Borrows an array argument of `n` elements; `(NULL, 0)` is the empty
/// array. A count whose byte size cannot exist in memory (more than
/// `isize::MAX` bytes) is `INVALID_ARGUMENT`, never a panic or an abort.
///
/// # Safety
/// `p` must be NULL or point to `n` readable elements live for `'a`.
pub(crate) unsafe fn slice_arg<'a, T>(p: *const T, n: usize, what: &str) -> Result<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    non_null(p, what)?;
    match n.checked_mul(std::mem::size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(std::slice::from_raw_parts(p, n)),
        _ => Err(Error::invalid_argument(format!("{what}: a length of {n} is too large"))),
    }
}

/// Writes an out-parameter (checked non-NULL by the caller).
///
/// # Safety
/// `out` must be a valid, writable pointer.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    out.write(value)
}
