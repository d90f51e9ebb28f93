//! Thread-local variables without native TLS.
//!
//! Native TLS needs a platform runtime in the JIT (ORC's), which jitcore
//! does not have, and LLVM-C cannot turn on LLVM's emulated-TLS lowering in
//! a target machine. So jitcore lowers thread-locals in the IR it compiles,
//! the way emulated TLS does (libgcc's `__emutls_*`): every thread-local
//! variable `@x` becomes a plain global `@x` holding a [`Descriptor`] (its
//! size, alignment, a slot id and a pointer to a private copy of its
//! initializer), and every access becomes a call of
//! `__jitcore_tls_get_address(@x)`, which returns this thread's copy
//! (`crate::tls` keeps the copies). No TLS relocation reaches the linker,
//! and the object stays cacheable: it depends on nothing of this process
//! but the runtime symbol, which every session defines.
//!
//! A host looking up a thread-local's name gets its descriptor, not a
//! thread's storage.

use std::sync::atomic::{AtomicU64, Ordering};

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::target::{LLVMABIAlignmentOfType, LLVMABISizeOfType, LLVMGetModuleDataLayout};
use llvm_sys::{LLVMLinkage, LLVMOpcode};

use super::cstring;
use super::ir::{globals, raw_name, set_raw_name, users, IrModule};

/// The runtime function lowered accesses call.
pub const GET_ADDRESS: &str = "__jitcore_tls_get_address";

/// What a lowered thread-local variable's global holds (the layout the IR
/// lowering emits: `{ i64, i64, i64, ptr }`).
#[repr(C)]
pub struct Descriptor {
    size: u64,
    align: u64,
    /// 0 until the first access gives the variable its id in `crate::tls`.
    slot: AtomicU64,
    /// The initial value (`size` bytes), or NULL for zeros.
    init: *const u8,
}

/// What lowered code calls for the address of this thread's copy of the
/// variable `desc` describes. Never returns NULL (out of memory aborts, as
/// Rust's allocator does).
extern "C" fn get_address(desc: *mut Descriptor) -> *mut u8 {
    // SAFETY: jitted code passes a descriptor the lowering emitted, alive
    // while that code runs; `slot` is only accessed atomically.
    let d = unsafe { &*desc };
    let id = match d.slot.load(Ordering::Acquire) {
        0 => {
            let new = crate::tls::new_id();
            match d.slot.compare_exchange(0, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => new,
                Err(winner) => winner,
            }
        }
        id => id,
    };
    let init = if d.init.is_null() {
        None
    } else {
        // SAFETY: a non-null `init` points to `size` constant bytes emitted
        // with the descriptor.
        Some(unsafe { std::slice::from_raw_parts(d.init, d.size as usize) })
    };
    crate::guard::catch(|| crate::tls::address(id, d.size as usize, d.align as usize, init))
        .unwrap_or_else(|_| std::process::abort())
}

/// The address of the runtime function, for the JIT's symbol table.
pub fn get_address_function() -> u64 {
    get_address as extern "C" fn(*mut Descriptor) -> *mut u8 as usize as u64
}

/// A linked thread-local variable's descriptor: what removing its code
/// must release (see `crate::tls::release`).
#[derive(Clone, Copy, Debug)]
pub struct LinkedDescriptor(u64);

impl LinkedDescriptor {
    /// The variable's id (0: never accessed, nothing allocated). Read it
    /// before the code is removed: the descriptor is in the JIT's data.
    pub fn id(self) -> u64 {
        // SAFETY: made only from a lookup of a linked descriptor symbol (see
        // `when_linked`); its holder (the session's group) asks only while
        // the group's code is loaded, before removing it.
        unsafe { (*(self.0 as usize as *const Descriptor)).slot.load(Ordering::Acquire) }
    }
}

/// Once the thread-local variables `names` of `jd` are linked, hands their
/// descriptors to `done` (nothing if the link fails).
pub fn when_linked(
    es: super::orc::ExecutionSession,
    jd: super::orc::JitDylib,
    names: Vec<super::orc::SymbolName>,
    done: impl FnOnce(Vec<LinkedDescriptor>) + Send + 'static,
) {
    if names.is_empty() {
        return;
    }
    // The lookup only waits for symbols the unit at hand is emitting.
    es.lookup_async(super::orc::LookupKind::Static, &[(jd, false)], &names, true, move |r| {
        if let Ok(found) = r {
            done(found.into_iter().filter(|f| f.address != 0).map(|f| LinkedDescriptor(f.address)).collect());
        }
    });
}

