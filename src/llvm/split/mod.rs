//! Splits a module into one partition per function, for lazy compilation.
//!
//! A lazily added module is split on demand: its prepared IR stays in
//! memory, and only the partitions whose functions are called (and the
//! globals partition, when something needs it) are ever written as bitcode.
//!
//! How:
//! * The module is checked (what we refuse to split is listed in `refusal`
//!   and `eager_functions`) and prepared in place (`prepare`): local symbols
//!   are promoted, linkonce becomes weak, comdats and `llvm.used` go. It is
//!   the split's own from then on, with its context: cloning leaves garbage
//!   in a context (LLVM frees constants and metadata only with it), which
//!   goes with the split.
//! * The globals partition is copied out (every function body parked, see
//!   `Parked`, so the copy has none but the eager ones); the module itself
//!   becomes the root of a bisection tree (`tree.rs`), in memory, behind a
//!   lock.
//! * A function's partition is made when it is first asked for: the node of
//!   the tree holding its body is cloned with every other body parked (so
//!   the copy has this one body and, once the unused declarations are
//!   deleted, exactly what it uses), the copy is renamed and written out,
//!   and the node drops the body. A node that gave out a few partitions
//!   this way is bisected first: it is cloned with the second half of its
//!   bodies parked, then drops the first half, and both halves wait in
//!   memory, unsplit, until one of their functions is asked for. Copying
//!   a partition straight out costs in proportion to the node's size (cheap
//!   per function: parking and declarations only), bisecting copies half of
//!   the node's bodies; so the first calls into a large module cost a few
//!   linear passes over declarations, and a program that calls every
//!   function still costs O(N log N) in the size of the bodies (cloning
//!   the module once per function would be O(N^2)).
//! * A partition depends only on the module and the function, not on the
//!   node it was copied from (a node holds everything its bodies use, in
//!   the module's order, and a copy drops whatever its body does not use):
//!   the partitions are the same bitcode whatever order functions are
//!   called in, so a warm disk cache serves them in every session.
//!
//! What the partitions look like (CompileOnDemandLayer's rules, adapted):
//! * local globals and functions are promoted to hidden external symbols named
//!   `{old}.jitcore.{unique}`, unnamed ones are named `anon.{n}.jitcore.{unique}`,
//!   so any partition can refer to them;
//! * linkonce definitions become weak (nobody may drop them), comdats are dropped
//!   (members of one comdat end up in different objects; each keeps its own weak
//!   linkage), `llvm.used`/`llvm.compiler.used` are deleted, available_externally
//!   functions become declarations;
//! * the partition of `f` defines its body as the hidden `f.jitcore.body`; uses
//!   of `f` inside it go to a declaration of `f` (the lazy stub), so `&f` is the
//!   same everywhere; everything else in it is a declaration;
//! * the globals partition defines every global variable, alias and ifunc, plus
//!   the functions that must live next to them (see [`Split::globals`]);
//! * debug info: each partition keeps its compile unit, but only the globals
//!   partition keeps the unit's lists of globals, enums, retained types,
//!   imported entities and macros (`trim_compile_units`).

mod debuginfo;
mod declarations;
mod parked;
mod plan;
mod prepare;
mod refusal;
#[cfg(test)]
mod tests;
mod tree;

use llvm_sys::core::*;
use llvm_sys::{LLVMLinkage, LLVMVisibility};

use self::declarations::{collect_garbage, make_declaration};
use self::parked::Parked;
use self::plan::{has_global_definitions, Context, Node, Part, Plan};
use self::prepare::{prepare, strip_local_names};
use self::refusal::{eager_functions, llvm_asserts_on_null_setters, refusal};
pub use self::tree::{FunctionInfo, GlobalsInfo, LazySplit};
use super::ir::{declarations_of, defined_symbols_of, functions, is_weak, raw_name, IrModule};
use crate::error::Result;

/// The suffix of a function body's symbol behind its lazy stub (hidden:
/// only the stub's call-through reaches it).
pub const BODY_SUFFIX: &str = ".jitcore.body";

/// One function definition of a split module, written (tests).
#[cfg(test)]
#[derive(Clone, Debug)]
pub struct FunctionPartition {
    /// The name callers use (the lazy stub will be defined under this name).
    pub name: String,
    /// The name the body is defined under in `bitcode`: `{name}.jitcore.body`,
    /// hidden visibility.
    pub body: String,
    /// Flags of the original definition as callers see it (exported = not
    /// hidden, weak = linkonce/weak).
    pub exported: bool,
    pub weak: bool,
    pub bitcode: Vec<u8>,
}

/// A module split for lazy compilation, every partition written (tests).
#[cfg(test)]
#[derive(Clone, Debug)]
pub struct Split {
    /// Every global variable, alias and ifunc definition, in one module (None
    /// if there are none). It may also define functions under their own names
    /// (they are then not in `functions`): alias targets, ifunc resolvers and
    /// functions whose label addresses (`blockaddress`) appear in global
    /// initializers, which must be in the same object as what refers to them.
    /// Its symbols are what `IrModule::defined_symbols` reports for it.
    pub globals: Option<Vec<u8>>,
    /// One partition per (other) function definition.
    pub functions: Vec<FunctionPartition>,
}

