//! The object cache interface: where the compile path asks for an object
//! before compiling a module, and reports each object it compiled.

pub mod disk;
pub mod key;

use std::ffi::c_void;
use std::sync::Arc;

use crate::llvm::target_machine::TargetSpec;
use crate::module::Module;
use crate::session::report::ErrorLog;

/// Opaque handle to a byte buffer holding an object file
/// (`JitcoreObjectBufferRef`).
pub struct JitcoreOpaqueObjectBuffer {
    pub bytes: Vec<u8>,
}

use crate::ffi::module::JitcoreModuleRef;
/// Handle to an object buffer.
pub type JitcoreObjectBufferRef = *mut JitcoreOpaqueObjectBuffer;

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
/// validator and defines every symbol of `M` that is looked up, but cannot
/// tell which IR it was compiled from; the host's cache vouches for that
/// (as llvmlite's MCJIT cache does). One that fails the checks is ignored
/// and the module compiled. Called on the same threads, with the same rules
/// and the same `Ctx` lifetime, as `JitcoreObjectCacheNotifyFunction`.
pub type JitcoreObjectCacheGetBufferFunction =
    Option<unsafe extern "C" fn(Ctx: *mut c_void, M: JitcoreModuleRef) -> JitcoreObjectBufferRef>;

/// What a cache may need besides the module: the machine and opt level the
/// object is (or was) compiled for, and where to report problems that no
/// call can return (the engine's or session's error log).
pub struct CacheContext<'a> {
    pub spec: &'a TargetSpec,
    pub log: &'a ErrorLog,
}

/// A source and sink of compiled objects, keyed by module.
pub trait ObjectCache: Send + Sync {
    /// An object previously compiled from `module` for `cx.spec`, if the
    /// cache has one.
    fn lookup(&self, module: &Arc<Module>, cx: &CacheContext<'_>) -> Option<Vec<u8>>;
    /// Records the object just compiled from `module` for `cx.spec`.
    fn store(&self, module: &Arc<Module>, object: &[u8], cx: &CacheContext<'_>);
}

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
fn with_handle<T>(module: &Arc<Module>, f: impl FnOnce(JitcoreModuleRef) -> T) -> T {
    if module.handle() != 0 {
        return f(module.handle() as JitcoreModuleRef);
    }
    let handle = crate::ffi::module::register(module.clone());
    let out = f(handle);
    crate::ffi::module::unregister(std::slice::from_ref(module));
    module.set_handle(0);
    out
}

impl ObjectCache for HostCallbacks {
    fn lookup(&self, module: &Arc<Module>, _cx: &CacheContext<'_>) -> Option<Vec<u8>> {
        let f = self.get_buffer?;
        // SAFETY: the host promised `f` is callable with its Ctx from any
        // thread jitcore compiles on; M is a live handle for the call.
        let buf = with_handle(module, |m| unsafe { f(self.ctx as *mut c_void, m) });
        if buf.is_null() {
            return None;
        }
        // SAFETY: a non-NULL result is a buffer made by
        // JitcoreCreateObjectBufferCopy whose ownership passes to us.
        let buf = unsafe { Box::from_raw(buf) };
        Some(buf.bytes)
    }

    fn store(&self, module: &Arc<Module>, object: &[u8], _cx: &CacheContext<'_>) {
        if let Some(f) = self.notify {
            // SAFETY: as in lookup; the bytes are borrowed for the call.
            with_handle(module, |m| unsafe { f(self.ctx as *mut c_void, m, object.as_ptr(), object.len()) })
        }
    }
}
