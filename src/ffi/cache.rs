//! Caches: an engine or session compiles a module only when its object
//! cache has no object for it. The cache is either the host's own, two
//! callbacks (`JitcoreEngineSetObjectCache`, `JitcoreSessionSetObjectCache`:
//! asked for an object before each compile, told of each object compiled),
//! or jitcore's disk cache (`JitcoreCreateDiskCache`), a directory of
//! verified entries keyed by `JitcoreModuleGetKey`. Object buffers carry
//! objects from the host to jitcore.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use crate::cache::disk::DiskCache;
use crate::cache::key::{module_key, to_hex};
use crate::cache::{CacheContext, ObjectCache};
use crate::compile::pipeline::IrPipeline;
use crate::error::Error;
use crate::llvm::target_machine::TargetSpec;
use crate::module::Module;

use super::buffer::JitcoreObjectBufferRef;
use super::engine::{engine, JitcoreEngineRef};
use super::error::JitcoreErrorRef;
use super::module::{self, JitcoreModuleRef};
use super::session::{session, JitcoreSessionRef};
use super::target::{JitcoreIRPipelineKindArg, JitcoreTargetMachineRef};
use super::{boundary, boundary_or, non_null, write_out};

/// Sets the engine's object cache (llvmlite's `set_object_cache`); both
/// callbacks NULL removes it. Before compiling a module the engine calls
/// `GetBuffer(Ctx, M)`: NULL means compile; a buffer (owned by jitcore from
/// then on) holding a valid object is used instead of compiling, and
/// `Notify` is not called for it; it stands for `M` entirely, even if it was
/// compiled from another module (see `JitcoreObjectCacheGetBufferFunction`:
/// its symbols are defined, `M`'s others are not found). A buffer that is
/// not a valid object, or defines a symbol the engine has already, is
/// ignored: the module is compiled, the statistics count a rejected
/// entry, and the error reporter hears of it. `Notify(Ctx, M, Object, Len)`
/// runs exactly once for each module compiled, with its ELF bytes (borrowed
/// for the call). Callbacks run on the thread that compiles, which may be any
/// thread that looks symbols up, possibly on several at once; they must not
/// call back into this engine. `Ctx` must stay valid until the engine is
/// disposed of: replacing or removing the callbacks stops new compiles from
/// calling them, but a compile already under way still may. A NULL `EE` is
/// ignored. Thread-safe (not with `JitcoreDisposeEngine`).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineSetObjectCache(
    EE: JitcoreEngineRef,
    Notify: JitcoreObjectCacheNotifyFunction,
    GetBuffer: JitcoreObjectCacheGetBufferFunction,
    Ctx: *mut c_void,
) {
    boundary_or((), || {
        // SAFETY: EE is NULL or a live engine handle (the host's contract; checked non-NULL).
        if let Ok(engine) = unsafe { engine(EE) } {
            engine.set_cache(HostCallbacks::cache(Notify, GetBuffer, Ctx));
        }
    })
}

/// Sets the session's object cache; both callbacks NULL removes it. It
/// works as `JitcoreEngineSetObjectCache` describes, for every module of
/// every JITDylib, except that an object from `GetBuffer` must define every
/// symbol of its module (one that does not is ignored and the module
/// compiled). Partitions of lazily added modules (named
/// `<module>#<function>` and `<module>#globals`) and modules returned by
/// materializers are passed with a handle valid for the call only. The
/// callbacks also run on compile threads and on threads whose calls into
/// lazily compiled functions compile them. `Ctx` must stay valid until the
/// session is disposed of (as for an engine, replacing the callbacks does
/// not stop a compile already under way). NULL `S` is ignored. Thread-safe
/// (not with `JitcoreDisposeSession`).
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
            s.session.set_cache(HostCallbacks::cache(Notify, GetBuffer, Ctx));
        }
    })
}

