//! An engine whose host object cache's GetBuffer returns the fuzz bytes as
//! the object of the known module (`f() == 42`). jitcore must either use
//! the bytes or fall back to compiling; either way `f` must be found, or
//! (an object that validates and stands for the module without defining
//! `f`, llvmlite's semantics) be reported missing. `f`
//! is called (and must return 42) when jitcore compiled it, or when the
//! bytes are the genuine object; a foreign object that jitcore accepted is
//! only looked up (its code is whatever the fuzzer wrote).
#![no_main]
use std::ffi::c_void;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::*;
use jitcore::ffi::{buffer::*, cache::*, dylib::*, engine::*, error::*, module::*, session::*, stats::*, target::*, tracker::*};

fn known() -> &'static [u8] {
    static K: OnceLock<Vec<u8>> = OnceLock::new();
    K.get_or_init(|| {
        let k = known_object(2);
        if let Some(dir) = std::env::var_os("JITCORE_FUZZ_WRITE_SEEDS") {
            std::fs::write(std::path::Path::new(&dir).join("known.o"), &k).unwrap();
        }
        k
    })
}

unsafe extern "C" fn get_buffer(ctx: *mut c_void, _m: JitcoreModuleRef) -> JitcoreObjectBufferRef {
    // SAFETY: ctx is the `&[u8]` of the fuzz input, live during the lookup.
    let d = unsafe { *(ctx as *const &[u8]) };
    unsafe { JitcoreCreateObjectBufferCopy(d.as_ptr(), d.len()) }
}

fuzz_target!(|data: &[u8]| {
    let known = known();
    let ee = engine(tm(2));
    let bytes: &[u8] = data;
    // SAFETY: `bytes` outlives every use of the engine (disposed below).
    unsafe {
        JitcoreEngineSetObjectCache(ee, None, Some(get_buffer), &bytes as *const &[u8] as *mut c_void);
        let m = module(KNOWN_NAME, KNOWN_IR.as_bytes()).unwrap();
        assert!(ok(JitcoreEngineAddModule(ee, m), "JitcoreEngineAddModule"));
        let addr = lookup_msg(ee, "f");
        let st = stats(ee);
        // An engine takes a host cache's object as standing for its module
        // (llvmlite's MCJIT semantics): one that validates but does not
        // define `f` makes `f` missing, an error and never a crash.
        if let Err(e) = &addr {
            if st.CacheHits == 1 && e.contains("SYMBOL_NOT_FOUND") && e.contains("stands for the module") {
                JitcoreDisposeEngine(ee);
                return;
            }
        }
        let addr = addr.unwrap_or_else(|e| {
            panic!("f not found: the cache's bytes neither served nor replaced by a compile: {e} ({st:?})")
        });
        if st.CacheHits == 0 || data == known {
            assert_eq!(call_known(addr), 42, "{st:?}");
        }
        JitcoreDisposeEngine(ee);
    }
});
