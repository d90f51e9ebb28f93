//! Optimize (the IR pipeline an engine or session chose, `pipeline.rs`)
//! and codegen: a module in, a relocatable object out.
//!
//! This is the only place IR becomes machine code. The materialization unit
//! calls it when the object cache has nothing for a module.

pub mod pipeline;
pub mod pool;

use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::target_machine::{TargetMachine, TargetSpec};
use crate::module::Module;
use pipeline::IrPipeline;

/// Compiles `module` for `spec` with the machine `tm` (made from `spec`),
/// running `pipeline` before codegen at `spec`'s opt level. The IR compiled
/// is the module's own, taken from it ([`Module::take_ir`]: no copy is made,
/// and the module rebuilds its IR if something needs it again).
pub fn compile(
    module: &Module,
    spec: &TargetSpec,
    tm: &TargetMachine,
    data_layout: &str,
    pipeline: &IrPipeline,
) -> Result<MemoryBuffer> {
    let mut ir = module.take_ir()?;
    ir.set_target(&spec.triple, data_layout);
    ir.keep_linkonce_definitions();
    ir.lower_thread_locals().map_err(|msg| Error::unsupported(format!("module '{}': {msg}", module.name())))?;

    if let Some(passes) = pipeline.passes(spec.opt_level) {
        crate::llvm::codegen::run_passes(&mut ir, &passes, tm).map_err(|msg| {
            Error::compile(format!("optimizing module '{}' with '{passes}' failed: {msg}", module.name()))
        })?;
    }
    crate::llvm::codegen::emit_object(&mut ir, tm)
        .map_err(|msg| Error::compile(format!("code generation for module '{}' failed: {msg}", module.name())))
}
