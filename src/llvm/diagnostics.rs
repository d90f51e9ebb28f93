//! LLVM diagnostics, caught instead of printed.
//!
//! LLVM reports backend problems (bad inline asm, bad module asm, an asm
//! constraint that needs more registers than exist, `dontcall-error`) through
//! the context's diagnostic handler. Its default handler prints to the host's
//! stderr and calls `exit(1)` on an error. Every context jitcore creates gets
//! [`handler`] instead (see [`new_context`]): errors are collected per thread
//! (LLVM diagnoses on the thread that compiles) and the compile that caused
//! them turns them into a `COMPILE` error; warnings and remarks are dropped,
//! since a library must not write on its host's stderr.

use std::cell::RefCell;
use std::ffi::c_void;

use llvm_sys::core::{
    LLVMContextCreate, LLVMContextSetDiagnosticHandler, LLVMGetDiagInfoDescription, LLVMGetDiagInfoSeverity,
};
use llvm_sys::prelude::{LLVMContextRef, LLVMDiagnosticInfoRef};
use llvm_sys::LLVMDiagnosticSeverity;

use super::take_message;

thread_local! {
    /// Error diagnostics LLVM reported on this thread since the last `take`.
    static ERRORS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn handler(info: LLVMDiagnosticInfoRef, _ctx: *mut c_void) {
    // A panic must not unwind into LLVM; losing a diagnostic is the worst case.
    let _ = crate::guard::catch(|| {
        // SAFETY: info is the live diagnostic LLVM hands us for this call.
        if unsafe { LLVMGetDiagInfoSeverity(info) } != LLVMDiagnosticSeverity::LLVMDSError {
            // Warnings and remarks are dropped unread: printing one's
            // description costs more than most of them are worth (codegen
            // of a large module reports thousands).
            return;
        }
        // SAFETY: as above; the description is a message we own and dispose.
        let text = unsafe { take_message(LLVMGetDiagInfoDescription(info)) };
        ERRORS.with(|e| e.borrow_mut().push(text.trim_end().to_string()));
    });
}

/// A new LLVM context whose diagnostics reach [`take_errors`] instead of the
/// host's stderr (and never `exit`). The caller owns it.
pub fn new_context() -> LLVMContextRef {
    // SAFETY: LLVMContextCreate returns a fresh context we own; the handler
    // is a plain function that needs no context pointer.
    unsafe {
        let ctx = LLVMContextCreate();
        install(ctx);
        ctx
    }
}

/// Routes `ctx`'s diagnostics to [`take_errors`].
///
/// # Safety
/// `ctx` must be a live context that no other thread uses during the call.
pub unsafe fn install(ctx: LLVMContextRef) {
    LLVMContextSetDiagnosticHandler(ctx, Some(handler), std::ptr::null_mut());
}

/// Forgets error diagnostics reported on this thread so far (call before an
/// operation whose own diagnostics [`take_errors`] will collect).
pub fn clear() {
    ERRORS.with(|e| e.borrow_mut().clear());
}

/// The error diagnostics reported on this thread since [`clear`], joined
/// with "; ", or `None` when there were none.
pub fn take_errors() -> Option<String> {
    let errors = ERRORS.with(|e| std::mem::take(&mut *e.borrow_mut()));
    if errors.is_empty() {
        None
    } else {
        Some(errors.join("; "))
    }
}
