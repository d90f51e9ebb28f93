//! The session: an ORC ExecutionSession with JITDylibs (see the dylibs
//! section), link orders, resource trackers, lazy and concurrent
//! compilation, and jitcore's one compile path (object cache, optimizer,
//! code generator, JITLink). A session starts with a main JITDylib; add
//! modules to its dylibs and look symbols up from a dylib.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::{Arc, Mutex};

use super::dylib::{dylib, dylib_of, JitcoreDylibRef, JitcoreOpaqueDylib, LIVE_DYLIBS};
use super::error::JitcoreErrorRef;
use super::error::JitcoreErrorReporterFunction;
use super::host::HostPtr;
use super::module;
use super::target::{JitcoreIRPipelineKindArg, JitcoreOptLevelArg};
use super::{
    boundary, boundary_or, lookup_name, non_null, read_sized, slice_arg, str_arg, struct_size, write_out, write_sized,
};
use crate::error::{Error, Result};
use crate::llvm::lazy::FailureHandler;
use crate::llvm::target_machine::TargetSpec;
use crate::session::dylib::Dylib;
use crate::session::{Session, SessionConfig};

/// Options of a session. Initialize with `JitcoreSessionOptionsInit`, then
/// change what you need; fields may be added at the end in later versions.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct JitcoreSessionOptions {
    /// Optimization level of every compile (default O2): code generation's,
    /// and the default IR pipeline's (see `JitcoreSessionSetIRPipeline`).
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
    pub(crate) session: Arc<Session>,
    /// One handle per JITDylib (stable addresses); the first is main.
    // Boxed: host handles point into them, so they must not move.
    #[allow(clippy::vec_box)]
    dylibs: Mutex<Vec<Box<JitcoreOpaqueDylib>>>,
}

/// An ORC ExecutionSession with JITDylibs, link order and jitcore's compile
/// path: modules in, addresses out.
pub type JitcoreSessionRef = *mut JitcoreOpaqueSession;

/// Borrows the session behind a handle.
///
/// # Safety
/// `s` must be NULL or a live session handle.
pub(crate) unsafe fn session<'a>(s: JitcoreSessionRef) -> Result<&'a JitcoreOpaqueSession> {
    non_null(s, "session")?;
    Ok(&*s)
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

impl JitcoreSessionOptions {
    /// The defaults (one place for `JitcoreSessionOptionsInit` and a NULL
    /// `Options` of `JitcoreCreateSession`).
    const DEFAULT: JitcoreSessionOptions = JitcoreSessionOptions {
        OptLevel: JitcoreOptLevelArg(2),
        CompileThreads: 0,
        LazyByDefault: 0,
        EnableDebugger: 0,
        EnablePerf: 0,
    };
}

/// Fills `Options`, a struct of `Size` bytes (`sizeof(JitcoreSessionOptions)`
/// of the host's header), with the defaults: O2, no compile threads
/// (compile on the looking-up thread), eager, no debugger or perf support.
/// Only `Size` bytes are written (a host built against an older, smaller
/// struct is not overrun; bytes past this library's struct are zeroed).
/// NULL or a `Size` of 0 is ignored. C hosts call it through the macro
/// `JitcoreSessionOptionsInit(Options)`, which passes the size. Thread-safe
/// for distinct structs.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionOptionsInitSized(Options: *mut JitcoreSessionOptions, Size: usize) {
    boundary_or((), || {
        if !Options.is_null() && struct_size(Size, "JitcoreSessionOptions").is_ok() {
            // SAFETY: Options was checked non-NULL and has Size writable bytes.
            unsafe { write_sized(Options, JitcoreSessionOptions::DEFAULT, Size) };
        }
    })
}

