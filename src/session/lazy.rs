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

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::*;

use super::tracker::Group;
use super::unit::{create, replace, Source};
use super::SessionEnv;
use crate::error::{Error, Result};
use crate::llvm::cstring;
use crate::llvm::ir::{IrModule, ModuleSymbol};
use crate::llvm::orc::{copy_flags, SymbolName};
pub use crate::llvm::split::BODY_SUFFIX;
use crate::llvm::split::{split, FunctionPartition};
use crate::module::Module;


/// Where a stub lands when its function cannot be compiled: the failure is
/// reported (with the function's name) through the session's error
/// reporter, and the call returns 0.
extern "C" fn lazy_compile_failed() -> u64 {
    0
}

/// The session's lazy call-through manager (trampolines that resolve a
/// stub's body on first call).
pub struct CallThrough(LLVMOrcLazyCallThroughManagerRef);

// SAFETY: the call-through manager synchronizes itself; it is used by many
// threads at once by design (every first call goes through it).
unsafe impl Send for CallThrough {}
// SAFETY: as above.
unsafe impl Sync for CallThrough {}

impl CallThrough {
    pub fn new(triple: &str, es: LLVMOrcExecutionSessionRef) -> Result<CallThrough> {
        let t = cstring(triple);
        let mut raw = std::ptr::null_mut();
        // SAFETY: the session is live and outlives the manager (the session
        // disposes of it before its LLJIT).
        let err = unsafe {
            LLVMOrcCreateLocalLazyCallThroughManager(
                t.as_ptr(),
                es,
                lazy_compile_failed as extern "C" fn() -> u64 as usize as u64,
                &mut raw,
            )
        };
        crate::llvm::check(err, crate::error::JitcoreErrorCode::JITCORE_ERROR_UNSUPPORTED)
            .map_err(|e| e.context("lazy compilation is not available on this host"))?;
        Ok(CallThrough(raw))
    }

    pub fn as_raw(&self) -> LLVMOrcLazyCallThroughManagerRef {
        self.0
    }
}

impl Drop for CallThrough {
    fn drop(&mut self) {
        // SAFETY: we own the manager and dispose it once.
        unsafe { LLVMOrcDisposeLazyCallThroughManager(self.0) }
    }
}

/// The stubs of one lazily added module.
pub struct StubsManager(LLVMOrcIndirectStubsManagerRef);

// SAFETY: the stubs manager synchronizes itself.
unsafe impl Send for StubsManager {}
// SAFETY: as above.
unsafe impl Sync for StubsManager {}

impl StubsManager {
    pub fn new(triple: &str) -> Result<StubsManager> {
        let t = cstring(triple);
        // SAFETY: creates a manager we own.
        let raw = unsafe { LLVMOrcCreateLocalIndirectStubsManager(t.as_ptr()) };
        if raw.is_null() {
            return Err(Error::unsupported(format!("no lazy stubs for '{triple}'")));
        }
        Ok(StubsManager(raw))
    }

    pub fn as_raw(&self) -> LLVMOrcIndirectStubsManagerRef {
        self.0
    }
}

impl Drop for StubsManager {
    fn drop(&mut self) {
        // SAFETY: we own the manager and dispose it once, after the tracker
        // whose stubs it holds was removed (or the session is gone).
        unsafe { LLVMOrcDisposeIndirectStubsManager(self.0) }
    }
}

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
    stubs: usize,
    mr: LLVMOrcMaterializationResponsibilityRef,
    symbols: Vec<(SymbolName, LLVMJITSymbolFlags)>,
) -> LLVMErrorRef {
    let call_through = match env.lazy_support() {
        Ok(c) => c,
        Err(e) => return super::unit::string_error(&e.message),
    };
    let by_name: HashMap<String, (SymbolName, LLVMJITSymbolFlags)> =
        symbols.into_iter().map(|(n, f)| (n.as_str(), (n, f))).collect();
    // SAFETY: mr is live and ours for the call.
    let jd = unsafe { LLVMOrcMaterializationResponsibilityGetTargetDylib(mr) };
    let es = env.execution_session();

    let mut aliases: Vec<LLVMOrcCSymbolAliasMapPair> = Vec::new();
    for (f, _) in &plan.functions {
        if let Some((stub, flags)) = by_name.get(&f.name) {
            let body = cstring(&f.body);
            aliases.push(LLVMOrcCSymbolAliasMapPair {
                Name: stub.clone().into_raw(),
                // SAFETY: interning in the live session gives us a reference,
                // which LazyReexports takes over (as it does the stub name).
                Entry: LLVMOrcCSymbolAliasMapEntry {
                    Name: unsafe { LLVMOrcExecutionSessionIntern(es, body.as_ptr()) },
                    Flags: copy_flags(flags),
                },
            });
        }
    }
    if !aliases.is_empty() {
        // SAFETY: the managers outlive every stub they make (the call-through
        // manager lives with the session, the stubs manager until the
        // module's tracker is removed); LazyReexports takes the names.
        let mu = unsafe {
            LLVMOrcLazyReexports(
                call_through,
                stubs as LLVMOrcIndirectStubsManagerRef,
                jd,
                aliases.as_mut_ptr(),
                aliases.len(),
            )
        };
        let err = replace(mr, mu);
        if !err.is_null() {
            return err;
        }
    }
    for (f, bitcode) in &plan.functions {
        if let Some((body, flags)) = by_name.get(&f.body) {
            let name = format!("{}#{}", plan.module_name, f.name);
            let source = Source::Partition { name: name.clone(), bitcode: bitcode.clone() };
            let err = replace(mr, create(env, id, source, &name, vec![(body.clone(), copy_flags(flags))], group.clone()));
            if !err.is_null() {
                return err;
            }
        }
    }
    if let Some((bitcode, globals)) = &plan.globals {
        let wanted: Vec<_> =
            globals.iter().filter_map(|g| by_name.get(&g.name).map(|(n, f)| (n.clone(), copy_flags(f)))).collect();
        if !wanted.is_empty() {
            let name = format!("{}#globals", plan.module_name);
            let source = Source::Partition { name: name.clone(), bitcode: bitcode.clone() };
            let err = replace(mr, create(env, id, source, &name, wanted, group));
            if !err.is_null() {
                return err;
            }
        }
    }
    std::ptr::null_mut()
}
