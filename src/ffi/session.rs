//! The ORC-style session: JITDylibs with link orders, symbol sources,
//! resource trackers, lazy and concurrent compilation.
//!
//! Threads: every session, dylib and tracker function may be called from
//! several threads at once, except the Dispose functions, which must not race
//! other uses of what they dispose of. Callbacks (filters, materializers,
//! cache and error callbacks) may run on any thread that looks symbols up or
//! on a compile thread, and must not call back into the session.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock, Weak};

use once_cell::sync::Lazy;

use super::error::JitcoreErrorRef;
use super::module::{self, JitcoreModuleRef};
use super::target::JitcoreOptLevelArg;
use super::{boundary, boundary_or, bytes_arg, non_null, slice_arg, str_arg, write_out};
use crate::cache::{
    HostCallbacks, JitcoreObjectBufferRef, JitcoreObjectCacheGetBufferFunction, JitcoreObjectCacheNotifyFunction,
};
use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::target_machine::TargetSpec;
use crate::session::dylib::Dylib;
use crate::session::materializer::HostMaterializer;
use crate::session::report::JitcoreErrorReporterFunction;
use crate::session::sources::{Filter, SymbolSource};
use crate::session::stats::JitcoreStatistics;
use crate::session::tracker::Group;
use crate::session::unit::Code;
use crate::session::{Session, SessionConfig};

/// Options of a session. Initialize with `JitcoreSessionOptionsInit`, then
/// change what you need; fields may be added at the end in later versions.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct JitcoreSessionOptions {
    /// Optimization level of every compile (default O2).
    pub OptLevel: JitcoreOptLevelArg,
    /// 0: compile on the thread that looks a symbol up; N: a pool of N
    /// compile threads, so independent modules compile in parallel.
    pub CompileThreads: c_uint,
    /// Nonzero: `JitcoreDylibAddModule` behaves as `JitcoreDylibAddModuleLazy`.
    pub LazyByDefault: c_int,
    /// Nonzero: register jitted code with GDB's JIT interface, so code with
    /// debug info can be debugged.
    pub EnableDebugger: c_int,
    /// Nonzero: write `/tmp/perf-<pid>.map`, so `perf report` names jitted functions.
    pub EnablePerf: c_int,
}

/// A session (`JitcoreSessionRef`).
pub struct JitcoreOpaqueSession {
    session: Arc<Session>,
    /// One handle per JITDylib (stable addresses); the first is main.
    dylibs: Mutex<Vec<Box<JitcoreOpaqueDylib>>>,
}

/// An ORC ExecutionSession with JITDylibs, link order and jitcore's compile
/// path: modules in, addresses out.
pub type JitcoreSessionRef = *mut JitcoreOpaqueSession;

/// A JITDylib (`JitcoreDylibRef`), owned by its session.
pub struct JitcoreOpaqueDylib {
    dylib: Arc<Dylib>,
    session: Weak<Session>,
}

/// A JITDylib: a symbol namespace, like a shared library. Owned by the session.
pub type JitcoreDylibRef = *mut JitcoreOpaqueDylib;

/// A resource tracker (`JitcoreResourceTrackerRef`).
pub struct JitcoreOpaqueResourceTracker {
    group: Arc<Group>,
    session: Weak<Session>,
}

/// A handle on what was added to a JITDylib under it, removable as one.
pub type JitcoreResourceTrackerRef = *mut JitcoreOpaqueResourceTracker;

/// One symbol at an absolute address.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct JitcoreSymbolDefinition {
    pub Name: *const c_char,
    pub Address: u64,
}

/// Decides whether a symbol source may provide `Name`: nonzero allows it.
pub type JitcoreSymbolFilterFunction = Option<unsafe extern "C" fn(Ctx: *mut c_void, Name: *const c_char) -> c_int>;

/// A custom materializer's callback: on the first lookup of any of its
/// symbols, produce code defining them. `Symbols` (`NumSymbols` names,
/// borrowed for the call) are the ones that were asked for. Set exactly one
/// of `*ModuleOut` (a module, whose ownership passes to jitcore) or
/// `*ObjectOut` (an object buffer from `JitcoreCreateObjectBufferCopy`,
/// likewise) and return NULL, or return an error (the lookup fails with it,
/// and the next lookup of these symbols calls the materializer again).
pub type JitcoreMaterializeFunction = Option<
    unsafe extern "C" fn(
        Ctx: *mut c_void,
        Symbols: *const *const c_char,
        NumSymbols: usize,
        ModuleOut: *mut JitcoreModuleRef,
        ObjectOut: *mut JitcoreObjectBufferRef,
    ) -> JitcoreErrorRef,
