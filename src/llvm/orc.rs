//! Owners around ORC objects: the LLJIT instance, resource trackers, symbol
//! string pool entries, and a blocking lookup over ORC's asynchronous one.

use std::ffi::{c_void, CStr};
use std::ptr;
use std::sync::{Arc, Condvar, Mutex};

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::lljit::*;
use llvm_sys::orc2::*;

use super::buffer::MemoryBuffer;
use super::target_machine::TargetMachine;
use super::{check, cstring, take_error};
use crate::error::{Error, JitcoreErrorCode, Result};

/// A retained symbol string pool entry; released on drop.
pub struct SymbolName(LLVMOrcSymbolStringPoolEntryRef);

// SAFETY: pool entries are reference counted atomically by ORC and the
// string they name is immutable.
unsafe impl Send for SymbolName {}
// SAFETY: as above; &self only reads the immutable string.
unsafe impl Sync for SymbolName {}

impl SymbolName {
    /// Takes over one reference the caller holds.
    ///
    /// # Safety
    /// `raw` must be a live entry with a reference the caller gives up.
    pub unsafe fn from_raw(raw: LLVMOrcSymbolStringPoolEntryRef) -> SymbolName {
        SymbolName(raw)
    }

    /// Adds a reference to a borrowed entry.
    ///
    /// # Safety
    /// `raw` must be a live entry.
    pub unsafe fn retain(raw: LLVMOrcSymbolStringPoolEntryRef) -> SymbolName {
        LLVMOrcRetainSymbolStringPoolEntry(raw);
        SymbolName(raw)
    }

    pub fn as_raw(&self) -> LLVMOrcSymbolStringPoolEntryRef {
        self.0
    }

    /// Gives the reference to an ORC function that takes ownership of it.
    pub fn into_raw(self) -> LLVMOrcSymbolStringPoolEntryRef {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    pub fn as_str(&self) -> String {
        // SAFETY: the entry is live while self is; its string is NUL-terminated.
        unsafe { CStr::from_ptr(LLVMOrcSymbolStringPoolEntryStr(self.0)).to_string_lossy().into_owned() }
    }
}

impl Clone for SymbolName {
    fn clone(&self) -> SymbolName {
        // SAFETY: self holds a reference, so the entry is live.
        unsafe { SymbolName::retain(self.0) }
    }
}

impl Drop for SymbolName {
    fn drop(&mut self) {
        // SAFETY: we hold exactly one reference and give it back once.
        unsafe { LLVMOrcReleaseSymbolStringPoolEntry(self.0) }
    }
}

/// A resource tracker reference; released (not removed) on drop.
pub struct Tracker(LLVMOrcResourceTrackerRef);

// SAFETY: ORC resource trackers are reference counted and their operations
// (remove, transfer) are synchronized by the ExecutionSession.
unsafe impl Send for Tracker {}
// SAFETY: as above.
unsafe impl Sync for Tracker {}

impl Tracker {
    /// A new tracker for `jd`.
    ///
    /// # Safety
    /// `jd` must be a live JITDylib of a live session.
    pub unsafe fn create(jd: LLVMOrcJITDylibRef) -> Tracker {
        Tracker(LLVMOrcJITDylibCreateResourceTracker(jd))
    }

    pub fn as_raw(&self) -> LLVMOrcResourceTrackerRef {
        self.0
    }

