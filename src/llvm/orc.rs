//! Owners and handles around ORC objects: symbol string pool entries,
//! symbol flags, JITDylibs, the execution session and its object layer,
//! resource trackers, materialization units and responsibilities, and
//! lookups (asynchronous, and blocking over them).
//!
//! Handles (`JitDylib`, `ExecutionSession`, `ObjectLayer`) are plain
//! pointers into an LLJIT (`lljit.rs`). They are `pub(crate)` and every one
//! is reached through the session that owns the LLJIT, which outlives all
//! uses of them (it is disposed of last, after its compile threads stop and
//! its trackers are released): that is the one lifetime argument the
//! `Send`/`Sync` impls below rely on. ORC synchronizes every operation on
//! the objects they point to.

use std::ffi::{c_void, CStr};

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::*;

use super::{check, cstring, take_error};
#[cfg(test)]
use crate::error::Error;
use crate::error::{JitcoreErrorCode, Result};

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

    pub(super) fn as_raw(&self) -> LLVMOrcSymbolStringPoolEntryRef {
        self.0
    }

    /// Gives the reference to an ORC function that takes ownership of it.
    pub fn into_raw(self) -> LLVMOrcSymbolStringPoolEntryRef {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    pub fn as_str(&self) -> String {
        self.lossy().into_owned()
    }

    /// The name as `as_str` gives it, borrowed from the pool when it is
    /// UTF-8 (no allocation): for comparing names with `String`s made the
    /// same way (`String::from_utf8_lossy`).
    pub fn lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.bytes())
    }

    /// The name's bytes, borrowed from the pool (no copy).
    fn bytes(&self) -> &[u8] {
        // SAFETY: the entry, and its immutable NUL-terminated string, live
        // at least as long as self (which holds a reference to it).
        unsafe { CStr::from_ptr(LLVMOrcSymbolStringPoolEntryStr(self.0)).to_bytes() }
    }
}

impl PartialEq for SymbolName {
    /// Pool entries are unique per string: equal names are the same entry.
    fn eq(&self, other: &SymbolName) -> bool {
        self.0 == other.0
    }
}

impl Eq for SymbolName {}

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
    pub(super) fn as_raw(&self) -> LLVMOrcResourceTrackerRef {
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

/// A unit defining `symbols` (name, address, flags) at absolute addresses.
pub fn absolute_symbols(symbols: Vec<(SymbolName, u64, SymbolFlags)>) -> MaterializationUnit {
    let mut pairs: Vec<LLVMOrcCSymbolMapPair> = symbols
        .into_iter()
        .map(|(name, address, flags)| LLVMOrcCSymbolMapPair {
            Name: name.into_raw(),
            Sym: LLVMJITEvaluatedSymbol { Address: address, Flags: flags.raw() },
        })
        .collect();
    // SAFETY: LLVMOrcAbsoluteSymbols takes the (retained) names; we keep the array.
    unsafe { MaterializationUnit(LLVMOrcAbsoluteSymbols(pairs.as_mut_ptr(), pairs.len())) }
}

/// ORC's flags of one symbol definition (exported, callable, weak...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SymbolFlags {
    generic: u8,
    target: u8,
}

impl SymbolFlags {
    pub(super) fn from_raw(f: &LLVMJITSymbolFlags) -> SymbolFlags {
        SymbolFlags { generic: f.GenericFlags, target: f.TargetFlags }
    }

    pub(super) fn raw(self) -> LLVMJITSymbolFlags {
        LLVMJITSymbolFlags { GenericFlags: self.generic, TargetFlags: self.target }
    }

    /// Flags of an absolute symbol.
    pub fn new(exported: bool, callable: bool) -> SymbolFlags {
        let mut generic = 0u8;
        if exported {
            generic |= LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported as u8;
        }
        if callable {
            generic |= LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsCallable as u8;
        }
        SymbolFlags { generic, target: 0 }
    }

    pub fn is_callable(self) -> bool {
        self.generic & LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsCallable as u8 != 0
    }

    /// The same flags, no longer exported (a hidden alias of an exported symbol).
    pub fn hidden(self) -> SymbolFlags {
        SymbolFlags {
            generic: self.generic & !(LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported as u8),
            ..self
        }
    }
}

/// A JITDylib (see the module doc for why this handle may be shared).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JitDylib(LLVMOrcJITDylibRef);

// SAFETY: ORC synchronizes every operation on a JITDylib, and the handle is
// only used while the session that owns it lives (module doc).
unsafe impl Send for JitDylib {}
// SAFETY: as above.
unsafe impl Sync for JitDylib {}

impl JitDylib {
    /// # Safety
    /// `raw` must be a JITDylib of a session that outlives every use of the handle.
    pub unsafe fn from_raw(raw: LLVMOrcJITDylibRef) -> JitDylib {
        JitDylib(raw)
    }

    pub(super) fn raw(self) -> LLVMOrcJITDylibRef {
        self.0
    }

    /// A fresh resource tracker for this JITDylib.
    pub fn create_tracker(self) -> Tracker {
        // SAFETY: the JITDylib is live (module doc); we own the new tracker.
        Tracker(unsafe { LLVMOrcJITDylibCreateResourceTracker(self.0) })
    }