impl IrModule {
    /// Lowers every thread-local variable (see the module docs). Needs the
    /// module's data layout set. Returns how many were lowered; fails
    /// (naming the variable) on a use the lowering cannot rewrite: a
    /// thread-local's address inside a constant expression.
    pub fn lower_thread_locals(&mut self) -> Result<usize, String> {
        // SAFETY: the module is live and held exclusively (&mut self); the
        // users of each variable are collected before any is changed, and
        // every value we create belongs to the module's context.
        unsafe {
            let m = self.raw();
            let tls: Vec<LLVMValueRef> = globals(m).into_iter().filter(|&g| LLVMIsThreadLocal(g) != 0).collect();
            if tls.is_empty() {
                return Ok(0);
            }
            // An alias of a thread-local would still be accessed natively.
            for a in super::ir::aliases(m) {
                let aliasee = LLVMAliasGetAliasee(a);
                if LLVMIsThreadLocal(a) != 0 || tls.iter().any(|&g| refers_to(aliasee, g)) {
                    let name = String::from_utf8_lossy(&raw_name(a)).into_owned();
                    return Err(format!("alias '{name}' of a thread-local variable is not supported"));
                }
            }
            let ctx = LLVMGetModuleContext(m);
            let td = LLVMGetModuleDataLayout(m);
            let i64t = LLVMInt64TypeInContext(ctx);
            let ptr = LLVMPointerTypeInContext(ctx, 0);
            let mut fields = [i64t, i64t, i64t, ptr];
            let desc_ty = LLVMStructTypeInContext(ctx, fields.as_mut_ptr(), 4, 0);
            let get = runtime_function(m, ptr);
            let get_ty = LLVMGlobalGetValueType(get);
            let builder = LLVMCreateBuilderInContext(ctx);
            let mut result = Ok(tls.len());
            for g in tls {
                if let Err(e) = lower_one(m, g, desc_ty, (get, get_ty), builder, td, (i64t, ptr)) {
                    result = Err(e);
                    break;
                }
            }
            LLVMDisposeBuilder(builder);
            result
        }
    }
}

/// `declare ptr @__jitcore_tls_get_address(ptr) nounwind`.
///
/// # Safety
/// `m` must be a live module and `ptr` its context's pointer type.
unsafe fn runtime_function(m: LLVMModuleRef, ptr: LLVMTypeRef) -> LLVMValueRef {
    let name = cstring(GET_ADDRESS);
    let existing = LLVMGetNamedFunction(m, name.as_ptr());
    if !existing.is_null() {
        return existing;
    }
    let mut params = [ptr];
    let ty = LLVMFunctionType(ptr, params.as_mut_ptr(), 1, 0);
    let f = LLVMAddFunction(m, name.as_ptr(), ty);
    let kind = LLVMGetEnumAttributeKindForName(c"nounwind".as_ptr(), 8);
    LLVMAddAttributeAtIndex(f, u32::MAX, LLVMCreateEnumAttribute(LLVMGetModuleContext(m), kind, 0));
    f
}

