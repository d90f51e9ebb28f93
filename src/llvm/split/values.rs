//! Low-level value and global helpers of the split.

use llvm_sys::core::*;
use llvm_sys::prelude::*;

pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The name of a value as bytes (empty for unnamed values).
///
/// # Safety
/// `v` must be a live value.
pub(super) unsafe fn raw_name(v: LLVMValueRef) -> Vec<u8> {
    let mut len = 0usize;
    let p = LLVMGetValueName2(v, &mut len);
    if p.is_null() || len == 0 {
        return Vec::new();
    }
    std::slice::from_raw_parts(p.cast::<u8>(), len).to_vec()
}

/// Renames a value (LLVM adds a suffix if the name is taken).
///
/// # Safety
/// `v` must be a live value.
pub(super) unsafe fn set_raw_name(v: LLVMValueRef, name: &[u8]) {
    LLVMSetValueName2(v, name.as_ptr().cast(), name.len());
}

/// The users of `v`, one entry per use.
///
/// # Safety
/// `v` must be a live value.
pub(super) unsafe fn users(v: LLVMValueRef) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    let mut u = LLVMGetFirstUse(v);
    while !u.is_null() {
        out.push(LLVMGetUser(u));
        u = LLVMGetNextUse(u);
    }
    out
}

/// Collects a module's list of values first, so callers may change or delete
/// the values while they go through it.
///
/// # Safety
/// `m` must be a live module; `first`/`next` an LLVM-C iterator pair over it.
pub(super) unsafe fn list(
    m: LLVMModuleRef,
    first: unsafe extern "C" fn(LLVMModuleRef) -> LLVMValueRef,
    next: unsafe extern "C" fn(LLVMValueRef) -> LLVMValueRef,
) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    let mut v = first(m);
    while !v.is_null() {
        out.push(v);
        v = next(v);
    }
    out
}

/// # Safety
/// `m` must be a live module.
pub(super) unsafe fn functions(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(m, LLVMGetFirstFunction, LLVMGetNextFunction)
}

/// # Safety
/// `m` must be a live module.
pub(super) unsafe fn globals(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(m, LLVMGetFirstGlobal, LLVMGetNextGlobal)
}

/// # Safety
/// `m` must be a live module.
pub(super) unsafe fn aliases(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(m, LLVMGetFirstGlobalAlias, LLVMGetNextGlobalAlias)
}

/// # Safety
/// `m` must be a live module.
pub(super) unsafe fn ifuncs(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(m, LLVMGetFirstGlobalIFunc, LLVMGetNextGlobalIFunc)
}

/// Calls `f` on every global value of `m`: functions, variables, aliases, ifuncs.
///
/// # Safety
/// `m` must be a live module; `f` must not delete values.
pub(super) unsafe fn for_each_global_value(m: LLVMModuleRef, mut f: impl FnMut(LLVMValueRef)) {
    for v in functions(m).into_iter().chain(globals(m)).chain(aliases(m)).chain(ifuncs(m)) {
        f(v);
    }
}
