//! IR passes and code generation: the LLVM calls of jitcore's compile path
//! (`compile/` decides what runs; this is how).

use std::ptr;

use llvm_sys::target_machine::{LLVMCodeGenFileType, LLVMTargetMachineEmitToMemoryBuffer};
use llvm_sys::transforms::pass_builder::*;

use super::buffer::MemoryBuffer;
use super::ir::IrModule;
use super::target_machine::TargetMachine;
use super::{cstring, diagnostics, take_error, take_message};

/// Runs the pass pipeline `passes` (`opt -passes=` syntax) on `ir` with
/// `tm`. Backend errors reported as diagnostics fail it too. Errors are
/// LLVM's messages.
pub fn run_passes(ir: &mut IrModule, passes: &str, tm: &TargetMachine) -> Result<(), String> {
    let passes = cstring(passes);
    ir.retire_context();
    // Backend errors (bad inline or module asm, ...) arrive as diagnostics
    // on this thread, not as a failed call.
    diagnostics::clear();
    // SAFETY: the module and the target machine are live and used by this
    // thread only (&mut); the options are created and disposed of here.
    unsafe {
        let opts = LLVMCreatePassBuilderOptions();
        let err = LLVMRunPasses(ir.as_raw(), passes.as_ptr(), tm.as_raw(), opts);
        LLVMDisposePassBuilderOptions(opts);
        if let Some(msg) = take_error(err) {
            return Err(msg);
        }
    }
    diagnostics::take_errors().map_or(Ok(()), Err)
}

/// Generates a relocatable object from `ir` with `tm`. An error diagnostic
/// (bad inline or module asm, too many asm registers) fails it, with
/// LLVM's message.
pub fn emit_object(ir: &mut IrModule, tm: &TargetMachine) -> Result<MemoryBuffer, String> {
    ir.retire_context();
    diagnostics::clear();
    let mut out = ptr::null_mut();
    let mut msg = ptr::null_mut();
    // SAFETY: as in run_passes; on success LLVM hands us a buffer we own,
    // on failure a message we dispose of.
    let failed = unsafe {
        LLVMTargetMachineEmitToMemoryBuffer(
            tm.as_raw(),
            ir.as_raw(),
            LLVMCodeGenFileType::LLVMObjectFile,
            &mut msg,
            &mut out,
        )
    };
    // SAFETY: msg is NULL or a message LLVM gave us to dispose; out, when
    // set, is a buffer LLVM gave us to own.
    let (text, object) = unsafe { (take_message(msg), (!out.is_null()).then(|| MemoryBuffer::from_raw(out))) };
    match (failed != 0, object, diagnostics::take_errors()) {
        (false, Some(object), None) => Ok(object),
        (_, _, Some(diag)) => Err(diag),
        _ => Err(text),
    }
}
