//! Dylibs: a `JitcoreDylibRef` is a JITDylib, a symbol namespace like a
//! shared library, owned by its session. A dylib holds definitions
//! (modules, eager or lazy; object files; absolute symbols; custom
//! materializers), symbol sources asked for what it does not define (the
//! process, a shared library, a static archive), and a link order: the
//! dylibs its code links against. A lookup from a dylib
//! (`JitcoreSessionLookup`) searches its own definitions, then its symbol
//! sources, then its link order. Static constructors and destructors, and
//! the exit handlers jitted code registers, run when the host initializes
//! and deinitializes a dylib (`JitcoreDylibInitialize`,
//! `JitcoreDylibDeinitialize`), never on their own.

use std::cell::Cell;
use std::collections::HashSet;
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

use once_cell::sync::Lazy;

use super::buffer::JitcoreObjectBufferRef;
use super::error::JitcoreErrorRef;
use super::host::HostPtr;
use super::module::{self, JitcoreModuleRef};
use super::tracker::{group_for, JitcoreOpaqueResourceTracker, JitcoreResourceTrackerRef};
use super::{boundary, boundary_or, bytes_arg, non_null, slice_arg, str_arg};
use crate::error::{Error, Result};
use crate::fasthash::FastBuild;
use crate::llvm::buffer::MemoryBuffer;
use crate::session::dylib::Dylib;
use crate::session::materializer::Code;
use crate::session::materializer::HostMaterializer;
use crate::session::sources::{Filter, SymbolSource};
use crate::session::Session;

/// A JITDylib (`JitcoreDylibRef`), owned by its session.
pub struct JitcoreOpaqueDylib {
    pub(crate) dylib: Arc<Dylib>,
    pub(crate) session: Weak<Session>,
}

/// A JITDylib: a symbol namespace, like a shared library. Owned by the session.
pub type JitcoreDylibRef = *mut JitcoreOpaqueDylib;

/// One symbol at an absolute address.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct JitcoreSymbolDefinition {
    pub Name: *const c_char,
    pub Address: u64,
}

/// Decides whether a symbol source may provide `Name` (borrowed for the
/// call): nonzero allows it. Called during lookups, on any thread that looks
/// symbols up or compiles, possibly on several threads at once, from the
/// call that installs it until the session is disposed of: `Ctx` must stay
/// valid until `JitcoreDisposeSession` returns. It must not call into the
/// session.
pub type JitcoreSymbolFilterFunction = Option<unsafe extern "C" fn(Ctx: *mut c_void, Name: *const c_char) -> c_int>;

/// A custom materializer's callback: on the first lookup of any of its
/// symbols, produce code defining them. `Symbols` (`NumSymbols` names,
/// borrowed for the call) are the ones that were asked for. Set exactly one
/// of `*ModuleOut` (a module, whose ownership passes to jitcore) or
/// `*ObjectOut` (an object buffer from `JitcoreCreateObjectBufferCopy`,
/// likewise) and return NULL, or return an error (the lookup fails with it,
/// and the next lookup of these symbols calls the materializer again).
/// It runs on the thread that looks a symbol up or on a compile thread, one
/// call at a time, and must not call into the session. `Ctx` must stay valid
/// until the materializer's `JitcoreMaterializerDisposeFunction` is called
/// (without one: until its tracker is removed or the session is disposed
/// of).
pub type JitcoreMaterializeFunction = Option<
    unsafe extern "C" fn(
        Ctx: *mut c_void,
        Symbols: *const *const c_char,
        NumSymbols: usize,
        ModuleOut: *mut JitcoreModuleRef,
        ObjectOut: *mut JitcoreObjectBufferRef,
    ) -> JitcoreErrorRef,
>;

