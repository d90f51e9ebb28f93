//! The engine: an execution engine in the style of LLVM-C's MCJIT (and
//! llvmlite's `ExecutionEngine`), built on ORC's LLJIT and jitcore's compile
//! path. Add modules and object files, look up the addresses of functions
//! and globals (which compiles what they need), run static constructors and
//! destructors. For several symbol namespaces, lazy compilation or
//! unloading part of the code, use a session instead.

use std::ffi::{c_char, c_void};

use super::error::JitcoreErrorRef;
use super::error::JitcoreErrorReporterFunction;
use super::module::{self, JitcoreModuleRef};
use super::target::{JitcoreIRPipelineKindArg, JitcoreOpaqueTargetData, JitcoreTargetDataRef, JitcoreTargetMachineRef};
use super::{boundary, boundary_or, bytes_arg, lookup_name, non_null, str_arg, write_out};
use crate::engine::Engine;
use crate::error::{Error, Result};

/// An execution engine (`JitcoreEngineRef`).
pub struct JitcoreOpaqueEngine {
    engine: Engine,
    target_data: JitcoreOpaqueTargetData,
}

/// An execution engine: modules in, callable addresses out.
pub type JitcoreEngineRef = *mut JitcoreOpaqueEngine;

/// Borrows the engine behind a handle.
///
/// # Safety
/// `ee` must be NULL or a live engine handle.
pub(crate) unsafe fn engine<'a>(ee: JitcoreEngineRef) -> Result<&'a Engine> {
    non_null(ee, "engine")?;
    Ok(&(*ee).engine)
}

/// Creates an execution engine for the machine `TM` describes (the engine
/// copies what it needs; the caller keeps `TM`), built on ORC's LLJIT, with
/// host-process symbols (libc's `printf`, `malloc`, ...) resolvable. If `M`
/// is not NULL it is added as by `JitcoreEngineAddModule`, and on success the
/// engine owns it. On success the caller owns `*Result` (dispose with
/// `JitcoreDisposeEngine`); on failure nothing changes hands. Errors:
/// `INVALID_ARGUMENT` for a NULL `Result` or `TM`, and those of
/// `JitcoreEngineAddModule`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateMCJITCompiler(
    Result: *mut JitcoreEngineRef,
    M: JitcoreModuleRef,
    TM: JitcoreTargetMachineRef,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(Result, "Result")?;
        non_null(TM, "TM")?;
        // SAFETY: TM is a live target machine handle.
        let spec = unsafe { (*TM).tm.spec.clone() };
        let engine = Engine::new(spec)?;
        if !M.is_null() {
            engine.add_module(&module::get(M)?)?;
        }
        let target_data = JitcoreOpaqueTargetData { td: engine.target_data().clone() };
        let handle = Box::into_raw(Box::new(JitcoreOpaqueEngine { engine, target_data }));
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, handle) };
        Ok(())
    })
}

/// Disposes of an engine: frees all its jitted code and data and every
/// module still added to it (their handles become dead and
/// `JitcoreDisposeModule` ignores them). Static destructors and exit
/// handlers are not run; call `JitcoreEngineRunStaticDestructors` first if
/// they should. NULL is ignored.
/// Not thread-safe: must not race any other call on the engine, nor run
/// while jitted code of the engine runs.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeEngine(EE: JitcoreEngineRef) {
    boundary_or((), || {
        if EE.is_null() {
            return;
        }
        // SAFETY: EE came from JitcoreCreateMCJITCompiler and is disposed once.
        let handle = unsafe { Box::from_raw(EE) };
        let modules = handle.engine.modules();
        drop(handle);
        module::unregister(&modules);
    })
}