>;

/// Releases a materializer's context once it can no longer be called.
pub type JitcoreMaterializerDisposeFunction = Option<unsafe extern "C" fn(Ctx: *mut c_void)>;

/// Borrows the session behind a handle.
///
/// # Safety
/// `s` must be NULL or a live session handle.
unsafe fn session<'a>(s: JitcoreSessionRef) -> Result<&'a JitcoreOpaqueSession> {
    non_null(s, "session")?;
    Ok(&*s)
}

/// Addresses of the dylib handles of live sessions. A dylib handle is owned
/// by its session, so a host may still hold one after disposing of the
/// session: every use checks it here before reading it.
static LIVE_DYLIBS: Lazy<RwLock<HashSet<usize>>> = Lazy::new(|| RwLock::new(HashSet::new()));

fn dylib_is_live(d: JitcoreDylibRef) -> bool {
    LIVE_DYLIBS.read().unwrap_or_else(|p| p.into_inner()).contains(&(d as usize))
}

/// The dylib behind a handle that is NULL, live, or one of a disposed session.
///
/// # Safety
/// `d` must be NULL or a dylib handle (of a live or a disposed session).
unsafe fn live_dylib<'a>(d: JitcoreDylibRef) -> Result<&'a JitcoreOpaqueDylib> {
    non_null(d, "dylib")?;
    if !dylib_is_live(d) {
        return Err(Error::invalid_argument(format!(
            "{d:p} is not a live dylib handle (its session was disposed of)"
        )));
    }
    // SAFETY: the handle is registered, so its session handle (which owns
    // it) is not disposed of; disposal must not race other uses.
    Ok(&*d)
}

/// The dylib and its live session.
///
/// # Safety
/// `d` must be NULL or a dylib handle (of a live or a disposed session).
unsafe fn dylib<'a>(d: JitcoreDylibRef) -> Result<(&'a Arc<Dylib>, Arc<Session>)> {
    let d = live_dylib(d)?;
    let s = d.session.upgrade().ok_or_else(|| Error::invalid_argument("the dylib's session was disposed of"))?;
    Ok((&d.dylib, s))
}

/// The tracker's group, checked to belong to `d`'s JITDylib; NULL is the
/// dylib's default group.
///
/// # Safety
/// `rt` must be NULL or a live tracker handle.
unsafe fn group_for(d: &Arc<Dylib>, rt: JitcoreResourceTrackerRef) -> Result<Arc<Group>> {
    if rt.is_null() {
        return Ok(d.default_group().clone());
    }
    let g = &(*rt).group;
    match g.dylib.upgrade() {
        Some(owner) if Arc::ptr_eq(&owner, d) => Ok(g.clone()),
        _ => Err(Error::invalid_argument(format!("the resource tracker is not one of JITDylib '{}'", d.name()))),
    }
}

impl JitcoreOpaqueSession {
    fn handle_for(&self, d: &Arc<Dylib>) -> JitcoreDylibRef {
        let mut handles = self.dylibs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = handles.iter_mut().find(|h| Arc::ptr_eq(&h.dylib, d)) {
            return &mut **h as *mut JitcoreOpaqueDylib;
        }
        let mut h = Box::new(JitcoreOpaqueDylib { dylib: d.clone(), session: Arc::downgrade(&self.session) });
        let p = &mut *h as *mut JitcoreOpaqueDylib;
        handles.push(h);
        LIVE_DYLIBS.write().unwrap_or_else(|p| p.into_inner()).insert(p as usize);
        p
    }
}

/// Fills `Options` with the defaults: O2, no compile threads (compile on the
/// looking-up thread), eager, no debugger or perf support. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionOptionsInit(Options: *mut JitcoreSessionOptions) {
    boundary_or((), || {
        if !Options.is_null() {
            let defaults = JitcoreSessionOptions {
                OptLevel: JitcoreOptLevelArg(2),
                CompileThreads: 0,
                LazyByDefault: 0,
                EnableDebugger: 0,
                EnablePerf: 0,
            };
            // SAFETY: Options was checked non-NULL and points to writable memory.
            unsafe { write_out(Options, defaults) };
        }
    })
}