    /// Removes (frees) everything this tracker covers.
    pub fn remove(&self) -> Result<()> {
        // SAFETY: the tracker is live; removing twice is an ORC error, not UB.
        check(unsafe { LLVMOrcResourceTrackerRemove(self.0) }, JitcoreErrorCode::JITCORE_ERROR_INTERNAL)
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        // SAFETY: we hold one reference and release it once.
        unsafe { LLVMOrcReleaseResourceTracker(self.0) }
    }
}

/// Defines `mu` in `jd`; on failure the unit is disposed here.
///
/// # Safety
/// `jd` and `mu` must be live; `mu` must not be used by the caller afterwards.
pub unsafe fn define(jd: LLVMOrcJITDylibRef, mu: LLVMOrcMaterializationUnitRef) -> Result<()> {
    let err = LLVMOrcJITDylibDefine(jd, mu);
    if err.is_null() {
        return Ok(());
    }
    LLVMOrcDisposeMaterializationUnit(mu);
    check(err, JitcoreErrorCode::JITCORE_ERROR_LINK)
}

/// A unit defining `symbols` at absolute addresses.
pub fn absolute_symbols(symbols: Vec<(SymbolName, u64, bool)>) -> LLVMOrcMaterializationUnitRef {
    let mut pairs: Vec<LLVMOrcCSymbolMapPair> = symbols
        .into_iter()
        .map(|(name, address, callable)| {
            let mut flags = LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported as u8;
            if callable {
                flags |= LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsCallable as u8;
            }
            LLVMOrcCSymbolMapPair {
                Name: name.into_raw(),
                Sym: LLVMJITEvaluatedSymbol {
                    Address: address,
                    Flags: LLVMJITSymbolFlags { GenericFlags: flags, TargetFlags: 0 },
                },
            }
        })
        .collect();
    // SAFETY: LLVMOrcAbsoluteSymbols takes the (retained) names; we keep the array.
    unsafe { LLVMOrcAbsoluteSymbols(pairs.as_mut_ptr(), pairs.len()) }
}

/// Owns an LLJIT instance (and with it the ExecutionSession, the object
/// linking layer, every JITDylib and all jitted memory).
pub struct Lljit {
    raw: LLVMOrcLLJITRef,
}

// SAFETY: LLJIT and its ExecutionSession are designed for concurrent use from
// many threads; jitcore only calls its thread-safe entry points concurrently.
unsafe impl Send for Lljit {}
// SAFETY: as above.
unsafe impl Sync for Lljit {}

impl Lljit {
    /// An LLJIT whose target machine builder is made from `tm`.
    pub fn new(tm: TargetMachine) -> Result<Lljit> {
        // SAFETY: the builder takes the JTMB (which took the TM); CreateLLJIT
        // takes the builder whatever the outcome.
        unsafe {
            let jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm.into_raw());
            let builder = LLVMOrcCreateLLJITBuilder();
            LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
            let mut raw = ptr::null_mut();
            let err = LLVMOrcCreateLLJIT(&mut raw, builder);
            if let Some(msg) = take_error(err) {
                return Err(Error::internal(format!("cannot create the JIT: {msg}")));
            }
            Ok(Lljit { raw })
        }
    }

    pub fn as_raw(&self) -> LLVMOrcLLJITRef {
        self.raw
    }

    pub fn execution_session(&self) -> LLVMOrcExecutionSessionRef {
        // SAFETY: the LLJIT is live.
        unsafe { LLVMOrcLLJITGetExecutionSession(self.raw) }
    }

    pub fn main_dylib(&self) -> LLVMOrcJITDylibRef {
        // SAFETY: the LLJIT is live.
        unsafe { LLVMOrcLLJITGetMainJITDylib(self.raw) }
    }

    pub fn object_layer(&self) -> LLVMOrcObjectLayerRef {
        // SAFETY: the LLJIT is live.
        unsafe { LLVMOrcLLJITGetObjLinkingLayer(self.raw) }
    }

    pub fn data_layout(&self) -> String {
        // SAFETY: a borrowed string owned by the LLJIT.
        unsafe { CStr::from_ptr(LLVMOrcLLJITGetDataLayoutStr(self.raw)).to_string_lossy().into_owned() }
    }

    pub fn triple(&self) -> String {
        // SAFETY: a borrowed string owned by the LLJIT.
        unsafe { CStr::from_ptr(LLVMOrcLLJITGetTripleString(self.raw)).to_string_lossy().into_owned() }
    }

    /// Interns `name` after applying the target's global prefix (none on ELF).
    pub fn mangle_and_intern(&self, name: &str) -> SymbolName {
        let c = cstring(name);
        // SAFETY: the LLJIT is live; the returned entry carries a reference for us.
        unsafe { SymbolName::from_raw(LLVMOrcLLJITMangleAndIntern(self.raw, c.as_ptr())) }
    }

    /// Adds a relocatable object tracked by `rt`.
    pub fn add_object(&self, rt: &Tracker, object: MemoryBuffer) -> Result<()> {
        // SAFETY: the LLJIT and tracker are live; the buffer's ownership passes
        // to LLJIT whatever the outcome.
        let err = unsafe { LLVMOrcLLJITAddObjectFileWithRT(self.raw, rt.as_raw(), object.into_raw()) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_INVALID_OBJECT)
    }