/// Adds module `M` to the engine; it is compiled when one of its symbols is
/// looked up, or by `JitcoreEngineFinalizeObject`. On success the engine owns
/// `M`; on failure the caller still does. Errors: `INVALID_ARGUMENT` for NULL
/// or a dead handle, `MODULE_ALREADY_ADDED` if `M` is added to an engine
/// already, `DUPLICATE_DEFINITION` naming the symbol if another module
/// defines one of `M`'s external symbols, `UNSUPPORTED` if `M` targets
/// another architecture. A module whose triple names no architecture (none,
/// or `unknown-unknown-unknown` as `llvmlite.ir` writes) is compiled for the
/// engine's target, as LLVM's MCJIT does. Thread-safe: may be called from
/// several threads at once on the same engine (not with `JitcoreDisposeEngine`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineAddModule(EE: JitcoreEngineRef, M: JitcoreModuleRef) -> JitcoreErrorRef {
    // SAFETY: EE is NULL or a live engine handle (the host's contract; checked non-NULL).
    boundary(|| unsafe { engine(EE) }?.add_module(&module::get(M)?))
}

/// Removes module `M` from the engine, freeing its jitted code and data
/// (addresses obtained from it become invalid) and its symbols, which are no
/// longer found. Its static destructors that have not run, and the exit
/// handlers its code registered that have not run, are dropped without running
/// (its code is gone). On success the caller owns `M` again and may add it
/// again, here or elsewhere (its constructors then run again at the next
/// `JitcoreEngineRunStaticConstructors`). Errors: `INVALID_ARGUMENT` for NULL,
/// `MODULE_NOT_FOUND` if `M` is not added to this engine. Thread-safe (not with
/// `JitcoreDisposeEngine`), but no thread may run `M`'s code, or use an address
/// into it, while or after it is removed.
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineRemoveModule(EE: JitcoreEngineRef, M: JitcoreModuleRef) -> JitcoreErrorRef {
    // SAFETY: EE is NULL or a live engine handle (the host's contract; checked non-NULL).
    boundary(|| unsafe { engine(EE) }?.remove_module(&module::get(M)?))
}

/// Compiles and links every module not compiled yet. Every module is tried;
/// the first failure is returned, naming its module: `UNRESOLVED_SYMBOL`
/// naming the external nobody provides, `COMPILE`, `LINK`. A module that
/// failed stays added, uncompiled, and is compiled again on the next lookup
/// (so providing the missing symbol and retrying works). A module that
/// defines no symbols (no lookup ever compiles it) is offered to the
/// engine's object cache once, here, as MCJIT does: an object the cache has
/// for it stands for it (its symbols are found until the module is
/// removed); a rejected one is reported to the error reporter, not
/// returned. Thread-safe (not with `JitcoreDisposeEngine`); compiles may run
/// on this thread while other threads look symbols up.
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineFinalizeObject(EE: JitcoreEngineRef) -> JitcoreErrorRef {
    // SAFETY: EE is NULL or a live engine handle (the host's contract; checked non-NULL).
    boundary(|| unsafe { engine(EE) }?.finalize())
}

fn lookup_into(EE: JitcoreEngineRef, Result: *mut u64, Name: *const c_char) -> Result<()> {
    // SAFETY: EE is a live engine handle and Name a NUL-terminated string.
    let engine = unsafe { engine(EE)? };
    non_null(Result, "Result")?;
    // SAFETY: Name is NULL or a NUL-terminated string (contract).
    let addr = unsafe { lookup_name(Name, |n| engine.known_address(n), |n| engine.lookup(n))? };
    // SAFETY: Result was checked non-NULL.
    unsafe { write_out(Result, addr) };
    Ok(())
}

/// Writes the address of function `Name`, compiling its module (and what
/// it needs) first. Errors: `SYMBOL_NOT_FOUND` if no module defines `Name`;
/// `UNRESOLVED_SYMBOL`, `COMPILE` or `LINK` naming the module and symbol if
/// its module cannot be compiled and linked. `*Result` is untouched on
/// error, and the engine stays usable. Thread-safe (not with
/// `JitcoreDisposeEngine`); concurrent lookups of the same symbol compile it
/// once and get the same address. Cost: a name found before, with no
/// module, object or mapping added or removed since, is answered from a
/// table of the addresses lookups found (tens of nanoseconds, no lock that
/// other lookups wait for); any other lookup asks ORC.
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineGetFunctionAddress(
    EE: JitcoreEngineRef,
    Result: *mut u64,
    Name: *const c_char,
) -> JitcoreErrorRef {
    boundary(|| lookup_into(EE, Result, Name))
}

