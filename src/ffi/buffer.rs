//! Object buffers: the bytes of an object file a host hands to jitcore
//! (from its object cache's `GetBuffer`, or from a materializer).

use super::boundary_or;

/// Opaque handle to a byte buffer holding an object file
/// (`JitcoreObjectBufferRef`).
pub struct JitcoreOpaqueObjectBuffer {
    pub bytes: Vec<u8>,
}

/// Handle to an object buffer.
pub type JitcoreObjectBufferRef = *mut JitcoreOpaqueObjectBuffer;

/// Creates a buffer holding a copy of `Len` bytes at `Data` (an object file,
/// typically from a host's object cache). The caller owns the result: return
/// it from a `JitcoreObjectCacheGetBufferFunction` (which passes ownership to
/// jitcore) or dispose of it with `JitcoreDisposeObjectBuffer`. Returns NULL
/// if `Data` is NULL while `Len` is not 0, or if the copy cannot be
/// allocated. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateObjectBufferCopy(Data: *const u8, Len: usize) -> JitcoreObjectBufferRef {
    boundary_or(std::ptr::null_mut(), || {
        if Data.is_null() && Len != 0 {
            return std::ptr::null_mut();
        }
        // SAFETY: the host passes Len readable bytes at Data.
        let Ok(data) = (unsafe { super::bytes_arg(Data, Len, "Data") }) else { return std::ptr::null_mut() };
        // An allocation that fails is NULL, not an abort.
        let mut bytes = Vec::new();
        if bytes.try_reserve_exact(data.len()).is_err() {
            return std::ptr::null_mut();
        }
        bytes.extend_from_slice(data);
        Box::into_raw(Box::new(JitcoreOpaqueObjectBuffer { bytes }))
    })
}

/// Disposes of a buffer the caller owns (not one it handed to jitcore).
/// NULL is ignored. Must not race other uses of `Buf`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeObjectBuffer(Buf: JitcoreObjectBufferRef) {
    boundary_or((), || {
        if !Buf.is_null() {
            // SAFETY: Buf came from JitcoreCreateObjectBufferCopy and is disposed once.
            drop(unsafe { Box::from_raw(Buf) });
        }
    })
}
