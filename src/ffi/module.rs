//! Modules: a `JitcoreModuleRef` is LLVM IR, parsed and verified, in an
//! LLVM context of its own. The caller owns a module it created until it
//! adds it to an engine or a dylib; from then on the engine or session owns
//! it, until it is removed. A handle is the address of a cell jitcore owns
//! (`handle.rs`), looked up in a registry: a handle that was disposed of, or
//! freed with the engine or session that owned it, is recognized and ignored
//! instead of being freed twice, so modules and their owners may be disposed
//! of in either order.

use std::collections::HashMap;
use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;

use super::error::JitcoreErrorRef;
use super::{boundary, boundary_or, bytes_arg, non_null, str_arg, write_out};
use crate::error::{Error, Result};
use crate::module::Module;
use crate::fasthash::FastBuild;

/// A module (`JitcoreModuleRef`).
pub struct JitcoreOpaqueModule {
    _private: [u8; 0],
}

/// A parsed, verified module in its own LLVM context. The handle is a
/// pointer to memory jitcore owns (never freed, so it stays a valid address
/// after the module died; a dead handle is recognized, and is not reused
/// for at least 65,536 later modules), opaque to the host.
pub type JitcoreModuleRef = *mut JitcoreOpaqueModule;

/// LLVM-C's module type (`LLVMModuleRef` is `struct LLVMOpaqueModule *`).
pub struct LLVMOpaqueModule {
    _private: [u8; 0],
}

static MODULES: Lazy<Mutex<HashMap<u64, Arc<Module>, FastBuild>>> = Lazy::new(|| Mutex::new(HashMap::default()));

fn registry() -> std::sync::MutexGuard<'static, HashMap<u64, Arc<Module>, FastBuild>> {
    MODULES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registers a module and returns its handle.
pub(crate) fn register(module: Arc<Module>) -> JitcoreModuleRef {
    let id = super::handle::allocate() as u64;
    module.set_handle(id);
    registry().insert(id, module);
    id as usize as JitcoreModuleRef
}

/// Forgets handle `id` (its module is gone or jitcore's own now).
fn forget(reg: &mut HashMap<u64, Arc<Module>, FastBuild>, id: u64) {
    if reg.remove(&id).is_some() {
        super::handle::release(id as usize);
    }
}

/// The module behind a handle.
pub(crate) fn get(m: JitcoreModuleRef) -> Result<Arc<Module>> {
    non_null(m, "module")?;
    registry()
        .get(&(m as u64))
        .cloned()
        .ok_or_else(|| Error::invalid_argument(format!("{m:p} is not a live module handle")))
}

/// Takes a module handed over by a host callback: its handle becomes dead
/// and the module is jitcore's (it has no handle from now on).
pub(crate) fn take(m: JitcoreModuleRef) -> Result<Arc<Module>> {
    let module = get(m)?;
    if module.owner() != 0 {
        return Err(Error::module_already_added(format!("module '{}' is already added elsewhere", module.name())));
    }
    forget(&mut registry(), m as u64);
    module.set_handle(0);
    Ok(module)
}

/// Forgets handles whose modules were freed with their owner.
pub(crate) fn unregister(modules: &[Arc<Module>]) {
    let mut reg = registry();
    for m in modules {
        forget(&mut reg, m.handle());
    }
}

/// Parses `Data` (`Len` bytes of textual IR or bitcode, detected by its
/// magic number) into a new module named `Name`, in its own LLVM context
/// (no other module uses it while this one holds IR; a small module's may
/// serve a later module after, see the README's "How it works"), and
/// verifies it. `Data` need not be NUL-terminated; both arguments are
/// borrowed for the call. On success `*Result` is a module the caller owns
/// (dispose with `JitcoreDisposeModule`, or hand to an engine). Errors:
/// `INVALID_ARGUMENT` for NULL arguments, a `Len` too large to exist, or
/// one the process cannot allocate a copy of (jitcore keeps the bytes);
/// `INVALID_IR` with the module name, line and column for IR that does not
/// parse or verify, and for textual IR whose brackets nest more than 512
/// levels deep (LLVM's parser recurses per level). Thread-safe.
///
/// Untrusted input: textual IR is safe to parse in-process. LLVM's
/// *bitcode* reader is not hardened against malformed input: bitcode whose
/// records have the wrong shape (a function body indexing a struct with a
/// non-constant, a type or value id out of place) can crash it. Parse
/// bitcode you did not produce with `JitcoreCreateModuleFromUntrustedIR`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateModuleFromIR(
    Result: *mut JitcoreModuleRef,
    Name: *const c_char,
    Data: *const c_char,
    Len: usize,
) -> JitcoreErrorRef {
    // SAFETY: the host's arguments, as documented above.
    unsafe { create_module(Result, Name, Data, Len, Module::from_ir) }
}