/// Writes the address of global variable (or function) `Name`, as
/// `JitcoreEngineGetFunctionAddress` does. Same errors. Thread-safe (not
/// with `JitcoreDisposeEngine`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineGetGlobalValueAddress(
    EE: JitcoreEngineRef,
    Result: *mut u64,
    Name: *const c_char,
) -> JitcoreErrorRef {
    boundary(|| lookup_into(EE, Result, Name))
}

/// Adds the relocatable object file at `Path` (ELF, for the host) to the
/// engine; its symbols resolve for modules and lookups. The file is read
/// during the call. Errors: `INVALID_ARGUMENT` for NULL, `IO` naming the path
/// if it cannot be read, `INVALID_OBJECT` if it is not a relocatable object
/// for this host (garbage, truncated), `DUPLICATE_DEFINITION` naming the
/// symbol. Thread-safe (not with `JitcoreDisposeEngine`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineAddObjectFile(EE: JitcoreEngineRef, Path: *const c_char) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: EE is a live engine handle and Path a NUL-terminated string.
        let engine = unsafe { engine(EE)? };
        // SAFETY: Path is NULL or a NUL-terminated string (contract).
        let path = unsafe { super::path_arg(Path, "Path")? };
        let bytes =
            std::fs::read(path).map_err(|e| Error::io(format!("cannot read object file '{}': {e}", path.display())))?;
        engine.add_object(&bytes, &path.display().to_string())
    })
}

/// Adds a relocatable object file held in memory (`Len` bytes at `Data`,
/// copied during the call). Errors as for `JitcoreEngineAddObjectFile`.
/// Thread-safe (not with `JitcoreDisposeEngine`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineAddObjectBuffer(
    EE: JitcoreEngineRef,
    Data: *const u8,
    Len: usize,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: EE is a live engine handle; Data has Len readable bytes.
        let engine = unsafe { engine(EE)? };
        // SAFETY: the pointer has the stated number of readable bytes (contract).
        let bytes = unsafe { bytes_arg(Data, Len, "Data")? };
        engine.add_object(bytes, "<object buffer>")
    })
}

/// Makes symbol `Name` resolve to `Address` for every module of the engine
/// (a host function or variable the jitted code may call or use).
/// Errors: `INVALID_ARGUMENT` for NULL, `DUPLICATE_DEFINITION` if the engine
/// already has a definition of `Name`. Thread-safe (not with
/// `JitcoreDisposeEngine`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineAddGlobalMapping(
    EE: JitcoreEngineRef,
    Name: *const c_char,
    Address: u64,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: EE is a live engine handle and Name a NUL-terminated string.
        let engine = unsafe { engine(EE)? };
        // SAFETY: the name is NULL or a NUL-terminated string (contract).
        engine.add_global_mapping(unsafe { str_arg(Name, "Name")? }, Address)
    })
}

/// Runs the static constructors (`llvm.global_ctors`) of every module whose
/// constructors have not run yet, compiling them as needed: lowest priority
/// number first, then in the order the modules were added. Errors are those
/// of a lookup (`UNRESOLVED_SYMBOL`, `COMPILE`, `LINK`, naming the
/// constructor and its module, which could not be compiled and linked): the
/// constructors before it have run, it and those after it have not, and
/// run on a later call once the cause is fixed (for example the missing
/// symbol mapped). The same mechanism as `JitcoreDylibInitialize` (the
/// engine's modules are one dylib's). Thread-safe (not with
/// `JitcoreDisposeEngine`); the constructors run on the calling thread,
/// each at most once even when several threads call this at once.
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineRunStaticConstructors(EE: JitcoreEngineRef) -> JitcoreErrorRef {
    // SAFETY: EE is NULL or a live engine handle (the host's contract; checked non-NULL).
    boundary(|| unsafe { engine(EE) }?.run_static_constructors())
}

