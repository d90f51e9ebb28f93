//! What cannot be split safely: the checks made before the module is
//! changed, and the functions that must stay next to the globals.

use std::collections::HashSet;

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMLinkage, LLVMTypeKind};

use super::{Refusal, BODY_SUFFIX};
use crate::llvm::ir::{aliases, basic_blocks, for_each_global, functions, ifuncs, raw_name, users};

/// Whether LLVM-C would abort on the NULL arguments the split passes to
/// `LLVMSetInitializer`, `LLVMSetPersonalityFn`, `LLVMSetPrefixData`,
/// `LLVMSetPrologueData` and `LLVMReplaceMDNodeOperandWith`.
///
/// Those functions pass their argument through `cast<>`, which asserts it is
/// not NULL when LLVM is built with assertions; without them (release and
/// distribution builds, `llvm-config --assertion-mode` OFF) it is a plain
/// pointer conversion and the C++ setters take NULL as "remove", which is
/// what we need. LLVM-C has no other way to remove any of these. If LLVM has
/// assertions, we do not split.
///
/// This is decided at build time: `build.rs` runs `llvm-config
/// --assertion-mode` and sets cfg `jitcore_llvm_assertions` when it prints ON
/// (or when it cannot tell). A run-time look-up of the symbol
/// `llvm::EnableABIBreakingChecks` with `dlsym(RTLD_DEFAULT)` sees nothing
/// when libjitcore is loaded with RTLD_LOCAL (Python ctypes, Go, plugin
/// loaders).
pub(super) fn llvm_asserts_on_null_setters() -> bool {
    cfg!(jitcore_llvm_assertions)
}

/// The reasons not to split a module that can be seen without analysis.
/// (The blockaddress and alias cases are in `eager_functions`.)
///
/// # Safety
/// `m` must be a live module.
pub(super) unsafe fn refusal(m: LLVMModuleRef, unique: &str) -> Option<Refusal> {
    let mut len = 0usize;
    let asm = LLVMGetModuleInlineAsm(m, &mut len);
    if !asm.is_null() && len > 0 {
        // Module asm would be copied into every partition, and it may define
        // symbols no partition's symbol table shows.
        return Some("module-level inline asm");
    }
    for name in [c"llvm.localescape", c"llvm.localrecover"] {
        if !LLVMGetNamedFunction(m, name.as_ptr()).is_null() {
            // Frame-escape labels are named after the escaping function, which
            // is renamed to its body name in its partition.
            return Some("llvm.localescape / llvm.localrecover");
        }
    }
    let ours = format!(".jitcore.{unique}");
    let mut refuse = None;
    for_each_global(m, |v, _| {
        let name = raw_name(v);
        if contains(&name, ours.as_bytes()) || name.ends_with(BODY_SUFFIX.as_bytes()) {
            // Our new names could collide with existing ones.
            refuse = Some("a global value already has a name of the kind the split gives");
        }
        let is_function = !LLVMIsAFunction(v).is_null()
            || (LLVMIsAGlobalVariable(v).is_null()
                && LLVMGetTypeKind(LLVMGlobalGetValueType(v)) == LLVMTypeKind::LLVMFunctionTypeKind);
        if is_function && LLVMGetPointerAddressSpace(LLVMTypeOf(v)) != 0 {
            // Declarations made with LLVMAddFunction land in the data
            // layout's program address space; keep to the common case.
            refuse = Some("a function outside address space 0");
        }
    });
    refuse
}

