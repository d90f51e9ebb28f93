//! An owned `LLVMMemoryBufferRef`.

use llvm_sys::core::{
    LLVMCreateMemoryBufferWithMemoryRange, LLVMCreateMemoryBufferWithMemoryRangeCopy, LLVMDisposeMemoryBuffer,
    LLVMGetBufferSize, LLVMGetBufferStart,
};
use llvm_sys::prelude::LLVMMemoryBufferRef;

use super::with_cstr;
use crate::error::{Error, Result};

/// Owns an LLVM memory buffer; disposes it on drop unless released.
pub struct MemoryBuffer(LLVMMemoryBufferRef);

// SAFETY: a MemoryBuffer is immutable after creation and owned by one value;
// LLVM memory buffers carry no thread affinity.
unsafe impl Send for MemoryBuffer {}

impl MemoryBuffer {
    /// A buffer holding a copy of `data` (NUL-terminated after the end, as
    /// LLVM's text parsers expect), identified by `name` in diagnostics.
    /// Fails (with `INVALID_ARGUMENT`) only when the copy cannot be allocated.
    pub fn copy_of(data: &[u8], name: &str) -> Result<MemoryBuffer> {
        // SAFETY: data is a valid slice for its length; LLVM copies it and the
        // name before returning, or returns NULL when it cannot allocate.
        let raw = with_cstr(name, |cname| unsafe {
            LLVMCreateMemoryBufferWithMemoryRangeCopy(data.as_ptr().cast(), data.len(), cname.as_ptr())
        });
        if raw.is_null() {
            return Err(Error::invalid_argument(format!("cannot allocate {} bytes for '{name}'", data.len())));
        }
        Ok(MemoryBuffer(raw))
    }

    /// A buffer over `terminated` without its last byte, which must be
    /// NUL (what LLVM's text parsers read at the end), without copying.
    /// Fails with `INTERNAL` when the last byte is not NUL.
    ///
    /// # Safety
    /// The buffer borrows the bytes: it must be dropped before they are
    /// freed or changed.
    pub unsafe fn borrowing_terminated(terminated: &[u8], name: &str) -> Result<MemoryBuffer> {
        let Some((&0, data)) = terminated.split_last() else {
            return Err(Error::internal(format!("the bytes of '{name}' are not NUL-terminated")));
        };
        // SAFETY: data is a valid slice, followed by a NUL byte (checked), as
        // RequiresNullTerminator asks; LLVM copies the name and keeps only a
        // reference to the bytes, which the caller keeps alive (its contract).
        let raw = with_cstr(name, |cname| unsafe {
            LLVMCreateMemoryBufferWithMemoryRange(data.as_ptr().cast(), data.len(), cname.as_ptr(), 1)
        });
        if raw.is_null() {
            return Err(Error::invalid_argument(format!("cannot make a buffer for '{name}'")));
        }
        Ok(MemoryBuffer(raw))
    }

    /// Takes ownership of a buffer LLVM handed out.
    ///
    /// # Safety
    /// `raw` must be a live buffer that nobody else will dispose.
    pub unsafe fn from_raw(raw: LLVMMemoryBufferRef) -> MemoryBuffer {
        MemoryBuffer(raw)
    }

    pub fn as_raw(&self) -> LLVMMemoryBufferRef {
        self.0
    }

    /// Gives up ownership (to an LLVM function that takes it).
    pub fn into_raw(self) -> LLVMMemoryBufferRef {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the buffer is live while self is; start/size describe its
        // contents, which LLVM never mutates.
        unsafe {
            let len = LLVMGetBufferSize(self.0);
            if len == 0 {
                return &[];
            }
            std::slice::from_raw_parts(LLVMGetBufferStart(self.0).cast(), len)
        }
    }
}

impl Drop for MemoryBuffer {
    fn drop(&mut self) {
        // SAFETY: we own the buffer and dispose it exactly once.
        unsafe { LLVMDisposeMemoryBuffer(self.0) }
    }
}
