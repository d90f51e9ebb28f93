//! The LLJIT instance: it owns the ExecutionSession, the object linking
//! layer, every JITDylib and all jitted memory, and whatever the C
//! callbacks it was given need (their contexts, symbol filters, lazy stubs
//! managers), which it frees only after LLJIT itself is disposed of.

use std::any::Any;
use std::ffi::{c_void, CStr};
use std::ptr;
use std::sync::{Arc, Condvar, Mutex};

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::lljit::*;
use llvm_sys::orc2::*;

use super::buffer::MemoryBuffer;
use super::ir::IrModule;
use super::orc::{ExecutionSession, JitDylib, LookupKind, ObjectLayer, SymbolName, Tracker};
use super::target_machine::TargetMachine;
use super::unit::{string_error, BorrowedResponsibility, ThreadSafeModule, PLACEHOLDER_DONE};
use super::{check, cstring, take_error, take_error_unless, with_cstr};
use crate::error::{Error, JitcoreErrorCode, Result};

/// Owns an LLJIT instance (and with it the ExecutionSession, the object
/// linking layer, every JITDylib and all jitted memory).
pub struct Lljit {
    raw: LLVMOrcLLJITRef,
    /// What C callbacks of this LLJIT use; freed after it is disposed of.
    keep: Mutex<Vec<Box<dyn Any + Send + Sync>>>,
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
            Ok(Lljit { raw, keep: Mutex::new(Vec::new()) })
        }
    }

    /// Keeps `value` until after the LLJIT is disposed of (what a C
    /// callback given to it points to).
    pub fn keep_until_disposed(&self, value: Box<dyn Any + Send + Sync>) {
        self.keep.lock().unwrap_or_else(|p| p.into_inner()).push(value);
    }

    pub fn execution_session(&self) -> ExecutionSession {
        // SAFETY: the LLJIT is live.
        ExecutionSession::from_raw(unsafe { LLVMOrcLLJITGetExecutionSession(self.raw) })
    }

    pub fn main_dylib(&self) -> JitDylib {
        // SAFETY: the LLJIT is live; its main JITDylib lives as long as it.
        unsafe { JitDylib::from_raw(LLVMOrcLLJITGetMainJITDylib(self.raw)) }
    }

    pub fn object_layer(&self) -> ObjectLayer {
        // SAFETY: the LLJIT is live.
        ObjectLayer::from_raw(unsafe { LLVMOrcLLJITGetObjLinkingLayer(self.raw) })
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
        // SAFETY: the LLJIT is live; the returned entry carries a reference for us.
        with_cstr(name, |c| unsafe { SymbolName::from_raw(LLVMOrcLLJITMangleAndIntern(self.raw, c.as_ptr())) })
    }

    /// Creates a JITDylib named `name` (set up for LLJIT's platform support).
    pub fn create_dylib(&self, name: &str) -> Result<JitDylib> {
        let c = cstring(name);
        let mut jd = ptr::null_mut();
        // SAFETY: the session is live; the name is copied.
        let err = unsafe { LLVMOrcExecutionSessionCreateJITDylib(self.execution_session().raw(), &mut jd, c.as_ptr()) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_INVALID_ARGUMENT)?;
        // SAFETY: a JITDylib of this LLJIT, which owns it.
        Ok(unsafe { JitDylib::from_raw(jd) })
    }

    /// The JITDylib named `name`, if the session has one.
    pub fn dylib_by_name(&self, name: &str) -> Option<JitDylib> {
        let c = cstring(name);
        // SAFETY: the session is live; the name is only read.
        let jd = unsafe { LLVMOrcExecutionSessionGetJITDylibByName(self.execution_session().raw(), c.as_ptr()) };
        // SAFETY: a JITDylib of this LLJIT, which owns it.
        (!jd.is_null()).then(|| unsafe { JitDylib::from_raw(jd) })
    }

    /// Drops symbol names nothing uses any more from the string pool.
    pub fn clear_dead_symbol_names(&self) {
        // SAFETY: the session is live; the pool synchronizes itself.
        unsafe {
            LLVMOrcSymbolStringPoolClearDeadEntries(LLVMOrcExecutionSessionGetSymbolStringPool(
                self.execution_session().raw(),
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
    pub fn add_ir_module(&self, rt: &Tracker, tsm: ThreadSafeModule) -> Result<()> {
        // SAFETY: the LLJIT and tracker are live; LLJIT takes the module
        // whatever the outcome.
        check(
            unsafe { LLVMOrcLLJITAddLLVMIRModuleWithRT(self.raw, rt.as_raw(), tsm.into_raw()) },
            JitcoreErrorCode::JITCORE_ERROR_LINK,
        )
    }

    /// Sets what LLJIT's IR transform layer does with every IR module
    /// before it is compiled: `f` either leaves it (`Ok(false)`), or
    /// replaced its responsibility with units of its own (`Ok(true)`: the
    /// module is then dropped and its empty materialization ended), or
    /// fails it.
    pub fn set_ir_transform(&self, f: IrTransform) {
        let ctx = Box::new(f);
        let raw = &*ctx as *const IrTransform as *mut c_void;
        self.keep_until_disposed(ctx);
        // SAFETY: ctx is kept until the LLJIT is disposed of.
        unsafe { LLVMOrcIRTransformLayerSetTransform(LLVMOrcLLJITGetIRTransformLayer(self.raw), transform, raw) }
    }

    /// Installs the reporter of errors that have no caller (ORC's).
    pub fn set_error_reporter(&self, f: ErrorReporter) {
        let ctx = Box::new(f);
        let raw = &*ctx as *const ErrorReporter as *mut c_void;
        self.keep_until_disposed(ctx);
        // SAFETY: ctx is kept until the LLJIT is disposed of.
        unsafe { LLVMOrcExecutionSessionSetErrorReporter(self.execution_session().raw(), report_error, raw) }
    }

    /// Looks `names` up in `order` (each JITDylib with whether only its
    /// exported symbols match), triggering whatever materialization that
    /// needs, and blocks until it is done. Addresses come back in the order
    /// of `names`.
    pub fn lookup(&self, kind: LookupKind, order: &[(JitDylib, bool)], names: &[SymbolName]) -> Result<Vec<u64>> {
        let wait = Arc::new(LookupWait::default());
        let signal = wait.clone();
        let wanted: Vec<usize> = names.iter().map(|n| n.as_raw() as usize).collect();
        {
            self.execution_session().lookup_async(kind, order, names, false, move |r| {
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
    result: Mutex<Option<std::result::Result<Vec<u64>, String>>>,
    done: Condvar,
}

impl Drop for Lljit {
    fn drop(&mut self) {
        // SAFETY: we own the LLJIT and dispose it once; its error is consumed.
        let _ = take_error(unsafe { LLVMOrcDisposeLLJIT(self.raw) });
        // Only now can nothing call back into what the callbacks use.
        self.keep.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// What the IR transform does with one module (see `set_ir_transform`).
pub type IrTransform = Box<dyn Fn(&TransformRequest<'_>) -> std::result::Result<bool, String> + Send + Sync>;

/// Receives ORC's errors that no call returns.
pub type ErrorReporter = Box<dyn Fn(String) + Send + Sync>;

/// One IR module on its way through LLJIT's transform layer.
pub struct TransformRequest<'a> {
    tsm: LLVMOrcThreadSafeModuleRef,
    /// The responsibility ORC lends the transform for the call.
    pub responsibility: BorrowedResponsibility<'a>,
}

impl TransformRequest<'_> {
    /// The module's identifier (its name).
    pub fn identifier(&self) -> Result<String> {
        let mut out = String::new();
        self.with_module(|m| {
            // SAFETY: the module is live for the call.
            out = unsafe { super::ir::module_identifier(m) };
        })?;
        Ok(out)
    }

    /// A copy of the module in a context of its own, and the bitcode it
    /// was copied through.
    pub fn copy(&self) -> Result<(IrModule, Vec<u8>)> {
        let mut out = None;
        self.with_module(|m| {
            // SAFETY: the module is live and only read for the call.
            out = Some(unsafe { IrModule::copy_from(m) });
        })?;
        out.unwrap_or_else(|| Err(Error::internal("the module could not be read")))
    }

    fn with_module(&self, f: impl FnMut(llvm_sys::prelude::LLVMModuleRef)) -> Result<()> {
        type Visit<'f> = Box<dyn FnMut(llvm_sys::prelude::LLVMModuleRef) + 'f>;
        extern "C" fn visit(ctx: *mut c_void, m: llvm_sys::prelude::LLVMModuleRef) -> LLVMErrorRef {
            // SAFETY: ctx is the Visit in with_module's frame, for this call.
            let f = unsafe { &mut *ctx.cast::<Visit<'_>>() };
            match crate::guard::catch(|| f(m)) {
                Ok(()) => ptr::null_mut(),
                Err(p) => string_error(&format!("jitcore: panic while reading a module: {p}")),
            }
        }
        let mut f: Visit<'_> = Box::new(f);
        // SAFETY: tsm is the live module ORC lends the transform; visit
        // only runs f on it during the call.
        let err = unsafe { LLVMOrcThreadSafeModuleWithModuleDo(self.tsm, visit, (&mut f as *mut Visit<'_>).cast()) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_INTERNAL)
    }
}

extern "C" fn transform(
    ctx: *mut c_void,
    tsm: *mut LLVMOrcThreadSafeModuleRef,
    mr: LLVMOrcMaterializationResponsibilityRef,
) -> LLVMErrorRef {
    let outcome = crate::guard::catch(|| {
        // SAFETY: ctx is the IrTransform the LLJIT keeps until disposed of;
        // tsm and mr are live for the call.
        let f = unsafe { &*ctx.cast::<IrTransform>() };
        // SAFETY: tsm points to the live module ORC lends the transform.
        let tsm = unsafe { *tsm };
        // SAFETY: mr is live for the call (ORC lends it to the transform).
        let responsibility = unsafe { BorrowedResponsibility::new(mr) };
        let request = TransformRequest { tsm, responsibility };
        f(&request)
    });
    let err = match outcome {
        Ok(Ok(false)) => return ptr::null_mut(),
        Ok(Ok(true)) => string_error(PLACEHOLDER_DONE),
        Ok(Err(msg)) => string_error(&msg),
        Err(p) => string_error(&format!("jitcore: panic in the IR transform: {p}")),
    };
    // LLVM-C's contract: a transform that fails disposes of the module and
    // clears *ModInOut.
    // SAFETY: *tsm is the live module ORC handed us and nobody else frees it.
    unsafe {
        LLVMOrcDisposeThreadSafeModule(*tsm);
        *tsm = ptr::null_mut();
    }
    err
}

extern "C" fn report_error(ctx: *mut c_void, err: LLVMErrorRef) {
    let _ = crate::guard::catch(|| {
        // SAFETY: ctx is the ErrorReporter the LLJIT keeps until disposed of.
        let f = unsafe { &*ctx.cast::<ErrorReporter>() };
        if let Some(msg) = take_error_unless(err, PLACEHOLDER_DONE) {
            f(msg);
        }
    });
}
