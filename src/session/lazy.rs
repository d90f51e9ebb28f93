//! Function-level laziness: a module added lazily is split once, when it is
//! added, into one partition per function plus one for its global variables
//! (`llvm/split.rs`). Callers reach each function `f` through a lazy stub
//! named `f` (`LLVMOrcLazyReexports`); the first call through the stub looks
//! up the body, `f.jitcore.body`, whose partition is then parsed and
//! compiled by the one compile path, and patches the stub to it.
//!
//! All of it sits behind one placeholder (see unit.rs), so the module's
//! resource tracker covers stubs and bodies alike; each lazily added module
//! has its own stubs manager, freed when the module is removed.

use std::collections::HashMap;
use std::sync::Arc;

use super::tracker::Group;
use super::unit::{create, Source};
use super::SessionEnv;
use crate::error::Result;
use crate::llvm::ir::{IrModule, ModuleSymbol};
use crate::llvm::lazy::{lazy_reexports, StubsManager};
use crate::llvm::orc::{SymbolFlags, SymbolName};
pub use crate::llvm::split::BODY_SUFFIX;
use crate::llvm::split::{split, FunctionPartition};
use crate::llvm::unit::BorrowedResponsibility;
use crate::module::Module;

/// A module split for lazy compilation.
pub struct LazyPlan {
    module_name: String,
    functions: Vec<(FunctionPartition, Arc<Vec<u8>>)>,
    globals: Option<(Arc<Vec<u8>>, Vec<ModuleSymbol>)>,
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
        let globals = match parts.globals {
            Some(bc) => {
                let symbols = IrModule::parse(&format!("{}#globals", module.name()), &bc)?.defined_symbols();
                Some((Arc::new(bc), symbols))
            }
            None => None,
        };
        let functions = parts
            .functions
            .into_iter()
            .map(|mut f| {
                let bc = Arc::new(std::mem::take(&mut f.bitcode));
                (f, bc)
            })
            .collect();
        Ok(Some(LazyPlan { module_name: module.name().to_string(), functions, globals }))
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

/// Replaces a lazy module's placeholder responsibility `mr` (covering
/// `symbols`) with its lazy stubs and one unit per partition.
pub fn install(
    env: &SessionEnv,
    id: u64,
    plan: &LazyPlan,
    group: Arc<Group>,
    stubs: &StubsManager,
    mr: &BorrowedResponsibility<'_>,
    symbols: Vec<(SymbolName, SymbolFlags)>,
) -> std::result::Result<(), String> {
    let call_through = env.lazy_support().map_err(|e| e.message)?;
    let by_name: HashMap<String, (SymbolName, SymbolFlags)> =
        symbols.into_iter().map(|(n, f)| (n.as_str(), (n, f))).collect();
    let aliases: Vec<(SymbolName, String, SymbolFlags)> = plan
        .functions
        .iter()
        .filter_map(|(f, _)| by_name.get(&f.name).map(|(stub, flags)| (stub.clone(), f.body.clone(), *flags)))
        .collect();
    if !aliases.is_empty() {
        mr.replace(lazy_reexports(&call_through, stubs, env.execution_session(), mr.target_dylib(), aliases))?;
    }
    for (f, bitcode) in &plan.functions {
        if let Some((body, flags)) = by_name.get(&f.body) {
            let name = format!("{}#{}", plan.module_name, f.name);
            let source = Source::Partition { name: name.clone(), bitcode: bitcode.clone() };
            mr.replace(create(env, id, source, &name, vec![(body.clone(), *flags)], group.clone()))?;
        }
    }
    if let Some((bitcode, globals)) = &plan.globals {
        let wanted: Vec<_> = globals.iter().filter_map(|g| by_name.get(&g.name).cloned()).collect();
        if !wanted.is_empty() {
            let name = format!("{}#globals", plan.module_name);
            let source = Source::Partition { name: name.clone(), bitcode: bitcode.clone() };
            mr.replace(create(env, id, source, &name, wanted, group))?;
        }
    }
    Ok(())
}
