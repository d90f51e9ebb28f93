//! IR text and bitcode into module creation (bitcode through the untrusted
//! parser, text in-process), then an engine: add, finalize (compiles
//! everything), look up `f` and `main`. Nothing is called.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::*;
use jitcore::ffi::{buffer::*, cache::*, dylib::*, engine::*, error::*, module::*, session::*, stats::*, target::*, tracker::*};

const BC_MAGIC: &[u8] = b"BC\xC0\xDE";

fuzz_target!(|data: &[u8]| {
    run(data);
    // The same bytes as bitcode too (the reader picks the parser by magic).
    if !data.starts_with(BC_MAGIC) {
        let mut bc = BC_MAGIC.to_vec();
        bc.extend_from_slice(data);
        run(&bc);
    }
});

fn run(data: &[u8]) {
    let Some(m) = untrusted_module("fuzz", data) else { return };
    let ee = engine(tm((data.len() % 3) as u32));
    // SAFETY: live handles; on failure the module is still ours to dispose.
    unsafe {
        if ok(JitcoreEngineAddModule(ee, m), "JitcoreEngineAddModule") {
            let _ = ok(JitcoreEngineFinalizeObject(ee), "JitcoreEngineFinalizeObject");
            let _ = lookup(ee, "f");
            let _ = lookup(ee, "main");
        } else {
            JitcoreDisposeModule(m);
        }
        JitcoreDisposeEngine(ee);
    }
}
