//! ORC's lazy call-through: trampolines that resolve a stub's body on its
//! first call (one manager per session), stubs (one manager per lazily
//! added module), and the lazy re-exports that put a stub in front of a body.

use llvm_sys::orc2::*;

use super::cstring;
use super::orc::{ExecutionSession, JitDylib, MaterializationUnit, SymbolFlags, SymbolName};
use crate::error::{Error, JitcoreErrorCode, Result};

/// Where a stub lands when its function cannot be compiled: the failure is
/// reported (with the function's name) through the session's error
/// reporter, and the call returns 0.
extern "C" fn lazy_compile_failed() -> u64 {
    0
}

/// The session's lazy call-through manager.
pub struct CallThrough(LLVMOrcLazyCallThroughManagerRef);

// SAFETY: the call-through manager synchronizes itself; it is used by many
// threads at once by design (every first call goes through it).
unsafe impl Send for CallThrough {}
// SAFETY: as above.
unsafe impl Sync for CallThrough {}

impl CallThrough {
    /// A manager for `es` (which must outlive it: the session drops it
    /// before its LLJIT).
    pub fn new(triple: &str, es: ExecutionSession) -> Result<CallThrough> {
        let t = cstring(triple);
        let mut raw = std::ptr::null_mut();
        // SAFETY: the session is live and outlives the manager.
        let err = unsafe {
            LLVMOrcCreateLocalLazyCallThroughManager(
                t.as_ptr(),
                es.raw(),
                lazy_compile_failed as extern "C" fn() -> u64 as usize as u64,
                &mut raw,
            )
        };
        super::check(err, JitcoreErrorCode::JITCORE_ERROR_UNSUPPORTED)
            .map_err(|e| e.context("lazy compilation is not available on this host"))?;
        Ok(CallThrough(raw))
    }
}

impl Drop for CallThrough {
    fn drop(&mut self) {
        // SAFETY: we own the manager and dispose it once.
        unsafe { LLVMOrcDisposeLazyCallThroughManager(self.0) }
    }
}

/// The stubs of one lazily added module. Its stubs must stay callable while
/// code that calls them can run: drop it only after the tracker holding them
/// was removed (or after the LLJIT was disposed of).
pub struct StubsManager(LLVMOrcIndirectStubsManagerRef);

// SAFETY: the stubs manager synchronizes itself.
unsafe impl Send for StubsManager {}
// SAFETY: as above.
unsafe impl Sync for StubsManager {}

impl StubsManager {
    pub fn new(triple: &str) -> Result<StubsManager> {
        let t = cstring(triple);
        // SAFETY: creates a manager we own.
        let raw = unsafe { LLVMOrcCreateLocalIndirectStubsManager(t.as_ptr()) };
        if raw.is_null() {
            return Err(Error::unsupported(format!("no lazy stubs for '{triple}'")));
        }
        Ok(StubsManager(raw))
    }
}

impl Drop for StubsManager {
    fn drop(&mut self) {
        // SAFETY: we own the manager and dispose it once.
        unsafe { LLVMOrcDisposeIndirectStubsManager(self.0) }
    }
}

/// A unit defining, in `jd`, a stub for each `(stub, body, flags)` that
/// calls `body` (compiling it on first call through `call_through`).
pub fn lazy_reexports(
    call_through: &CallThrough,
    stubs: &StubsManager,
    es: ExecutionSession,
    jd: JitDylib,
    aliases: Vec<(SymbolName, String, SymbolFlags)>,
) -> MaterializationUnit {
    let mut pairs: Vec<LLVMOrcCSymbolAliasMapPair> = aliases
        .into_iter()
        .map(|(stub, body, flags)| LLVMOrcCSymbolAliasMapPair {
            Name: stub.into_raw(),
            Entry: LLVMOrcCSymbolAliasMapEntry { Name: es.intern(&body).into_raw(), Flags: flags_raw(flags) },
        })
        .collect();
    // SAFETY: the managers outlive every stub they make (the call-through
    // manager lives with the session, the stubs manager until the module's
    // tracker is removed); LazyReexports takes the names.
    unsafe {
        MaterializationUnit::from_raw(LLVMOrcLazyReexports(
            call_through.0,
            stubs.0,
            jd.raw(),
            pairs.as_mut_ptr(),
            pairs.len(),
        ))
    }
}

fn flags_raw(f: SymbolFlags) -> LLVMJITSymbolFlags {
    f.raw()
}