/// Lowers one thread-local `g`: a descriptor global takes its name and
/// linkage, each instruction using it gets the runtime's answer instead.
///
/// # Safety
/// As for [`IrModule::lower_thread_locals`]; `g` is a thread-local global of `m`.
unsafe fn lower_one(
    m: LLVMModuleRef,
    g: LLVMValueRef,
    desc_ty: LLVMTypeRef,
    (get, get_ty): (LLVMValueRef, LLVMTypeRef),
    builder: LLVMBuilderRef,
    td: llvm_sys::target::LLVMTargetDataRef,
    (i64t, ptr): (LLVMTypeRef, LLVMTypeRef),
) -> Result<(), String> {
    let name = raw_name(g);
    let shown = String::from_utf8_lossy(&name).into_owned();
    if LLVMGetPointerAddressSpace(LLVMTypeOf(g)) != 0 {
        return Err(format!("thread-local variable '{shown}' is in an address space other than 0"));
    }
    let mut users = users(g);
    users.sort_unstable();
    users.dedup();
    // The instructions that use the variable, directly or through constant
    // expressions (`getelementptr (@x, 16)`); each gets its own address.
    let mut insts = Vec::new();
    collect_instructions(&users, &mut insts, 0)?;
    insts.sort_unstable();
    insts.dedup();
    let ty = LLVMGlobalGetValueType(g);
    let size = LLVMABISizeOfType(td, ty);
    let align = u64::from(LLVMGetAlignment(g).max(LLVMABIAlignmentOfType(td, ty))).max(1);
    let linkage = LLVMGetLinkage(g);
    let visibility = LLVMGetVisibility(g);
    let declaration = LLVMIsDeclaration(g) != 0;
    let mut old = name.clone();
    old.extend_from_slice(b".jitcore.tls.old");
    set_raw_name(g, &old);
    let desc = LLVMAddGlobal(m, desc_ty, c"".as_ptr());
    set_raw_name(desc, &name);
    LLVMSetVisibility(desc, visibility);
    if declaration {
        LLVMSetLinkage(desc, linkage);
    } else {
        let init = LLVMGetInitializer(g);
        let template = if init.is_null() || LLVMIsNull(init) != 0 {
            LLVMConstPointerNull(ptr)
        } else {
            let mut tname = name.clone();
            tname.extend_from_slice(b".jitcore.tls.init");
            let t = LLVMAddGlobal(m, ty, c"".as_ptr());
            set_raw_name(t, &tname);
            LLVMSetInitializer(t, init);
            LLVMSetGlobalConstant(t, 1);
            LLVMSetLinkage(t, LLVMLinkage::LLVMPrivateLinkage);
            LLVMSetAlignment(t, align as u32);
            t
        };
        let mut vals = [LLVMConstInt(i64t, size, 0), LLVMConstInt(i64t, align, 0), LLVMConstInt(i64t, 0, 0), template];
        LLVMSetInitializer(desc, LLVMConstNamedStruct(desc_ty, vals.as_mut_ptr(), 4));
        // A descriptor is written (its slot), so never constant; common
        // linkage takes only zero initializers.
        let linkage = if linkage == LLVMLinkage::LLVMCommonLinkage { LLVMLinkage::LLVMWeakAnyLinkage } else { linkage };
        LLVMSetLinkage(desc, linkage);
        LLVMSetAlignment(desc, 8);
    }
    let threadlocal_address = LLVMLookupIntrinsicID(c"llvm.threadlocal.address".as_ptr(), 24);
    for u in insts {
        let callee = if LLVMIsACallInst(u).is_null() { std::ptr::null_mut() } else { LLVMGetCalledValue(u) };
        if !callee.is_null() && !LLVMIsAFunction(callee).is_null() && LLVMGetIntrinsicID(callee) == threadlocal_address
        {
            // llvm.threadlocal.address(@x) is the address: the runtime's answer.
            LLVMPositionBuilderBefore(builder, u);
            let mut args = [desc];
            let call = LLVMBuildCall2(builder, get_ty, get, args.as_mut_ptr(), 1, c"".as_ptr());
            LLVMReplaceAllUsesWith(u, call);
            LLVMInstructionEraseFromParent(u);
            continue;
        }
        // Any other instruction: the address computed right before it (for
        // a phi, at the end of the block the value comes from), and the
        // constant expressions over it rebuilt as instructions.
        let phi = LLVMGetInstructionOpcode(u) == LLVMOpcode::LLVMPHI;
        for i in 0..LLVMGetNumOperands(u).max(0) as u32 {
            let op = LLVMGetOperand(u, i);
            if !refers_to(op, g) {
                continue;
            }
            let at = if phi { LLVMGetBasicBlockTerminator(LLVMGetIncomingBlock(u, i)) } else { u };
            LLVMPositionBuilderBefore(builder, at);
            let mut args = [desc];
            let address = LLVMBuildCall2(builder, get_ty, get, args.as_mut_ptr(), 1, c"".as_ptr());
            let value = rebuild(builder, op, g, address).map_err(|what| {
                format!("thread-local variable '{shown}' is used in a constant expression ({what}) jitcore cannot lower")
            })?;
            LLVMSetOperand(u, i, value);
        }
    }
    // What is left (llvm.used lists) names the descriptor now.
    LLVMReplaceAllUsesWith(g, desc);
    LLVMDeleteGlobal(g);
    Ok(())
}