/// Releases a materializer's context once it can no longer be called: it
/// is called exactly once with the materializer's `Ctx`, on whichever thread
/// drops the materializer last (the one that removes its tracker, disposes
/// of the session, or fails to add it; or a compile thread that was still
/// using it), after which jitcore never uses `Ctx` again.
pub type JitcoreMaterializerDisposeFunction = Option<unsafe extern "C" fn(Ctx: *mut c_void)>;

/// Addresses of the dylib handles of live sessions. A dylib handle is owned
/// by its session, so a host may still hold one after disposing of the
/// session: every use checks it here before reading it.
pub(crate) static LIVE_DYLIBS: Lazy<RwLock<HashSet<usize, FastBuild>>> = Lazy::new(|| RwLock::new(HashSet::default()));

/// How many times handles left [`LIVE_DYLIBS`] (a session was disposed of).
static DISPOSALS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The handle this thread last found live, and [`DISPOSALS`] then: it
    /// is live as long as no session was disposed of since. Lookups check
    /// their dylib so without a shared write (the registry's lock word would
    /// be one that every thread's lookups write).
    static LAST_LIVE: Cell<(usize, u64)> = const { Cell::new((0, u64::MAX)) };
}

/// Called after handles were taken out of [`LIVE_DYLIBS`].
pub(crate) fn forget_live_dylibs() {
    DISPOSALS.fetch_add(1, Ordering::AcqRel);
}

pub(crate) fn dylib_is_live(d: JitcoreDylibRef) -> bool {
    let disposals = DISPOSALS.load(Ordering::Acquire);
    if LAST_LIVE.with(|l| l.get()) == (d as usize, disposals) {
        return true;
    }
    let live = LIVE_DYLIBS.read().unwrap_or_else(|p| p.into_inner()).contains(&(d as usize));
    if live {
        LAST_LIVE.with(|l| l.set((d as usize, disposals)));
    }
    live
}

/// The dylib behind a handle that is NULL, live, or one of a disposed session.
///
/// # Safety
/// `d` must be NULL or a dylib handle (of a live or a disposed session).
pub(crate) unsafe fn live_dylib<'a>(d: JitcoreDylibRef) -> Result<&'a JitcoreOpaqueDylib> {
    non_null(d, "dylib")?;
    if !dylib_is_live(d) {
        return Err(Error::invalid_argument(format!("{d:p} is not a live dylib handle (its session was disposed of)")));
    }
    // SAFETY: the handle is registered, so its session handle (which owns
    // it) is not disposed of; disposal must not race other uses.
    Ok(&*d)
}

/// The dylib and its live session.
///
/// # Safety
/// `d` must be NULL or a dylib handle (of a live or a disposed session).
pub(crate) unsafe fn dylib<'a>(d: JitcoreDylibRef) -> Result<(&'a Arc<Dylib>, Arc<Session>)> {
    let d = live_dylib(d)?;
    let s = d.session.upgrade().ok_or_else(|| Error::invalid_argument("the dylib's session was disposed of"))?;
    Ok((&d.dylib, s))
}

/// The dylib behind `d`, which must belong to `session` (a live session:
/// no reference is taken, so this costs no shared write, for lookups).
///
/// # Safety
/// `d` must be NULL or a dylib handle (of a live or a disposed session).
pub(crate) unsafe fn dylib_of<'a>(d: JitcoreDylibRef, session: &Arc<Session>) -> Result<&'a Arc<Dylib>> {
    let d = live_dylib(d)?;
    if !std::ptr::eq(d.session.as_ptr(), Arc::as_ptr(session)) {
        return Err(Error::invalid_argument(format!("JITDylib '{}' belongs to another session", d.dylib.name())));
    }
    Ok(&d.dylib)
}

/// The name of `D` (borrowed, valid while the session lives). NULL for NULL
/// or a dylib of a disposed session. Thread-safe (not with `JitcoreDisposeSession`).
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

