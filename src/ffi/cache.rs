//! Object buffers, as object cache callbacks hand them over.

use crate::cache::{JitcoreObjectBufferRef, JitcoreOpaqueObjectBuffer};

use super::boundary_or;

/// Creates a buffer holding a copy of `Len` bytes at `Data` (an object file,
/// typically from a host's object cache). The caller owns the result: return
/// it from a `JitcoreObjectCacheGetBufferFunction` (which passes ownership to
/// jitcore) or dispose of it with `JitcoreDisposeObjectBuffer`. Returns NULL
/// if `Data` is NULL while `Len` is not 0. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateObjectBufferCopy(Data: *const u8, Len: usize) -> JitcoreObjectBufferRef {
    boundary_or(std::ptr::null_mut(), || {
        if Data.is_null() && Len != 0 {
            return std::ptr::null_mut();
        }
        let bytes = if Len == 0 {
            Vec::new()
        } else {
            // SAFETY: the host passes Len readable bytes at Data.
            unsafe { std::slice::from_raw_parts(Data, Len) }.to_vec()
        };
        Box::into_raw(Box::new(JitcoreOpaqueObjectBuffer { bytes }))
    })
}

/// Disposes of a buffer the caller owns. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeObjectBuffer(Buf: JitcoreObjectBufferRef) {
    boundary_or((), || {
        if !Buf.is_null() {
            // SAFETY: Buf came from JitcoreCreateObjectBufferCopy and is disposed once.
            drop(unsafe { Box::from_raw(Buf) });
        }
    })
}