/// Adds to `out` the instructions among `users` and among the users of the
/// constant expressions among them (recursively).
///
/// # Safety
/// Every value in `users` must be live.
unsafe fn collect_instructions(users: &[LLVMValueRef], out: &mut Vec<LLVMValueRef>, depth: u32) -> Result<(), String> {
    if depth > 64 {
        return Err("a thread-local variable is nested too deep in constant expressions".to_string());
    }
    for &u in users {
        if !LLVMIsAInstruction(u).is_null() {
            out.push(u);
        } else if !LLVMIsAConstantExpr(u).is_null() {
            collect_instructions(&super::ir::users(u), out, depth + 1)?;
        }
    }
    Ok(())
}

/// Whether `v` is `g` or a constant expression over it.
///
/// # Safety
/// `v` and `g` must be live values.
unsafe fn refers_to(v: LLVMValueRef, g: LLVMValueRef) -> bool {
    if v == g {
        return true;
    }
    if LLVMIsAConstantExpr(v).is_null() {
        return false;
    }
    (0..LLVMGetNumOperands(v).max(0) as u32).any(|i| refers_to(LLVMGetOperand(v, i), g))
}

/// `v` (`g` or a constant expression over it) as instructions at the
/// builder's position, with `address` for `g`. Err: the kind of constant
/// expression that cannot be rebuilt.
///
/// # Safety
/// The builder must be positioned in a function of the module of `v`.
unsafe fn rebuild(
    builder: LLVMBuilderRef,
    v: LLVMValueRef,
    g: LLVMValueRef,
    address: LLVMValueRef,
) -> Result<LLVMValueRef, String> {
    if v == g {
        return Ok(address);
    }
    if !refers_to(v, g) {
        return Ok(v);
    }
    let n = LLVMGetNumOperands(v).max(0) as u32;
    let mut ops = Vec::with_capacity(n as usize);
    for i in 0..n {
        ops.push(rebuild(builder, LLVMGetOperand(v, i), g, address)?);
    }
    let ty = LLVMTypeOf(v);
    let out = match LLVMGetConstOpcode(v) {
        LLVMOpcode::LLVMGetElementPtr => {
            let source = LLVMGetGEPSourceElementType(v);
            let (base, indices) = ops.split_first_mut().ok_or("an empty getelementptr")?;
            let gep = LLVMBuildGEP2(builder, source, *base, indices.as_mut_ptr(), indices.len() as u32, c"".as_ptr());
            LLVMGEPSetNoWrapFlags(gep, LLVMGEPGetNoWrapFlags(v));
            gep
        }
        LLVMOpcode::LLVMPtrToInt => LLVMBuildPtrToInt(builder, ops[0], ty, c"".as_ptr()),
        LLVMOpcode::LLVMIntToPtr => LLVMBuildIntToPtr(builder, ops[0], ty, c"".as_ptr()),
        LLVMOpcode::LLVMBitCast => LLVMBuildBitCast(builder, ops[0], ty, c"".as_ptr()),
        LLVMOpcode::LLVMAddrSpaceCast => LLVMBuildAddrSpaceCast(builder, ops[0], ty, c"".as_ptr()),
        LLVMOpcode::LLVMTrunc => LLVMBuildTrunc(builder, ops[0], ty, c"".as_ptr()),
        LLVMOpcode::LLVMAdd => LLVMBuildAdd(builder, ops[0], ops[1], c"".as_ptr()),
        LLVMOpcode::LLVMSub => LLVMBuildSub(builder, ops[0], ops[1], c"".as_ptr()),
        LLVMOpcode::LLVMXor => LLVMBuildXor(builder, ops[0], ops[1], c"".as_ptr()),
        other => return Err(format!("{other:?}")),
    };
    Ok(out)
}
