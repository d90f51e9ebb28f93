//! The exported C functions. Only argument translation lives here: NULL
//! checks, handle casts, the panic boundary. Logic lives in the modules the
//! handles wrap.

// In the order of the header's sections (build.rs).
pub mod buffer;
pub mod cache;
pub mod dylib;
pub mod engine;
pub mod error;
mod handle;
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

/// The address a lookup of the C string `name` gives: `known` first, with
/// the name's bytes (a linked-address table answers before the name is
/// checked to be UTF-8, see `session/linked.rs`), else `lookup` with the
/// checked name.
///
/// # Safety
/// `name` must be NULL or point to a NUL-terminated string.
#[inline(always)]
pub(crate) unsafe fn lookup_name(
    name: *const c_char,
    known: impl FnOnce(&[u8]) -> Option<u64>,
    lookup: impl FnOnce(&str) -> Result<u64>,
) -> Result<u64> {
    non_null(name, "Name")?;
    match known(CStr::from_ptr(name).to_bytes()) {
        Some(addr) => Ok(addr),
        None => lookup(str_arg(name, "Name")?),
    }
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

/// The largest struct size a host may pass (a bigger one is a bad length).
const MAX_STRUCT_SIZE: usize = 1 << 16;

/// Checks the size a host says its copy of an extensible struct has.
pub(crate) fn struct_size(size: usize, what: &str) -> Result<usize> {
    if size == 0 || size > MAX_STRUCT_SIZE {
        return Err(Error::invalid_argument(format!("{size} is not a size of {what}")));
    }
    Ok(size)
}

/// Writes `value` into the host's copy of an extensible struct, `size`
/// bytes (the size it was compiled with): only those bytes are written;
/// when the host's struct is larger than this library's, its extra bytes
/// (fields this library does not know) are zeroed.
///
/// # Safety
/// `out` must point to `size` writable bytes.
pub(crate) unsafe fn write_sized<T>(out: *mut T, value: T, size: usize) {
    let ours = std::mem::size_of::<T>();
    let value = std::mem::ManuallyDrop::new(value);
    // SAFETY: both ranges are valid for min(size, ours) bytes and distinct.
    unsafe {
        std::ptr::copy_nonoverlapping(&*value as *const T as *const u8, out as *mut u8, size.min(ours));
        if size > ours {
            std::ptr::write_bytes((out as *mut u8).add(ours), 0, size - ours);
        }
    }
}

/// Reads the host's copy of an extensible struct, `size` bytes: only those
/// bytes are read, the fields past them keep `defaults`.
///
/// # Safety
/// `src` must point to `size` readable bytes; `T` must be plain integers
/// (every bit pattern valid).
pub(crate) unsafe fn read_sized<T: Copy>(src: *const T, size: usize, defaults: T) -> T {
    let mut v = defaults;
    // SAFETY: src has `size` readable bytes, v has size_of::<T>().
    unsafe {
        std::ptr::copy_nonoverlapping(src as *const u8, &mut v as *mut T as *mut u8, size.min(std::mem::size_of::<T>()))
    };
    v
}
