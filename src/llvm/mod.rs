//! Small RAII owners around llvm-sys objects. Together with
//! `session/unit.rs` (the materialization unit) this is the only place that
//! calls llvm-sys directly; everything above it is safe Rust.

pub mod blake3;
pub mod buffer;
pub mod codegen;
pub mod context;
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

/// Whether `data` is bitcode (raw, or in its wrapper), as LLVM's IR reader
/// tells it from text: by the magic number.
pub(crate) fn is_bitcode(data: &[u8]) -> bool {
    data.starts_with(b"BC\xc0\xde") || data.starts_with(&[0xde, 0xc0, 0x17, 0x0b])
}

/// Consumes an `LLVMErrorRef` and returns its message, or `None` for success.
pub(crate) fn take_error(err: LLVMErrorRef) -> Option<String> {
    read_error(err, |msg| Some(msg.to_string_lossy().into_owned()))
}

/// Consumes an `LLVMErrorRef` like [`take_error`], but returns `None` also
/// when its message is `ignored` (compared without copying it).
pub(crate) fn take_error_unless(err: LLVMErrorRef, ignored: &str) -> Option<String> {
    read_error(err, |msg| (msg.to_bytes() != ignored.as_bytes()).then(|| msg.to_string_lossy().into_owned()))
}

/// Consumes `err` (`None` for success) and hands its message to `read`.
fn read_error(err: LLVMErrorRef, read: impl FnOnce(&CStr) -> Option<String>) -> Option<String> {
    if err.is_null() {
        return None;
    }
    // SAFETY: `err` is a live, unconsumed LLVMErrorRef handed to us by LLVM;
    // LLVMGetErrorMessage consumes it and returns a string we dispose once,
    // after `read` is done with it.
    unsafe {
        let msg = LLVMGetErrorMessage(err);
        let text = read(CStr::from_ptr(msg));
        LLVMDisposeErrorMessage(msg);
        text
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

/// A `CString` from Rust text that may contain NUL bytes (cut off at the
/// first one).
pub fn cstring(s: &str) -> CString {
    CString::new(until_nul(s)).expect("cut at the first NUL")
}

/// `s` up to its first NUL byte (all of it without one): the text
/// [`cstring`] and [`with_cstr`] pass to LLVM.
pub fn until_nul(s: &str) -> &str {
    match s.as_bytes().iter().position(|&b| b == 0) {
        Some(end) => &s[..end],
        None => s,
    }
}

/// Calls `f` with `s` as a C string, cut at its first NUL as [`cstring`]
/// does: on the stack when it is short (a name on the compile path),
/// allocated otherwise.
pub fn with_cstr<R>(s: &str, f: impl FnOnce(&CStr) -> R) -> R {
    const SHORT: usize = 192;
    let s = until_nul(s);
    if s.len() >= SHORT {
        return f(&cstring(s));
    }
    let mut buf = [0u8; SHORT];
    buf[..s.len()].copy_from_slice(s.as_bytes());
    // The copy has no NUL before s.len() and one at s.len().
    f(CStr::from_bytes_until_nul(&buf).expect("a NUL after the text"))
}

/// The LLVM version this process runs against, e.g. `22.1.8`.
pub fn llvm_version() -> String {
    let (mut major, mut minor, mut patch) = (0u32, 0u32, 0u32);
    // SAFETY: LLVMGetVersion writes three unsigned integers through the
    // pointers, which point to live locals.
    unsafe { llvm_sys::core::LLVMGetVersion(&mut major, &mut minor, &mut patch) };
    format!("{major}.{minor}.{patch}")
}

#[cfg(test)]
mod tests {
    use super::{cstring, take_error_unless, until_nul, with_cstr};

    #[test]
    fn names_are_cut_at_their_first_nul_on_every_path() {
        let long = "x".repeat(500);
        let cases = [
            "".to_string(),
            "f".to_string(),
            "a\0b".to_string(),
            "\0".to_string(),
            "x".repeat(191),
            "x".repeat(192),
            "x".repeat(193),
            format!("{long}\0tail"),
            format!("{}\0{long}", "y".repeat(10)),
            "é\u{1F600}".to_string(),
        ];
        for s in &cases {
            let want = match s.find('\0') {
                Some(end) => &s[..end],
                None => s.as_str(),
            };
            assert_eq!(until_nul(s), want);
            assert_eq!(cstring(s).to_bytes(), want.as_bytes(), "cstring of {} bytes", s.len());
            assert_eq!(with_cstr(s, |c| c.to_bytes().to_vec()), want.as_bytes(), "with_cstr of {} bytes", s.len());
        }
    }

    #[test]
    fn an_ignored_error_message_is_consumed_and_others_come_back() {
        assert_eq!(take_error_unless(std::ptr::null_mut(), "x"), None);
        let e = super::unit::string_error("jitcore: done");
        assert_eq!(take_error_unless(e, "jitcore: done"), None);
        let e = super::unit::string_error("jitcore: done, or not");
        assert_eq!(take_error_unless(e, "jitcore: done").as_deref(), Some("jitcore: done, or not"));
    }
}
