//! Calls between the session and jitted code for initializers and
//! finalizers: the host function jitted code registers its exit handlers
//! with, and calling jitted constructors, destructors and exit handlers.
//!
//! `Module::prepare` routes a module's `atexit(f)` and
//! `__cxa_atexit(f, arg, dso)` to internal wrappers that call
//! [`REGISTRAR`]`(f, arg, token)`, where `token` is a per-module symbol
//! whose address is a live [`Token`]: the token says whose handler it is,
//! and its sink records it (see `session/exit.rs`). Nothing is registered
//! with the C library, so no handler of jitted code can run at process
//! exit, after its code is gone.

use std::collections::HashSet;
use std::ffi::{c_int, c_void};
use std::sync::{Arc, RwLock};

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMCallConv, LLVMLinkage, LLVMTypeKind};
use once_cell::sync::Lazy;

use super::cstring;
use super::ir::IrModule;

/// The symbol of [`register_exit_handler`] that routed modules call.
pub const REGISTRAR: &str = "__jitcore.register_exit";

/// Receives `(function, argument)` of a handler registered through its token.
pub type Sink = Box<dyn Fn(usize, usize) + Send + Sync>;

/// What a token symbol's address points to.
pub struct Token {
    sink: Sink,
}

/// Addresses of the live tokens: only those are read by the registrar.
static LIVE: Lazy<RwLock<HashSet<usize>>> = Lazy::new(|| RwLock::new(HashSet::new()));

impl Token {
    pub fn new(sink: Sink) -> Arc<Token> {
        let t = Arc::new(Token { sink });
        LIVE.write().unwrap_or_else(|p| p.into_inner()).insert(Arc::as_ptr(&t) as usize);
        t
    }

    /// The address jitted code passes (the token symbol's address).
    pub fn address(self: &Arc<Token>) -> u64 {
        Arc::as_ptr(self) as u64
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        // Under the write lock: once it is released no registrar reads us.
        LIVE.write().unwrap_or_else(|p| p.into_inner()).remove(&(self as *const Token as usize));
    }
}

/// What jitted code calls for `atexit(f)` (`arg` NULL) and
/// `__cxa_atexit(f, arg, dso)`: records the handler with `token`'s sink.
/// Returns 0, or -1 for a token that is not live (the C library's
/// failure value; nothing is recorded).
pub extern "C" fn register_exit_handler(function: *const c_void, arg: *mut c_void, token: *const c_void) -> c_int {
    crate::guard::catch(|| {
        let live = LIVE.read().unwrap_or_else(|p| p.into_inner());
        if function.is_null() || !live.contains(&(token as usize)) {
            return -1;
        }
        // SAFETY: the address is a live token's (checked under the read
        // lock, which its Drop needs exclusively before it is freed).
        let token = unsafe { &*token.cast::<Token>() };
        (token.sink)(function as usize, arg as usize);
        0
    })
    .unwrap_or(-1)
}

/// The registrar's address, for the absolute symbol [`REGISTRAR`].
pub fn registrar_address() -> u64 {
    register_exit_handler as *const () as u64
}

/// The C library functions routed, with their parameter counts: each
/// returns `int` and takes pointers only.
const ROUTED: [(&str, u32); 2] = [("atexit", 1), ("__cxa_atexit", 3)];

