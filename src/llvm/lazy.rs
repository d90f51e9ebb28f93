//! ORC's lazy call-through: trampolines that resolve a stub's body on its
//! first call (one manager per session), stubs (one manager per lazily
//! added module), the lazy re-exports that put a stub in front of a body,
//! and what runs in place of a body that could not be compiled.
//!
//! A failed call. When the lookup of a stub's body fails, ORC reports the
//! error through the session's error reporter and jumps to the manager's
//! error handler *in place of the body*: with the caller's arguments, its
//! return address, and whatever that handler returns as the call's result.
//! jitcore's handler is [`jitcore_lazy_call_failed`], a few instructions of
//! assembly: it calls the hook the session layer set ([`on_failed_call`]),
//! which says what to call (the host's handler, or the default that stops
//! the process), calls that, and if it returns, clears every register a
//! result comes back in (`rax`, `rdx`, `xmm0`, `xmm1`; `x0`, `x1`, `d0`-`d3`),
//! so the call returns 0, 0.0, a null pointer, or nothing. Between the
//! jitted caller and the host's handler, jitcore's frames own nothing (see
//! [`failed_call`]): a handler may `longjmp` over them, and they have unwind
//! information, so an exception or a forced unwind (`pthread_exit`) crosses
//! them too.

use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex, OnceLock};

use llvm_sys::orc2::*;

use super::cstring;
use super::orc::{ExecutionSession, JitDylib, MaterializationUnit, SymbolFlags, SymbolName};
use crate::error::{Error, JitcoreErrorCode, Result};

/// What a failed call runs, on the calling thread: it gets the function's
/// name and the error (which it owns), and may not return.
pub type FailureHandler = Arc<dyn Fn(&CStr, Error) + Send + Sync>;

/// A failed call as the session layer hands it over.
pub struct FailedCall {
    /// What to call. Whoever hands it over keeps it alive for as long as
    /// code that can fail this way may run (its session does, until it is
    /// disposed of): the call itself holds no reference (see [`failed_call`]).
    pub handler: FailureHandler,
    /// The function's name, kept alive the same way.
    pub function: Arc<CString>,
    pub error: Error,
}

/// Where the session layer says what a failed call does; set once.
static ON_FAILED_CALL: OnceLock<fn() -> FailedCall> = OnceLock::new();

/// Sets what every failed call asks first (once per process; later calls
/// are ignored).
pub fn on_failed_call(decide: fn() -> FailedCall) {
    let _ = ON_FAILED_CALL.set(decide);
}

/// Called by [`jitcore_lazy_call_failed`], in place of a body that could
/// not be compiled. "C-unwind": a handler may unwind out of it.
extern "C-unwind" fn failed_call() {
    let decided = crate::guard::catch(|| ON_FAILED_CALL.get().map(|decide| decide()));
    let Ok(Some(FailedCall { handler, function, error })) = decided else {
        // No session layer (cannot happen: only sessions make stubs), or it panicked.
        eprintln!("jitcore: a lazily compiled function could not be compiled; aborting");
        std::process::abort()
    };
    // Hold no reference across the handler, which may longjmp over this
    // frame: what it would own would never be released. Both stay alive in
    // their session (see FailedCall).
    let run: *const (dyn Fn(&CStr, Error) + Send + Sync) = Arc::as_ptr(&handler);
    let name: *const CString = Arc::as_ptr(&function);
    drop((handler, function));
    // SAFETY: the handler and the name are kept alive by the session the
    // failed call belongs to, which the host may not dispose of while its
    // code runs; the error is moved into the handler, which owns it.
    unsafe { (*run)(&*name, error) }
}

// The error handler ORC jumps to (see the module's comment). The frame
// pointer push keeps the stack 16-byte aligned for the call; the CFI
// directives let unwinders through.
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".pushsection .text.jitcore_lazy_call_failed,\"ax\",@progbits",
    ".p2align 4",
    ".globl jitcore_lazy_call_failed",
    ".hidden jitcore_lazy_call_failed",
    ".type jitcore_lazy_call_failed,@function",
    "jitcore_lazy_call_failed:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "call {hook}@PLT",
    "xor eax, eax",
    "xor edx, edx",
    "xorps xmm0, xmm0",
    "xorps xmm1, xmm1",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    ".size jitcore_lazy_call_failed, .-jitcore_lazy_call_failed",
    ".popsection",
    hook = sym failed_call,
);

#[cfg(target_arch = "aarch64")]
std::arch::global_asm!(
    ".pushsection .text.jitcore_lazy_call_failed,\"ax\",@progbits",
    ".p2align 2",
    ".globl jitcore_lazy_call_failed",
    ".hidden jitcore_lazy_call_failed",
    ".type jitcore_lazy_call_failed,@function",
    "jitcore_lazy_call_failed:",
    ".cfi_startproc",
    "stp x29, x30, [sp, #-16]!",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset x29, -16",
    ".cfi_offset x30, -8",
    "mov x29, sp",
    ".cfi_def_cfa x29, 16",
    "bl {hook}",
    "mov x0, xzr",
    "mov x1, xzr",
    "movi d0, #0",
    "movi d1, #0",
    "movi d2, #0",
    "movi d3, #0",
    "ldp x29, x30, [sp], #16",
    ".cfi_def_cfa sp, 0",
    ".cfi_restore x29",
    ".cfi_restore x30",
    "ret",
    ".cfi_endproc",
    ".size jitcore_lazy_call_failed, .-jitcore_lazy_call_failed",
    ".popsection",
    hook = sym failed_call,
);

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
extern "C" {
    /// ORC's error handler address (the assembly above).
    fn jitcore_lazy_call_failed();
}