/// Creates a session for the host machine with `Options`, a struct of
/// `OptionsSize` bytes (NULL: the defaults of `JitcoreSessionOptionsInit`).
/// Only `OptionsSize` bytes are read; fields past them (added after the
/// host was built) take their defaults. C hosts call it through the macro
/// `JitcoreCreateSession(Result, Options)`, which passes
/// `sizeof(JitcoreSessionOptions)`. It has a main JITDylib, which
/// resolves the host process's symbols (libc's `printf`, ...) after its own
/// definitions, sources and link order. JITDylibs made later see only
/// their own definitions, their symbol sources and their link order, as
/// shared libraries do: give them `JitcoreDylibAddProcessSymbols` to reach
/// libc.
/// On success the caller owns `*Result` (dispose with
/// `JitcoreDisposeSession`). Errors: `INVALID_ARGUMENT` for a NULL `Result`,
/// an `OptionsSize` of 0 or over 64 KiB, or an opt level outside 0..3, `UNSUPPORTED` if the host cannot JIT or
/// the debugger support cannot be enabled, `IO` if the perf map cannot be
/// written, `INTERNAL` if compile threads cannot be started. Thread-safe.
/// The session it makes may be used from several threads at once: every
/// session, dylib and tracker function is thread-safe except the Dispose
/// functions.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateSessionSized(
    Result: *mut JitcoreSessionRef,
    Options: *const JitcoreSessionOptions,
    OptionsSize: usize,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(Result, "Result")?;
        let mut opts = JitcoreSessionOptions::DEFAULT;
        if !Options.is_null() {
            let size = struct_size(OptionsSize, "JitcoreSessionOptions (OptionsSize)")?;
            // SAFETY: a non-NULL Options points to OptionsSize readable bytes.
            opts = unsafe { read_sized(Options, size, JitcoreSessionOptions::DEFAULT) };
        }
        if opts.CompileThreads > 1024 {
            return Err(Error::invalid_argument(format!("{} compile threads is too many", opts.CompileThreads)));
        }
        let config = SessionConfig {
            compile_threads: opts.CompileThreads as usize,
            lazy_by_default: opts.LazyByDefault != 0,
            debugger: opts.EnableDebugger != 0,
            perf: opts.EnablePerf != 0,
            cached_object_stands_for_module: false,
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

/// Disposes of a session: frees all jitted code and data, every module added to
/// it, its JITDylibs (their handles become dead) and its compile threads (after
/// the compiles in flight finish). No static destructor or exit handler runs:
/// call `JitcoreDylibDeinitialize` first if they should. Tracker handles stay
/// to be disposed of, but no longer do anything. NULL is ignored. Not
/// thread-safe: must not race any other use of the session, its dylibs or its
/// trackers, nor run while the session's jitted code runs.
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
            // After the removals: no thread's memory of a live handle holds.
            super::dylib::forget_live_dylibs();
        }
        let modules = handle.session.all_modules();
        drop(handle);
        module::unregister(&modules);
    })
}

/// The session's main JITDylib (owned by the session, valid until it is
/// disposed of). NULL for NULL. Thread-safe (not with
/// `JitcoreDisposeSession`).
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
/// Thread-safe (not with `JitcoreDisposeSession`); of two threads creating
/// the same name at once, one fails.
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
        // SAFETY: the name is NULL or a NUL-terminated string (contract).
        let name = unsafe { str_arg(Name, "Name")? };
        let d = s.session.create_dylib(name)?;
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, s.handle_for(&d)) };
        Ok(())
    })
}

/// The JITDylib named `Name`, or NULL if there is none (or for NULL
/// arguments). The main JITDylib is named "main". Thread-safe (not with
/// `JitcoreDisposeSession`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionGetDylibByName(S: JitcoreSessionRef, Name: *const c_char) -> JitcoreDylibRef {
    boundary_or(std::ptr::null_mut(), || {
        // SAFETY: S is NULL or a live session handle; Name NULL or a NUL-terminated string.
        let Ok(s) = (unsafe { session(S) }) else { return std::ptr::null_mut() };
        // SAFETY: the name is NULL or a NUL-terminated string (contract).
        let Ok(name) = (unsafe { str_arg(Name, "Name") }) else { return std::ptr::null_mut() };
        match s.session.dylib_by_name(name) {
            Some(d) => s.handle_for(&d),
            None => std::ptr::null_mut(),
        }
    })
}

