//! Function-level laziness: a module added lazily is split once, when it is
//! added, into one partition per function plus one for its global variables
//! (`llvm/split/`). Callers reach each function `f` through a lazy stub
//! named `f` (`LLVMOrcLazyReexports`); the first call through the stub looks
//! up the body, `f.jitcore.body`, whose partition is then parsed and
//! compiled by the one compile path, and patches the stub to it.
//!
//! All of it sits behind one placeholder (see unit.rs), so the module's
//! resource tracker covers stubs and bodies alike; each lazily added module
//! has its own stubs manager, freed when the module is removed.

use std::sync::Arc;

use crate::error::Result;
use crate::llvm::ir::{IrModule, ModuleSymbol};
pub use crate::llvm::split::BODY_SUFFIX;
use crate::llvm::split::{split, FunctionPartition};
use crate::module::Module;

/// A module split for lazy compilation.
pub struct LazyPlan {
    pub(super) module_name: String,
    pub(super) functions: Vec<(FunctionPartition, Arc<Vec<u8>>)>,
    pub(super) globals: Option<(Arc<Vec<u8>>, Vec<ModuleSymbol>)>,
    /// The names the global variables' partition uses without defining.
    globals_refs: Vec<String>,
}

impl LazyPlan {
    /// Splits `module`; `None` when it cannot be split safely.
    pub fn new(module: &Module, unique: &str) -> Result<Option<LazyPlan>> {
        // Split a copy in a context of its own: the splitter rewrites it
        // freely, and the module stays as the host gave it.
        let bitcode = module.lock_ir().bitcode();
        let mut copy = IrModule::parse(module.name(), &bitcode)?;
        let parts = split(&mut copy, unique)?;
        drop(copy);
        let Some(parts) = parts else { return Ok(None) };
        let (globals, globals_refs) = match parts.globals {
            Some(bc) => {
                let ir = IrModule::parse(&format!("{}#globals", module.name()), &bc)?;
                let (symbols, refs) = (ir.defined_symbols(), ir.declarations());
                drop(ir);
                (Some((Arc::new(bc), symbols)), refs)
            }
            None => (None, Vec::new()),
        };
        let functions = parts
            .functions
            .into_iter()
            .map(|mut f| {
                let bc = Arc::new(std::mem::take(&mut f.bitcode));
                (f, bc)
            })
            .collect();
        Ok(Some(LazyPlan { module_name: module.name().to_string(), functions, globals, globals_refs }))
    }

    /// The names the module's global variables use (its functions are
    /// reached through stubs, so only these can make a lookup wait).
    pub fn globals_refs(&self) -> Vec<String> {
        self.globals_refs.clone()
    }

    /// What the module's placeholder promises: stubs, bodies and globals.
    pub fn placeholder_symbols(&self) -> Vec<ModuleSymbol> {
        let mut out = Vec::with_capacity(self.functions.len() * 2);
        for (f, _) in &self.functions {
            out.push(ModuleSymbol { name: f.name.clone(), exported: f.exported, callable: true, weak: f.weak });
            out.push(ModuleSymbol { name: f.body.clone(), exported: false, callable: true, weak: f.weak });
        }
        if let Some((_, symbols)) = &self.globals {
            out.extend(symbols.iter().cloned());
        }
        out
    }
}