/// Creates a session for the host machine with `Options` (NULL: the
/// defaults of `JitcoreSessionOptionsInit`). It has a main JITDylib, which
/// resolves the host process's symbols (libc's `printf`, ...) after its own
/// definitions, sources and link order. JITDylibs made later see only
/// their own definitions, their symbol sources and their link order, as
/// shared libraries do: give them `JitcoreDylibAddProcessSymbols` to reach
/// libc.
/// On success the caller owns `*Result` (dispose with
/// `JitcoreDisposeSession`). Errors: `INVALID_ARGUMENT` for a NULL `Result`
/// or an opt level outside 0..3, `UNSUPPORTED` if the host cannot JIT or
/// the debugger support cannot be enabled, `IO` if the perf map cannot be
/// written, `INTERNAL` if compile threads cannot be started. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateSession(
    Result: *mut JitcoreSessionRef,
    Options: *const JitcoreSessionOptions,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(Result, "Result")?;
        let mut opts = JitcoreSessionOptions {
            OptLevel: JitcoreOptLevelArg(2),
            CompileThreads: 0,
            LazyByDefault: 0,
            EnableDebugger: 0,
            EnablePerf: 0,
        };
        if !Options.is_null() {
            // SAFETY: a non-NULL Options points to a readable struct.
            opts = unsafe { *Options };
        }
        if opts.CompileThreads > 1024 {
            return Err(Error::invalid_argument(format!("{} compile threads is too many", opts.CompileThreads)));
        }
        let config = SessionConfig {
            compile_threads: opts.CompileThreads as usize,
            lazy_by_default: opts.LazyByDefault != 0,
            debugger: opts.EnableDebugger != 0,
            perf: opts.EnablePerf != 0,
        };
        let session = Arc::new(Session::new(TargetSpec::host(opts.OptLevel.level()?), config)?);
        let handle = Box::new(JitcoreOpaqueSession { session, dylibs: Mutex::new(Vec::new()) });
        let main = handle.session.main_dylib().clone();
        handle.handle_for(&main);
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Disposes of a session: frees all jitted code and data, every module
/// added to it, its JITDylibs (their handles become dead) and its compile
/// threads (after the compiles in flight finish). Tracker handles stay to be
/// disposed of, but no longer do anything. NULL is ignored. Must not race
/// any other use of the session or its dylibs.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeSession(S: JitcoreSessionRef) {
    boundary_or((), || {
        if S.is_null() {
            return;
        }
        // SAFETY: S came from JitcoreCreateSession and is disposed of once.
        let handle = unsafe { Box::from_raw(S) };
        {
            let mut live = LIVE_DYLIBS.write().unwrap_or_else(|p| p.into_inner());
            for h in handle.dylibs.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                live.remove(&(&**h as *const JitcoreOpaqueDylib as usize));
            }
        }
        let modules = handle.session.all_modules();
        drop(handle);
        module::unregister(&modules);
    })
}

/// The session's main JITDylib (owned by the session). NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionGetMainDylib(S: JitcoreSessionRef) -> JitcoreDylibRef {
    // SAFETY: S is NULL or a live session handle (contract).
    boundary_or(std::ptr::null_mut(), || match unsafe { session(S) } {
        Ok(s) => s.handle_for(s.session.main_dylib()),
        Err(_) => std::ptr::null_mut(),
    })
}

/// Creates an empty JITDylib named `Name` (owned by the session). Its link
/// order is empty: set it with `JitcoreDylibSetLinkOrder`. Like main, it
/// uses LLJIT's platform support (exit handlers, `__dso_handle`). Errors:
/// `INVALID_ARGUMENT` for NULL, an empty name, or a name already in use.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionCreateDylib(
    S: JitcoreSessionRef,
    Result: *mut JitcoreDylibRef,
    Name: *const c_char,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: S is a live session handle; Name a NUL-terminated string.
        let s = unsafe { session(S)? };
        non_null(Result, "Result")?;
        let name = unsafe { str_arg(Name, "Name")? };
        let d = s.session.create_dylib(name)?;
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, s.handle_for(&d)) };
        Ok(())
    })
}

/// The JITDylib named `Name`, or NULL if there is none (or for NULL
/// arguments). The main JITDylib is named "main". Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionGetDylibByName(S: JitcoreSessionRef, Name: *const c_char) -> JitcoreDylibRef {
    boundary_or(std::ptr::null_mut(), || {
        // SAFETY: S is NULL or a live session handle; Name NULL or a NUL-terminated string.
        let Ok(s) = (unsafe { session(S) }) else { return std::ptr::null_mut() };
        let Ok(name) = (unsafe { str_arg(Name, "Name") }) else { return std::ptr::null_mut() };
        match s.session.dylib_by_name(name) {
            Some(d) => s.handle_for(&d),
            None => std::ptr::null_mut(),
        }
    })
}