    /// Defines `mu` here, in the JITDylib's default tracker (what lives as
    /// long as the JITDylib). On failure the unit is disposed of.
    pub fn define(self, mu: MaterializationUnit) -> Result<()> {
        // SAFETY: the JITDylib is live; Define takes the unit on success and
        // leaves it to us on failure.
        let raw = mu.into_raw();
        // SAFETY: the JITDylib is live (module doc); Define takes the unit on success only.
        let err = unsafe { LLVMOrcJITDylibDefine(self.0, raw) };
        if err.is_null() {
            return Ok(());
        }
        // SAFETY: on failure the unit is still ours.
        unsafe { LLVMOrcDisposeMaterializationUnit(raw) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_LINK)
    }
}

/// The execution session of an LLJIT (module doc: why it may be shared).
#[derive(Clone, Copy, Debug)]
pub struct ExecutionSession(LLVMOrcExecutionSessionRef);

// SAFETY: an ExecutionSession is built for concurrent use; the handle is
// only used while its LLJIT lives (module doc).
unsafe impl Send for ExecutionSession {}
// SAFETY: as above.
unsafe impl Sync for ExecutionSession {}

impl ExecutionSession {
    pub(super) fn from_raw(raw: LLVMOrcExecutionSessionRef) -> ExecutionSession {
        ExecutionSession(raw)
    }

    pub(super) fn raw(self) -> LLVMOrcExecutionSessionRef {
        self.0
    }

    /// Interns `name` (unmangled) in the session's string pool.
    pub fn intern(self, name: &str) -> SymbolName {
        let c = cstring(name);
        // SAFETY: the session is live; the entry carries a reference for us.
        SymbolName(unsafe { LLVMOrcExecutionSessionIntern(self.0, c.as_ptr()) })
    }

    /// Starts an asynchronous lookup (see [`lookup_async`]).
    pub fn lookup_async(
        self,
        kind: LookupKind,
        order: &[(JitDylib, bool)],
        names: &[SymbolName],
        weak: bool,
        done: impl FnOnce(std::result::Result<Vec<Found>, String>) + Send + 'static,
    ) {
        // SAFETY: the session and the JITDylibs of the order are live (module doc).
        unsafe { lookup_async(self.0, kind, order, names, weak, done) }
    }
}

/// The object linking layer of an LLJIT (module doc: why it may be shared).
#[derive(Clone, Copy, Debug)]
pub struct ObjectLayer(LLVMOrcObjectLayerRef);

// SAFETY: the layer is built for concurrent emits; the handle is only used
// while its LLJIT lives (module doc).
unsafe impl Send for ObjectLayer {}
// SAFETY: as above.
unsafe impl Sync for ObjectLayer {}

impl ObjectLayer {
    pub(super) fn from_raw(raw: LLVMOrcObjectLayerRef) -> ObjectLayer {
        ObjectLayer(raw)
    }

    pub(super) fn raw(self) -> LLVMOrcObjectLayerRef {
        self.0
    }
}

/// A materialization unit not yet given to ORC; disposed of when dropped.
pub struct MaterializationUnit(LLVMOrcMaterializationUnitRef);

// SAFETY: a unit not yet given to ORC is owned by this value alone.
unsafe impl Send for MaterializationUnit {}

impl MaterializationUnit {
    /// # Safety
    /// `raw` must be a unit nobody else owns.
    pub(super) unsafe fn from_raw(raw: LLVMOrcMaterializationUnitRef) -> MaterializationUnit {
        MaterializationUnit(raw)
    }

    pub(super) fn into_raw(self) -> LLVMOrcMaterializationUnitRef {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }
}

impl Drop for MaterializationUnit {
    fn drop(&mut self) {
        // SAFETY: still ours (into_raw forgets self); disposed of once.
        unsafe { LLVMOrcDisposeMaterializationUnit(self.0) }
    }
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
    pub flags: SymbolFlags,
}

type LookupDone = Box<dyn FnOnce(std::result::Result<Vec<Found>, String>) + Send>;

/// Starts an asynchronous lookup of `names` in `order`; `done` is called
/// once, on whatever thread completes it. With `weak`, names nobody defines
/// are left out of the result instead of failing the lookup.
///
/// # Safety
/// `es` and every JITDylib in `order` must be live.
unsafe fn lookup_async(
    es: LLVMOrcExecutionSessionRef,
    kind: LookupKind,
    order: &[(JitDylib, bool)],
    names: &[SymbolName],
    weak: bool,
    done: impl FnOnce(std::result::Result<Vec<Found>, String>) + Send + 'static,
) {
    let mut order: Vec<LLVMOrcCJITDylibSearchOrderElement> = order
        .iter()
        .map(|&(jd, exported_only)| LLVMOrcCJITDylibSearchOrderElement {
            JD: jd.0,
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
                Found {
                    name: SymbolName::retain(p.Name),
                    address: p.Sym.Address,
                    flags: SymbolFlags::from_raw(&p.Sym.Flags),
                }
            })
            .collect()),
    })
    .unwrap_or_else(|_| Err("internal error: panic while handling a lookup result".to_string()));
    let _ = crate::guard::catch(move || done(outcome));
}

/// Fault injection for unit tests.
#[cfg(test)]
pub mod fault {
    thread_local! {
        /// The next `Tracker::remove` on this thread fails.
        pub static FAIL_REMOVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
}