/// Looks `Name` up as a dynamic linker would from `D`: `D`'s own
/// definitions first, then the exported definitions of `D`'s link order, in
/// order (the main JITDylib then asks the host process).
/// Compiles what it needs (a lazily added function is not compiled: its
/// stub's address is returned; a thread-local variable's name gives its
/// descriptor, not a thread's copy). Writes the address to `*Result`. Errors:
/// `INVALID_ARGUMENT` for NULL or a dylib of another session,
/// `SYMBOL_NOT_FOUND` naming the symbol and the dylibs searched;
/// `UNRESOLVED_SYMBOL`, `COMPILE` or `LINK` naming the module if its code
/// cannot be compiled and linked (that module is reset, so a retry after
/// fixing the cause works). `*Result` is untouched on error. Thread-safe
/// (not with `JitcoreDisposeSession`); concurrent lookups of one symbol
/// compile it once and agree on the address. Cost: a name a lookup from
/// `D` found before, with no structural change of the session since
/// (adding, removing, defining, a link order or a symbol source), is
/// answered from `D`'s table of the addresses lookups found (tens of
/// nanoseconds, no lock that other lookups wait for); any other lookup asks
/// ORC. The answer is the same either way.
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
        // SAFETY: D is NULL or a dylib handle, checked live before it is read.
        let d = unsafe { dylib_of(D, &s.session)? };
        non_null(Result, "Result")?;
        // SAFETY: Name is NULL or a NUL-terminated string (contract).
        let addr = unsafe { lookup_name(Name, |n| s.session.known_address(d, n), |n| s.session.lookup_one(d, n))? };
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, addr) };
        Ok(())
    })
}

/// Looks `NumNames` names up from `D` at once, as `JitcoreSessionLookup`
/// does, writing `Results[i]` for `Names[i]`: all the modules they need are
/// compiled together (in parallel, with compile threads). On error no
/// result is written. Same errors. Thread-safe (not with
/// `JitcoreDisposeSession`).
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
        // SAFETY: D is NULL or a dylib handle, checked live before it is read.
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

/// Sets the session's IR pipeline, as `JitcoreEngineSetIRPipeline` does for
/// an engine: what runs on IR before code generation at the session's opt
/// level, for every module of every JITDylib compiled from now on: modules
/// added eagerly, each partition of a lazily added module (so functions of
/// a lazy module first called after this call follow it), modules returned
/// by materializers, and LLJIT's own platform support modules. A session
/// starts with `JITCORE_IR_PIPELINE_DEFAULT`. Same rules for `Passes`, same
/// checks and errors (`INVALID_ARGUMENT` for a NULL `S`, a bad `Kind` or a
/// pipeline LLVM cannot parse, naming it; the session keeps its pipeline
/// then). Thread-safe (not with `JitcoreDisposeSession`); a compile under
/// way on another thread finishes with the pipeline it started with.
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionSetIRPipeline(
    S: JitcoreSessionRef,
    Kind: JitcoreIRPipelineKindArg,
    Passes: *const c_char,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: S is NULL or a live session handle (contract).
        let s = unsafe { session(S)? };
        // SAFETY: Passes is NULL or a NUL-terminated string (contract).
        s.session.set_ir_pipeline(unsafe { Kind.pipeline(Passes)? })
    })
}

/// Sets the function that hears of errors no call can return: a lazy
/// compile that failed (naming the function), a link failure, a rejected
/// cache entry. `Message` is borrowed for the call. NULL `Reporter` removes
/// it; a NULL `S` is ignored. See `JitcoreErrorReporterFunction` for how
/// long `Ctx` must live and where the reporter runs; it must not call into
/// the session. Thread-safe (not with `JitcoreDisposeSession`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionSetErrorReporter(
    S: JitcoreSessionRef,
    Reporter: JitcoreErrorReporterFunction,
    Ctx: *mut c_void,
) {
    boundary_or((), || {
        // SAFETY: S is NULL or a live session handle (contract).
        if let Ok(s) = unsafe { session(S) } {
            s.session.set_error_reporter(super::error::reporter(Reporter, Ctx));
        }
    })
}

