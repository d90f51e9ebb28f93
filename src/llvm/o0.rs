//! Whether LLVM's `default<O0>` pipeline would change a module.
//!
//! At O0 the pipeline is (LLVM 22, `opt -passes='default<O0>'
//! -print-pipeline-passes`): `function(ee-instrument<>)`, `always-inline`,
//! `coro-cond(coro-early, cgscc(coro-split), coro-cleanup, globaldce)`,
//! `alloc-token`, `function(annotation-remarks)`, `verify`. Each acts only on
//! what a front end marks for it:
//! * `ee-instrument`: functions with an `instrument-function-entry` or
//!   `instrument-function-exit` attribute (`-finstrument-functions`);
//! * `always-inline`: functions and call sites marked `alwaysinline`;
//! * `coro-cond`: modules that declare coroutine intrinsics (`llvm.coro.*`);
//! * `alloc-token`: functions with `sanitize_alloc_token`;
//! * `annotation-remarks` emits remarks only, `verify` changes nothing (and
//!   every module was verified when it was made).
//!
//! A module with none of these compiles to the same object with or without
//! the pipeline (tested in `compile`), so the compile path skips it there:
//! raw LLJIT at O0, which runs no IR passes, costs no less.

use std::ffi::CStr;

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMAttributeFunctionIndex;

use super::ir::IrModule;

/// Function attributes `ee-instrument` acts on.
const INSTRUMENT: [&CStr; 4] = [
    c"instrument-function-entry",
    c"instrument-function-exit",
    c"instrument-function-entry-inlined",
    c"instrument-function-exit-inlined",
];

fn enum_kind(name: &str) -> u32 {
    // SAFETY: reads a static table; the name is passed with its length.
    unsafe { LLVMGetEnumAttributeKindForName(name.as_ptr().cast(), name.len()) }
}

impl IrModule {
    /// True if `default<O0>` would leave the module as it is (see above).
    pub fn default_o0_is_a_no_op(&self) -> bool {
        let always_inline = enum_kind("alwaysinline");
        let alloc_token = enum_kind("sanitize_alloc_token");
        // SAFETY: the module is live and only read (&self); every value
        // visited belongs to it.
        unsafe {
            let mut f = LLVMGetFirstFunction(self.raw());
            while !f.is_null() {
                if !function_is_plain(f, always_inline, alloc_token) {
                    return false;
                }
                f = LLVMGetNextFunction(f);
            }
        }
        true
    }
}

/// # Safety
/// `f` must be a live function.
unsafe fn function_is_plain(f: LLVMValueRef, always_inline: u32, alloc_token: u32) -> bool {
    let mut len = 0usize;
    let name = LLVMGetValueName2(f, &mut len);
    if std::slice::from_raw_parts(name.cast::<u8>(), len).starts_with(b"llvm.coro.") {
        return false;
    }
    let marked = |kind: u32| kind != 0 && !LLVMGetEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, kind).is_null();
    if marked(always_inline) || marked(alloc_token) {
        return false;
    }
    for a in INSTRUMENT {
        let len = a.to_bytes().len() as u32;
        if !LLVMGetStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, a.as_ptr(), len).is_null() {
            return false;
        }
    }
    // Call sites marked alwaysinline (a statement attribute in C++).
    if always_inline != 0 {
        let mut bb = LLVMGetFirstBasicBlock(f);
        while !bb.is_null() {
            let mut i = LLVMGetFirstInstruction(bb);
            while !i.is_null() {
                let call = !LLVMIsACallInst(i).is_null() || !LLVMIsAInvokeInst(i).is_null() || !LLVMIsACallBrInst(i).is_null();
                if call
                    && !LLVMGetCallSiteEnumAttribute(i, LLVMAttributeFunctionIndex, always_inline).is_null()
                {
                    return false;
                }
                i = LLVMGetNextInstruction(i);
            }
            bb = LLVMGetNextBasicBlock(bb);
        }
    }
    true
}
