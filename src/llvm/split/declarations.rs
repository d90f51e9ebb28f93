//! Turning definitions into declarations: deleting bodies, stripping what
//! a declaration may not have, deleting unused declarations, and the
//! declarations that stand for aliases and ifuncs in function partitions.

use std::ptr;

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMAttributeFunctionIndex, LLVMAttributeReturnIndex, LLVMLinkage, LLVMTypeKind};

use crate::llvm::ir::{basic_blocks, functions, globals, raw_name, set_raw_name};

/// Turns a function definition into a declaration: deletes its body, then
/// what `strip_declaration` lists. Its name, type, attributes and visibility
/// stay.
///
/// # Safety
/// `f` must be a live function definition in a module we hold exclusively.
pub(super) unsafe fn make_declaration(f: LLVMValueRef) {
    delete_body(f);
    strip_declaration(f);
}

/// Removes from a bodiless function what a declaration may not (or should
/// not) have: personality, metadata (a distinct DISubprogram), non-external
/// linkage, and prefix and prologue data. The latter are allowed on a
/// declaration, but CloneModule copies a declaration's prefix and prologue
/// constants without mapping them into the new module.
///
/// # Safety
/// `f` must be a live function without blocks in a module we hold exclusively.
pub(super) unsafe fn strip_declaration(f: LLVMValueRef) {
    // SAFETY (null arguments): see `llvm_asserts_on_null_setters`.
    if LLVMHasPersonalityFn(f) != 0 {
        LLVMSetPersonalityFn(f, ptr::null_mut());
    }
    if LLVMHasPrefixData(f) != 0 {
        LLVMSetPrefixData(f, ptr::null_mut());
    }
    if LLVMHasPrologueData(f) != 0 {
        LLVMSetPrologueData(f, ptr::null_mut());
    }
    LLVMGlobalClearMetadata(f);
    LLVMSetLinkage(f, LLVMLinkage::LLVMExternalLinkage);
}

/// Deletes every instruction and block of `f`, as `Function::deleteBody`
/// does, with what LLVM-C offers.
///
/// A value must have no uses left when it is deleted, and the body's values
/// use each other in any order (phis, loops), blocks included (branches). So:
/// first every instruction has its uses replaced by poison (`none` for
/// tokens, which have no poison); then every block's terminator makes way for
/// an `unreachable`, so no branch uses a block any more; then the blocks are
/// deleted, each with its instructions (blockaddress constants of a block are
/// replaced by the block's destructor).
///
/// Instructions are never erased one by one while their block stays: an
/// erased instruction hands its debug records to the next one, and the last
/// one to the block's "trailing" records, which LLVM keeps in a context-wide
/// map that a block's destructor does not clean (a later block at the same
/// address would inherit them). Erasing only terminators that have an
/// `unreachable` after them avoids that.
///
/// # Safety
/// `f` must be a live function in a module we hold exclusively.
unsafe fn delete_body(f: LLVMValueRef) {
    let blocks = basic_blocks(f);
    for &bb in &blocks {
        let mut inst = LLVMGetFirstInstruction(bb);
        while !inst.is_null() {
            if !LLVMGetFirstUse(inst).is_null() {
                let ty = LLVMTypeOf(inst);
                let replacement = if LLVMGetTypeKind(ty) == LLVMTypeKind::LLVMTokenTypeKind {
                    LLVMConstNull(ty)
                } else {
                    LLVMGetPoison(ty)
                };
                LLVMReplaceAllUsesWith(inst, replacement);
            }
            inst = LLVMGetNextInstruction(inst);
        }
    }
    if blocks.is_empty() {
        return;
    }
    let builder = LLVMCreateBuilderInContext(LLVMGetModuleContext(LLVMGetGlobalParent(f)));
    for &bb in &blocks {
        let terminator = LLVMGetBasicBlockTerminator(bb);
        LLVMPositionBuilderAtEnd(builder, bb);
        LLVMBuildUnreachable(builder);
        if !terminator.is_null() {
            LLVMInstructionEraseFromParent(terminator);
        }
    }
    LLVMDisposeBuilder(builder);
    for bb in blocks {
        LLVMDeleteBasicBlock(bb);
    }
}