/// The body of both module-from-IR functions, with `parse` as the parser.
///
/// # Safety
/// As `JitcoreCreateModuleFromIR`'s arguments.
unsafe fn create_module(
    Result: *mut JitcoreModuleRef,
    Name: *const c_char,
    Data: *const c_char,
    Len: usize,
    parse: fn(&str, &[u8]) -> Result<Arc<Module>>,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(Result, "Result")?;
        // SAFETY: the host passes a NUL-terminated name and Len readable bytes.
        let name = unsafe { str_arg(Name, "Name")? };
        // SAFETY: the pointer has the stated number of readable bytes (contract).
        let data = unsafe { bytes_arg(Data.cast(), Len, "Data")? };
        if data.is_empty() {
            return Err(Error::invalid_ir(format!("module '{name}' is empty")));
        }
        let module = parse(name, data)?;
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, register(module)) };
        Ok(())
    })
}

/// Parses `Data` as `JitcoreCreateModuleFromIR` does, for input from a
/// source the host does not trust: it is first parsed and verified in a
/// child process (`fork`), so malformed bitcode that crashes LLVM's bitcode
/// reader ends the child, not the host. Same results and errors, plus
/// `INVALID_IR` "LLVM's IR reader crashed on it" for such input, and
/// `INTERNAL` if no child could be started (or it ran over a minute). The
/// child's memory may grow by at most the larger of 1 GiB and 64 times
/// `Len`. Costs one `fork` (about a millisecond, more for a large host).
/// Thread-safe; the child only parses and leaves with `_exit`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateModuleFromUntrustedIR(
    Result: *mut JitcoreModuleRef,
    Name: *const c_char,
    Data: *const c_char,
    Len: usize,
) -> JitcoreErrorRef {
    // SAFETY: the host's arguments, as documented above.
    unsafe { create_module(Result, Name, Data, Len, Module::from_untrusted_ir) }
}

/// Copies `M`, a module a host built with LLVM-C against the same
/// libLLVM-22, into a new jitcore module (through bitcode, into a context of
/// its own). The host keeps `M` and may go on using it; nothing else may use
/// `M` during the call. On success `*Result` is owned by the caller. Errors:
/// `INVALID_ARGUMENT` for NULL, `INVALID_IR` when `M` does not verify.
/// Thread-safe with respect to jitcore; `M` and its LLVM context must not
/// be used by another thread during the call (LLVM contexts are not
/// thread-safe).
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateModuleFromLLVMModule(
    Result: *mut JitcoreModuleRef,
    M: *mut LLVMOpaqueModule,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(Result, "Result")?;
        non_null(M, "M")?;
        crate::llvm::initialize()?;
        // SAFETY: M is a live LLVM-C module per the contract.
        let (ir, bitcode) = unsafe { crate::llvm::ir::IrModule::copy_from(M.cast())? };
        let module = Module::from_ir_module(&ir.name(), ir, bitcode)?;
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, register(module)) };
        Ok(())
    })
}

/// Disposes of a module the caller owns. NULL is ignored. A module that is
/// currently added to an engine belongs to the engine, and a handle already
/// freed (by this function or with the engine that owned it) is no longer a
/// module: in both cases this does nothing, so modules and engines may be
/// disposed of in either order. Must not race any other use of `M` (a name
/// borrowed from it dies with it).
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeModule(M: JitcoreModuleRef) {
    boundary_or((), || {
        if M.is_null() {
            return;
        }
        let mut reg = registry();
        if let Some(module) = reg.get(&(M as u64)) {
            if module.owner() == 0 {
                forget(&mut reg, M as u64);
            }
        }
    })
}

/// The module's name: borrowed, valid until the module is disposed of (or
/// freed with its engine or session). NULL for NULL or a handle that is
/// not live. Thread-safe; must not race the disposal of `M`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreModuleGetName(M: JitcoreModuleRef) -> *const c_char {
    boundary_or(std::ptr::null(), || match get(M) {
        // The registry holds another reference, so the string outlives this Arc.
        Ok(m) => m.c_name().as_ptr(),
        Err(_) => std::ptr::null(),
    })
}
