//! Optimize and codegen: a module in, a relocatable object out.
//!
//! This is the only place IR becomes machine code. The materialization unit
//! calls it when the object cache has nothing for a module.

pub mod pool;

use std::ptr;

use llvm_sys::target_machine::{LLVMCodeGenFileType, LLVMTargetMachineEmitToMemoryBuffer};
use llvm_sys::transforms::pass_builder::*;

use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::target_machine::{TargetMachine, TargetSpec};
use crate::llvm::{cstring, diagnostics, take_error, take_message};
use crate::module::Module;

/// The IR pipeline for an opt level, as `opt -passes=` spells it.
pub fn pipeline(opt_level: u32) -> String {
    format!("default<O{}>", opt_level.min(3))
}

/// Compiles `module` for `spec` with the machine `tm` (made from `spec`),
/// on a copy of its IR so the module itself is never changed.
pub fn compile(module: &Module, spec: &TargetSpec, tm: &TargetMachine, data_layout: &str) -> Result<MemoryBuffer> {
    let mut ir = module.lock_ir();
    let mut copy = ir.clone_in_context();
    copy.set_target(&spec.triple, data_layout);
    copy.keep_linkonce_definitions();

    let passes = cstring(&pipeline(spec.opt_level));
    // Backend errors (bad inline or module asm, ...) arrive as diagnostics
    // on this thread, not as a failed call.
    diagnostics::clear();
    // SAFETY: the copy and the target machine are live and used by this
    // thread only (the module lock is held); the options are created and
    // disposed here.
    unsafe {
        let opts = LLVMCreatePassBuilderOptions();
        let err = LLVMRunPasses(copy.as_raw(), passes.as_ptr(), tm.as_raw(), opts);
        LLVMDisposePassBuilderOptions(opts);
        if let Some(msg) = take_error(err) {
            return Err(Error::compile(format!("optimizing module '{}' failed: {msg}", module.name())));
        }
    }
    if let Some(msg) = diagnostics::take_errors() {
        return Err(Error::compile(format!("optimizing module '{}' failed: {msg}", module.name())));
    }

    let mut out = ptr::null_mut();
    let mut msg = ptr::null_mut();
    // SAFETY: as above; on success LLVM hands us a buffer we own, on failure
    // a message we dispose.
    let failed = unsafe {
        LLVMTargetMachineEmitToMemoryBuffer(
            tm.as_raw(),
            copy.as_raw(),
            LLVMCodeGenFileType::LLVMObjectFile,
            &mut msg,
            &mut out,
        )
    };
    // SAFETY: msg is NULL or a message LLVM gave us to dispose; out, when
    // set, is a buffer LLVM gave us to own.
    let (text, object) = unsafe { (take_message(msg), (!out.is_null()).then(|| MemoryBuffer::from_raw(out))) };
    let diagnosed = diagnostics::take_errors();
    match (failed != 0, object, diagnosed) {
        (false, Some(object), None) => Ok(object),
        (_, _, Some(diag)) => {
            Err(Error::compile(format!("code generation for module '{}' failed: {diag}", module.name())))
        }
        _ => Err(Error::compile(format!("code generation for module '{}' failed: {text}", module.name()))),
    }
}
