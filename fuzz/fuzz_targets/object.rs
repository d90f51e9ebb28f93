//! Bytes as an object file into both object-add paths (an engine's, and a
//! session's main dylib), then a lookup of `f`. Nothing is called: running
//! fuzzed machine code means nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::*;
use jitcore::ffi::{buffer::*, cache::*, dylib::*, engine::*, error::*, module::*, session::*, stats::*, target::*, tracker::*};

fuzz_target!(|data: &[u8]| {
    let ee = engine(tm(2));
    // SAFETY: live engine; `data` readable for the call.
    unsafe {
        if ok(JitcoreEngineAddObjectBuffer(ee, data.as_ptr(), data.len()), "JitcoreEngineAddObjectBuffer") {
            let _ = lookup(ee, "f");
        }
        JitcoreDisposeEngine(ee);
    }
    // SAFETY: zeroed options are initialized before use; handles are live
    // until disposed at the end.
    unsafe {
        let mut opts: JitcoreSessionOptions = std::mem::zeroed();
        JitcoreSessionOptionsInitSized(&mut opts, std::mem::size_of::<JitcoreSessionOptions>());
        let mut s = std::ptr::null_mut();
        assert!(ok(JitcoreCreateSessionSized(&mut s, &opts, std::mem::size_of::<JitcoreSessionOptions>()), "JitcoreCreateSession"));
        let d = JitcoreSessionGetMainDylib(s);
        let added = JitcoreDylibAddObjectBuffer(d, data.as_ptr(), data.len(), std::ptr::null_mut());
        if ok(added, "JitcoreDylibAddObjectBuffer") {
            let mut addr = 0u64;
            let _ = ok(JitcoreSessionLookup(s, d, &mut addr, c"f".as_ptr()), "JitcoreSessionLookup");
        }
        JitcoreDisposeSession(s);
    }
});