/// Sets the JITDylibs `D` links against, as a shared library's DT_NEEDED
/// list: a symbol `D`'s code uses and `D` does not define binds to the first
/// of `Order` (`NumDylibs` handles, borrowed) that exports it. `D` itself
/// in the list is ignored (its own definitions always come first); the
/// search is not transitive. Replaces the previous order; code already
/// linked keeps its bindings. Errors: `INVALID_ARGUMENT` for NULL, a dylib
/// of another session. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibSetLinkOrder(
    D: JitcoreDylibRef,
    Order: *const JitcoreDylibRef,
    NumDylibs: usize,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: D is a live dylib handle; Order has NumDylibs handles.
        let (d, s) = unsafe { dylib(D)? };
        // SAFETY: Order has NumDylibs readable handles (contract).
        let handles = unsafe { slice_arg(Order, NumDylibs, "Order")? };
        let mut order = Vec::with_capacity(handles.len());
        for (i, &h) in handles.iter().enumerate() {
            let (other, other_session) =
                // SAFETY: each element is NULL or a live dylib handle (contract).
                unsafe { dylib(h) }.map_err(|e| e.context(format!("Order[{i}]")))?;
            if !Arc::ptr_eq(&other_session, &s) {
                return Err(Error::invalid_argument(format!(
                    "JITDylib '{}' (Order[{i}]) belongs to another session",
                    other.name()
                )));
            }
            order.push(other.clone());
        }
        s.set_link_order(d, &order)
    })
}

fn add_module(
    D: JitcoreDylibRef,
    M: JitcoreModuleRef,
    RT: JitcoreResourceTrackerRef,
    lazy: Option<bool>,
) -> Result<()> {
    // SAFETY: D and RT are live handles (or RT is NULL).
    let (d, s) = unsafe { dylib(D)? };
    let group = unsafe { group_for(d, RT)? };
    let m = module::get(M)?;
    m.claim(d.id())?;
    let lazy = lazy.unwrap_or(s.env().config.lazy_by_default);
    s.add_module(d, &m, &group, lazy).inspect_err(|_| m.release())
}

/// Adds module `M` to `D` under tracker `RT` (NULL: the dylib's default
/// tracker, which lives as long as the dylib). Nothing compiles until a
/// lookup needs one of its symbols (or, with `LazyByDefault`, until each
/// function is first called). On success the session owns `M`: its handle
/// stays valid (object cache callbacks see it) until it is removed with its
/// tracker or the session is disposed of, and `JitcoreDisposeModule` ignores
/// it. Errors: `INVALID_ARGUMENT` for NULL, a dead handle or a tracker of
/// another dylib or already removed; `MODULE_ALREADY_ADDED`;
/// `DUPLICATE_DEFINITION` naming the symbol if `D` already defines one of
/// `M`'s strong external symbols; `UNSUPPORTED` for a foreign target.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibAddModule(
    D: JitcoreDylibRef,
    M: JitcoreModuleRef,
    RT: JitcoreResourceTrackerRef,
) -> JitcoreErrorRef {
    boundary(|| add_module(D, M, RT, None))
}

/// Adds module `M` as `JitcoreDylibAddModule` does, but compiles it one
/// function at a time: the module is split into per-function partitions
/// now, each function is reached through a stub, and a function compiles
/// when it is first called (a lookup returns its stub without compiling).
/// A lazy compile that fails is reported through the session's error
/// reporter naming the function, and the call returns 0. Modules that
/// cannot be split (e.g. `blockaddress` across functions) compile whole on
/// first lookup. Same ownership and errors. Thread-safe; concurrent first
/// calls compile a function once.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibAddModuleLazy(
    D: JitcoreDylibRef,
    M: JitcoreModuleRef,
    RT: JitcoreResourceTrackerRef,
) -> JitcoreErrorRef {
    boundary(|| add_module(D, M, RT, Some(true)))
}

/// Adds a relocatable object file (`Len` bytes at `Data`, copied; ELF for
/// the host) to `D` under `RT` (NULL: the default tracker). It is checked
/// before the linker sees it. Errors: `INVALID_ARGUMENT` for NULL,
/// `INVALID_OBJECT` for bytes that are not a relocatable object for this
/// host, `DUPLICATE_DEFINITION` naming the symbol. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibAddObjectBuffer(
    D: JitcoreDylibRef,
    Data: *const u8,
    Len: usize,
    RT: JitcoreResourceTrackerRef,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: D and RT are live handles; Data has Len readable bytes.
        let (d, s) = unsafe { dylib(D)? };
        let group = unsafe { group_for(d, RT)? };
        let bytes = unsafe { bytes_arg(Data, Len, "Data")? };
        s.add_object(d, bytes, "<object buffer>", &group)
    })
}

