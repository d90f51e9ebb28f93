//! The plan of a split and the operations its tree is made of: the root of
//! the bisection, dropping bodies from a node, and the leaf (one function's
//! partition) made from a copy of a node.

use std::ptr;

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::transforms::pass_builder::{LLVMCreatePassBuilderOptions, LLVMDisposePassBuilderOptions, LLVMRunPasses};
use llvm_sys::{LLVMLinkage, LLVMVisibility};

use super::debuginfo::trim_compile_units;
use super::declarations::{collect_garbage, copy_function_attributes, declaration_like, make_declaration};
use super::BODY_SUFFIX;
use crate::error::{Error, Result};
#[cfg(debug_assertions)]
use crate::llvm::ir::verify_module;
use crate::llvm::ir::{aliases, bitcode_of, globals, ifuncs, raw_name, set_raw_name};
use crate::llvm::take_error;

/// What the split produces, decided once on the prepared module.
pub(super) struct Plan {
    pub(super) module_name: String,
    /// The function definitions that get partitions of their own.
    pub(super) parts: Vec<Part>,
    /// The IR names of the functions defined in the globals partition.
    pub(super) eager: Vec<Vec<u8>>,
}

/// A function definition that gets a partition of its own.
pub(super) struct Part {
    /// Its IR name (with a leading `\1` if it has one), after promotion.
    pub(super) ir_name: Vec<u8>,
    /// Its symbol name (the IR name without `\1`).
    pub(super) name: String,
    pub(super) exported: bool,
    pub(super) weak: bool,
}

/// A module of the split's context, owned: disposed when dropped. Nodes
/// live in the split's private context (see `Context`) and are all dropped
/// before it.
pub(super) struct Node(pub(super) LLVMModuleRef);

impl Drop for Node {
    fn drop(&mut self) {
        // SAFETY: a node is a module nobody else refers to; it is disposed
        // once, while its context is alive (the tree that holds the nodes
        // drops its `Context` last, and a temporary node is dropped inside
        // the call that made it).
        unsafe { LLVMDisposeModule(self.0) }
    }
}

/// The private context of a split: disposed when dropped, after every
/// module in it (see `Node`).
pub(super) struct Context(pub(super) LLVMContextRef);

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: we own the context and dispose it once; no module in it
        // is left (see above).
        unsafe { LLVMContextDispose(self.0) }
    }
}

impl Plan {
    /// Turns `m` itself into the root of the bisection: every global
    /// variable, alias and ifunc becomes a declaration, as does every eager
    /// function (their definitions are in the globals partition).
    ///
    /// # Safety
    /// `m` must be a live module, prepared by `prepare`, that we hold exclusively.
    pub(super) unsafe fn function_tree_root(&self, m: LLVMModuleRef) -> Result<()> {
        for g in globals(m) {
            if LLVMIsDeclaration(g) == 0 {
                // SAFETY (null initializer): see `llvm_asserts_on_null_setters`.
                LLVMSetInitializer(g, ptr::null_mut());
                LLVMSetLinkage(g, LLVMLinkage::LLVMExternalLinkage);
                LLVMGlobalClearMetadata(g);
            }
        }
        let aliases = aliases(m);
        for &a in &aliases {
            let decl = declaration_like(m, a, LLVMAliasGetAliasee(a));
            LLVMReplaceAllUsesWith(a, decl);
            // Now unused: made discardable and removed by globaldce below
            // (LLVM-C cannot erase an alias itself).
            LLVMSetLinkage(a, LLVMLinkage::LLVMInternalLinkage);
            LLVMSetVisibility(a, LLVMVisibility::LLVMDefaultVisibility);
        }
        for i in ifuncs(m) {
            let decl = declaration_like(m, i, LLVMGetGlobalIFuncResolver(i));
            LLVMReplaceAllUsesWith(i, decl);
            LLVMEraseGlobalIFunc(i);
        }
        for name in &self.eager {
            make_declaration(self.lookup(m, name)?);
        }
        trim_compile_units(m);
        if !aliases.is_empty() {
            self.run_globaldce(m)?;
            if !LLVMGetFirstGlobalAlias(m).is_null() {
                return Err(Error::internal(format!(
                    "splitting module '{}': an alias survived globaldce",
                    self.module_name
                )));
            }
        }
        collect_garbage(m);
        Ok(())
    }

    /// Turns the bodies of `drop` in `node` into declarations and deletes the
    /// declarations that became unused.
    ///
    /// # Safety
    /// `node` must be a live module of this split that we hold exclusively.
    pub(super) unsafe fn keep_only(&self, node: &Node, drop: &[usize]) -> Result<()> {
        for &i in drop {
            make_declaration(self.lookup(node.0, &self.parts[i].ir_name)?);
        }
        collect_garbage(node.0);
        Ok(())
    }