/// Sets the JITDylibs `D` links against, as a shared library's DT_NEEDED
/// list: a symbol `D`'s code uses and `D` does not define binds to the first
/// of `Order` (`NumDylibs` handles, borrowed) that exports it. `D` itself
/// in the list is ignored (its own definitions always come first); the
/// search is not transitive. Replaces the previous order; code already
/// linked keeps its bindings.
///
/// Link orders may form cycles (`D` links `E` and `E` links `D`, or a
/// longer ring), and code that calls around a cycle links as a static
/// linker would link it, eagerly or lazily, with or without compile
/// threads. Inside a cycle, a call to a function of another dylib of the
/// cycle goes through a stub that jitcore defines in the caller's dylib
/// (one more indirect jump; the function's address seen from there is the
/// stub's, which is not the address its own dylib sees), and a variable is
/// bound to its own address once its module has linked. A lookup still
/// links everything its symbol's code calls, through stubs too, so a module
/// of the cycle that cannot link fails the lookup, naming it, as outside
/// cycles (lazily added functions link when first called). What cannot link
/// through LLVM-C (its lookups wait for symbols to be ready, where ORC's
/// linker waits only for their addresses) is a cycle of data references
/// with no call in between: modules added eagerly whose code or data uses
/// each other's variables, or variables whose initializers point at each
/// other. The lookup that needs one fails with `UNSUPPORTED` naming the
/// variables and modules (it never hangs); move the variables into a module
/// that uses nothing of the cycle, or add one of the modules lazily (then
/// only variables' initializers count). A module of a cycle that is removed
/// takes its stubs' targets with it: code that already called through a
/// stub keeps that address, as code linked directly does; new code binds to
/// the name's new definition.
///
/// Errors: `INVALID_ARGUMENT` for NULL, a dylib of another session.
/// Thread-safe (not with `JitcoreDisposeSession`); a lookup running at the
/// same time sees the old order or the new one.
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
    // SAFETY: RT is NULL or a live tracker handle (contract).
    let group = unsafe { group_for(d, RT)? };
    let m = module::get(M)?;
    m.claim(d.id())?;
    let lazy = lazy.unwrap_or(s.env().config.lazy_by_default);
    s.add_module(d, &m, &group, lazy).inspect_err(|_| m.release())
}

/// Adds module `M` to `D` under tracker `RT` (NULL: the dylib's default
/// tracker, which lives as long as the dylib). Nothing compiles until a lookup
/// needs one of its symbols (or, with `LazyByDefault`, until each function is
/// first called). Its static constructors and destructors run only through
/// `JitcoreDylibInitialize` and `JitcoreDylibDeinitialize`. On success the
/// session owns `M`: its handle stays valid (object cache callbacks see it)
/// until it is removed with its tracker or the session is disposed of, and
/// `JitcoreDisposeModule` ignores it. Errors: `INVALID_ARGUMENT` for NULL, a
/// dead handle or a tracker of another dylib or already removed;
/// `MODULE_ALREADY_ADDED`; `DUPLICATE_DEFINITION` naming the symbol if `D`
/// already defines one of `M`'s strong external symbols; `UNSUPPORTED` for a
/// foreign target (a triple naming no architecture, such as
/// `unknown-unknown-unknown`, means the session's own target). Thread-local variables work (each thread gets its own
/// copy, freed at its exit or when the module is removed; README,
/// "Thread-local variables"). Thread-safe (not with `JitcoreDisposeSession`).
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
/// A function that cannot be compiled or linked when it is first called
/// (it calls a symbol nothing defines) is reported through the session's
/// error reporter naming the function and the cause, and its call goes to
/// the session's lazy failure handler (`JitcoreSessionSetLazyFailureHandler`;
/// by default the process aborts): it never returns a made-up result. Once
/// the cause is fixed, a later call compiles it (see
/// `JitcoreLazyFailureHandler`). Modules that
/// cannot be split (e.g. `blockaddress` across functions) compile whole on
/// first lookup. Same ownership and errors. Thread-safe (not with `JitcoreDisposeSession`);
/// concurrent first calls of a function compile it once.
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
/// host, `DUPLICATE_DEFINITION` naming the symbol. Thread-safe (not with `JitcoreDisposeSession`).
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
        // SAFETY: RT is NULL or a live tracker handle (contract).
        let group = unsafe { group_for(d, RT)? };
        // SAFETY: the pointer has the stated number of readable bytes (contract).
        let bytes = unsafe { bytes_arg(Data, Len, "Data")? };
        s.add_object(d, bytes, "<object buffer>", &group)
    })
}