/// Defines `NumSymbols` symbols of `D` at absolute addresses (host functions
/// or data the jitted code may use), for the life of `D`. Names are copied.
/// Errors: `INVALID_ARGUMENT` for NULL or an empty name,
/// `DUPLICATE_DEFINITION` if `D` already defines one (then none is defined).
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibDefineAbsoluteSymbols(
    D: JitcoreDylibRef,
    Symbols: *const JitcoreSymbolDefinition,
    NumSymbols: usize,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: D is a live dylib handle; Symbols has NumSymbols entries.
        let (d, s) = unsafe { dylib(D)? };
        if NumSymbols == 0 {
            return Ok(());
        }
        // SAFETY: Symbols has NumSymbols readable entries (contract).
        let defs = unsafe { slice_arg(Symbols, NumSymbols, "Symbols")? };
        let mut symbols = Vec::with_capacity(defs.len());
        for (i, def) in defs.iter().enumerate() {
            // SAFETY: each Name is NULL or a NUL-terminated string (contract).
            let name = unsafe { str_arg(def.Name, &format!("Symbols[{i}].Name"))? };
            if name.is_empty() {
                return Err(Error::invalid_argument(format!("Symbols[{i}].Name is empty")));
            }
            symbols.push((name.to_string(), def.Address));
        }
        s.define_absolute(d, &symbols)
    })
}

/// A host's `Ctx` pointer, handed back to the host's callbacks.
#[derive(Clone, Copy)]
struct HostPtr(*mut c_void);
// SAFETY: the host promises its callbacks may be called with their Ctx from
// any thread (documented on each callback type); jitcore never reads it.
unsafe impl Send for HostPtr {}
// SAFETY: as above.
unsafe impl Sync for HostPtr {}

fn filter_fn(f: JitcoreSymbolFilterFunction, ctx: *mut c_void) -> Option<Filter> {
    let f = f?;
    let ctx = HostPtr(ctx);
    Some(Box::new(move |name: &str| {
        let c = crate::llvm::cstring(name);
        // SAFETY: the host's filter is callable from any thread with its Ctx
        // (documented); the name is borrowed for the call.
        unsafe { f({ ctx }.0, c.as_ptr()) != 0 }
    }))
}

/// Makes the host process's exported symbols (libc, the host's own
/// exported functions) that `Filter` allows (NULL: all) resolvable in `D`,
/// after `D`'s own definitions. `Filter(Ctx, Name)` is called on lookups,
/// from any thread, until the session is disposed of. Errors:
/// `INVALID_ARGUMENT` for NULL `D`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibAddProcessSymbols(
    D: JitcoreDylibRef,
    Filter: JitcoreSymbolFilterFunction,
    Ctx: *mut c_void,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: D is a live dylib handle.
        let (d, s) = unsafe { dylib(D)? };
        s.add_source(d, SymbolSource::Process { filter: filter_fn(Filter, Ctx) })
    })
}

/// Loads the shared library at `Path` (dlopen) and makes its exported
/// symbols that `Filter` allows (NULL: all) resolvable in `D`. Errors:
/// `INVALID_ARGUMENT` for NULL, `IO` naming the path if it does not exist or
/// cannot be loaded. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibAddLibrarySymbols(
    D: JitcoreDylibRef,
    Path: *const c_char,
    Filter: JitcoreSymbolFilterFunction,
    Ctx: *mut c_void,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: D is a live dylib handle; Path a NUL-terminated string.
        let (d, s) = unsafe { dylib(D)? };
        let path = unsafe { super::path_arg(Path, "Path")? };
        s.add_source(d, SymbolSource::Library { path: path.to_path_buf(), filter: filter_fn(Filter, Ctx) })
    })
}

/// Makes the static archive (`.a`) at `Path` a symbol source of `D`: when a
/// symbol `D` needs is defined by a member object, that member is linked
/// into `D` (for the life of `D`), as a static linker would. Errors:
/// `INVALID_ARGUMENT` for NULL, `IO` naming the path if it cannot be read,
/// `INVALID_OBJECT` if it is not an archive or if any member is not a
/// usable object file for this host (every member is validated here, the
/// message names the bad member). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibAddArchive(D: JitcoreDylibRef, Path: *const c_char) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: D is a live dylib handle; Path a NUL-terminated string.
        let (d, s) = unsafe { dylib(D)? };
        let path = unsafe { super::path_arg(Path, "Path")? };
        s.add_source(d, SymbolSource::Archive { path: path.to_path_buf() })
    })
}