/// Runs the static destructors (`llvm.global_dtors`) of every module whose
/// destructors have not run yet, whether its constructors ran or not:
/// highest priority number first, then the most recently added module
/// first; then the exit handlers the engine's code registered with `atexit`
/// or `__cxa_atexit` (a C++ global object's destructor is one), last
/// registered first, each once: MCJIT's order (static destructors, then
/// `exit`'s handlers). Jitted code's handlers never go to the C library, so
/// nothing of the engine runs at process exit. Errors as for constructors
/// (the handlers run even then). Thread-safe (not with
/// `JitcoreDisposeEngine`); the destructors run on the calling thread, each
/// at most once. No other thread may run the engine's code meanwhile or
/// afterwards if it depends on what they tear down.
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineRunStaticDestructors(EE: JitcoreEngineRef) -> JitcoreErrorRef {
    // SAFETY: EE is NULL or a live engine handle (the host's contract; checked non-NULL).
    boundary(|| unsafe { engine(EE) }?.run_static_destructors())
}

/// The engine's target data: borrowed, valid until the engine is disposed
/// of (do not dispose of it). NULL for NULL. Thread-safe (not with
/// `JitcoreDisposeEngine`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineGetTargetData(EE: JitcoreEngineRef) -> JitcoreTargetDataRef {
    boundary_or(std::ptr::null_mut(), || {
        if EE.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: EE is a live engine handle; the target data lives inside it.
        unsafe { &(*EE).target_data as *const JitcoreOpaqueTargetData as *mut JitcoreOpaqueTargetData }
    })
}

/// Sets the engine's IR pipeline: what runs on the IR of every module the
/// engine compiles from now on, before code generation at the engine's opt
/// level (see `JitcoreIRPipelineKind`). An engine starts with
/// `JITCORE_IR_PIPELINE_DEFAULT`. `Passes` is read only for
/// `JITCORE_IR_PIPELINE_CUSTOM` (NULL is fine otherwise); it is copied, so
/// the caller keeps it. A custom pipeline is checked here, by having LLVM
/// parse it (it is run on an empty module, which passes that print, such as
/// `print`, print too), so a bad one fails now and not at compile time. Modules already compiled keep their code; a compile
/// under way on another thread finishes with the pipeline it started with.
/// The pipeline is part of each module's cache key, so a disk cache never
/// serves an object compiled under another pipeline (host cache callbacks
/// key their entries with `JitcoreModuleGetKeyForPipeline`). Errors:
/// `INVALID_ARGUMENT` for a NULL `EE`, a `Kind` outside the enum, a CUSTOM
/// `Passes` that is NULL, empty or not UTF-8, or a pipeline LLVM cannot
/// parse (the message names the pipeline and gives LLVM's reason); on
/// error the engine keeps the pipeline it had. Thread-safe (not with
/// `JitcoreDisposeEngine`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineSetIRPipeline(
    EE: JitcoreEngineRef,
    Kind: JitcoreIRPipelineKindArg,
    Passes: *const c_char,
) -> JitcoreErrorRef {
    boundary(|| {
        // SAFETY: EE is NULL or a live engine handle (contract).
        let engine = unsafe { engine(EE)? };
        // SAFETY: Passes is NULL or a NUL-terminated string (contract).
        engine.set_ir_pipeline(unsafe { Kind.pipeline(Passes)? })
    })
}

/// Sets the function that hears of errors no call can return (a cached
/// object that was rejected, a failure while compiling on behalf of a
/// lookup). `Message` is borrowed for the call. NULL `Reporter` removes it;
/// a NULL `EE` is ignored. See `JitcoreErrorReporterFunction` for how long
/// `Ctx` must live and where the reporter runs; it must not call into the
/// engine. Thread-safe (not with `JitcoreDisposeEngine`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineSetErrorReporter(
    EE: JitcoreEngineRef,
    Reporter: JitcoreErrorReporterFunction,
    Ctx: *mut c_void,
) {
    boundary_or((), || {
        // SAFETY: EE is NULL or a live engine handle (the host's contract; checked non-NULL).
        if let Ok(engine) = unsafe { engine(EE) } {
            engine.session().set_error_reporter(super::error::reporter(Reporter, Ctx));
        }
    })
}
