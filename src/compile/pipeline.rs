//! The IR pipeline: what runs on a module's IR before code generation.
//! Engines and sessions start with [`IrPipeline::Default`]; a host that
//! already optimized its IR chooses [`IrPipeline::None`] (codegen only, as
//! llvmlite's MCJIT and `lli` do), or names its own passes.

use crate::error::{Error, Result};
use crate::llvm::ir::IrModule;
use crate::llvm::target_machine::TargetMachine;

/// Which passes run on IR before codegen. Codegen itself always runs at
/// the target's opt level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum IrPipeline {
    /// `default<On>` at the target's opt level `n`.
    #[default]
    Default,
    /// No IR passes: the module is code-generated as it is.
    None,
    /// A pass pipeline in `opt -passes=` syntax (checked by
    /// [`IrPipeline::check`] before an engine or session takes it).
    Custom(String),
}

impl IrPipeline {
    /// The passes to run at `opt_level`, as `opt -passes=` spells them
    /// (`None`: nothing runs). Two pipelines with the same passes compile
    /// alike, however they were chosen.
    pub fn passes(&self, opt_level: u32) -> Option<String> {
        match self {
            IrPipeline::Default => Some(format!("default<O{}>", opt_level.min(3))),
            IrPipeline::None => None,
            IrPipeline::Custom(p) => Some(p.clone()),
        }
    }

    /// Has LLVM parse a custom pipeline (by running it on an empty module in
    /// a context of its own, with `tm`): a pipeline that does not parse is
    /// `INVALID_ARGUMENT` naming it, with LLVM's message.
    pub fn check(&self, tm: &TargetMachine) -> Result<()> {
        let IrPipeline::Custom(passes) = self else { return Ok(()) };
        let invalid = |why: &str| Error::invalid_argument(format!("IR pipeline '{passes}' is not valid: {why}"));
        if passes.trim().is_empty() {
            return Err(invalid("it names no passes (choose no IR pipeline for codegen only)"));
        }
        if passes.contains('\0') {
            return Err(invalid("it contains a NUL byte"));
        }
        let mut empty = IrModule::parse("jitcore.pipeline-check", b"")?;
        crate::llvm::codegen::run_passes(&mut empty, passes, tm).map_err(|msg| invalid(&msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llvm::target_machine::TargetSpec;

    #[test]
    fn passes_follow_the_choice() {
        assert_eq!(IrPipeline::Default.passes(2).as_deref(), Some("default<O2>"));
        assert_eq!(IrPipeline::Default.passes(9).as_deref(), Some("default<O3>"));
        assert_eq!(IrPipeline::None.passes(2), None);
        assert_eq!(IrPipeline::Custom("instcombine".into()).passes(0).as_deref(), Some("instcombine"));
    }

    #[test]
    fn custom_pipelines_are_parsed_by_llvm() {
        crate::llvm::initialize().unwrap();
        let tm = TargetSpec::host(2).create().unwrap();
        IrPipeline::Default.check(&tm).unwrap();
        IrPipeline::None.check(&tm).unwrap();
        IrPipeline::Custom("function(instcombine),globaldce".into()).check(&tm).unwrap();
        let e = IrPipeline::Custom("function(nosuchpass)".into()).check(&tm).unwrap_err();
        assert_eq!(e.code, crate::error::JitcoreErrorCode::JITCORE_ERROR_INVALID_ARGUMENT);
        assert!(e.message.contains("'function(nosuchpass)'") && e.message.contains("nosuchpass"), "{}", e.message);
        assert!(IrPipeline::Custom(" ".into()).check(&tm).is_err());
        assert!(IrPipeline::Custom("a\0b".into()).check(&tm).is_err());
    }
}