/// Deletes function and variable declarations nothing uses any more.
///
/// Constants that were used only by deleted code are not freed by LLVM (they
/// live in the context) and still count as uses here, so a declaration used
/// only by them stays, unused and harmless; a clone does not copy such
/// constants, so it drops out there.
///
/// # Safety
/// `m` must be a live module that we hold exclusively.
pub(super) unsafe fn collect_garbage(m: LLVMModuleRef) {
    for f in functions(m) {
        if LLVMIsDeclaration(f) != 0 && LLVMGetFirstUse(f).is_null() {
            LLVMDeleteFunction(f);
        }
    }
    for g in globals(m) {
        if LLVMIsDeclaration(g) != 0 && LLVMGetFirstUse(g).is_null() {
            LLVMDeleteGlobal(g);
        }
    }
}

/// A declaration to stand for alias or ifunc `v` in the function partitions:
/// a function if its value type is a function type, a global variable
/// otherwise. It takes over `v`'s name (`v` becomes unnamed) and visibility;
/// a function copies the calling convention and attributes of `target`'s
/// function when there is one of the same type, a variable the
/// thread-localness of `target`'s variable.
///
/// # Safety
/// `m` must be a live module that we hold exclusively; `v` an alias or ifunc
/// of it; `target` NULL or a constant.
pub(super) unsafe fn declaration_like(m: LLVMModuleRef, v: LLVMValueRef, target: LLVMValueRef) -> LLVMValueRef {
    let name = raw_name(v);
    set_raw_name(v, b"");
    let value_type = LLVMGlobalGetValueType(v);
    let base = base_object(target);
    let decl = if LLVMGetTypeKind(value_type) == LLVMTypeKind::LLVMFunctionTypeKind {
        let decl = LLVMAddFunction(m, c"".as_ptr(), value_type);
        if !base.is_null() && !LLVMIsAFunction(base).is_null() && LLVMGlobalGetValueType(base) == value_type {
            copy_function_attributes(base, decl);
        }
        decl
    } else {
        let decl = LLVMAddGlobalInAddressSpace(m, value_type, c"".as_ptr(), LLVMGetPointerAddressSpace(LLVMTypeOf(v)));
        if !base.is_null() && !LLVMIsAGlobalVariable(base).is_null() && LLVMIsThreadLocal(base) != 0 {
            LLVMSetThreadLocalMode(decl, LLVMGetThreadLocalMode(base));
        }
        decl
    };
    set_raw_name(decl, &name);
    LLVMSetVisibility(decl, LLVMGetVisibility(v));
    decl
}

/// The global object a constant is based on (through casts and GEPs), or NULL.
/// For an ifunc's resolver this is the resolver, not the target.
///
/// # Safety
/// `c` must be NULL or a live constant.
unsafe fn base_object(mut c: LLVMValueRef) -> LLVMValueRef {
    for _ in 0..32 {
        if c.is_null() || !LLVMIsAGlobalObject(c).is_null() {
            return c;
        }
        if !LLVMIsAGlobalAlias(c).is_null() {
            c = LLVMAliasGetAliasee(c);
        } else if !LLVMIsAConstantExpr(c).is_null() && LLVMGetNumOperands(c) > 0 {
            c = LLVMGetOperand(c, 0);
        } else {
            return ptr::null_mut();
        }
    }
    ptr::null_mut()
}

/// Gives declaration `to` the calling convention, attributes, GC and DLL
/// storage class of function `from` (which has the same type).
///
/// # Safety
/// `from` and `to` must be live functions of the same function type in one
/// context.
pub(super) unsafe fn copy_function_attributes(from: LLVMValueRef, to: LLVMValueRef) {
    LLVMSetFunctionCallConv(to, LLVMGetFunctionCallConv(from));
    let params = LLVMCountParams(from);
    let indices = [LLVMAttributeFunctionIndex, LLVMAttributeReturnIndex].into_iter().chain(1..=params);
    for index in indices {
        let count = LLVMGetAttributeCountAtIndex(from, index) as usize;
        if count == 0 {
            continue;
        }
        let mut attrs = vec![ptr::null_mut(); count];
        LLVMGetAttributesAtIndex(from, index, attrs.as_mut_ptr());
        for attr in attrs {
            LLVMAddAttributeAtIndex(to, index, attr);
        }
    }
    let gc = LLVMGetGC(from);
    if !gc.is_null() {
        LLVMSetGC(to, gc);
    }
    LLVMSetDLLStorageClass(to, LLVMGetDLLStorageClass(from));
}