/// Called once with each freshly compiled object of module `M`. `Object` is
/// borrowed for the duration of the call only, and `M` may be a handle valid
/// for the call only (see `JitcoreSessionSetObjectCache`). Called on the
/// thread that compiles (one that looks symbols up, a compile thread, or
/// one whose call into a lazy function compiles it), possibly on several
/// threads at once; it must not call into the engine or session. `Ctx` must
/// stay valid until the engine or session is disposed of.
pub type JitcoreObjectCacheNotifyFunction =
    Option<unsafe extern "C" fn(Ctx: *mut c_void, M: JitcoreModuleRef, Object: *const u8, Len: usize)>;

/// Called before module `M` is compiled. Returns NULL to compile normally,
/// or a buffer (ownership passes to jitcore) holding the object to use
/// instead of compiling. The object stands for the module: jitcore checks
/// that it is a relocatable object for this host that passes its object
/// validator, but cannot tell which IR it was compiled from; the host's
/// cache vouches for that (as llvmlite's MCJIT cache does). For an engine
/// the object stands for the module entirely, as in MCJIT: the symbols it
/// defines are what the module defines from then on (found by lookups,
/// removed with the module), and symbols of `M` it does not define are
/// `SYMBOL_NOT_FOUND`; it is ignored only if it defines a symbol the
/// engine has already. For a session it must define every symbol of `M`.
/// One that fails the checks is ignored and the module compiled. Called on the same threads, with the same rules
/// and the same `Ctx` lifetime, as `JitcoreObjectCacheNotifyFunction`.
pub type JitcoreObjectCacheGetBufferFunction =
    Option<unsafe extern "C" fn(Ctx: *mut c_void, M: JitcoreModuleRef) -> JitcoreObjectBufferRef>;

/// The host's notify/getbuffer callbacks (llvmlite's `set_object_cache`).
pub struct HostCallbacks {
    pub notify: JitcoreObjectCacheNotifyFunction,
    pub get_buffer: JitcoreObjectCacheGetBufferFunction,
    pub ctx: usize,
}

impl HostCallbacks {
    pub fn cache(
        notify: JitcoreObjectCacheNotifyFunction,
        get_buffer: JitcoreObjectCacheGetBufferFunction,
        ctx: *mut c_void,
    ) -> Option<Arc<dyn ObjectCache>> {
        if notify.is_none() && get_buffer.is_none() {
            return None;
        }
        Some(Arc::new(HostCallbacks { notify, get_buffer, ctx: ctx as usize }))
    }
}

/// Calls `f` with a handle for `module`: its own, or, for modules the host
/// never had a handle for (partitions of lazy modules, modules from
/// materializers), one that is valid for the call only.
/// While the callback runs, the thread knows the target it compiles for, so
/// `JitcoreModuleGetKey(M, NULL, ...)` gives the key without a target
/// machine (restored on return, also if the callback unwinds).
fn with_handle<T>(module: &Arc<Module>, cx: &CacheContext<'_>, f: impl FnOnce(JitcoreModuleRef) -> T) -> T {
    struct Restore(Option<(TargetSpec, IrPipeline)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CALLBACK_TARGET.with(|t| *t.borrow_mut() = prev);
        }
    }
    let _restore = Restore(CALLBACK_TARGET.with(|t| t.replace(Some((cx.spec.clone(), cx.pipeline.clone())))));
    if module.handle() != 0 {
        return f(module.handle() as usize as JitcoreModuleRef);
    }
    let handle = super::module::register(module.clone());
    let out = f(handle);
    super::module::unregister(std::slice::from_ref(module));
    module.set_handle(0);
    out
}

thread_local! {
    /// The target of the object cache callback running on this thread.
    static CALLBACK_TARGET: std::cell::RefCell<Option<(TargetSpec, IrPipeline)>> = const { std::cell::RefCell::new(None) };
}

impl ObjectCache for HostCallbacks {
    fn lookup(&self, module: &Arc<Module>, cx: &CacheContext<'_>) -> Option<Vec<u8>> {
        let f = self.get_buffer?;
        // SAFETY: the host promised `f` is callable with its Ctx from any
        // thread jitcore compiles on; M is a live handle for the call.
        let buf = with_handle(module, cx, |m| unsafe { f(self.ctx as *mut c_void, m) });
        if buf.is_null() {
            return None;
        }
        // SAFETY: a non-NULL result is a buffer made by
        // JitcoreCreateObjectBufferCopy whose ownership passes to us.
        let buf = unsafe { Box::from_raw(buf) };
        Some(buf.bytes)
    }