/// Adds a custom materializer to `D` under `RT` (NULL: the default
/// tracker): `D` defines the `NumSymbols` names in `Symbols` (copied) as
/// exported functions, and the first lookup of any of them calls
/// `Materialize` (see `JitcoreMaterializeFunction`), whose module or object
/// then takes the one compile path (cache, optimize, codegen, link).
/// `Materialize` runs once; if it fails (or its code does not link), the
/// lookup fails with that error and the symbols are reset, so the next
/// lookup calls it again. `Dispose(Ctx)` (may be NULL) runs once, when the
/// materializer's tracker is removed or the session is disposed of; on an
/// error from this function it runs before the function returns. Errors:
/// `INVALID_ARGUMENT` for NULL or no symbols, `DUPLICATE_DEFINITION` naming
/// a symbol `D` already defines. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibAddMaterializer(
    D: JitcoreDylibRef,
    Symbols: *const *const c_char,
    NumSymbols: usize,
    Materialize: JitcoreMaterializeFunction,
    Dispose: JitcoreMaterializerDisposeFunction,
    Ctx: *mut c_void,
    RT: JitcoreResourceTrackerRef,
) -> JitcoreErrorRef {
    struct HostCtx {
        ctx: usize,
        dispose: JitcoreMaterializerDisposeFunction,
    }
    impl HostCtx {
        /// The host's context (a method, so closures capture the whole
        /// HostCtx and Dispose runs when the materializer is dropped).
        fn ctx(&self) -> *mut c_void {
            self.ctx as *mut c_void
        }
    }
    impl Drop for HostCtx {
        fn drop(&mut self) {
            if let Some(f) = self.dispose {
                // SAFETY: the host's dispose function, called once with its Ctx.
                let _ = crate::guard::catch(|| unsafe { f(self.ctx as *mut c_void) });
            }
        }
    }
    let host = HostCtx { ctx: Ctx as usize, dispose: Dispose };
    boundary(move || {
        // SAFETY: D and RT are live handles; Symbols has NumSymbols strings.
        let (d, s) = unsafe { dylib(D)? };
        let group = unsafe { group_for(d, RT)? };
        let materialize = Materialize.ok_or_else(|| Error::invalid_argument("Materialize must not be NULL"))?;
        if NumSymbols == 0 {
            return Err(Error::invalid_argument("a materializer must name at least one symbol"));
        }
        // SAFETY: Symbols has NumSymbols readable pointers (contract).
        let raw = unsafe { slice_arg(Symbols, NumSymbols, "Symbols")? };
        let mut names = Vec::with_capacity(raw.len());
        for (i, &p) in raw.iter().enumerate() {
            // SAFETY: each name is NULL or a NUL-terminated string (contract).
            names.push(unsafe { str_arg(p, &format!("Symbols[{i}]"))? }.to_string());
        }
        let produce = Box::new(move |requested: &[String]| -> Result<Code> {
            let c: Vec<std::ffi::CString> = requested.iter().map(|r| crate::llvm::cstring(r)).collect();
            let ptrs: Vec<*const c_char> = c.iter().map(|c| c.as_ptr()).collect();
            let mut m: JitcoreModuleRef = std::ptr::null_mut();
            let mut o: JitcoreObjectBufferRef = std::ptr::null_mut();
            // SAFETY: the host's callback, callable from any thread with its
            // Ctx (documented); the names are borrowed for the call.
            let err = unsafe { materialize(host.ctx(), ptrs.as_ptr(), ptrs.len(), &mut m, &mut o) };
            // Whatever the host handed over and jitcore does not use is freed.
            let discard = |m: JitcoreModuleRef, o: JitcoreObjectBufferRef| {
                if !o.is_null() {
                    // SAFETY: a buffer the host handed over; we free it once.
                    drop(unsafe { Box::from_raw(o) });
                }
                // SAFETY: NULL or a module handle the host handed over.
                unsafe { module::JitcoreDisposeModule(m) };
            };
            if !err.is_null() {
                // SAFETY: a non-NULL result is an error the host made, ours to consume.
                let e = unsafe { super::error::from_ref(err) };
                discard(m, o);
                return Err(e);
            }
            match (m.is_null(), o.is_null()) {
                (false, true) => {
                    let module = module::take(m)?;
                    Ok(Code::Module(module))
                }
                (true, false) => {
                    // SAFETY: a buffer made by JitcoreCreateObjectBufferCopy,
                    // whose ownership passes to us.
                    let buf = unsafe { Box::from_raw(o) };
                    Ok(Code::Object(MemoryBuffer::copy_of(
                        &buf.bytes,
                        &format!("object for '{}'", requested.join("', '")),
                    )?))
                }
                (false, false) => {
                    discard(m, o);
                    Err(Error::invalid_argument("the materializer set both ModuleOut and ObjectOut (it must set exactly one)"))
                }
                (true, true) => {
                    Err(Error::invalid_argument("the materializer set neither ModuleOut nor ObjectOut (it must set exactly one)"))
                }
            }
        });
        let materializer = Arc::new(HostMaterializer::new(names, produce)?);
        s.add_materializer(d, materializer, &group)
    })
}