/// Defines `NumSymbols` symbols of `D` at absolute addresses (host functions
/// or data the jitted code may use), for the life of `D`. Names are copied.
/// Errors: `INVALID_ARGUMENT` for NULL or an empty name,
/// `DUPLICATE_DEFINITION` if `D` already defines one (then none is defined).
/// Thread-safe (not with `JitcoreDisposeSession`).
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

/// Adds a custom materializer to `D` under `RT` (NULL: the default
/// tracker): `D` defines the `NumSymbols` names in `Symbols` (copied) as
/// exported functions. `Materialize` (see `JitcoreMaterializeFunction`) is
/// called on the first lookup of any of these symbols, and its module or
/// object takes the one compile path (cache, the session's IR pipeline,
/// codegen, link). If
/// that fails (`Materialize` returns an error, or its code does not compile
/// or link), the lookup fails with that error and the symbols are reset, so
/// the next lookup calls `Materialize` again; once it has succeeded it is
/// never called again. `Dispose(Ctx)` (may be NULL) runs once, when the
/// materializer's tracker is removed or the session is disposed of; on an
/// error from this function it runs before the function returns. Errors:
/// `INVALID_ARGUMENT` for NULL or no symbols, `DUPLICATE_DEFINITION` naming
/// a symbol `D` already defines. Thread-safe (not with `JitcoreDisposeSession`).
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
        // SAFETY: RT is NULL or a live tracker handle (contract).
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
                    Err(Error::invalid_argument(
                        "the materializer set both ModuleOut and ObjectOut (it must set exactly one)",
                    ))
                }
                (true, true) => Err(Error::invalid_argument(
                    "the materializer set neither ModuleOut nor ObjectOut (it must set exactly one)",
                )),
            }
        });
        let materializer = Arc::new(HostMaterializer::new(names, produce)?);
        s.add_materializer(d, materializer, &group)
    })
}

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
/// after `D`'s own definitions. `Filter(Ctx, Name)` is called on lookups
/// (see `JitcoreSymbolFilterFunction`: `Ctx` must live until the session is
/// disposed of). Errors: `INVALID_ARGUMENT` for NULL `D`. Thread-safe
/// (not with `JitcoreDisposeSession`).
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
/// cannot be loaded. `Filter` and `Ctx` as for
/// `JitcoreDylibAddProcessSymbols`. Thread-safe (not with `JitcoreDisposeSession`).
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
        // SAFETY: Path is NULL or a NUL-terminated string (contract).
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
/// message names the bad member). Thread-safe (not with `JitcoreDisposeSession`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibAddArchive(D: JitcoreDylibRef, Path: *const c_char) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: D is a live dylib handle; Path a NUL-terminated string.
        let (d, s) = unsafe { dylib(D)? };
        // SAFETY: Path is NULL or a NUL-terminated string (contract).
        let path = unsafe { super::path_arg(Path, "Path")? };
        s.add_source(d, SymbolSource::Archive { path: path.to_path_buf() })
    })
}