    fn may_stand_for_module(&self) -> bool {
        true
    }

    fn store(&self, module: &Arc<Module>, object: &[u8], cx: &CacheContext<'_>) {
        if let Some(f) = self.notify {
            // SAFETY: as in lookup; the bytes are borrowed for the call.
            with_handle(module, cx, |m| unsafe { f(self.ctx as *mut c_void, m, object.as_ptr(), object.len()) })
        }
    }
}

/// An object cache handle (`JitcoreObjectCacheRef`).
pub struct JitcoreOpaqueObjectCache {
    pub(crate) disk: Arc<DiskCache>,
}

/// An object cache jitcore implements (the disk cache), attachable to
/// engines and sessions.
pub type JitcoreObjectCacheRef = *mut JitcoreOpaqueObjectCache;

/// Bytes in a module key (`JitcoreModuleGetKey`).
pub const JITCORE_MODULE_KEY_SIZE: usize = 32;

/// Bytes of a module key's hexadecimal form, with its terminating NUL.
pub const JITCORE_MODULE_KEY_HEX_SIZE: usize = 65;

/// The disk cache behind a handle.
///
/// # Safety
/// `c` must be NULL or a live cache handle.
pub(crate) unsafe fn disk_cache(c: JitcoreObjectCacheRef) -> Option<Arc<DiskCache>> {
    if c.is_null() {
        None
    } else {
        Some((*c).disk.clone())
    }
}

/// Writes the content key of module `M` compiled for `TM` (its triple, CPU,
/// CPU features, opt level, relocation and code model) after the default IR
/// pipeline (`JITCORE_IR_PIPELINE_DEFAULT`, what engines and sessions run
/// unless told otherwise): BLAKE3 over the module's content (its name and
/// the bytes it was made from: the IR text or bitcode given to
/// `JitcoreCreateModuleFromIR`, or the bitcode
/// `JitcoreCreateModuleFromLLVMModule` copied it through) and those, the IR
/// passes, the LLVM version and jitcore's version and cache-format
/// version. Modules made from the same bytes under the same name get the
/// same key for the same machine and pipeline, in every run and process;
/// anything that changes the object changes the key (the same IR given as
/// text and as bitcode gets two keys). It is the name of the module's entry
/// in a disk cache (`<Hex>.jco`) and suits a host's own cache callbacks,
/// which may call it on the `M` they are given (lazy partitions included).
/// For an engine or session with another IR pipeline, ask
/// `JitcoreModuleGetKeyForPipeline` with that pipeline: this function is
/// `JitcoreModuleGetKeyForPipeline(M, TM, JITCORE_IR_PIPELINE_DEFAULT,
/// NULL, Key, Hex)`. Inside an object cache callback
/// (`JitcoreObjectCacheNotifyFunction`, `JitcoreObjectCacheGetBufferFunction`)
/// `TM` may be NULL: the key is then the one the engine or session compiling
/// `M` uses (its target and its IR pipeline), the key its disk cache would
/// use. Elsewhere pass a target machine (for a session, a host target
/// machine at the session's opt level describes the same machine). `Key` receives
/// `JITCORE_MODULE_KEY_SIZE` (32) bytes and `Hex`
/// `JITCORE_MODULE_KEY_HEX_SIZE` (65) characters: 64 lowercase hex digits
/// and a NUL; either may be NULL, not both. The first call on a module
/// hashes its bytes (the IR is not serialized); later calls are cheap. Errors:
/// `INVALID_ARGUMENT` for a NULL or dead `M`, a NULL `TM` outside a
/// callback, or both outputs
/// NULL (nothing is written then). Thread-safe, also from inside object
/// cache callbacks; must not race the disposal of `M` or `TM`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreModuleGetKey(
    M: JitcoreModuleRef,
    TM: JitcoreTargetMachineRef,
    Key: *mut u8,
    Hex: *mut c_char,
) -> JitcoreErrorRef {
    // SAFETY: the host's arguments, as documented above.
    unsafe { JitcoreModuleGetKeyForPipeline(M, TM, JitcoreIRPipelineKindArg(0), std::ptr::null(), Key, Hex) }
}

