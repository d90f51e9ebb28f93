//! Shared by the fuzz targets: everything goes through jitcore's C ABI (the
//! `extern "C"` functions of the rlib), so the panic boundary is included.
//! A `JITCORE_ERROR_INTERNAL` error is a panic that the boundary caught: a
//! bug, so it fails the run like a crash does.
#![allow(dead_code)]

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use jitcore::ffi::{buffer::*, cache::*, dylib::*, engine::*, error::*, module::*, session::*, stats::*, target::*, tracker::*};
use jitcore::JitcoreErrorCode;

/// The module whose answer is known: `f() == 42`.
pub const KNOWN_IR: &str = "define i32 @f() {\n  ret i32 42\n}\n";
pub const KNOWN_NAME: &str = "known";

/// Consumes `err`; true on success. Panics (a fuzz failure) on an internal error.
pub fn ok(err: JitcoreErrorRef, what: &str) -> bool {
    if err.is_null() {
        return true;
    }
    // SAFETY: a live error, consumed exactly once below.
    let code = unsafe { JitcoreGetErrorCode(err) };
    if code == JitcoreErrorCode::JITCORE_ERROR_INTERNAL {
        // SAFETY: consumes the error; the message is freed after printing.
        unsafe {
            let m = JitcoreGetErrorMessage(err);
            let text = std::ffi::CStr::from_ptr(m).to_string_lossy().into_owned();
            JitcoreDisposeErrorMessage(m);
            panic!("{what}: internal error (a caught panic): {text}");
        }
    }
    // SAFETY: consumed once.
    unsafe { JitcoreConsumeError(err) };
    false
}

struct Tm(JitcoreTargetMachineRef);
// SAFETY: target machine handles are immutable descriptions, shareable.
unsafe impl Send for Tm {}
unsafe impl Sync for Tm {}

