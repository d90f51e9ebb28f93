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
//!
//! The names the split gives promoted local symbols carry a tag made from
//! the module's content hash ([`LazyTags`]), not from the order modules were
//! added: the partitions of a module are the same bitcode in every session,
//! so their cache keys are too, and a warm disk cache serves them whatever
//! was added before.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

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

/// The tags in use by a session's lazily added modules.
#[derive(Default)]
pub struct LazyTags {
    in_use: Arc<Mutex<HashSet<String>>>,
}

/// A module's tag, unique among the lazily added modules of its session
/// while it lives (it is released when dropped, with the module's member).
pub struct LazyTag {
    tag: String,
    in_use: Arc<Mutex<HashSet<String>>>,
}

impl LazyTags {
    /// The tag of a module with `content_hash`: the hash itself, or while
    /// another live module of identical content holds it (the same module
    /// added twice), the hash with the smallest free `.n` after it.
    pub fn reserve(&self, content_hash: u64) -> LazyTag {
        let mut in_use = self.in_use.lock().unwrap_or_else(|p| p.into_inner());
        let base = format!("{content_hash:016x}");
        let mut tag = base.clone();
        let mut n = 0u64;
        while in_use.contains(&tag) {
            n += 1;
            tag = format!("{base}.{n}");
        }
        in_use.insert(tag.clone());
        LazyTag { tag, in_use: self.in_use.clone() }
    }
}

impl LazyTag {
    pub fn as_str(&self) -> &str {
        &self.tag
    }
}

impl Drop for LazyTag {
    fn drop(&mut self) {
        self.in_use.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.tag);
    }
}

impl LazyPlan {
    /// Splits `module`, promoting local symbols under `unique` (see
    /// `llvm::split::split`); `None` when it cannot be split safely.
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

    /// The body behind function `name`'s stub (none if `name` was not
    /// split out: it lives in the globals partition, under its own name).
    pub fn body_of(&self, name: &str) -> Option<&str> {
        self.functions.iter().find(|(f, _)| f.name == name).map(|(f, _)| f.body.as_str())
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