/// Writes the content key of module `M` compiled for `TM` after the IR
/// pipeline `Kind` and `Passes` name (as `JitcoreEngineSetIRPipeline` and
/// `JitcoreSessionSetIRPipeline` take them; `Passes` is read only for
/// `JITCORE_IR_PIPELINE_CUSTOM`): the key under which an engine or session
/// with that pipeline stores `M` in a disk cache, otherwise as
/// `JitcoreModuleGetKey`. The key depends on the passes that run, not on how
/// they were chosen: `JITCORE_IR_PIPELINE_DEFAULT` at O2 and CUSTOM
/// `"default<O2>"` give the same key; NONE, DEFAULT and any other custom
/// pipeline give different keys. A custom pipeline is not parsed here (so
/// this stays cheap inside cache callbacks): a string no engine would
/// accept just gets a key no engine uses. Errors: those of
/// `JitcoreModuleGetKey`, and `INVALID_ARGUMENT` for a `Kind` outside the
/// enum or a CUSTOM `Passes` that is NULL or not UTF-8. Thread-safe, as
/// `JitcoreModuleGetKey`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreModuleGetKeyForPipeline(
    M: JitcoreModuleRef,
    TM: JitcoreTargetMachineRef,
    Kind: JitcoreIRPipelineKindArg,
    Passes: *const c_char,
    Key: *mut u8,
    Hex: *mut c_char,
) -> JitcoreErrorRef {
    boundary(|| {
        if Key.is_null() && Hex.is_null() {
            return Err(Error::invalid_argument("Key and Hex must not both be NULL"));
        }
        let module = module::get(M)?;
        let key = if TM.is_null() {
            let (spec, own) = CALLBACK_TARGET.with(|t| t.borrow().clone()).ok_or_else(|| {
                Error::invalid_argument("TM is NULL outside an object cache callback (pass a target machine)")
            })?;
            // JitcoreModuleGetKey (Passes NULL, DEFAULT) asks for the
            // callback's own pipeline; an explicit pipeline is taken as given.
            let pipeline = if Kind.0 == 0 && Passes.is_null() {
                own
            } else {
                // SAFETY: Passes is NULL or a NUL-terminated string (contract).
                unsafe { Kind.pipeline(Passes)? }
            };
            module_key(&module, &spec, &pipeline)
        } else {
            // SAFETY: Passes is NULL or a NUL-terminated string (contract).
            let pipeline = unsafe { Kind.pipeline(Passes)? };
            // SAFETY: TM is a live target machine handle (contract).
            module_key(&module, unsafe { &(*TM).tm.spec }, &pipeline)
        };
        if !Key.is_null() {
            // SAFETY: Key has room for JITCORE_MODULE_KEY_SIZE bytes (contract).
            unsafe { std::ptr::copy_nonoverlapping(key.as_ptr(), Key, JITCORE_MODULE_KEY_SIZE) };
        }
        if !Hex.is_null() {
            let hex = to_hex(&key);
            // SAFETY: Hex has room for JITCORE_MODULE_KEY_HEX_SIZE bytes (contract).
            unsafe {
                std::ptr::copy_nonoverlapping(hex.as_ptr().cast::<c_char>(), Hex, hex.len());
                *Hex.add(hex.len()) = 0;
            }
        }
        Ok(())
    })
}

