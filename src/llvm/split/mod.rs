//! Splits a module into one partition per function, for lazy compilation.
//!
//! A lazily added module is split once; each partition is kept as bitcode and
//! only the partitions whose functions are called get parsed and compiled.
//!
//! How:
//! * The module is checked (what we refuse to split is listed in `refusal`
//!   and `eager_functions`) and prepared in place (`prepare`): local symbols
//!   are promoted, linkonce becomes weak, comdats and `llvm.used` go.
//! * Its bitcode is read back into a private context per splitting thread
//!   (two for large modules, each with the bodies of one half of the
//!   functions): cloning leaves garbage in a context (LLVM frees constants and
//!   metadata only with it), which must not stay in the caller's context.
//! * There the globals partition is copied out, the rest becomes the root of
//!   a recursive bisection: a node (a module holding the bodies of a range of
//!   functions) is cloned with the second half of its bodies "parked" (moved
//!   out of their functions for the moment, see `Parked`), so the clone has
//!   the first half only; the node then drops the first half, declarations
//!   nobody uses any more are deleted, and both halves recurse. A leaf (one
//!   body) is written out as bitcode. Every level copies half of the bodies
//!   once and deletes the other half once, so the split is O(N log N) in the
//!   size of the bodies (and of what they reference), where cloning the
//!   module once per function would be O(N^2).
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

use llvm_sys::bit_writer::LLVMWriteBitcodeToMemoryBuffer;
use llvm_sys::core::*;
use llvm_sys::{LLVMLinkage, LLVMVisibility};

use self::declarations::make_declaration;
use self::parked::Parked;
use self::plan::{has_global_definitions, Part, Plan};
use self::prepare::prepare;
use self::refusal::{eager_functions, llvm_asserts_on_null_setters, refusal};
use super::buffer::MemoryBuffer;
use super::ir::{functions, is_weak, raw_name, IrModule};
use crate::error::Result;

/// The suffix of a function body's symbol behind its lazy stub (hidden:
/// only the stub's call-through reaches it).
pub const BODY_SUFFIX: &str = ".jitcore.body";

/// One function definition of a split module.
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

/// A module split for lazy compilation.
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

/// Splits `ir` into a globals partition and one partition per function.
///
/// `unique` is a string no other live module of the session uses (jitcore
/// derives it from the module's content, see `session/lazy.rs`); promoted
/// local symbols are renamed `{old}.jitcore.{unique}` (unnamed ones
/// `anon.{n}.jitcore.{unique}`), with external linkage and hidden visibility.
///
/// Returns Ok(None), leaving `ir` untouched, when the module cannot be split
/// safely; the caller then compiles it whole. The cases are listed in
/// `refusal` and `eager_functions`. After Ok(Some) or Err, `ir` has been
/// changed and must not be compiled.
///
/// Large modules are split on two new threads, one per half of the functions.
pub fn split(ir: &mut IrModule, unique: &str) -> Result<Option<Split>> {
    Ok(split_or_refuse(ir, unique)?.ok())
}

/// Why a module is not split.
pub(super) type Refusal = &'static str;

/// Below this many function partitions, two threads cost more than they save.
const PARALLEL_MIN_FUNCTIONS: usize = 128;

fn split_or_refuse(ir: &mut IrModule, unique: &str) -> Result<std::result::Result<Split, Refusal>> {
    if llvm_asserts_on_null_setters() {
        return Ok(Err(
            "this LLVM is built with assertions; clearing an initializer or personality through LLVM-C would abort",
        ));
    }
    let m = ir.as_raw();
    // SAFETY: `m` is the live module of `ir`, which we hold exclusively for the
    // whole call and use from this thread only. Its functions are parked only
    // while its bitcode is written. The splitting threads touch none of this
    // context's objects: they get bitcode bytes and make contexts of their own.
    unsafe {
        if let Some(why) = refusal(m, unique) {
            return Ok(Err(why));
        }
        let eager = match eager_functions(m) {
            Ok(eager) => eager,
            Err(why) => return Ok(Err(why)),
        };
        // From here on the module is changed.
        prepare(m, unique);
        for f in functions(m) {
            if LLVMIsDeclaration(f) == 0 && LLVMGetLinkage(f) == LLVMLinkage::LLVMAvailableExternallyLinkage {
                make_declaration(f);
            }
        }
        let mut plan = Plan { module_name: ir.name(), parts: Vec::new(), eager: Vec::new() };
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
        let parallel =
            all.len() >= PARALLEL_MIN_FUNCTIONS && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        // The rest happens in private contexts, from the prepared module's
        // bitcode: the clones of the bisection leave garbage behind (LLVM
        // frees constants and metadata only with their context), which must
        // not stay in the caller's context for the module's lifetime.
        if !parallel {
            let bitcode = MemoryBuffer::from_raw(LLVMWriteBitcodeToMemoryBuffer(m));
            let (globals, functions) = plan.split_in_new_context(bitcode.bytes(), &all, has_globals)?;
            return Ok(Ok(Split { globals, functions }));
        }
        // Two new threads (whose allocations do not compete in the main
        // arena, where the caller's module lives), each with the bodies of
        // one half (the other half parked while its bitcode is written); the
        // second also writes the globals partition.
        let (first, second) = all.split_at(all.len() / 2);
        let without = |parts: &[usize]| -> Result<MemoryBuffer> {
            let parked = Parked::park(m, parts, |m, i| plan.lookup(m, &plan.parts[i].ir_name))?;
            let bitcode = MemoryBuffer::from_raw(LLVMWriteBitcodeToMemoryBuffer(m));
            parked.restore();
            Ok(bitcode)
        };
        let plan = &plan;
        std::thread::scope(|scope| {
            let second_bitcode = without(first)?;
            let second_half =
                scope.spawn(move || plan.split_in_new_context(second_bitcode.bytes(), second, has_globals));
            // The first half's bitcode is written while the second half's
            // thread starts.
            let first_bitcode = without(second)?;
            let first_half = scope.spawn(move || plan.split_in_new_context(first_bitcode.bytes(), first, false));
            let join = |half: std::thread::ScopedJoinHandle<'_, _>| {
                half.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            };
            let second_out: Result<(Option<Vec<u8>>, Vec<FunctionPartition>)> = join(second_half);
            let (_, mut functions) = join(first_half)?;
            let (globals, rest) = second_out?;
            functions.extend(rest);
            Ok(Ok(Split { globals, functions }))
        })
    }
}
