//! Preparing the module in place before it is split: promotion of local
//! symbols, linkonce to weak, comdats and `llvm.used` dropped.

use std::ptr;

use llvm_sys::comdat::LLVMSetComdat;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMLinkage, LLVMVisibility};

use crate::llvm::ir::{basic_blocks, for_each_global, functions, is_local, linkonce_to_weak, raw_name, set_raw_name};

/// Prepares the whole module: deletes `llvm.used` and `llvm.compiler.used`,
/// names unnamed values, promotes local values to hidden external ones under
/// new names, makes linkonce definitions weak and drops comdats.
///
/// # Safety
/// `m` must be a live module that we hold exclusively.
pub(super) unsafe fn prepare(m: LLVMModuleRef, unique: &str) {
    for name in [c"llvm.used", c"llvm.compiler.used"] {
        let g = LLVMGetNamedGlobal(m, name.as_ptr());
        if !g.is_null() {
            LLVMDeleteGlobal(g);
        }
    }
    let mut anon = 0usize;
    for_each_global(m, |v, _| {
        let name = raw_name(v);
        let linkage = LLVMGetLinkage(v);
        let local = is_local(linkage);
        if name.is_empty() || local {
            let new_name = if name.is_empty() {
                anon += 1;
                format!("anon.{}.jitcore.{unique}", anon - 1).into_bytes()
            } else {
                promoted_name(&name, unique)
            };
            set_raw_name(v, &new_name);
        }
        if local {
            LLVMSetLinkage(v, LLVMLinkage::LLVMExternalLinkage);
            LLVMSetVisibility(v, LLVMVisibility::LLVMHiddenVisibility);
            // As ORC's SymbolLinkagePromoter does: the address of a promoted
            // value is now observed from other objects.
            LLVMSetUnnamedAddress(v, llvm_sys::LLVMUnnamedAddr::LLVMNoUnnamedAddr);
        }
        // (A promoted local was not linkonce, so this sees the original linkage.)
        linkonce_to_weak(v);
        if !LLVMIsAGlobalObject(v).is_null() {
            LLVMSetComdat(v, ptr::null_mut());
        }
    });
}

/// Removes the names of every argument, block and instruction. Nothing
/// needs them (the partitions are copied without them: the split's context
/// discards local names), and a named value makes each parking of its body
/// (which moves its blocks out of the function and back) update the
/// function's symbol table once per name.
///
/// # Safety
/// `m` must be a live module that we hold exclusively.
pub(super) unsafe fn strip_local_names(m: LLVMModuleRef) {
    let unname = |v: LLVMValueRef| {
        let mut len = 0usize;
        LLVMGetValueName2(v, &mut len);
        if len != 0 {
            LLVMSetValueName2(v, c"".as_ptr(), 0);
        }
    };
    for f in functions(m) {
        if LLVMIsDeclaration(f) != 0 {
            continue;
        }
        for i in 0..LLVMCountParams(f) {
            unname(LLVMGetParam(f, i));
        }
        for bb in basic_blocks(f) {
            unname(LLVMBasicBlockAsValue(bb));
            let mut inst = LLVMGetFirstInstruction(bb);
            while !inst.is_null() {
                unname(inst);
                inst = LLVMGetNextInstruction(inst);
            }
        }
    }
}

/// `{old}.jitcore.{unique}` for a promoted local. A leading `\1` (no
/// mangling) is dropped, so `\1L...` names do not stay assembler-private on
/// Mach-O, and a name starting with `.L` (assembler-private on ELF) gets a
/// `_` in front.
fn promoted_name(old: &[u8], unique: &str) -> Vec<u8> {
    let old = old.strip_prefix(b"\x01").unwrap_or(old);
    let mut out = Vec::with_capacity(old.len() + unique.len() + 10);
    if old.starts_with(b".L") {
        out.push(b'_');
    }
    out.extend_from_slice(old);
    out.extend_from_slice(b".jitcore.");
    out.extend_from_slice(unique.as_bytes());
    out
}
