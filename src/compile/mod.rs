//! Optimize and codegen: a module in, a relocatable object out.
//!
//! This is the only place IR becomes machine code. The materialization unit
//! calls it when the object cache has nothing for a module.

pub mod pool;

use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::target_machine::{TargetMachine, TargetSpec};
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
    copy.lower_thread_locals().map_err(|msg| Error::unsupported(format!("module '{}': {msg}", module.name())))?;

    crate::llvm::codegen::run_passes(&mut copy, &pipeline(spec.opt_level), tm)
        .map_err(|msg| Error::compile(format!("optimizing module '{}' failed: {msg}", module.name())))?;
    crate::llvm::codegen::emit_object(&mut copy, tm)
        .map_err(|msg| Error::compile(format!("code generation for module '{}' failed: {msg}", module.name())))
}
