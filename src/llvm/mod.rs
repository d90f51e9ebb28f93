//! Small RAII owners around llvm-sys objects. Together with
//! `session/unit.rs` (the materialization unit) this is the only place that
//! calls llvm-sys directly; everything above it is safe Rust.

pub mod blake3;
pub mod buffer;
pub mod codegen;
pub mod diagnostics;
pub mod exit;
pub mod generator;
pub mod ir;
pub mod lazy;
pub mod lljit;
mod o0;
pub mod object;
pub mod orc;
pub mod split;
pub mod target_machine;
pub mod tls;
pub mod unit;

use std::ffi::{CStr, CString};

use llvm_sys::error::{LLVMDisposeErrorMessage, LLVMErrorRef, LLVMGetErrorMessage};
use once_cell::sync::OnceCell;

use crate::error::{Error, JitcoreErrorCode, Result};

/// Initializes LLVM's native target, asm printer and parser exactly once.
pub fn initialize() -> Result<()> {
    static INIT: OnceCell<std::result::Result<(), String>> = OnceCell::new();
    INIT.get_or_init(|| {
        // SAFETY: the LLVM_Initialize* functions only register targets in
        // LLVM's global registry; OnceCell makes sure they run once.
        unsafe {
            if llvm_sys::target::LLVM_InitializeNativeTarget() != 0 {
                return Err("LLVM has no native target for this host".to_string());
            }
            if llvm_sys::target::LLVM_InitializeNativeAsmPrinter() != 0 {
                return Err("LLVM has no native asm printer for this host".to_string());
            }
            llvm_sys::target::LLVM_InitializeNativeAsmParser();
        }
        Ok(())
    })
    .clone()
    .map_err(Error::unsupported)
}

/// Consumes an `LLVMErrorRef` and returns its message, or `None` for success.
pub(crate) fn take_error(err: LLVMErrorRef) -> Option<String> {
    if err.is_null() {
        return None;
    }
    // SAFETY: `err` is a live, unconsumed LLVMErrorRef handed to us by LLVM;
    // LLVMGetErrorMessage consumes it and returns a string we dispose once.
    unsafe {
        let msg = LLVMGetErrorMessage(err);
        let text = CStr::from_ptr(msg).to_string_lossy().into_owned();
        LLVMDisposeErrorMessage(msg);
        Some(text)
    }
}

/// Turns an `LLVMErrorRef` into a jitcore result, classifying ORC's messages.
pub fn check(err: LLVMErrorRef, fallback: JitcoreErrorCode) -> Result<()> {
    match take_error(err) {
        None => Ok(()),
        Some(msg) => Err(Error::from_orc_message(msg, fallback)),
    }
}

/// Takes ownership of a `char *` that LLVM allocated with `strdup`-style
/// allocation (freed by `LLVMDisposeMessage`), returning its text.
///
/// # Safety
/// `msg` must be NULL or a string LLVM allocated for the caller to dispose
/// with `LLVMDisposeMessage`.
pub unsafe fn take_message(msg: *mut libc::c_char) -> String {
    if msg.is_null() {
        return String::new();
    }
    let text = CStr::from_ptr(msg).to_string_lossy().into_owned();
    llvm_sys::core::LLVMDisposeMessage(msg);
    text
}

/// A `CString` from Rust text that may contain NUL bytes (they are cut off).
pub fn cstring(s: &str) -> CString {
    let end = s.find('\0').unwrap_or(s.len());
    CString::new(&s[..end]).expect("NUL bytes were cut off")
}

/// The LLVM version this process runs against, e.g. `22.1.8`.
pub fn llvm_version() -> String {
    let (mut major, mut minor, mut patch) = (0u32, 0u32, 0u32);
    // SAFETY: LLVMGetVersion writes three unsigned integers through the
    // pointers, which point to live locals.
    unsafe { llvm_sys::core::LLVMGetVersion(&mut major, &mut minor, &mut patch) };
    format!("{major}.{minor}.{patch}")
}
