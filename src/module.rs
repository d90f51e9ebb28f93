//! Modules as hosts see them: IR parsed and verified into a private context,
//! with what the JIT needs to know about them computed once, up front.
//!
//! A module keeps the bytes it was made from (the host's IR text or
//! bitcode, or the bitcode a copy of an LLVM-C module went through). They
//! are its content: its content key is BLAKE3 over them and its name (no
//! serialization of the IR), and its IR is rebuilt from them when the IR
//! was handed to a compile ([`Module::take_ir`]) and is needed again.

use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::llvm::blake3::Blake3;
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
    /// The bytes the module was made from, followed by one NUL (so the
    /// text parser reads them in place): what its content key is computed
    /// over (without the NUL), and what its IR is rebuilt from.
    source: Box<[u8]>,
    /// The prepared IR; `None` once [`Module::take_ir`] took it (rebuilt
    /// from `source` when needed again).
    ir: Mutex<Option<IrModule>>,
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
    /// 0 while the host owns the module, else the id of the engine or
    /// JITDylib it was added to.
    owner: AtomicU64,
    /// The C handle value the FFI registry gave this module (0: none).
    handle: AtomicU64,
    /// The content digest (see [`Module::content_digest`]), made on first use.
    digest: OnceLock<[u8; 32]>,
    /// The external names it uses.
    declarations: Vec<String>,
}

/// What the content digest starts with: changing how a module's content is
/// digested changes this tag (and the cache format version, `cache/key.rs`).
const CONTENT_TAG: &[u8] = b"jitcore.module-content.v1";

/// `bytes` followed by one NUL byte, as a module keeps its source.
fn terminated(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.reserve_exact(1);
    bytes.push(0);
    bytes
}

/// A source kept by [`terminated`], without its NUL.
fn unterminated(source: &[u8]) -> &[u8] {
    &source[..source.len() - 1]
}

/// BLAKE3 over [`CONTENT_TAG`], the module's name and its source bytes, each
/// length-prefixed.
fn content_digest_of(name: &str, source: &[u8]) -> [u8; 32] {
    Blake3::new().field(CONTENT_TAG).field(name.as_bytes()).field(source).finish()
}

