//! Modules as hosts see them: IR parsed and verified into a private context,
//! with what the JIT needs to know about them computed once, up front.

use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::error::{Error, Result};
use crate::llvm::ir::{IrModule, ModuleSymbol, Structor};

/// Who holds a module: the host (0) or the owner with this id.
pub type OwnerId = u64;

static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// A fresh owner id for an engine or JITDylib (never 0, never reused).
pub fn new_owner_id() -> OwnerId {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

/// A verified module and the facts about it that do not change.
pub struct Module {
    name: CString,
    ir: Mutex<IrModule>,
    /// Definitions other modules can see, after structors were made visible.
    symbols: Vec<ModuleSymbol>,
    ctors: Vec<Structor>,
    dtors: Vec<Structor>,
    /// The symbol its `atexit` / `__cxa_atexit` calls pass, if it makes any
    /// (see `llvm/exit.rs`): the session defines it in the module's dylib.
    exit_token: Option<String>,
    /// The module's target triple as written ("" when it names none).
    triple: String,
    /// Thread-local variables it defines or uses (see `Session::check_target`).
    thread_locals: Vec<String>,
    /// A content hash (FNV-1a over name and bitcode), stable across runs.
    content_hash: u64,
    /// 0 while the host owns the module, else the id of the engine or
    /// JITDylib it was added to.
    owner: AtomicU64,
    /// The C handle value the FFI registry gave this module (0: none).
    handle: AtomicU64,
    /// BLAKE3 of the bitcode, for the object cache's key (made on first use).
    bitcode_digest: OnceLock<[u8; 32]>,
    /// The external names it uses (made on first use).
    declarations: OnceLock<Vec<String>>,
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for &b in *part {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

impl Module {
    /// Parses IR text or bitcode named `name`.
    pub fn from_ir(name: &str, data: &[u8]) -> Result<Arc<Module>> {
        crate::llvm::initialize()?;
        Module::prepare(name, IrModule::parse(name, data)?)
    }

    /// Parses IR text or bitcode from a source the host does not trust.
    /// LLVM's bitcode reader is not hardened against malformed input (it
    /// can crash on records of the wrong shape), so the input is first
    /// parsed and verified in a child process: a crash there is an
    /// `INVALID_IR` error here. Costs one `fork` per call.
    pub fn from_untrusted_ir(name: &str, data: &[u8]) -> Result<Arc<Module>> {
        crate::llvm::initialize()?;
        // The parse may use many times the input's size, never without bound.
        let budget = (data.len() as u64).saturating_mul(64).max(1 << 30);
        crate::platform::run_isolated(
            budget,
            || IrModule::parse(name, data).map(drop),
            |how| {
                Error::invalid_ir(format!(
                    "cannot parse module '{name}': LLVM's IR reader crashed on it ({how}) in an isolated child \
                     process; the input is malformed"
                ))
            },
        )?;
        Module::from_ir(name, data)
    }

    /// A module of IR jitcore already holds in a context of its own (a
    /// copy of a host's LLVM-C module, or of one of LLJIT's).
    pub fn from_ir_module(name: &str, ir: IrModule) -> Result<Arc<Module>> {
        Module::prepare(name, ir)
    }

    fn prepare(name: &str, mut ir: IrModule) -> Result<Arc<Module>> {
        if name.contains('\0') {
            return Err(Error::invalid_argument("a module name must not contain NUL bytes"));
        }
        let content_hash = fnv1a(&[name.as_bytes(), &ir.bitcode()]);
        let ctors = ir.take_structors("llvm.global_ctors", &format!("__jitcore.ctor.{content_hash:016x}"))?;
        let dtors = ir.take_structors("llvm.global_dtors", &format!("__jitcore.dtor.{content_hash:016x}"))?;
        let token = format!("__jitcore.exit.{content_hash:016x}");
        let exit_token = crate::llvm::exit::route_exit_registrations(&mut ir, &token).then_some(token);
        if exit_token.is_some() {
            // What jitcore wrote must be as sound as what it was given.
            ir.verify(name).map_err(|e| Error::internal(format!("routing exit handlers: {}", e.message)))?;
        }
        let symbols = ir.defined_symbols();
        let triple = ir.target_triple();
        let thread_locals = ir.thread_locals();
        Ok(Arc::new(Module {
            name: CString::new(name).expect("checked for NUL above"),
            ir: Mutex::new(ir),
            symbols,
            ctors,
            dtors,
            exit_token,
            triple,
            thread_locals,
            content_hash,
            owner: AtomicU64::new(0),
            handle: AtomicU64::new(0),
            bitcode_digest: OnceLock::new(),
            declarations: OnceLock::new(),
        }))
    }

    pub fn name(&self) -> &str {
        self.name.to_str().unwrap_or("<module>")
    }

    /// The name as a C string, valid while the module lives.
    pub fn c_name(&self) -> &CString {
        &self.name
    }

    pub fn symbols(&self) -> &[ModuleSymbol] {
        &self.symbols
    }

    pub fn ctors(&self) -> &[Structor] {
        &self.ctors
    }

    pub fn dtors(&self) -> &[Structor] {
        &self.dtors
    }

    /// The symbol the module's exit handler registrations name (none if it
    /// registers none).
    pub fn exit_token(&self) -> Option<&str> {
        self.exit_token.as_deref()
    }

    pub fn triple(&self) -> &str {
        &self.triple
    }

    /// Thread-local variables the module defines or uses.
    pub fn thread_locals(&self) -> &[String] {
        &self.thread_locals
    }

    pub fn content_hash(&self) -> u64 {
        self.content_hash
    }

    /// BLAKE3 of the module's bitcode as jitcore holds it (what is
    /// compiled), computed once: the IR never changes after `prepare`.
    pub fn bitcode_digest(&self) -> [u8; 32] {
        *self.bitcode_digest.get_or_init(|| crate::llvm::blake3::blake3(&self.lock_ir().bitcode()))
    }

    /// The external names the module uses without defining them.
    pub fn declarations(&self) -> Vec<String> {
        self.declarations.get_or_init(|| self.lock_ir().declarations()).clone()
    }

    /// Number of function definitions (for statistics).
    pub fn function_count(&self) -> usize {
        self.symbols.iter().filter(|s| s.callable).count()
    }

    /// The module as IR text (its current IR: structors already taken out).
    pub fn ir_text(&self) -> String {
        self.lock_ir().to_text()
    }

    /// The names of the functions the module defines, in module order,
    /// local ones included.
    pub fn function_definitions(&self) -> Vec<String> {
        self.lock_ir().function_definitions()
    }

    /// Locks the IR for compiling (one compile of a module at a time).
    pub fn lock_ir(&self) -> MutexGuard<'_, IrModule> {
        self.ir.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims the module for `owner`; fails if someone else already holds it.
    pub fn claim(&self, owner: OwnerId) -> Result<()> {
        match self.owner.compare_exchange(0, owner, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::module_already_added(format!(
                "module '{}' is already added to an engine or JITDylib",
                self.name()
            ))),
        }
    }

    /// Gives the module back to the host.
    pub fn release(&self) {
        self.owner.store(0, Ordering::Release);
    }

    pub fn owner(&self) -> OwnerId {
        self.owner.load(Ordering::Acquire)
    }

    pub fn handle(&self) -> u64 {
        self.handle.load(Ordering::Acquire)
    }

    pub fn set_handle(&self, h: u64) {
        self.handle.store(h, Ordering::Release);
    }
}

/// The static constructors (or, with `dtors`, destructors) of `modules`,
/// given in the order they were added, each with a tag of the caller's, in
/// the order to run them, as (tag, index into the module's list):
/// constructors by ascending priority number, then in the order added,
/// then in the order listed; destructors in exactly the reverse order. The
/// one ordering rule of the engine and the session (see `session/init.rs`).
pub fn structor_order<'a, T: Clone + 'a>(
    modules: impl IntoIterator<Item = (&'a Module, T)>,
    dtors: bool,
) -> Vec<(T, usize)> {
    let mut all = Vec::new();
    for (order, (m, tag)) in modules.into_iter().enumerate() {
        let list = if dtors { m.dtors() } else { m.ctors() };
        all.extend(list.iter().enumerate().map(|(i, s)| (s.priority, order, i, tag.clone())));
    }
    all.sort_by_key(|(prio, order, i, _)| (*prio, *order, *i));
    if dtors {
        all.reverse();
    }
    all.into_iter().map(|(_, _, i, tag)| (tag, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "define i32 @sum(i32 %a, i32 %b) {\n  %r = add i32 %a, %b\n  ret i32 %r\n}\n";

    #[test]
    fn parses_and_lists_symbols() {
        let m = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        assert_eq!(m.name(), "sum");
        assert_eq!(m.symbols().len(), 1);
        assert_eq!(m.symbols()[0].name, "sum");
        assert!(m.symbols()[0].callable && m.symbols()[0].exported);
    }

    #[test]
    fn bad_ir_names_module_and_line() {
        let e = Module::from_ir("broken", b"define i32 @f( {\n").err().unwrap();
        assert_eq!(e.code, crate::error::JitcoreErrorCode::JITCORE_ERROR_INVALID_IR);
        assert!(e.message.contains("broken:2:1: error"), "{}", e.message);
    }

    #[test]
    fn ctors_are_extracted_and_made_visible() {
        let ir = "@llvm.global_ctors = appending global [2 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 200, ptr @b, ptr null }, { i32, ptr, ptr } { i32 100, ptr @a, ptr null }]\n\
                  define internal void @a() { ret void }\ndefine void @b() { ret void }\n";
        let m = Module::from_ir("c", ir.as_bytes()).unwrap();
        assert_eq!(m.ctors().len(), 2);
        assert_eq!(m.ctors()[0].priority, 200);
        assert_eq!(m.ctors()[0].function, "b");
        assert!(m.ctors()[1].function.starts_with("__jitcore.ctor."));
        assert!(m.symbols().iter().any(|s| s.name == m.ctors()[1].function && !s.exported));
    }

    #[test]
    fn exit_registrations_go_to_jitcore() {
        let ir = "declare i32 @atexit(ptr)\ndeclare i32 @__cxa_atexit(ptr, ptr, ptr)\n\
                  define void @h() { ret void }\n\
                  define void @r() {\n  %a = call i32 @atexit(ptr @h)\n  %b = call i32 @__cxa_atexit(ptr @h, ptr null, ptr null)\n  ret void\n}\n";
        let m = Module::from_ir("exits", ir.as_bytes()).unwrap();
        let token = m.exit_token().expect("it registers handlers");
        assert!(token.starts_with("__jitcore.exit."));
        let decls = m.declarations();
        assert!(!decls.iter().any(|d| d == "atexit" || d == "__cxa_atexit"), "{decls:?}");
        assert!(decls.iter().any(|d| d == token) && decls.iter().any(|d| d == crate::llvm::exit::REGISTRAR));
        // The wrappers are internal: nothing new for other modules to see.
        assert_eq!(m.symbols().len(), 2);
        // Declared but unused, of another type, or defined: left alone.
        for ir in [
            "declare i32 @atexit(ptr)\ndefine void @r() { ret void }\n",
            "declare void @atexit(i64)\ndefine void @r() { call void @atexit(i64 1)\n ret void }\n",
            "define i32 @atexit(ptr %f) { ret i32 0 }\n",
            "declare fastcc i32 @atexit(ptr)\ndefine void @r() { call fastcc i32 @atexit(ptr null)\n ret void }\n",
            "declare i32 @atexit(ptr addrspace(1))\ndefine void @r() { call i32 @atexit(ptr addrspace(1) null)\n ret void }\n",
        ] {
            let m = Module::from_ir("left", ir.as_bytes()).unwrap();
            assert_eq!(m.exit_token(), None, "{ir}");
        }
    }

    #[test]
    fn claims_are_exclusive() {
        let m = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        m.claim(7).unwrap();
        assert!(m.claim(8).is_err());
        m.release();
        m.claim(8).unwrap();
    }
}