/// Runs the static constructors (`llvm.global_ctors`) that are due in `D` and
/// in the dylibs of its link order, transitively, as ORC's `LLJIT::initialize`
/// does: those of every module added since the last initialization, and those a
/// failed initialization left. Constructors are taken out of every module when
/// it is created, so they run only through this function (or
/// `JitcoreEngineRunStaticConstructors`). Order: lowest priority number first,
/// then in the order the modules were added (across dylibs), then in the order
/// listed. Each is looked up first, which compiles its module (for a lazily
/// added module: the constructor's own function, while what it calls compiles
/// when called), and runs once, on the calling thread. A module without
/// constructors counts as initialized too (its destructors are then due at
/// `JitcoreDylibDeinitialize`). Errors: `INVALID_ARGUMENT` for NULL or a dylib
/// of a disposed session; `UNRESOLVED_SYMBOL`, `COMPILE` or `LINK` naming the
/// constructor and its module if its code cannot be compiled and linked: the
/// constructors before it have run, it and those after it have not, and run on
/// a later call once the cause is fixed (for example the missing symbol
/// defined), for lazily added modules too. Thread-safe (not
/// with `JitcoreDisposeSession`): on one session, initializations and
/// deinitializations run one at a time, so concurrent calls run each
/// constructor once and each returns after the constructors due when it was
/// called have run; a constructor may itself initialize a dylib on its own
/// thread, but must not wait for another thread that does, nor unwind (C++
/// exception, `longjmp`) out of itself.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibInitialize(D: JitcoreDylibRef) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: D is NULL or a dylib handle, checked live before it is read.
        let (d, s) = unsafe { dylib(D)? };
        s.initialize(d)
    })
}

/// Runs, for `D` and the dylibs of its link order, transitively (the dylibs
/// `JitcoreDylibInitialize` covers), what ORC's `LLJIT::deinitialize` runs,
/// in the order of the C library's `exit`: first the exit handlers their
/// code registered with `atexit` or `__cxa_atexit` (jitted code's calls go
/// to jitcore, never to the C library, so none of them runs at process
/// exit, when the code may be gone), last registered first, including
/// handlers registered while they run; then those LLJIT's platform support
/// recorded for code jitcore does not rewrite (object files, archive
/// members); then the static destructors (`llvm.global_dtors`) of the
/// modules an initialization covered, highest priority number first, then
/// the most recently added module first. Modules added after the last
/// initialization were not initialized, and their destructors do not run.
/// Each handler and destructor runs at most once, on the calling thread;
/// the dylib may be initialized again later (constructors that ran do not
/// run again). Removing a tracker drops, without running them, the
/// destructors of its modules and the exit handlers their code registered,
/// since their code is gone (deinitialize first to run them); handlers that
/// object files or archive members registered are not dropped, so such code
/// must not be removed before its dylib is deinitialized. Disposing of the
/// session runs nothing. Errors: `INVALID_ARGUMENT` for NULL or a dylib of
/// a disposed session; `UNRESOLVED_SYMBOL`, `COMPILE` or `LINK` naming the
/// destructor and its module if its code cannot be compiled and linked (the
/// handlers have run; that destructor and those after it stay due). Thread
/// rules as for `JitcoreDylibInitialize`; no other thread may run code that
/// depends on what is torn down, meanwhile or afterwards.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibDeinitialize(D: JitcoreDylibRef) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: D is NULL or a dylib handle, checked live before it is read.
        let (d, s) = unsafe { dylib(D)? };
        s.deinitialize(d)
    })
}

/// Creates a resource tracker for `D`: what is added under it can be
/// removed as one with `JitcoreResourceTrackerRemove`. The caller owns the
/// result (dispose with `JitcoreDisposeResourceTracker`). NULL for NULL or
/// a dylib whose session is gone. Thread-safe (not with `JitcoreDisposeSession`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreDylibCreateResourceTracker(D: JitcoreDylibRef) -> JitcoreResourceTrackerRef {
    boundary_or(std::ptr::null_mut(), || {
        // SAFETY: D is NULL or a live dylib handle.
        let Ok((d, s)) = (unsafe { dylib(D) }) else { return std::ptr::null_mut() };
        let group = s.new_group(d);
        Box::into_raw(Box::new(JitcoreOpaqueResourceTracker { group, session: Arc::downgrade(&s) }))
    })
}