/// Looks `Name` up as a dynamic linker would from `D`: `D`'s own
/// definitions first, then the exported definitions of `D`'s link order, in
/// order (then the process's symbols, for dylibs made by the session).
/// Compiles what it needs (a lazily added function is not compiled: its
/// stub's address is returned). Writes the address to `*Result`. Errors:
/// `INVALID_ARGUMENT` for NULL or a dylib of another session,
/// `SYMBOL_NOT_FOUND` naming the symbol and the dylibs searched;
/// `UNRESOLVED_SYMBOL`, `COMPILE` or `LINK` naming the module if its code
/// cannot be compiled and linked (that module is reset, so a retry after
/// fixing the cause works). `*Result` is untouched on error. Thread-safe;
/// concurrent lookups of one symbol compile it once and agree on the address.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionLookup(
    S: JitcoreSessionRef,
    D: JitcoreDylibRef,
    Result: *mut u64,
    Name: *const c_char,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: S and D are live handles; Name a NUL-terminated string.
        let s = unsafe { session(S)? };
        let (d, ds) = unsafe { dylib(D)? };
        if !Arc::ptr_eq(&ds, &s.session) {
            return Err(Error::invalid_argument(format!("JITDylib '{}' belongs to another session", d.name())));
        }
        non_null(Result, "Result")?;
        // SAFETY: Name is NULL or a NUL-terminated string (contract).
        let name = unsafe { str_arg(Name, "Name")? };
        let addr = s.session.lookup(d, &[name])?[0];
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, addr) };
        Ok(())
    })
}

/// Looks `NumNames` names up from `D` at once, as `JitcoreSessionLookup`
/// does, writing `Results[i]` for `Names[i]`: all the modules they need are
/// compiled together (in parallel, with compile threads). On error no
/// result is written. Same errors. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionLookupMany(
    S: JitcoreSessionRef,
    D: JitcoreDylibRef,
    Results: *mut u64,
    Names: *const *const c_char,
    NumNames: usize,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: S and D are live handles; Names has NumNames strings and
        // Results room for NumNames addresses.
        let s = unsafe { session(S)? };
        let (d, ds) = unsafe { dylib(D)? };
        if !Arc::ptr_eq(&ds, &s.session) {
            return Err(Error::invalid_argument(format!("JITDylib '{}' belongs to another session", d.name())));
        }
        if NumNames == 0 {
            return Ok(());
        }
        non_null(Results, "Results")?;
        // SAFETY: Names has NumNames readable pointers (contract).
        let raw = unsafe { slice_arg(Names, NumNames, "Names")? };
        let mut names = Vec::with_capacity(raw.len());
        for (i, &p) in raw.iter().enumerate() {
            // SAFETY: each name is NULL or a NUL-terminated string (contract).
            names.push(unsafe { str_arg(p, &format!("Names[{i}]"))? });
        }
        let addrs = s.session.lookup(d, &names)?;
        // SAFETY: Results has room for NumNames addresses (contract).
        unsafe { std::ptr::copy_nonoverlapping(addrs.as_ptr(), Results, NumNames) };
        Ok(())
    })
}

/// Creates a resource tracker for `D`: what is added under it can be
/// removed as one with `JitcoreResourceTrackerRemove`. The caller owns the
/// result (dispose with `JitcoreDisposeResourceTracker`). NULL for NULL or
/// a dylib whose session is gone. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibCreateResourceTracker(D: JitcoreDylibRef) -> JitcoreResourceTrackerRef {
    boundary_or(std::ptr::null_mut(), || {
        // SAFETY: D is NULL or a live dylib handle.
        let Ok((d, s)) = (unsafe { dylib(D) }) else { return std::ptr::null_mut() };
        let group = s.new_group(d);
        Box::into_raw(Box::new(JitcoreOpaqueResourceTracker { group, session: Arc::downgrade(&s) }))
    })
}