/// The 64-bit content hash within a content digest (its first 8 bytes, LE).
fn content_hash_of(digest: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// What jitcore's IR rewrites found (see [`rewrite`]).
struct Rewritten {
    ctors: Vec<Structor>,
    dtors: Vec<Structor>,
    exit_token: Option<String>,
}

/// The rewrites every module's IR takes when the module is made, and again,
/// identically, when its IR is rebuilt: static constructors and destructors
/// taken out (local ones made visible under names derived from the content
/// hash), exit handler registrations routed to jitcore. `hash` is asked
/// only when a name needs it (a module with neither gets no hash made).
fn rewrite(name: &str, ir: &mut IrModule, hash: &dyn Fn() -> u64) -> Result<Rewritten> {
    let ctors = ir.take_structors("llvm.global_ctors", &|| format!("__jitcore.ctor.{:016x}", hash()))?;
    let dtors = ir.take_structors("llvm.global_dtors", &|| format!("__jitcore.dtor.{:016x}", hash()))?;
    let exit_token = crate::llvm::exit::route_exit_registrations(ir, &|| format!("__jitcore.exit.{:016x}", hash()));
    if exit_token.is_some() {
        // What jitcore wrote must be as sound as what it was given.
        ir.verify(name).map_err(|e| Error::internal(format!("routing exit handlers: {}", e.message)))?;
    }
    Ok(Rewritten { ctors, dtors, exit_token })
}

impl Module {
    /// Parses IR text or bitcode named `name`.
    pub fn from_ir(name: &str, data: &[u8]) -> Result<Arc<Module>> {
        crate::llvm::initialize()?;
        // The copy jitcore keeps, NUL-terminated (see `terminated`): a
        // length the process cannot allocate is an error, not an abort.
        let mut source = Vec::new();
        source.try_reserve_exact(data.len() + 1).map_err(|_| {
            Error::invalid_argument(format!("cannot allocate {} bytes for the source of module '{name}'", data.len()))
        })?;
        source.extend_from_slice(data);
        source.push(0);
        let ir = IrModule::parse_terminated(name, &source)?;
        Module::prepare(name, ir, source)
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
    /// copy of a host's LLVM-C module, or of one of LLJIT's), parsed from
    /// `bitcode` (named `name`).
    pub fn from_ir_module(name: &str, ir: IrModule, bitcode: Vec<u8>) -> Result<Arc<Module>> {
        Module::prepare(name, ir, terminated(bitcode))
    }

    /// `source` is the module's bytes followed by one NUL (see [`terminated`]).
    fn prepare(name: &str, mut ir: IrModule, source: Vec<u8>) -> Result<Arc<Module>> {
        if name.contains('\0') {
            return Err(Error::invalid_argument("a module name must not contain NUL bytes"));
        }
        let digest = OnceLock::new();
        let hash = || content_hash_of(digest.get_or_init(|| content_digest_of(name, unterminated(&source))));
        let Rewritten { ctors, dtors, exit_token } = rewrite(name, &mut ir, &hash)?;
        let symbols = ir.defined_symbols();
        let triple = ir.target_triple();
        let thread_locals = ir.thread_locals();
        let declarations = ir.declarations();
        Ok(Arc::new(Module {
            name: CString::new(name).expect("checked for NUL above"),
            source: source.into_boxed_slice(),
            ir: Mutex::new(Some(ir)),
            symbols,
            ctors,
            dtors,
            exit_token,
            triple,
            thread_locals,
            owner: AtomicU64::new(0),
            handle: AtomicU64::new(0),
            digest,
            declarations,
        }))
    }

    /// The module's IR built again from its source: parsed and verified,
    /// then rewritten as when the module was made (the same names), so it
    /// is the IR [`prepare`](Self::prepare) made.
    fn rebuild(&self) -> Result<IrModule> {
        let mut ir = IrModule::parse_terminated(self.name(), &self.source)?;
        let hash = self.content_hash();
        rewrite(self.name(), &mut ir, &|| hash)?;
        Ok(ir)
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

    /// The module's content digest: BLAKE3 over a version tag, the name and
    /// the bytes the module was made from (IR text or bitcode as the host
    /// gave them, or the bitcode a copied LLVM-C module went through),
    /// computed on first use. Stable across runs and processes; modules
    /// made from the same bytes under the same name share it, any other
    /// input gives another. (What jitcore compiles is a function of those
    /// bytes and the name, with the LLVM and jitcore versions the cache key
    /// adds, so it is a content key for the object.)
    pub fn content_digest(&self) -> [u8; 32] {
        *self.digest.get_or_init(|| content_digest_of(self.name(), unterminated(&self.source)))
    }

    /// A 64-bit content hash (the first 8 bytes of the content digest),
    /// stable across runs: what names jitcore gives the module's IR derive
    /// from (made visible structors, exit tokens, lazy tags).
    pub fn content_hash(&self) -> u64 {
        content_hash_of(&self.content_digest())
    }

    /// The external names the module uses without defining them.
    pub fn declarations(&self) -> Vec<String> {
        self.declarations.clone()
    }

    /// Number of function definitions (for statistics).
    pub fn function_count(&self) -> usize {
        self.symbols.iter().filter(|s| s.callable).count()
    }

    /// The module as IR text (the IR jitcore compiles, before the IR
    /// pipeline: structors already taken out).
    pub fn ir_text(&self) -> Result<String> {
        self.with_ir(IrModule::to_text)
    }

    /// The names of the functions the module defines, in module order,
    /// local ones included.
    pub fn function_definitions(&self) -> Result<Vec<String>> {
        self.with_ir(IrModule::function_definitions)
    }

    /// Calls `f` on the module's IR (rebuilt first if it was taken), under
    /// the module's lock.
    fn with_ir<T>(&self, f: impl FnOnce(&IrModule) -> T) -> Result<T> {
        let mut ir = self.ir.lock().unwrap_or_else(|p| p.into_inner());
        if ir.is_none() {
            *ir = Some(self.rebuild()?);
        }
        Ok(f(ir.as_ref().expect("rebuilt above")))
    }

    /// The module's IR, owned by the caller, to change at will (the
    /// compile path optimizes and code-generates it in place, the lazy
    /// split cuts it up). It is the IR the module holds if nobody took it
    /// since it was made or rebuilt, else a copy rebuilt from the module's
    /// source (parsed, verified and rewritten exactly as when the module was
    /// made: the same IR). No clone is made: the module gives its IR away
    /// and rebuilds it only if something needs it again (a compile after a
    /// reset or a re-add, `ir_text`, `function_definitions`, another
    /// `take_ir`). Each call returns IR in a context of its own, so threads
    /// may take and compile one module's IR at once; the module's facts
    /// (symbols, structors, key) never depend on who holds its IR. Fails
    /// only if the rebuild does (it parsed once, so only when out of memory
    /// or similar).
    pub fn take_ir(&self) -> Result<IrModule> {
        let taken = self.ir.lock().unwrap_or_else(|p| p.into_inner()).take();
        match taken {
            Some(ir) => Ok(ir),
            None => self.rebuild(),
        }
    }

    /// Frees the module's IR (and its context) if it holds it: after a cache
    /// hit nothing needs it, and a host keeps added modules for as long as
    /// their code lives. Rebuilt from the source, as after [`Module::take_ir`],
    /// if something asks for it again.
    pub fn drop_ir(&self) {
        let taken = self.ir.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(taken);
    }

    /// Whether the module holds its IR now (it does not after a compile
    /// took it or a cache hit dropped it).
    #[cfg(test)]
    pub fn holds_ir(&self) -> bool {
        self.ir.lock().unwrap_or_else(|p| p.into_inner()).is_some()
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
    fn taken_ir_is_rebuilt_the_same() {
        let ir = "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 1, ptr @a, ptr null }]\n\
                  declare i32 @atexit(ptr)\ndefine internal void @a() { call i32 @atexit(ptr @a)\n ret void }\n";
        let m = Module::from_ir("rebuilt", ir.as_bytes()).unwrap();
        let before = m.ir_text().unwrap();
        let taken = m.take_ir().unwrap();
        assert_eq!(taken.to_text(), before);
        // Taken: rebuilt on demand, identical (the same names), every time.
        assert!(!m.holds_ir());
        assert_eq!(m.ir_text().unwrap(), before);
        assert!(m.holds_ir());
        m.drop_ir();
        assert!(!m.holds_ir());
        assert_eq!(m.ir_text().unwrap(), before);
        assert_eq!(m.take_ir().unwrap().to_text(), before);
        assert_eq!(m.take_ir().unwrap().to_text(), before);
        assert!(before.contains(&format!("__jitcore.ctor.{:016x}.0", m.content_hash())), "{before}");
        assert_eq!(m.exit_token(), Some(format!("__jitcore.exit.{:016x}", m.content_hash()).as_str()));
        // The same bytes and name: the same digest; another name: another.
        let again = Module::from_ir("rebuilt", ir.as_bytes()).unwrap();
        assert_eq!(again.content_digest(), m.content_digest());
        assert_ne!(Module::from_ir("other", ir.as_bytes()).unwrap().content_digest(), m.content_digest());
    }

    #[test]
    fn the_content_digest_is_blake3_over_the_name_and_the_bytes_given() {
        // The recipe `cache/key.rs` documents (field 12), whatever jitcore
        // keeps beside the bytes (the source is kept NUL-terminated), for
        // text and for bitcode, before and after the IR is rebuilt.
        let recipe = |name: &str, bytes: &[u8]| {
            crate::llvm::blake3::Blake3::new().field(CONTENT_TAG).field(name.as_bytes()).field(bytes).finish()
        };
        let text = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        assert_eq!(text.content_digest(), recipe("sum", SUM.as_bytes()));
        let bitcode = IrModule::parse("sum", SUM.as_bytes()).unwrap().bitcode();
        let from_bitcode = Module::from_ir("sum", &bitcode).unwrap();
        assert_eq!(from_bitcode.content_digest(), recipe("sum", &bitcode));
        drop(from_bitcode.take_ir().unwrap());
        assert!(from_bitcode.ir_text().unwrap().contains("define"));
        assert_eq!(from_bitcode.content_digest(), recipe("sum", &bitcode));
    }

    #[test]
    fn a_source_is_parsed_in_place_only_when_nul_terminated() {
        let mut terminated = SUM.as_bytes().to_vec();
        terminated.push(0);
        let ir = IrModule::parse_terminated("sum", &terminated).unwrap();
        assert!(ir.to_text().contains("define"));
        let e = IrModule::parse_terminated("sum", SUM.as_bytes()).err().expect("not NUL-terminated");
        assert_eq!(e.code, crate::error::JitcoreErrorCode::JITCORE_ERROR_INTERNAL, "{}", e.message);
        let e = IrModule::parse_terminated("empty", b"").err().expect("no bytes at all");
        assert_eq!(e.code, crate::error::JitcoreErrorCode::JITCORE_ERROR_INTERNAL, "{}", e.message);
        // A text that ends without a newline still ends where its length says.
        let ir = IrModule::parse_terminated("short", b"define void @f() {\n ret void\n}\0").unwrap();
        assert!(ir.to_text().contains("@f"));
    }

    #[test]
    fn a_source_too_large_to_copy_is_an_error_not_an_abort() {
        if !crate::test_child::in_own_process("module::tests::a_source_too_large_to_copy_is_an_error_not_an_abort") {
            return;
        }
        const LEN: usize = 1 << 30;
        // SAFETY: an anonymous read-only mapping of LEN zero bytes, checked,
        // never unmapped (the child exits after the test).
        let data = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            std::slice::from_raw_parts(p.cast::<u8>(), LEN)
        };
        crate::test_child::limit_address_space(256 << 20);
        let e = Module::from_ir("huge", data).err().expect("a copy of 1 GiB cannot fit in 256 MiB");
        assert_eq!(e.code, crate::error::JitcoreErrorCode::JITCORE_ERROR_INVALID_ARGUMENT, "{}", e.message);
        assert!(e.message.contains("cannot allocate 1073741824 bytes") && e.message.contains("'huge'"), "{}", e.message);
        // Within the limit, modules are made as before.
        assert!(Module::from_ir("sum", SUM.as_bytes()).is_ok());
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
