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
        #[cfg(test)]
        if fault::FAIL_REMOVE.with(|f| f.replace(false)) {
            return Err(Error::internal("injected failure of a resource tracker removal"));
        }
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

/// A unit defining `symbols` (name, address, callable, exported) at absolute addresses.
pub fn absolute_symbols(symbols: Vec<(SymbolName, u64, bool, bool)>) -> LLVMOrcMaterializationUnitRef {
    let mut pairs: Vec<LLVMOrcCSymbolMapPair> = symbols
        .into_iter()
        .map(|(name, address, callable, exported)| {
            let mut flags = 0u8;
            if exported {
                flags |= LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported as u8;
            }
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

    /// Creates a JITDylib named `name` (set up for LLJIT's platform support).
    pub fn create_dylib(&self, name: &str) -> Result<LLVMOrcJITDylibRef> {
        let c = cstring(name);
        let mut jd = ptr::null_mut();
        // SAFETY: the session is live; the name is copied.
        let err = unsafe { LLVMOrcExecutionSessionCreateJITDylib(self.execution_session(), &mut jd, c.as_ptr()) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_INVALID_ARGUMENT)?;
        Ok(jd)
    }

    /// The JITDylib named `name`, if the session has one.
    pub fn dylib_by_name(&self, name: &str) -> Option<LLVMOrcJITDylibRef> {
        let c = cstring(name);
        // SAFETY: the session is live; the name is only read.
        let jd = unsafe { LLVMOrcExecutionSessionGetJITDylibByName(self.execution_session(), c.as_ptr()) };
        (!jd.is_null()).then_some(jd)
    }

    /// Drops symbol names nothing uses any more from the string pool.
    pub fn clear_dead_symbol_names(&self) {
        // SAFETY: the session is live; the pool synchronizes itself.
        unsafe {
            LLVMOrcSymbolStringPoolClearDeadEntries(LLVMOrcExecutionSessionGetSymbolStringPool(
                self.execution_session(),
            ))
        }
    }

    /// Registers jitted code with GDB's JIT interface (needs the executor's
    /// registration function, which libLLVM provides in-process).
    pub fn enable_debug_support(&self) -> Result<()> {
        // SAFETY: the LLJIT is live.
        let err = unsafe { LLVMOrcLLJITEnableDebugSupport(self.raw) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_UNSUPPORTED)
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

    /// Looks `names` up in `order` (each JITDylib with whether only its
    /// exported symbols match), triggering whatever materialization that
    /// needs, and blocks until it is done. Addresses come back in the order
    /// of `names`.
    pub fn lookup(
        &self,
        kind: LookupKind,
        order: &[(LLVMOrcJITDylibRef, bool)],
        names: &[SymbolName],
    ) -> Result<Vec<u64>> {
        let wait = Arc::new(LookupWait::default());
        let signal = wait.clone();
        let wanted: Vec<usize> = names.iter().map(|n| n.as_raw() as usize).collect();
        // SAFETY: the execution session is live while the LLJIT is.
        unsafe {
            lookup_async(self.execution_session(), kind, order, names, false, move |r| {
                let outcome = r.and_then(|found| {
                    wanted
                        .iter()
                        .map(|w| {
                            found
                                .iter()
                                .find(|f| f.name.as_raw() as usize == *w)
                                .map(|f| f.address)
                                .ok_or_else(|| "lookup returned no address".to_string())
                        })
                        .collect()
                });
                *signal.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
                signal.done.notify_all();
            })
        };
        let mut slot = wait.result.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = slot.take() {
                return r.map_err(|msg| Error::from_orc_message(msg, JitcoreErrorCode::JITCORE_ERROR_LINK));
            }
            slot = wait.done.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// A copy of symbol flags (llvm-sys does not derive Copy for them).
pub fn copy_flags(f: &LLVMJITSymbolFlags) -> LLVMJITSymbolFlags {
    LLVMJITSymbolFlags { GenericFlags: f.GenericFlags, TargetFlags: f.TargetFlags }
}

/// Whether a lookup is the linker's (`Static`) or a host's (`DLSym`).
/// jitcore's link-order generator only answers the linker; host lookups
/// walk the link order themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupKind {
    Static,
    DLSym,
}

/// One symbol a lookup found.
pub struct Found {
    pub name: SymbolName,
    pub address: u64,
    pub flags: LLVMJITSymbolFlags,
}

type LookupDone = Box<dyn FnOnce(std::result::Result<Vec<Found>, String>) + Send>;

/// Starts an asynchronous lookup of `names` in `order`; `done` is called
/// once, on whatever thread completes it. With `weak`, names nobody defines
/// are left out of the result instead of failing the lookup.
///
/// # Safety
/// `es` and every JITDylib in `order` must be live.
pub unsafe fn lookup_async(
    es: LLVMOrcExecutionSessionRef,
    kind: LookupKind,
    order: &[(LLVMOrcJITDylibRef, bool)],
    names: &[SymbolName],
    weak: bool,
    done: impl FnOnce(std::result::Result<Vec<Found>, String>) + Send + 'static,
) {
    let mut order: Vec<LLVMOrcCJITDylibSearchOrderElement> = order
        .iter()
        .map(|&(jd, exported_only)| LLVMOrcCJITDylibSearchOrderElement {
            JD: jd,
            JDLookupFlags: if exported_only {
                LLVMOrcJITDylibLookupFlags::LLVMOrcJITDylibLookupFlagsMatchExportedSymbolsOnly
            } else {
                LLVMOrcJITDylibLookupFlags::LLVMOrcJITDylibLookupFlagsMatchAllSymbols
            },
        })
        .collect();
    let mut set: Vec<LLVMOrcCLookupSetElement> = names
        .iter()
        .map(|n| LLVMOrcCLookupSetElement {
            Name: n.clone().into_raw(),
            LookupFlags: if weak {
                LLVMOrcSymbolLookupFlags::LLVMOrcSymbolLookupFlagsWeaklyReferencedSymbol
            } else {
                LLVMOrcSymbolLookupFlags::LLVMOrcSymbolLookupFlagsRequiredSymbol
            },
        })
        .collect();
    let kind = match kind {
        LookupKind::Static => LLVMOrcLookupKind::LLVMOrcLookupKindStatic,
        LookupKind::DLSym => LLVMOrcLookupKind::LLVMOrcLookupKindDLSym,
    };
    let ctx = Box::into_raw(Box::new(Box::new(done) as LookupDone));
    // SAFETY: order and set are live for the call; ORC takes the retained
    // names; ctx is a Box that on_lookup_result takes back exactly once.
    LLVMOrcExecutionSessionLookup(
        es,
        kind,
        order.as_mut_ptr(),
        order.len(),
        set.as_mut_ptr(),
        set.len(),
        on_lookup_result,
        ctx.cast(),
    );
}

#[derive(Default)]
struct LookupWait {
    result: Mutex<Option<std::result::Result<Vec<u64>, String>>>,
    done: Condvar,
}

extern "C" fn on_lookup_result(err: LLVMErrorRef, result: LLVMOrcCSymbolMapPairs, n: usize, ctx: *mut c_void) {
    // SAFETY: ctx is the Box handed to LLVMOrcExecutionSessionLookup; ORC
    // calls this once, so it is taken back once.
    let done = unsafe { Box::from_raw(ctx.cast::<LookupDone>()) };
    let outcome = crate::guard::catch(|| match take_error(err) {
        Some(msg) => Err(msg),
        None if n == 0 || result.is_null() => Ok(Vec::new()),
        // SAFETY: on success ORC passes n valid pairs, live for the call;
        // each name we keep is retained.
        None => Ok((0..n)
            .map(|i| unsafe {
                let p = &*result.add(i);
                Found { name: SymbolName::retain(p.Name), address: p.Sym.Address, flags: copy_flags(&p.Sym.Flags) }
            })
            .collect()),
    })
    .unwrap_or_else(|_| Err("internal error: panic while handling a lookup result".to_string()));
    let _ = crate::guard::catch(move || done(outcome));
}

impl Drop for Lljit {
    fn drop(&mut self) {
        // SAFETY: we own the LLJIT and dispose it once; its error is consumed.
        let _ = take_error(unsafe { LLVMOrcDisposeLLJIT(self.raw) });
    }
}

/// A materialization responsibility jitcore owns: what ORC hands a unit's
/// `materialize`. Emitting an object consumes it; dropping it unconsumed
/// fails the materialization (so an error or a panic on any path fails the
/// symbols it covers exactly once, and never one jitcore gave away).
pub struct Responsibility(LLVMOrcMaterializationResponsibilityRef);

// SAFETY: ORC lets a responsibility be completed from any thread; this
// owner is used by one thread at a time (it moves with its compile job).
unsafe impl Send for Responsibility {}

impl Responsibility {
    /// Takes ownership of `raw`.
    ///
    /// # Safety
    /// `raw` must be a live responsibility that nobody else completes or disposes.
    pub unsafe fn from_raw(raw: LLVMOrcMaterializationResponsibilityRef) -> Responsibility {
        Responsibility(raw)
    }

    /// The symbols (retained) and flags it covers.
    pub fn symbols(&self) -> Vec<(SymbolName, LLVMJITSymbolFlags)> {
        responsibility_symbols(self.0)
    }

    /// The symbols a lookup asked for (a subset of [`symbols`](Self::symbols)).
    pub fn requested(&self) -> Vec<SymbolName> {
        let mut n = 0usize;
        // SAFETY: the responsibility is live and ours; the returned array is
        // ours to dispose and its entries are borrowed (retained to keep).
        unsafe {
            let syms = LLVMOrcMaterializationResponsibilityGetRequestedSymbols(self.0, &mut n);
            let v = (0..n).map(|i| SymbolName::retain(*syms.add(i))).collect();
            LLVMOrcDisposeSymbols(syms);
            v
        }
    }

    /// The JITDylib it materializes into.
    pub fn target_dylib(&self) -> LLVMOrcJITDylibRef {
        // SAFETY: the responsibility is live and ours.
        unsafe { LLVMOrcMaterializationResponsibilityGetTargetDylib(self.0) }
    }

    /// Hands the responsibility and `object` to `layer`, which links the
    /// object and completes (or fails) the materialization.
    ///
    /// # Safety
    /// `layer` must be the live object layer of this responsibility's session.
    pub unsafe fn emit(self, layer: LLVMOrcObjectLayerRef, object: MemoryBuffer) {
        let raw = self.0;
        std::mem::forget(self);
        LLVMOrcObjectLayerEmit(layer, raw, object.into_raw())
    }
}

impl Drop for Responsibility {
    fn drop(&mut self) {
        // SAFETY: still ours (emit forgets self): fail it and dispose of it once.
        unsafe {
            LLVMOrcMaterializationResponsibilityFailMaterialization(self.0);
            LLVMOrcDisposeMaterializationResponsibility(self.0);
        }
    }
}

/// The symbols (retained) and flags a raw responsibility covers.
pub fn responsibility_symbols(mr: LLVMOrcMaterializationResponsibilityRef) -> Vec<(SymbolName, LLVMJITSymbolFlags)> {
    let mut n = 0usize;
    // SAFETY: mr is live for the call; the pairs array is ours to dispose,
    // and each name we keep is retained by us.
    unsafe {
        let pairs = LLVMOrcMaterializationResponsibilityGetSymbols(mr, &mut n);
        let v = (0..n)
            .map(|i| {
                let p = &*pairs.add(i);
                (
                    SymbolName::retain(p.Name),
                    LLVMJITSymbolFlags { GenericFlags: p.Flags.GenericFlags, TargetFlags: p.Flags.TargetFlags },
                )
            })
            .collect();
        LLVMOrcDisposeCSymbolFlagsMap(pairs);
        v
    }
}

/// Fault injection for unit tests.
#[cfg(test)]
pub mod fault {
    thread_local! {
        /// The next `Tracker::remove` on this thread fails.
        pub static FAIL_REMOVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
}