/// Replaces the module's declarations of `atexit(f)` and
/// `__cxa_atexit(f, arg, dso)`, where it uses them, with internal wrappers
/// that call [`REGISTRAR`]`(f, arg, &token)` (`arg` NULL for `atexit`),
/// `token` being an external symbol named `token()` (asked only when the
/// module makes such calls). A declaration of another type or calling
/// convention, or a module's own definition, is left alone. Returns the
/// token's name if the module now refers to it.
pub fn route_exit_registrations(ir: &mut IrModule, token: &dyn Fn() -> String) -> Option<String> {
    let m = ir.as_raw();
    let mut registrar: Option<(LLVMValueRef, LLVMTypeRef, LLVMValueRef)> = None;
    let mut token_name = None;
    // SAFETY: the module is live and held exclusively (&mut); every value
    // and type used comes from it or its context, the builder is disposed
    // of, and the old declaration is deleted only after its uses went to
    // the wrapper.
    unsafe {
        let ctx = LLVMGetModuleContext(m);
        let ptr_ty = LLVMPointerTypeInContext(ctx, 0);
        let int_ty = LLVMInt32TypeInContext(ctx);
        for (name, params) in ROUTED {
            let decl = LLVMGetNamedFunctionWithLength(m, name.as_ptr().cast(), name.len());
            if decl.is_null() || LLVMIsDeclaration(decl) == 0 || LLVMGetFirstUse(decl).is_null() {
                continue;
            }
            let fty = LLVMGlobalGetValueType(decl);
            let ret = LLVMGetReturnType(fty);
            let shape_ok = LLVMIsFunctionVarArg(fty) == 0
                && LLVMGetFunctionCallConv(decl) == LLVMCallConv::LLVMCCallConv as u32
                && LLVMCountParamTypes(fty) == params
                && LLVMGetTypeKind(ret) == LLVMTypeKind::LLVMIntegerTypeKind
                && LLVMGetIntTypeWidth(ret) == 32
                && {
                    let mut tys = vec![std::ptr::null_mut(); params as usize];
                    LLVMGetParamTypes(fty, tys.as_mut_ptr());
                    tys.iter().all(|t| {
                        LLVMGetTypeKind(*t) == LLVMTypeKind::LLVMPointerTypeKind && LLVMGetPointerAddressSpace(*t) == 0
                    })
                };
            if !shape_ok {
                continue;
            }
            let (reg, reg_ty, tok) = *registrar.get_or_insert_with(|| {
                let mut args = [ptr_ty, ptr_ty, ptr_ty];
                let reg_ty = LLVMFunctionType(int_ty, args.as_mut_ptr(), 3, 0);
                // Default visibility, not dso_local: the token and the
                // registrar are host addresses, reached through the GOT
                // and a stub, wherever they are. (A module that already
                // names them, jitcore's own output read back, keeps them.)
                let rname = cstring(REGISTRAR);
                let mut reg = LLVMGetNamedFunction(m, rname.as_ptr());
                if reg.is_null() {
                    reg = LLVMAddFunction(m, rname.as_ptr(), reg_ty);
                }
                let tname = cstring(token_name.insert(token()));
                let mut tok = LLVMGetNamedGlobal(m, tname.as_ptr());
                if tok.is_null() {
                    tok = LLVMAddGlobal(m, LLVMInt8TypeInContext(ctx), tname.as_ptr());
                }
                (reg, reg_ty, tok)
            });
            let wname = cstring(&format!("__jitcore.{name}"));
            let wrapper = LLVMAddFunction(m, wname.as_ptr(), fty);
            LLVMSetLinkage(wrapper, LLVMLinkage::LLVMInternalLinkage);
            let entry = LLVMAppendBasicBlockInContext(ctx, wrapper, c"entry".as_ptr());
            let b = LLVMCreateBuilderInContext(ctx);
            LLVMPositionBuilderAtEnd(b, entry);
            let arg = if params == 3 { LLVMGetParam(wrapper, 1) } else { LLVMConstNull(ptr_ty) };
            let mut args = [LLVMGetParam(wrapper, 0), arg, tok];
            let r = LLVMBuildCall2(b, reg_ty, reg, args.as_mut_ptr(), 3, c"".as_ptr());
            LLVMBuildRet(b, r);
            LLVMDisposeBuilder(b);
            LLVMReplaceAllUsesWith(decl, wrapper);
            LLVMDeleteFunction(decl);
        }
    }
    token_name
}

/// Calls the jitted `void()` function at `address`: a constructor or
/// destructor the session just looked up. The session calls it only with
/// addresses ORC linked for functions named in `llvm.global_ctors` or
/// `llvm.global_dtors`, which the IR verifier checked are `void()`.
pub fn call_void(address: u64) {
    // SAFETY: see above: a linked, loaded `void()` function.
    let f: extern "C" fn() = unsafe { std::mem::transmute(address as usize) };
    f()
}

/// Calls an exit handler jitted code registered: `function(arg)`. A
/// handler registered with `atexit` is a `void()` function called with a
/// NULL argument, which the C calling conventions of the supported hosts
/// (x86-64 System V, AArch64) allow, as the C library's own `atexit` does.
/// The session calls it only for handlers whose code is still loaded (it
/// drops the handlers of code it removes).
pub fn call_handler(function: usize, arg: usize) {
    // SAFETY: see above: a loaded function jitted code passed to atexit or
    // __cxa_atexit, which takes one pointer (or none).
    let f: extern "C" fn(*mut c_void) = unsafe { std::mem::transmute(function) };
    f(arg as *mut c_void)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn only_live_tokens_record() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let t = Token::new(Box::new(move |f, a| sink.lock().unwrap().push((f, a))));
        let addr = t.address() as *const c_void;
        extern "C" fn h(_: *mut c_void) {}
        let f = h as *const c_void;
        assert_eq!(register_exit_handler(f, 7 as *mut c_void, addr), 0);
        assert_eq!(register_exit_handler(std::ptr::null(), 7 as *mut c_void, addr), -1);
        drop(t);
        assert_eq!(register_exit_handler(f, 8 as *mut c_void, addr), -1);
        assert_eq!(*got.lock().unwrap(), vec![(f as usize, 7)]);
    }
}