/// Removes everything added under `RT`: its code and data are freed
/// (addresses into it become invalid; nothing may be running in it), its
/// symbols are no longer found, its modules are disposed of (their handles
/// become dead), and unused symbol names are dropped. Other trackers' code
/// is untouched; `RT` stays to be disposed of, and adding to it fails.
/// Errors: `INVALID_ARGUMENT` for NULL, or if its session was disposed of.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreResourceTrackerRemove(RT: JitcoreResourceTrackerRef) -> JitcoreErrorRef {
    boundary(|| {
        non_null(RT, "RT")?;
        // SAFETY: RT is a live tracker handle.
        let rt = unsafe { &*RT };
        let s = rt.session.upgrade().ok_or_else(|| Error::invalid_argument("the tracker's session was disposed of"))?;
        let modules = rt.group.modules();
        let result = s.remove_group(&rt.group);
        module::unregister(&modules);
        result
    })
}

/// Disposes of a tracker handle. What was added under it and not removed
/// stays loaded, under its dylib's default tracker (as in ORC). NULL is
/// ignored. Must not race other uses of `RT`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeResourceTracker(RT: JitcoreResourceTrackerRef) {
    boundary_or((), || {
        if RT.is_null() {
            return;
        }
        // SAFETY: RT came from JitcoreDylibCreateResourceTracker, disposed of once.
        let rt = unsafe { Box::from_raw(RT) };
        if let Some(s) = rt.session.upgrade() {
            s.release_group(&rt.group);
        }
    })
}

/// Sets the session's object cache; both callbacks NULL removes it. It
/// works as `JitcoreEngineSetObjectCache` describes, for every module of
/// every JITDylib. Partitions of lazily added modules (named
/// `<module>#<function>` and `<module>#globals`) and modules returned by
/// materializers are passed with a handle valid for the call only. NULL `S`
/// is ignored.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionSetObjectCache(
    S: JitcoreSessionRef,
    Notify: JitcoreObjectCacheNotifyFunction,
    GetBuffer: JitcoreObjectCacheGetBufferFunction,
    Ctx: *mut c_void,
) {
    boundary_or((), || {
        // SAFETY: S is NULL or a live session handle (contract).
        if let Ok(s) = unsafe { session(S) } {
            s.session.set_cache(HostCallbacks::new(Notify, GetBuffer, Ctx));
        }
    })
}

/// Sets the function that hears of errors no call can return: a lazy
/// compile that failed (naming the function), a link failure, a rejected
/// cache entry. `Message` is borrowed for the call. NULL removes it. It may
/// be called from any thread and must not call into the session.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionSetErrorReporter(
    S: JitcoreSessionRef,
    Reporter: JitcoreErrorReporterFunction,
    Ctx: *mut c_void,
) {
    boundary_or((), || {
        // SAFETY: S is NULL or a live session handle (contract).
        if let Ok(s) = unsafe { session(S) } {
            s.session.set_error_reporter(Reporter, Ctx);
        }
    })
}

/// Writes the session's statistics: modules and functions compiled,
/// objects loaded, cache hits and misses, code bytes live. Errors:
/// `INVALID_ARGUMENT` for NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionGetStatistics(
    S: JitcoreSessionRef,
    Result: *mut JitcoreStatistics,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: S is a live session handle.
        let s = unsafe { session(S)? };
        non_null(Result, "Result")?;
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, s.session.statistics()) };
        Ok(())
    })
}

/// The name of `D` (borrowed, valid while the session lives). NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibGetName(D: JitcoreDylibRef) -> *const c_char {
    boundary_or(std::ptr::null(), || {
        // SAFETY: D is NULL or a dylib handle; a live one's name lives in the session.
        match unsafe { live_dylib(D) } {
            Ok(d) => d.dylib.c_name().as_ptr(),
            Err(_) => std::ptr::null(),
        }
    })
}

use super::cache::{disk_cache, JitcoreObjectCacheRef};

/// Attaches jitcore's disk cache `Cache` (from `JitcoreCreateDiskCache`) to
/// the session, for every module of every JITDylib, as
/// `JitcoreEngineSetDiskCache` does for an engine: it replaces any object
/// cache the session had, NULL removes it, and the session keeps the cache
/// alive while attached. Each partition of a lazily added module is a module
/// of its own with its own entry, stored and found when the function is
/// first called. A NULL `S` is ignored. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionSetDiskCache(S: JitcoreSessionRef, Cache: JitcoreObjectCacheRef) {
    boundary_or((), || {
        // SAFETY: Cache is NULL or a live cache handle (contract).
        let cache = unsafe { disk_cache(Cache) }.map(|c| c as Arc<dyn crate::cache::ObjectCache>);
        // SAFETY: S is NULL or a live session handle (contract).
        if let Ok(s) = unsafe { session(S) } {
            s.session.set_cache(cache);
        }
    })
}