/// Splits `ir` for lazy compilation (see the module documentation): takes
/// it over, with its context, and returns the split, whose partitions are
/// written when asked for.
///
/// `unique` is a string no other live module of the session uses (jitcore
/// derives it from the module's content, see `session/lazy.rs`); promoted
/// local symbols are renamed `{old}.jitcore.{unique}` (unnamed ones
/// `anon.{n}.jitcore.{unique}`), with external linkage and hidden visibility.
///
/// Hands `ir` back untouched, with the reason, when it cannot be split
/// safely; the caller then compiles it whole. The cases are listed in
/// `refusal` and `eager_functions`. On Err, `ir` is gone.
pub fn split_lazily(ir: IrModule, unique: &str) -> Result<std::result::Result<LazySplit, (IrModule, Refusal)>> {
    if llvm_asserts_on_null_setters() {
        return Ok(Err((
            ir,
            "this LLVM is built with assertions; clearing an initializer or personality through LLVM-C would abort",
        )));
    }
    let m = ir.as_raw();
    // SAFETY: `m` is the live module of `ir`, which we hold exclusively and
    // use from this thread only; the checks only read it.
    let eager = unsafe {
        if let Some(why) = refusal(m, unique) {
            return Ok(Err((ir, why)));
        }
        match eager_functions(m) {
            Ok(eager) => eager,
            Err(why) => return Ok(Err((ir, why))),
        }
    };
    let module_name = ir.name();
    let (ctx, m) = ir.into_raw();
    // Declared in this order, the root is disposed before its context on
    // every way out; the tree takes both over.
    let ctx = Context(ctx);
    let root = Node(m);
    // SAFETY: `m` is live, ours alone (taken over from `ir` with its context),
    // and used from this thread only. Its functions are parked only while
    // the globals partition is cloned; the copy lives in the same context
    // and goes to the tree with it.
    unsafe {
        // Local value names are never needed: copies are made without them.
        LLVMContextSetDiscardValueNames(ctx.0, 1);
        strip_local_names(m);
        prepare(m, unique);
        for f in functions(m) {
            if LLVMIsDeclaration(f) == 0 && LLVMGetLinkage(f) == LLVMLinkage::LLVMAvailableExternallyLinkage {
                make_declaration(f);
            }
        }
        let mut plan = Plan { module_name: module_name.clone(), parts: Vec::new(), eager: Vec::new() };
        for f in functions(m) {
            if LLVMIsDeclaration(f) != 0 {
                continue;
            }
            let ir_name = raw_name(f);
            if eager.contains(&f) {
                plan.eager.push(ir_name);
                continue;
            }
            let name = String::from_utf8_lossy(ir_name.strip_prefix(b"\x01").unwrap_or(&ir_name)).into_owned();
            plan.parts.push(Part {
                ir_name,
                name,
                exported: LLVMGetVisibility(f) != LLVMVisibility::LLVMHiddenVisibility,
                weak: is_weak(LLVMGetLinkage(f)),
            });
        }
        let has_globals = has_global_definitions(m) || !plan.eager.is_empty();
        let all: Vec<usize> = (0..plan.parts.len()).collect();
        let globals = if has_globals {
            // A copy with no bodies but the eager ones.
            let parked = Parked::park(m, &all, |m, i| plan.lookup(m, &plan.parts[i].ir_name))?;
            let copy = Node(LLVMCloneModule(m));
            parked.restore();
            collect_garbage(copy.0);
            Some(copy)
        } else {
            None
        };
        let globals_info =
            globals.as_ref().map(|g| GlobalsInfo { symbols: defined_symbols_of(g.0), refs: declarations_of(g.0) });
        plan.function_tree_root(m)?;
        let functions = plan
            .parts
            .iter()
            .map(|p| FunctionInfo {
                name: p.name.clone(),
                body: format!("{}{BODY_SUFFIX}", p.name),
                exported: p.exported,
                weak: p.weak,
            })
            .collect();
        let tree = tree::Tree::new(ctx, plan, root, globals);
        Ok(Ok(LazySplit { module_name, functions, globals: globals_info, tree: std::sync::Mutex::new(tree) }))
    }
}

/// Splits a copy of `ir` and writes every partition, in module order
/// (what the tests look at); `None` when it cannot be split.
#[cfg(test)]
pub fn split(ir: &mut IrModule, unique: &str) -> Result<Option<Split>> {
    let copy = IrModule::parse(&ir.name(), &ir.bitcode())?;
    let Ok(lazy) = split_lazily(copy, unique)? else { return Ok(None) };
    lazy.write_all(None)
}

#[cfg(test)]
impl LazySplit {
    /// Every partition, functions asked for in `order` (module order
    /// without), listed in module order.
    pub(super) fn write_all(&self, order: Option<&[usize]>) -> Result<Option<Split>> {
        let n = self.functions.len();
        let order: Vec<usize> = order.map_or_else(|| (0..n).collect(), <[usize]>::to_vec);
        for &i in &order {
            self.function_bitcode(i)?;
        }
        let functions = self
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Ok(FunctionPartition {
                    name: f.name.clone(),
                    body: f.body.clone(),
                    exported: f.exported,
                    weak: f.weak,
                    bitcode: self.function_bitcode(i)?.to_vec(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let globals = self.globals_bitcode()?.map(|b| b.to_vec());
        Ok(Some(Split { globals, functions }))
    }
}

/// Why a module is not split.
pub type Refusal = &'static str;