/// Creates jitcore's disk object cache in `Directory` (created with its
/// parents if missing), holding at most `MaxBytes` bytes of entries (0: no
/// cap; past the cap the least recently used entries are deleted). Attach it
/// with `JitcoreEngineSetDiskCache` or `JitcoreSessionSetDiskCache`; one
/// cache may serve several engines and sessions, and several threads and
/// processes may share one directory at once.
///
/// Each compiled module is stored in `<Directory>/<key>.jco`, where `<key>`
/// is `JitcoreModuleGetKeyForPipeline`'s hex form for the machine and IR
/// pipeline it was compiled with (`JitcoreModuleGetKey`'s under the default
/// pipeline), written atomically (a temporary file
/// in the directory, fsync, rename) with a header (magic, format version,
/// key, length, BLAKE3 checksum) that is verified before an entry is used.
/// An entry that fails verification (truncated, altered, not an entry,
/// stored under another key's name, empty) is never loaded: it is deleted,
/// counted (`CorruptDropped`), reported as a `JITCORE_ERROR_CACHE` error to
/// the error reporter, and the module is compiled. Files in the directory
/// that are not named like entries are left alone.
///
/// A directory that cannot be created, read or written, or a full disk,
/// does not fail this call nor any lookup: modules are compiled, failures
/// are counted (`IOErrors`), and the first is reported once, as a
/// `JITCORE_ERROR_IO` error, to the error reporter of the engine or session
/// that was compiling.
///
/// On success the caller owns `*Result` (dispose with
/// `JitcoreDisposeObjectCache`). Errors: `INVALID_ARGUMENT` for a NULL
/// `Result` or `Directory`, or an empty `Directory`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateDiskCache(
    Result: *mut JitcoreObjectCacheRef,
    Directory: *const c_char,
    MaxBytes: u64,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(Result, "Result")?;
        // SAFETY: Directory is NULL or a NUL-terminated string (contract).
        let dir = unsafe { super::path_arg(Directory, "Directory")? };
        let disk = DiskCache::open(dir, MaxBytes)?;
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, Box::into_raw(Box::new(JitcoreOpaqueObjectCache { disk }))) };
        Ok(())
    })
}

/// Disposes of the caller's handle on a cache. Engines and sessions it is
/// attached to keep using it until they are disposed of or detach it, so it
/// may be disposed of right after attaching. NULL is ignored. Not
/// thread-safe: must not race other uses of the handle.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeObjectCache(Cache: JitcoreObjectCacheRef) {
    boundary_or((), || {
        if !Cache.is_null() {
            // SAFETY: Cache came from JitcoreCreateDiskCache and is disposed of once.
            drop(unsafe { Box::from_raw(Cache) });
        }
    })
}

/// Attaches jitcore's disk cache `Cache` (from `JitcoreCreateDiskCache`) to
/// the engine, replacing any object cache it had (`JitcoreEngineSetObjectCache`
/// callbacks included; setting those later replaces this one). NULL `Cache`
/// removes the engine's cache. Before compiling a module the engine looks
/// for its entry (keyed by `JitcoreModuleGetKeyForPipeline` for the
/// engine's machine and its IR pipeline at the time of the compile);
/// a verified entry is used instead of compiling (a cache hit in
/// `JitcoreEngineGetStatistics`), and each module compiled is stored. The
/// engine keeps the cache alive while attached: the caller may dispose of
/// its handle at any time after this call. A NULL `EE` is ignored.
/// Thread-safe (not with `JitcoreDisposeEngine`, nor with the disposal of
/// `Cache` during this call).
#[no_mangle]
pub unsafe extern "C" fn JitcoreEngineSetDiskCache(EE: JitcoreEngineRef, Cache: JitcoreObjectCacheRef) {
    boundary_or((), || {
        // SAFETY: Cache is NULL or a live cache handle (contract).
        let cache = unsafe { disk_cache(Cache) }.map(|c| c as Arc<dyn ObjectCache>);
        // SAFETY: EE is NULL or a live engine handle (contract).
        if let Ok(engine) = unsafe { engine(EE) } {
            engine.set_cache(cache);
        }
    })
}

/// Attaches jitcore's disk cache `Cache` (from `JitcoreCreateDiskCache`) to
/// the session, for every module of every JITDylib, as
/// `JitcoreEngineSetDiskCache` does for an engine: it replaces any object
/// cache the session had, NULL removes it, and the session keeps the cache
/// alive while attached. Each partition of a lazily added module is a module
/// of its own with its own entry, stored and found when the function is
/// first called; the names it gives the module's local symbols follow the
/// module's content, so its entry is found whatever was added to the
/// session before the module. A NULL `S` is ignored. Thread-safe (not with `JitcoreDisposeSession`), nor
/// with the disposal of `Cache` during this call).
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