/// The host target machine at `level` (made once per level, never disposed).
pub fn tm(level: u32) -> JitcoreTargetMachineRef {
    static TMS: [OnceLock<Tm>; 4] = [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    TMS[level as usize]
        .get_or_init(|| {
            let mut t = std::ptr::null_mut();
            // SAFETY: valid out-parameter.
            assert!(ok(unsafe { JitcoreCreateHostTargetMachine(&mut t, JitcoreOptLevelArg(level)) }, "target"));
            Tm(t)
        })
        .0
}

/// A module from `data` (IR text or bitcode), or None if jitcore refuses it.
pub fn module(name: &str, data: &[u8]) -> Option<JitcoreModuleRef> {
    let name = CString::new(name).unwrap();
    let mut m = std::ptr::null_mut();
    // SAFETY: valid name, `data.len()` readable bytes, valid out-parameter.
    let err = unsafe { JitcoreCreateModuleFromIR(&mut m, name.as_ptr(), data.as_ptr() as *const c_char, data.len()) };
    ok(err, "JitcoreCreateModuleFromIR").then_some(m)
}

/// A module from bytes of an untrusted source: bitcode goes through
/// `JitcoreCreateModuleFromUntrustedIR` (LLVM's bitcode reader is not safe
/// in-process on malformed input; see RELIABILITY.md), text in-process.
pub fn untrusted_module(name: &str, data: &[u8]) -> Option<JitcoreModuleRef> {
    if !data.starts_with(b"BC\xC0\xDE") {
        return module(name, data);
    }
    let name = CString::new(name).unwrap();
    let mut m = std::ptr::null_mut();
    // SAFETY: valid name, `data.len()` readable bytes, valid out-parameter.
    let err =
        unsafe { JitcoreCreateModuleFromUntrustedIR(&mut m, name.as_ptr(), data.as_ptr() as *const c_char, data.len()) };
    ok(err, "JitcoreCreateModuleFromUntrustedIR").then_some(m)
}

/// A new engine for `tm` with no module.
pub fn engine(tm: JitcoreTargetMachineRef) -> JitcoreEngineRef {
    let mut ee = std::ptr::null_mut();
    // SAFETY: valid out-parameter and target machine.
    assert!(ok(unsafe { JitcoreCreateMCJITCompiler(&mut ee, std::ptr::null_mut(), tm) }, "engine"));
    ee
}

/// Consumes `err`: Ok on success, else its message. Panics on an internal error.
pub fn result(err: JitcoreErrorRef, what: &str) -> Result<(), String> {
    if err.is_null() {
        return Ok(());
    }
    // SAFETY: a live error, consumed exactly once (by GetErrorMessage).
    unsafe {
        let code = JitcoreGetErrorCode(err);
        let m = JitcoreGetErrorMessage(err);
        let text = std::ffi::CStr::from_ptr(m).to_string_lossy().into_owned();
        JitcoreDisposeErrorMessage(m);
        assert!(code != JitcoreErrorCode::JITCORE_ERROR_INTERNAL, "{what}: internal error (a caught panic): {text}");
        Err(format!("{code:?}: {text}"))
    }
}

/// Looks `name` up in `ee`; the error's message on failure.
pub fn lookup_msg(ee: JitcoreEngineRef, name: &str) -> Result<u64, String> {
    let name = CString::new(name).unwrap();
    let mut addr = 0u64;
    // SAFETY: live engine, valid out-parameter and name.
    result(unsafe { JitcoreEngineGetFunctionAddress(ee, &mut addr, name.as_ptr()) }, "lookup").map(|()| addr)
}

/// Looks `name` up in `ee`.
pub fn lookup(ee: JitcoreEngineRef, name: &str) -> Option<u64> {
    let name = CString::new(name).unwrap();
    let mut addr = 0u64;
    // SAFETY: live engine, valid out-parameter and name.
    let err = unsafe { JitcoreEngineGetFunctionAddress(ee, &mut addr, name.as_ptr()) };
    ok(err, "JitcoreEngineGetFunctionAddress").then_some(addr)
}

pub fn stats(ee: JitcoreEngineRef) -> jitcore::ffi::stats::JitcoreStatistics {
    let mut st = jitcore::ffi::stats::JitcoreStatistics::default();
    // SAFETY: live engine, valid out-parameter.
    assert!(ok(unsafe { JitcoreEngineGetStatisticsSized(ee, &mut st, std::mem::size_of::<JitcoreStatistics>()) }, "statistics"));
    st
}

/// Calls `f` at `addr`, which must be the known module's `i32 f()`.
///
/// # Safety
/// `addr` must be the address of code compiled from [`KNOWN_IR`] (or a
/// byte-identical object), live for the call.
pub unsafe fn call_known(addr: u64) -> i32 {
    let f: extern "C" fn() -> i32 = std::mem::transmute(addr as usize);
    f()
}

/// The object the compiler makes of the known module at `level` (through
/// an engine whose host cache's Notify captures it).
pub fn known_object(level: u32) -> Vec<u8> {
    use std::ffi::c_void;
    unsafe extern "C" fn notify(ctx: *mut c_void, _m: JitcoreModuleRef, obj: *const u8, len: usize) {
        // SAFETY: ctx is the Vec below; obj has len bytes for the call.
        unsafe { (*(ctx as *mut Vec<u8>)).extend_from_slice(std::slice::from_raw_parts(obj, len)) };
    }
    let mut out: Vec<u8> = Vec::new();
    let ee = engine(tm(level));
    // SAFETY: live engine; the Vec outlives the engine's use of it (disposed below).
    unsafe {
        JitcoreEngineSetObjectCache(ee, Some(notify), None, &mut out as *mut Vec<u8> as *mut c_void);
        assert!(ok(JitcoreEngineAddModule(ee, module(KNOWN_NAME, KNOWN_IR.as_bytes()).unwrap()), "add"));
        let a = lookup(ee, "f").expect("known f");
        assert_eq!(call_known(a), 42);
        JitcoreDisposeEngine(ee);
    }
    assert!(!out.is_empty());
    out
}