/// Other hosts (not supported: see the README) clear the integer result only.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
extern "C-unwind" fn jitcore_lazy_call_failed() -> u64 {
    failed_call();
    0
}

/// A lazy call-through manager: the trampolines a stub's first call goes
/// through. LLVM never gives a trampoline back (nor forgets what it stood
/// for), so each [`StubsManager`] has one of its own, freed with it: removing
/// a lazily added module frees its trampolines too.
struct CallThrough(LLVMOrcLazyCallThroughManagerRef);

// SAFETY: the call-through manager synchronizes itself; it is used by many
// threads at once by design (every first call goes through it).
unsafe impl Send for CallThrough {}
// SAFETY: as above.
unsafe impl Sync for CallThrough {}

impl CallThrough {
    /// A manager for `es`. Its destructor does not use `es` (it frees its
    /// trampoline blocks and tables), so it may outlive the session.
    fn new(triple: &str, es: ExecutionSession) -> Result<CallThrough> {
        let t = cstring(triple);
        let mut raw = std::ptr::null_mut();
        // SAFETY: the session is live and outlives the manager.
        let err = unsafe {
            LLVMOrcCreateLocalLazyCallThroughManager(
                t.as_ptr(),
                es.raw(),
                jitcore_lazy_call_failed as *const () as usize as u64,
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

/// The stubs of one lazily added module, and the call-through manager their
/// first calls go through. Its stubs must stay callable while code that
/// calls them can run: drop it only after the tracker holding them was
/// removed (or after the LLJIT was disposed of).
pub struct StubsManager {
    raw: LLVMOrcIndirectStubsManagerRef,
    /// Dropped after `raw` (the stubs jump to its trampolines), or by
    /// [`retire`](StubsManager::retire) before the session ends: what it
    /// holds refers to the session's symbol names.
    call_through: Mutex<Option<CallThrough>>,
}

// SAFETY: the stubs manager synchronizes itself.
unsafe impl Send for StubsManager {}
// SAFETY: as above.
unsafe impl Sync for StubsManager {}

impl StubsManager {
    /// Stubs for code of `es` (`UNSUPPORTED` where LLVM has no lazy
    /// compilation support for `triple`).
    pub fn new(triple: &str, es: ExecutionSession) -> Result<StubsManager> {
        let call_through = CallThrough::new(triple, es)?;
        let t = cstring(triple);
        // SAFETY: creates a manager we own.
        let raw = unsafe { LLVMOrcCreateLocalIndirectStubsManager(t.as_ptr()) };
        if raw.is_null() {
            return Err(Error::unsupported(format!("no lazy stubs for '{triple}'")));
        }
        Ok(StubsManager { raw, call_through: Mutex::new(Some(call_through)) })
    }

    /// Frees the call-through manager: before the session's
    /// ExecutionSession goes (its tables hold the session's symbol names),
    /// when the stubs themselves are kept longer. No stub may be made, or
    /// called for the first time, afterwards.
    pub fn retire(&self) {
        drop(self.call_through.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

impl Drop for StubsManager {
    fn drop(&mut self) {
        // SAFETY: we own the manager and dispose it once (its call-through
        // manager goes after it, as a field).
        unsafe { LLVMOrcDisposeIndirectStubsManager(self.raw) }
    }
}

/// A unit defining, in `jd`, a stub of `stubs` for each `(stub, body,
/// flags)` that calls `body` (compiling it on its first call).
pub fn lazy_reexports(
    stubs: &StubsManager,
    es: ExecutionSession,
    jd: JitDylib,
    aliases: Vec<(SymbolName, String, SymbolFlags)>,
) -> std::result::Result<MaterializationUnit, String> {
    let mut pairs: Vec<LLVMOrcCSymbolAliasMapPair> = aliases
        .into_iter()
        .map(|(stub, body, flags)| LLVMOrcCSymbolAliasMapPair {
            Name: stub.into_raw(),
            Entry: LLVMOrcCSymbolAliasMapEntry { Name: es.intern(&body).into_raw(), Flags: flags_raw(flags) },
        })
        .collect();
    let call_through = stubs.call_through.lock().unwrap_or_else(|p| p.into_inner());
    let Some(call_through) = call_through.as_ref() else {
        return Err("jitcore: lazy stubs cannot be made while the session ends".to_string());
    };
    // SAFETY: the managers outlive every stub they make (they live until
    // the module's tracker is removed); LazyReexports takes the names.
    Ok(unsafe {
        MaterializationUnit::from_raw(LLVMOrcLazyReexports(
            call_through.0,
            stubs.raw,
            jd.raw(),
            pairs.as_mut_ptr(),
            pairs.len(),
        ))
    })
}

fn flags_raw(f: SymbolFlags) -> LLVMJITSymbolFlags {
    f.raw()
}