    /// Adds an IR module (tracked by `rt`) through LLJIT's IR layers.
    ///
    /// # Safety
    /// `tsm` must be a live ThreadSafeModule the caller gives up.
    pub unsafe fn add_ir_module(&self, rt: &Tracker, tsm: LLVMOrcThreadSafeModuleRef) -> Result<()> {
        check(LLVMOrcLLJITAddLLVMIRModuleWithRT(self.raw, rt.as_raw(), tsm), JitcoreErrorCode::JITCORE_ERROR_LINK)
    }

    /// Sets the function LLJIT's IR transform layer applies to every IR
    /// module before it is compiled.
    ///
    /// # Safety
    /// `ctx` must stay valid until the LLJIT is disposed.
    pub unsafe fn set_ir_transform(&self, f: LLVMOrcIRTransformLayerTransformFunction, ctx: *mut c_void) {
        LLVMOrcIRTransformLayerSetTransform(LLVMOrcLLJITGetIRTransformLayer(self.raw), f, ctx);
    }

    /// Installs an error reporter for errors that have no caller.
    ///
    /// # Safety
    /// `ctx` must stay valid until the LLJIT is disposed.
    pub unsafe fn set_error_reporter(&self, f: LLVMOrcErrorReporterFunction, ctx: *mut c_void) {
        LLVMOrcExecutionSessionSetErrorReporter(self.execution_session(), f, ctx);
    }

    /// Looks `name` up in the given JITDylibs, in order, triggering whatever
    /// materialization that needs, and blocks until it is done.
    pub fn lookup(&self, search: &[LLVMOrcJITDylibRef], name: &SymbolName) -> Result<u64> {
        let mut order: Vec<LLVMOrcCJITDylibSearchOrderElement> = search
            .iter()
            .map(|&jd| LLVMOrcCJITDylibSearchOrderElement {
                JD: jd,
                JDLookupFlags: LLVMOrcJITDylibLookupFlags::LLVMOrcJITDylibLookupFlagsMatchAllSymbols,
            })
            .collect();
        let mut set = [LLVMOrcCLookupSetElement {
            Name: name.clone().into_raw(),
            LookupFlags: LLVMOrcSymbolLookupFlags::LLVMOrcSymbolLookupFlagsRequiredSymbol,
        }];
        let wait = Arc::new(LookupWait::default());
        let ctx = Arc::into_raw(wait.clone()) as *mut c_void;
        // SAFETY: order and set are live for the call; ORC takes the retained
        // name; ctx is an Arc reference that on_lookup_result takes back,
        // exactly once, when ORC calls it.
        unsafe {
            LLVMOrcExecutionSessionLookup(
                self.execution_session(),
                LLVMOrcLookupKind::LLVMOrcLookupKindStatic,
                order.as_mut_ptr(),
                order.len(),
                set.as_mut_ptr(),
                set.len(),
                on_lookup_result,
                ctx,
            );
        }
        let mut slot = wait.result.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = slot.take() {
                return r.map_err(|msg| Error::from_orc_message(msg, JitcoreErrorCode::JITCORE_ERROR_LINK));
            }
            slot = wait.done.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[derive(Default)]
struct LookupWait {
    result: Mutex<Option<std::result::Result<u64, String>>>,
    done: Condvar,
}

extern "C" fn on_lookup_result(err: LLVMErrorRef, result: LLVMOrcCSymbolMapPairs, n: usize, ctx: *mut c_void) {
    // SAFETY: ctx is the Arc reference handed to LLVMOrcExecutionSessionLookup;
    // ORC calls this once, so it is taken back once.
    let wait = unsafe { Arc::from_raw(ctx as *const LookupWait) };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match take_error(err) {
            Some(msg) => Err(msg),
            None if n == 0 || result.is_null() => Err("lookup returned no address".to_string()),
            // SAFETY: on success ORC passes n valid pairs; we only read the first.
            None => Ok(unsafe { (*result).Sym.Address }),
        }
    }))
    .unwrap_or_else(|_| Err("internal error: panic while handling a lookup result".to_string()));
    *wait.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
    wait.done.notify_all();
}

impl Drop for Lljit {
    fn drop(&mut self) {
        // SAFETY: we own the LLJIT and dispose it once; its error is consumed.
        let _ = take_error(unsafe { LLVMOrcDisposeLLJIT(self.raw) });
    }
}