/// The functions that must be defined in the globals partition instead of in
/// partitions of their own, or why the module cannot be split:
/// * alias targets and ifunc resolvers (an alias needs a definition next to
///   it, and so does an ifunc);
/// * functions whose `blockaddress` is used in a global initializer (or an
///   alias), since the constant needs the body in the same module.
///
/// Refuses when a `blockaddress` of one function is used by another function
/// (whose partition would not have the blocks), or when an alias
/// or ifunc refers to an available_externally function (no definition to place
/// next to it).
///
/// # Safety
/// `m` must be a live module.
pub(super) unsafe fn eager_functions(m: LLVMModuleRef) -> std::result::Result<HashSet<LLVMValueRef>, Refusal> {
    let mut eager = HashSet::new();
    for f in functions(m) {
        for bb in basic_blocks(f) {
            for user in users(LLVMBasicBlockAsValue(bb)) {
                if !LLVMIsABlockAddress(user).is_null() {
                    let mut seen = HashSet::new();
                    match where_used(user, f, &mut seen) {
                        Err(why) => return Err(why),
                        Ok(true) => {
                            eager.insert(f);
                        }
                        Ok(false) => {}
                    }
                }
            }
        }
    }
    let mut targets = Vec::new();
    for a in aliases(m) {
        targets.push(LLVMAliasGetAliasee(a));
    }
    for i in ifuncs(m) {
        targets.push(LLVMGetGlobalIFuncResolver(i));
    }
    let mut seen = HashSet::new();
    for target in targets {
        let mut found = Vec::new();
        functions_in(target, &mut found, &mut seen);
        for f in found {
            if LLVMGetLinkage(f) == LLVMLinkage::LLVMAvailableExternallyLinkage {
                return Err("an alias or ifunc refers to an available_externally function");
            }
            if LLVMIsDeclaration(f) == 0 {
                eager.insert(f);
            }
        }
    }
    Ok(eager)
}

/// Follows the users of constant `c` (a blockaddress of `f`, or a constant
/// built on one) to where they end: Ok(true) if one is a global variable's
/// initializer (or an aliasee), Ok(false) if all are instructions of `f` or
/// dead, Err if another function uses it.
///
/// # Safety
/// `c` must be a live constant; `f` a live function.
unsafe fn where_used(
    c: LLVMValueRef,
    f: LLVMValueRef,
    seen: &mut HashSet<LLVMValueRef>,
) -> std::result::Result<bool, Refusal> {
    let mut in_global = false;
    for user in users(c) {
        if !LLVMIsAInstruction(user).is_null() {
            if LLVMGetBasicBlockParent(LLVMGetInstructionParent(user)) != f {
                return Err("a blockaddress of one function is used by another function");
            }
        } else if !LLVMIsAFunction(user).is_null() {
            // Prefix, prologue or personality of a function: it would need the
            // blocks in its own partition.
            return Err("a blockaddress is used by a function's prefix, prologue or personality");
        } else if !LLVMIsAGlobalValue(user).is_null() {
            in_global = true;
        } else if seen.insert(user) {
            in_global |= where_used(user, f, seen)?;
        }
    }
    Ok(in_global)
}

/// Collects the functions that constant `c` refers to directly or through
/// constant expressions (not through other global values).
///
/// # Safety
/// `c` must be NULL or a live constant.
unsafe fn functions_in(c: LLVMValueRef, out: &mut Vec<LLVMValueRef>, seen: &mut HashSet<LLVMValueRef>) {
    if c.is_null() || !seen.insert(c) {
        return;
    }
    if !LLVMIsAFunction(c).is_null() {
        out.push(c);
    } else if !LLVMIsABlockAddress(c).is_null() {
        // Its operand is a basic block, not a constant; `eager_functions`
        // handles blockaddresses.
    } else if LLVMIsAGlobalValue(c).is_null() && !LLVMIsAConstant(c).is_null() {
        for i in 0..LLVMGetNumOperands(c).max(0) as u32 {
            functions_in(LLVMGetOperand(c, i), out, seen);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    /// Issue 8.8: the assertion mode is the build-time answer of the LLVM
    /// jitcore links, whatever way the library is loaded (no dlsym probe,
    /// which sees nothing under RTLD_LOCAL). This LLVM's llvm-config must
    /// agree with it now.
    #[test]
    fn assertion_mode_is_llvm_configs() {
        let prefix = std::env::var("LLVM_SYS_221_PREFIX").unwrap_or_else(|_| "/usr/lib/llvm-22".to_string());
        let out = std::process::Command::new(std::path::Path::new(&prefix).join("bin/llvm-config"))
            .arg("--assertion-mode")
            .output()
            .expect("llvm-config runs");
        let mode = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(super::llvm_asserts_on_null_setters(), mode != "OFF", "llvm-config says {mode}");
    }
}