/// What a call of a lazily compiled function does when the function cannot
/// be compiled or linked (for example, it calls a symbol nothing defines):
/// a jitted call has no error channel, so jitcore runs this in place of the
/// function, on the thread that made the call (on several threads at once
/// if several calls fail), with the function's name and the error. jitcore
/// holds none of its locks while it runs (unless the call was made from
/// inside one of jitcore's callbacks).
///
/// `Function` (the name the caller used) stays valid until the session is
/// disposed of. `Error` belongs to the handler, which must consume it
/// exactly once (`JitcoreGetErrorMessage` or `JitcoreConsumeError`), also
/// before leaving by `longjmp`; its code is the cause's
/// (`JITCORE_ERROR_UNRESOLVED_SYMBOL` for a missing symbol) and its message
/// names the function, its JITDylib, its module and the cause. (jitcore
/// learns which call failed from the calling thread's lookups: when several
/// threads call different failing functions at the same moment, two of
/// them can be handed each other's name and error.)
///
/// The handler may leave the call without returning: `longjmp` to a
/// `setjmp` taken before the call (the frames jitcore puts between the
/// caller and the handler hold nothing, and the session stays usable),
/// `exit`, or unwind: `pthread_exit`, or a C++ exception (jitcore's frames
/// have unwind information; the jitted code between needs it too). It may
/// call into the session, for example to define the missing symbol. If it
/// returns, the call returns as if the function had returned zero: 0, 0.0,
/// NULL, or (void) nothing, so only return when the caller can tell
/// (jitcore clears the integer and floating-point return registers; a
/// result returned in memory, such as a large struct, is left as it was).
///
/// Before the handler runs, the error reporter hears the same error, and
/// the function is set to be compiled anew: after the session's next lookup
/// or change (defining the missing symbol is one), the next call compiles
/// it again; until then each call fails the same way.
pub type JitcoreLazyFailureHandler =
    Option<unsafe extern "C-unwind" fn(Ctx: *mut c_void, Function: *const c_char, Error: JitcoreErrorRef)>;

/// Sets what a call of a lazily compiled function (`JitcoreDylibAddModuleLazy`)
/// that cannot be compiled does: `Handler(Ctx, Function, Error)` runs in its
/// place, on the calling thread (see `JitcoreLazyFailureHandler`). NULL
/// `Handler` restores the default, which prints one line on stderr naming
/// the function and the cause (after the error reporter heard it) and stops
/// the process with `abort()`: the call cannot return a result, and the
/// process stops at the failed call (a debugger or a core dump shows it),
/// running no exit handlers and flushing no stdio buffers. A NULL `S` is
/// ignored. `Ctx` must stay valid until the session is disposed of (a
/// handler that was replaced may still be running). Thread-safe (not with
/// `JitcoreDisposeSession`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreSessionSetLazyFailureHandler(
    S: JitcoreSessionRef,
    Handler: JitcoreLazyFailureHandler,
    Ctx: *mut c_void,
) {
    boundary_or((), || {
        // SAFETY: S is NULL or a live session handle (contract).
        if let Ok(s) = unsafe { session(S) } {
            s.session.set_lazy_failure_handler_raw(lazy_failure_handler(Handler, Ctx));
        }
    })
}

/// The host's handler and its `Ctx`, as a failed call runs it. Between the
/// failed call and the host's handler nothing is owned (the error is handed
/// over first), so a handler that longjmps leaks nothing.
fn lazy_failure_handler(f: JitcoreLazyFailureHandler, ctx: *mut c_void) -> Option<FailureHandler> {
    let f = f?;
    let ctx = HostPtr(ctx);
    Some(Arc::new(move |function: &CStr, error: Error| {
        let error = super::error::into_ref(error);
        // SAFETY: the host's handler is callable on any thread with its Ctx
        // (documented); it owns the error, the name outlives the call.
        unsafe { f({ ctx }.0, function.as_ptr(), error) }
    }))
}