    /// Renames the one body in `node` (a copy made for this partition, its
    /// unused declarations deleted) and writes its partition.
    pub(super) fn leaf(&self, node: Node, part: &Part) -> Result<Vec<u8>> {
        let body = format!("{}{BODY_SUFFIX}", part.name);
        let mut body_ir_name = part.ir_name.clone();
        body_ir_name.extend_from_slice(BODY_SUFFIX.as_bytes());
        // SAFETY: node is a live module of this split holding exactly this
        // body; we hold it exclusively. The new declaration has the body's
        // function type and address space (checked), so replacing the body's
        // uses with it keeps the IR well typed.
        unsafe {
            let f = self.lookup(node.0, &part.ir_name)?;
            set_raw_name(f, &body_ir_name);
            if raw_name(f) != body_ir_name {
                return Err(Error::internal(format!(
                    "splitting module '{}': the name '{body}' is taken",
                    self.module_name
                )));
            }
            LLVMSetVisibility(f, LLVMVisibility::LLVMHiddenVisibility);
            if !LLVMGetFirstUse(f).is_null() {
                // Recursion and `&f` inside the body must reach the stub.
                let stub = LLVMAddFunction(node.0, c"".as_ptr(), LLVMGlobalGetValueType(f));
                set_raw_name(stub, &part.ir_name);
                if LLVMTypeOf(stub) != LLVMTypeOf(f) || raw_name(stub) != part.ir_name {
                    return Err(Error::internal(format!(
                        "splitting module '{}': cannot declare '{}' next to its body",
                        self.module_name, part.name
                    )));
                }
                copy_function_attributes(f, stub);
                let visibility = if part.exported {
                    LLVMVisibility::LLVMDefaultVisibility
                } else {
                    LLVMVisibility::LLVMHiddenVisibility
                };
                LLVMSetVisibility(stub, visibility);
                LLVMReplaceAllUsesWith(f, stub);
            }
        }
        self.finish(&node, &part.name)
    }

    /// The function named `ir_name` in `m`.
    ///
    /// # Safety
    /// `m` must be a live module.
    pub(super) unsafe fn lookup(&self, m: LLVMModuleRef, ir_name: &[u8]) -> Result<LLVMValueRef> {
        let f = LLVMGetNamedFunctionWithLength(m, ir_name.as_ptr().cast(), ir_name.len());
        if f.is_null() {
            return Err(Error::internal(format!(
                "splitting module '{}': function '{}' went missing",
                self.module_name,
                String::from_utf8_lossy(ir_name)
            )));
        }
        Ok(f)
    }

    /// Verifies a finished partition (debug builds) and returns its bitcode.
    pub(super) fn finish(&self, node: &Node, what: &str) -> Result<Vec<u8>> {
        #[cfg(debug_assertions)]
        // SAFETY: the module is live and only this thread uses it.
        if let Err(text) = unsafe { verify_module(node.0) } {
            return Err(Error::internal(format!(
                "splitting module '{}': partition '{what}' does not verify: {text}",
                self.module_name
            )));
        }
        #[cfg(not(debug_assertions))]
        let _ = what;
        // SAFETY: the module is live and only this thread uses it.
        Ok(unsafe { bitcode_of(node.0) })
    }

    /// Runs GlobalDCE, which erases the (now internal and unused) aliases.
    ///
    /// # Safety
    /// `m` must be a live module that we hold exclusively.
    unsafe fn run_globaldce(&self, m: LLVMModuleRef) -> Result<()> {
        let opts = LLVMCreatePassBuilderOptions();
        let err = LLVMRunPasses(m, c"globaldce".as_ptr(), ptr::null_mut(), opts);
        LLVMDisposePassBuilderOptions(opts);
        match take_error(err) {
            None => Ok(()),
            Some(msg) => {
                Err(Error::internal(format!("splitting module '{}': globaldce failed: {msg}", self.module_name)))
            }
        }
    }
}

/// Whether `m` defines a global variable (other than available_externally),
/// an alias or an ifunc.
///
/// # Safety
/// `m` must be a live module.
pub(super) unsafe fn has_global_definitions(m: LLVMModuleRef) -> bool {
    globals(m)
        .into_iter()
        .any(|g| LLVMIsDeclaration(g) == 0 && LLVMGetLinkage(g) != LLVMLinkage::LLVMAvailableExternallyLinkage)
        || !LLVMGetFirstGlobalAlias(m).is_null()
        || !LLVMGetFirstGlobalIFunc(m).is_null()
}
