//! Custom materializers: the host names symbols and supplies, on the first
//! lookup of any of them, IR or an object that defines them (ORC's "custom
//! compiler"). What it returns takes the one compile path like any module.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::ir::ModuleSymbol;
use crate::llvm::orc::SymbolName;
use crate::module::Module;

/// What the compile path compiles: the module, or the object a host
/// materializer returned.
pub enum Code {
    Module(Arc<Module>),
    Object(MemoryBuffer),
}

/// Produces the code for the requested names (a subset of the symbols).
pub type Produce = Box<dyn Fn(&[String]) -> Result<Code> + Send + Sync>;

/// A host's materializer.
pub struct HostMaterializer {
    id: u64,
    symbols: Vec<String>,
    produce: Produce,
    /// The exit tokens of the modules it produced (see session/exit.rs).
    exit_tokens: Mutex<Vec<String>>,
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl HostMaterializer {
    pub fn new(symbols: Vec<String>, produce: Produce) -> Result<HostMaterializer> {
        if symbols.is_empty() {
            return Err(Error::invalid_argument("a materializer must name at least one symbol"));
        }
        if let Some(bad) = symbols.iter().find(|s| s.is_empty()) {
            return Err(Error::invalid_argument(format!("symbol name '{bad}' is empty")));
        }
        // Ids share the space of module content hashes in failure reports;
        // the top bit keeps them apart in practice.
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed) | (1 << 63);
        Ok(HostMaterializer { id, symbols, produce, exit_tokens: Mutex::new(Vec::new()) })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// How messages name it: after its first symbol.
    pub fn name(&self) -> String {
        format!("materializer of '{}'", self.symbols[0])
    }

    /// The symbols it promises, as exported functions.
    pub fn symbols(&self) -> Vec<ModuleSymbol> {
        self.symbols
            .iter()
            .map(|s| ModuleSymbol { name: s.clone(), exported: true, callable: true, weak: false })
            .collect()
    }

    /// Notes that a module it produced registers exit handlers through `token`.
    pub fn note_exit_token(&self, token: &str) {
        let mut tokens = self.exit_tokens.lock().unwrap_or_else(|p| p.into_inner());
        if !tokens.iter().any(|t| t == token) {
            tokens.push(token.to_string());
        }
    }

    pub fn exit_tokens(&self) -> Vec<String> {
        self.exit_tokens.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Calls the host for the `requested` names.
    pub fn materialize(&self, requested: &[SymbolName]) -> Result<Code> {
        let requested: Vec<String> = requested.iter().map(SymbolName::as_str).collect();
        (self.produce)(&requested).map_err(|e| e.context(self.name()))
    }
}
