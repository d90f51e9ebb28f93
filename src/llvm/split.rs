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

use std::collections::HashSet;
use std::ptr;

#[cfg(debug_assertions)]
use llvm_sys::analysis::{LLVMVerifierFailureAction, LLVMVerifyModule};
use llvm_sys::bit_writer::LLVMWriteBitcodeToMemoryBuffer;
use llvm_sys::comdat::LLVMSetComdat;
use llvm_sys::core::*;
use llvm_sys::debuginfo::{LLVMGetMetadataKind, LLVMMetadataKind};
use llvm_sys::ir_reader::LLVMParseIRInContext2;
use llvm_sys::prelude::*;
use llvm_sys::transforms::pass_builder::{LLVMCreatePassBuilderOptions, LLVMDisposePassBuilderOptions, LLVMRunPasses};
use llvm_sys::{LLVMAttributeFunctionIndex, LLVMAttributeReturnIndex, LLVMLinkage, LLVMTypeKind, LLVMVisibility};

use super::buffer::MemoryBuffer;
use super::ir::{is_local, is_weak, IrModule};
use super::{take_error, take_message};
use crate::error::{Error, Result};

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
/// `unique` is a string unique to this module within the process; promoted
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
type Refusal = &'static str;

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
            let parked = Parked::park(&plan, m, parts)?;
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

/// What the split produces, decided once on the prepared module; shared by
/// both threads.
struct Plan {
    module_name: String,
    /// The function definitions that get partitions of their own.
    parts: Vec<Part>,
    /// The IR names of the functions defined in the globals partition.
    eager: Vec<Vec<u8>>,
}

/// A function definition that gets a partition of its own.
struct Part {
    /// Its IR name (with a leading `\1` if it has one), after promotion.
    ir_name: Vec<u8>,
    /// Its symbol name (the IR name without `\1`).
    name: String,
    exported: bool,
    weak: bool,
}

/// A module of the bisection tree, owned: disposed when dropped. Nodes
/// live in a private context (see `Context`) and are all dropped before it.
struct Node(LLVMModuleRef);

impl Drop for Node {
    fn drop(&mut self) {
        // SAFETY: a node is a module nobody else refers to; it is disposed
        // once, while its context is alive (nodes never leave
        // `split_in_new_context`, which drops its `Context` last).
        unsafe { LLVMDisposeModule(self.0) }
    }
}

/// Function bodies taken out of their module for a moment, so that a clone
/// (or the bitcode) of the module has them as plain declarations without
/// copying them. Their blocks are unlinked from the function (LLVM keeps an
/// unlinked block and its instructions alive, uses included) and everything a
/// declaration may not have is set aside: personality, prefix and prologue
/// data, metadata attachments, non-external linkage. Dropping the value puts
/// all of it back.
struct Parked {
    functions: Vec<ParkedFunction>,
}

struct ParkedFunction {
    f: LLVMValueRef,
    blocks: Vec<LLVMBasicBlockRef>,
    linkage: LLVMLinkage,
    personality: LLVMValueRef,
    prefix: LLVMValueRef,
    prologue: LLVMValueRef,
    metadata: Vec<(u32, LLVMMetadataRef)>,
}

impl Parked {
    /// Parks the bodies of `which` (definitions) in `m`.
    ///
    /// # Safety
    /// `m` must be a live module we hold exclusively, alive until the result
    /// is dropped. Until then `m` may only be cloned or written out: its
    /// parked functions look unused or bodiless, so deleting declarations
    /// (`collect_garbage`) or bodies in it would free values the parked
    /// blocks still use.
    unsafe fn park(plan: &Plan, m: LLVMModuleRef, which: &[usize]) -> Result<Parked> {
        let mut parked = Parked { functions: Vec::with_capacity(which.len()) };
        for &i in which {
            let f = plan.lookup(m, &plan.parts[i].ir_name)?;
            let mut blocks = Vec::new();
            let mut bb = LLVMGetFirstBasicBlock(f);
            while !bb.is_null() {
                blocks.push(bb);
                bb = LLVMGetNextBasicBlock(bb);
            }
            let mut metadata = Vec::new();
            let mut count = 0usize;
            let entries = LLVMGlobalCopyAllMetadata(f, &mut count);
            for k in 0..count as u32 {
                metadata.push((
                    LLVMValueMetadataEntriesGetKind(entries, k),
                    LLVMValueMetadataEntriesGetMetadata(entries, k),
                ));
            }
            if !entries.is_null() {
                LLVMDisposeValueMetadataEntries(entries);
            }
            let saved = ParkedFunction {
                f,
                blocks,
                linkage: LLVMGetLinkage(f),
                personality: if LLVMHasPersonalityFn(f) != 0 { LLVMGetPersonalityFn(f) } else { ptr::null_mut() },
                prefix: if LLVMHasPrefixData(f) != 0 { LLVMGetPrefixData(f) } else { ptr::null_mut() },
                prologue: if LLVMHasPrologueData(f) != 0 { LLVMGetPrologueData(f) } else { ptr::null_mut() },
                metadata,
            };
            for &bb in &saved.blocks {
                LLVMRemoveBasicBlockFromParent(bb);
            }
            strip_declaration(f);
            parked.functions.push(saved);
        }
        Ok(parked)
    }

    /// Puts the bodies back (the same as dropping the value).
    fn restore(self) {}
}

impl Drop for Parked {
    fn drop(&mut self) {
        // SAFETY: the functions and their unlinked blocks are alive: `park`'s
        // contract keeps the module alive and its parked values undeleted
        // until now, and unlinked blocks belong to nobody else. Each block
        // goes back, in order, to the function it came from; the saved
        // constants and metadata are the function's own (non-null ones only
        // are set back).
        unsafe {
            for p in self.functions.drain(..) {
                for bb in p.blocks {
                    LLVMAppendExistingBasicBlock(p.f, bb);
                }
                LLVMSetLinkage(p.f, p.linkage);
                if !p.personality.is_null() {
                    LLVMSetPersonalityFn(p.f, p.personality);
                }
                if !p.prefix.is_null() {
                    LLVMSetPrefixData(p.f, p.prefix);
                }
                if !p.prologue.is_null() {
                    LLVMSetPrologueData(p.f, p.prologue);
                }
                for (kind, md) in p.metadata {
                    LLVMGlobalSetMetadata(p.f, kind, md);
                }
            }
        }
    }
}

/// A private context of one splitting thread: disposed when dropped, after
/// every module in it (they are `Node`s created later, so dropped earlier).
struct Context(LLVMContextRef);

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: we created the context and dispose it once; no module in it
        // is left (see above).
        unsafe { LLVMContextDispose(self.0) }
    }
}

impl Plan {
    /// Parses the prepared module (`bitcode`, holding exactly the bodies of
    /// `ours` and the eager functions) into a context of its own, writes the
    /// globals partition from it if `globals`, and splits it.
    fn split_in_new_context(
        &self,
        bitcode: &[u8],
        ours: &[usize],
        globals: bool,
    ) -> Result<(Option<Vec<u8>>, Vec<FunctionPartition>)> {
        // SAFETY: the context is created here, used by this thread only and
        // disposed last (`ctx` is declared before every node, and nodes do not
        // leave this function); the buffer outlives the parse, which copies
        // what it needs.
        unsafe {
            let ctx = Context(super::diagnostics::new_context());
            // Local value names are never needed; without them cloning and
            // deleting bodies is cheaper.
            LLVMContextSetDiscardValueNames(ctx.0, 1);
            let buf = MemoryBuffer::copy_of(bitcode, &self.module_name)?;
            let mut raw = ptr::null_mut();
            let mut msg = ptr::null_mut();
            if LLVMParseIRInContext2(ctx.0, buf.as_raw(), &mut raw, &mut msg) != 0 || raw.is_null() {
                return Err(Error::internal(format!(
                    "splitting module '{}': cannot read the prepared module back: {}",
                    self.module_name,
                    take_message(msg)
                )));
            }
            drop(buf);
            let root = Node(raw);
            let globals = if globals {
                // A copy with no bodies but the eager ones.
                let parked = Parked::park(self, root.0, ours)?;
                let copy = Node(LLVMCloneModule(root.0));
                parked.restore();
                collect_garbage(copy.0);
                Some(self.finish(&copy, "<globals>")?)
            } else {
                None
            };
            self.function_tree_root(root.0)?;
            let mut out = Vec::with_capacity(ours.len());
            self.bisect(root, ours, &mut out)?;
            Ok((globals, out))
        }
    }

    /// Turns `m` itself into the root of the bisection: every global
    /// variable, alias and ifunc becomes a declaration, as does every eager
    /// function (their definitions are in the globals partition).
    ///
    /// # Safety
    /// `m` must be a live module, prepared by `prepare`, that we hold exclusively.
    unsafe fn function_tree_root(&self, m: LLVMModuleRef) -> Result<()> {
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

    /// Splits `node`, which holds exactly the bodies of `parts`, down to one
    /// body per module, appending the partitions to `out` in order.
    fn bisect(&self, node: Node, parts: &[usize], out: &mut Vec<FunctionPartition>) -> Result<()> {
        match parts.len() {
            0 => Ok(()),
            1 => {
                out.push(self.leaf(node, &self.parts[parts[0]])?);
                Ok(())
            }
            n => {
                let (first, second) = parts.split_at(n / 2);
                // SAFETY: node is a live module of this split holding the bodies
                // of `parts`; we hold it exclusively. The second half is parked
                // only while the first half is copied out, so the copy is half
                // the size; nothing else touches the module meanwhile.
                let other = unsafe {
                    let parked = Parked::park(self, node.0, second)?;
                    let other = Node(LLVMCloneModule(node.0));
                    parked.restore();
                    collect_garbage(other.0);
                    self.keep_only(&node, first)?;
                    other
                };
                self.bisect(other, first, out)?;
                self.bisect(node, second, out)
            }
        }
    }

    /// Turns the bodies of `drop` in `node` into declarations and deletes the
    /// declarations that became unused.
    ///
    /// # Safety
    /// `node` must be a live module of this split that we hold exclusively.
    unsafe fn keep_only(&self, node: &Node, drop: &[usize]) -> Result<()> {
        for &i in drop {
            make_declaration(self.lookup(node.0, &self.parts[i].ir_name)?);
        }
        collect_garbage(node.0);
        Ok(())
    }

    /// Renames the one body in `node` and writes its partition.
    fn leaf(&self, node: Node, part: &Part) -> Result<FunctionPartition> {
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
        let bitcode = self.finish(&node, &part.name)?;
        Ok(FunctionPartition { name: part.name.clone(), body, exported: part.exported, weak: part.weak, bitcode })
    }

    /// The function named `ir_name` in `m`.
    ///
    /// # Safety
    /// `m` must be a live module.
    unsafe fn lookup(&self, m: LLVMModuleRef, ir_name: &[u8]) -> Result<LLVMValueRef> {
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
    fn finish(&self, node: &Node, what: &str) -> Result<Vec<u8>> {
        #[cfg(debug_assertions)]
        {
            let mut msg = ptr::null_mut();
            // SAFETY: the module is live; on failure LLVM returns a message we dispose.
            let broken =
                unsafe { LLVMVerifyModule(node.0, LLVMVerifierFailureAction::LLVMReturnStatusAction, &mut msg) };
            // SAFETY: msg is NULL or an LLVM-owned message.
            let text = unsafe { take_message(msg) };
            if broken != 0 {
                return Err(Error::internal(format!(
                    "splitting module '{}': partition '{what}' does not verify: {}",
                    self.module_name,
                    text.trim_end()
                )));
            }
        }
        #[cfg(not(debug_assertions))]
        let _ = what;
        // SAFETY: the module is live; the buffer is ours and dropped here.
        let buf = unsafe { MemoryBuffer::from_raw(LLVMWriteBitcodeToMemoryBuffer(node.0)) };
        Ok(buf.bytes().to_vec())
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

/// Whether LLVM-C would abort on the NULL arguments the split passes to
/// `LLVMSetInitializer`, `LLVMSetPersonalityFn`, `LLVMSetPrefixData`,
/// `LLVMSetPrologueData` and `LLVMReplaceMDNodeOperandWith`.
///
/// Those functions pass their argument through `cast<>`, which asserts it is
/// not NULL when LLVM is built with assertions; without them (release and
/// distribution builds, `llvm-config --assertion-mode` OFF) it is a plain
/// pointer conversion and the C++ setters take NULL as "remove", which is
/// what we need. LLVM-C has no other way to remove any of these. An LLVM built
/// with assertions also has ABI-breaking checks by default, which leave the
/// symbol `llvm::EnableABIBreakingChecks` (instead of
/// `llvm::DisableABIBreakingChecks`); if we see it, we do not split.
fn llvm_asserts_on_null_setters() -> bool {
    static CHECKS: once_cell::sync::OnceCell<bool> = once_cell::sync::OnceCell::new();
    *CHECKS.get_or_init(|| {
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "macos", target_os = "freebsd"))]
        {
            // SAFETY: dlsym only looks a NUL-terminated name up in the
            // process's loaded objects; we never dereference the result.
            unsafe { !libc::dlsym(libc::RTLD_DEFAULT, c"_ZN4llvm23EnableABIBreakingChecksE".as_ptr()).is_null() }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos", target_os = "freebsd")))]
        {
            false
        }
    })
}

/// The reasons not to split a module that can be seen without analysis.
/// (The blockaddress and alias cases are in `eager_functions`.)
///
/// # Safety
/// `m` must be a live module.
unsafe fn refusal(m: LLVMModuleRef, unique: &str) -> Option<Refusal> {
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
    for_each_global_value(m, |v| {
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
unsafe fn eager_functions(m: LLVMModuleRef) -> std::result::Result<HashSet<LLVMValueRef>, Refusal> {
    let mut eager = HashSet::new();
    for f in functions(m) {
        let mut bb = LLVMGetFirstBasicBlock(f);
        while !bb.is_null() {
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
            bb = LLVMGetNextBasicBlock(bb);
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

/// Whether `m` defines a global variable (other than available_externally),
/// an alias or an ifunc.
///
/// # Safety
/// `m` must be a live module.
unsafe fn has_global_definitions(m: LLVMModuleRef) -> bool {
    globals(m)
        .into_iter()
        .any(|g| LLVMIsDeclaration(g) == 0 && LLVMGetLinkage(g) != LLVMLinkage::LLVMAvailableExternallyLinkage)
        || !LLVMGetFirstGlobalAlias(m).is_null()
        || !LLVMGetFirstGlobalIFunc(m).is_null()
}

/// Prepares the whole module: deletes `llvm.used` and `llvm.compiler.used`,
/// names unnamed values, promotes local values to hidden external ones under
/// new names, makes linkonce definitions weak and drops comdats.
///
/// # Safety
/// `m` must be a live module that we hold exclusively.
unsafe fn prepare(m: LLVMModuleRef, unique: &str) {
    for name in [c"llvm.used", c"llvm.compiler.used"] {
        let g = LLVMGetNamedGlobal(m, name.as_ptr());
        if !g.is_null() {
            LLVMDeleteGlobal(g);
        }
    }
    let mut anon = 0usize;
    for_each_global_value(m, |v| {
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
        match linkage {
            LLVMLinkage::LLVMLinkOnceAnyLinkage => LLVMSetLinkage(v, LLVMLinkage::LLVMWeakAnyLinkage),
            LLVMLinkage::LLVMLinkOnceODRLinkage => LLVMSetLinkage(v, LLVMLinkage::LLVMWeakODRLinkage),
            _ => {}
        }
        if !LLVMIsAGlobalObject(v).is_null() {
            LLVMSetComdat(v, ptr::null_mut());
        }
    });
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

/// Turns a function definition into a declaration: deletes its body, then
/// what `strip_declaration` lists. Its name, type, attributes and visibility
/// stay.
///
/// # Safety
/// `f` must be a live function definition in a module we hold exclusively.
unsafe fn make_declaration(f: LLVMValueRef) {
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
unsafe fn strip_declaration(f: LLVMValueRef) {
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

/// Empties the module-wide lists of each debug-info compile unit: enums,
/// retained types, global variables, imported entities and macros. A
/// function partition needs none of them (what its code uses is reachable
/// from its DISubprogram), and they would be copied into every clone and
/// emitted into every partition's object. The globals partition, made before
/// this, keeps them.
///
/// # Safety
/// `m` must be a live module we hold exclusively, and no other module may
/// share its compile units (clones of it made earlier have their own).
unsafe fn trim_compile_units(m: LLVMModuleRef) {
    let name = c"llvm.dbg.cu";
    let count = LLVMGetNamedMetadataNumOperands(m, name.as_ptr()) as usize;
    if count == 0 {
        return;
    }
    let mut units = vec![ptr::null_mut(); count];
    LLVMGetNamedMetadataOperands(m, name.as_ptr(), units.as_mut_ptr());
    for unit in units {
        if unit.is_null()
            || !matches!(
                LLVMGetMetadataKind(LLVMValueAsMetadata(unit)),
                LLVMMetadataKind::LLVMDICompileUnitMetadataKind
            )
        {
            continue;
        }
        // Operands 4..=8 of a DICompileUnit: enums, retained types, globals,
        // imported entities, macros. They become absent (NULL), as in a unit
        // that never had them: an empty macro list would still make DwarfDebug
        // refer to a macro section it then does not emit.
        // SAFETY (null argument): see `llvm_asserts_on_null_setters`.
        let operands = LLVMGetMDNodeNumOperands(unit);
        for i in 4..operands.min(9) {
            LLVMReplaceMDNodeOperandWith(unit, i, ptr::null_mut());
        }
    }
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
    let mut blocks = Vec::new();
    let mut bb = LLVMGetFirstBasicBlock(f);
    while !bb.is_null() {
        blocks.push(bb);
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
        bb = LLVMGetNextBasicBlock(bb);
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
unsafe fn collect_garbage(m: LLVMModuleRef) {
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
unsafe fn declaration_like(m: LLVMModuleRef, v: LLVMValueRef, target: LLVMValueRef) -> LLVMValueRef {
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
unsafe fn copy_function_attributes(from: LLVMValueRef, to: LLVMValueRef) {
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The name of a value as bytes (empty for unnamed values).
///
/// # Safety
/// `v` must be a live value.
unsafe fn raw_name(v: LLVMValueRef) -> Vec<u8> {
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
unsafe fn set_raw_name(v: LLVMValueRef, name: &[u8]) {
    LLVMSetValueName2(v, name.as_ptr().cast(), name.len());
}

/// The users of `v`, one entry per use.
///
/// # Safety
/// `v` must be a live value.
unsafe fn users(v: LLVMValueRef) -> Vec<LLVMValueRef> {
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
unsafe fn list(
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
unsafe fn functions(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(m, LLVMGetFirstFunction, LLVMGetNextFunction)
}

/// # Safety
/// `m` must be a live module.
unsafe fn globals(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(m, LLVMGetFirstGlobal, LLVMGetNextGlobal)
}

/// # Safety
/// `m` must be a live module.
unsafe fn aliases(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(m, LLVMGetFirstGlobalAlias, LLVMGetNextGlobalAlias)
}

/// # Safety
/// `m` must be a live module.
unsafe fn ifuncs(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(m, LLVMGetFirstGlobalIFunc, LLVMGetNextGlobalIFunc)
}

/// Calls `f` on every global value of `m`: functions, variables, aliases, ifuncs.
///
/// # Safety
/// `m` must be a live module; `f` must not delete values.
unsafe fn for_each_global_value(m: LLVMModuleRef, mut f: impl FnMut(LLVMValueRef)) {
    for v in functions(m).into_iter().chain(globals(m)).chain(aliases(m)).chain(ifuncs(m)) {
        f(v);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::llvm::ir::ModuleSymbol;

    fn parse(text: &str) -> IrModule {
        crate::llvm::initialize().unwrap();
        IrModule::parse("split-test", text.as_bytes()).unwrap()
    }

    fn print(m: &IrModule) -> String {
        // SAFETY: the module is live; the string is LLVM's, disposed by take_message.
        unsafe { take_message(LLVMPrintModuleToString(m.as_raw())) }
    }

    /// Parses a partition back (which verifies it) and returns it with its
    /// defined symbols.
    fn reparse(name: &str, bitcode: &[u8]) -> (IrModule, Vec<ModuleSymbol>) {
        let m = IrModule::parse(name, bitcode).unwrap_or_else(|e| panic!("partition {name}: {}", e.message));
        let symbols = m.defined_symbols();
        (m, symbols)
    }

    /// (is a declaration, visibility is hidden) of function `name` in `m`, if it has one.
    fn function(m: &IrModule, name: &str) -> Option<(bool, bool)> {
        let c = crate::llvm::cstring(name);
        // SAFETY: the module is live; we only read properties of the function.
        unsafe {
            let f = LLVMGetNamedFunction(m.as_raw(), c.as_ptr());
            if f.is_null() {
                return None;
            }
            Some((LLVMIsDeclaration(f) != 0, LLVMGetVisibility(f) == LLVMVisibility::LLVMHiddenVisibility))
        }
    }

    fn names(symbols: &[ModuleSymbol]) -> Vec<String> {
        let mut v: Vec<String> = symbols.iter().map(|s| s.name.clone()).collect();
        v.sort();
        v
    }

    fn partition<'a>(split: &'a Split, name: &str) -> &'a FunctionPartition {
        split.functions.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no partition for {name}"))
    }

    const MIXED: &str = r#"
@counter = global i64 0
@.str = private unnamed_addr constant [6 x i8] c"hello\00"
@table = global [3 x ptr] [ptr @even, ptr @odd, ptr @helper]
@0 = internal global i32 7

define internal i64 @helper(i64 %x) {
  %p = getelementptr i8, ptr @.str, i64 %x
  %c = load i8, ptr %p
  %z = zext i8 %c to i64
  %a = load i32, ptr @0
  %b = sext i32 %a to i64
  %r = add i64 %z, %b
  ret i64 %r
}

define i1 @even(i64 %n) {
entry:
  %z = icmp eq i64 %n, 0
  br i1 %z, label %yes, label %no
yes:
  ret i1 true
no:
  %m = sub i64 %n, 1
  %r = call i1 @odd(i64 %m)
  ret i1 %r
}

define i1 @odd(i64 %n) {
entry:
  %z = icmp eq i64 %n, 0
  br i1 %z, label %yes, label %no
yes:
  ret i1 false
no:
  %m = sub i64 %n, 1
  %r = call i1 @even(i64 %m)
  ret i1 %r
}

define i64 @fact(i64 %n) {
entry:
  %c = load i64, ptr @counter
  %c1 = add i64 %c, 1
  store i64 %c1, ptr @counter
  %z = icmp sle i64 %n, 1
  br i1 %z, label %base, label %rec
base:
  %h = call i64 @helper(i64 0)
  ret i64 %h
rec:
  %m = sub i64 %n, 1
  %r = call i64 @fact(i64 %m)
  %p = mul i64 %n, %r
  ret i64 %p
}

define linkonce_odr i64 @inl(i64 %x) {
  ret i64 %x
}

define hidden ptr @self() {
  ret ptr @self
}

define i64 @user() personality ptr @pers {
entry:
  %f = load ptr, ptr @table
  %v = invoke i64 @inl(i64 3) to label %ok unwind label %bad
ok:
  ret i64 %v
bad:
  %lp = landingpad { ptr, i32 } cleanup
  resume { ptr, i32 } %lp
}

declare i32 @pers(...)
declare i64 @unused_external(i64)
"#;

    #[test]
    fn splits_a_mixed_module() {
        let mut ir = parse(MIXED);
        let split = split(&mut ir, "t1").unwrap().expect("splittable");

        let mut got: Vec<&str> = split.functions.iter().map(|p| p.name.as_str()).collect();
        got.sort();
        assert_eq!(got, ["even", "fact", "helper.jitcore.t1", "inl", "odd", "self", "user"]);
        for p in &split.functions {
            assert_eq!(p.body, format!("{}.jitcore.body", p.name));
            let (m, symbols) = reparse(&p.name, &p.bitcode);
            assert_eq!(names(&symbols), std::slice::from_ref(&p.body), "partition {} defines only its body", p.name);
            assert!(!symbols[0].exported, "bodies are hidden");
            assert_eq!(symbols[0].weak, p.weak);
            // Nothing else is defined; the stub name, if present, is a declaration.
            if let Some((decl, hidden)) = function(&m, &p.name) {
                assert!(decl, "{} must be declared, not defined, next to its body", p.name);
                assert_eq!(hidden, !p.exported);
            }
        }
        let flags = |n: &str| {
            let p = partition(&split, n);
            (p.exported, p.weak)
        };
        assert_eq!(flags("even"), (true, false));
        assert_eq!(flags("helper.jitcore.t1"), (false, false));
        assert_eq!(flags("inl"), (true, true));
        assert_eq!(flags("self"), (false, false));

        // Recursion and self-reference go through the stub.
        let (fact, _) = reparse("fact", &partition(&split, "fact").bitcode);
        assert_eq!(function(&fact, "fact"), Some((true, false)));
        assert_eq!(function(&fact, "helper.jitcore.t1"), Some((true, true)));
        let text = print(&fact);
        assert!(text.contains("call i64 @fact("), "{text}");
        assert!(text.contains("@counter = external global i64"), "{text}");
        assert!(!text.contains("unused_external"), "unused declarations are collected: {text}");
        assert!(!text.contains("@even"), "{text}");
        let (selfp, _) = reparse("self", &partition(&split, "self").bitcode);
        assert!(print(&selfp).contains("ret ptr @self"));
        assert_eq!(function(&selfp, "self"), Some((true, true)));
        // Mutual recursion: each side declares the other.
        let (even, _) = reparse("even", &partition(&split, "even").bitcode);
        assert_eq!(function(&even, "odd"), Some((true, false)));
        assert_eq!(function(&even, "even"), None, "no stub declaration without a use");
        // The helper reads the promoted string and the promoted unnamed global.
        let (helper, _) = reparse("helper", &partition(&split, "helper.jitcore.t1").bitcode);
        let text = print(&helper);
        assert!(text.contains("@.str.jitcore.t1 = external hidden"), "{text}");
        assert!(text.contains("@anon.0.jitcore.t1 = external hidden"), "{text}");
        // A declaration keeps no personality; the body keeps its own.
        let (user, _) = reparse("user", &partition(&split, "user").bitcode);
        let text = print(&user);
        assert!(text.contains("personality ptr @pers"), "{text}");
        assert!(text.contains("declare i64 @inl(i64)"), "{text}");

        let (globals, symbols) = reparse("globals", split.globals.as_ref().expect("globals"));
        assert_eq!(names(&symbols), [".str.jitcore.t1", "anon.0.jitcore.t1", "counter", "table"]);
        let by_name = |n: &str| symbols.iter().find(|s| s.name == n).unwrap().clone();
        assert!(!by_name(".str.jitcore.t1").exported);
        assert!(by_name("counter").exported);
        let text = print(&globals);
        assert!(text.contains("[ptr @even, ptr @odd, ptr @helper.jitcore.t1]"), "{text}");
        assert_eq!(function(&globals, "helper.jitcore.t1"), Some((true, true)));
    }

    #[test]
    fn aliases_ifuncs_and_local_blockaddresses() {
        let mut ir = parse(
            r#"
@g = global i32 1
@ga = alias i32, ptr @g
@fa = alias void (), ptr @target
@ifn = ifunc void (), ptr @resolver
@labels = internal constant [2 x ptr] [ptr blockaddress(@interp, %a), ptr blockaddress(@interp, %b)]

define void @target() {
  ret void
}

define ptr @resolver() {
  ret ptr @target
}

define i32 @interp(i64 %i) {
entry:
  %p = getelementptr [2 x ptr], ptr @labels, i64 0, i64 %i
  %t = load ptr, ptr %p
  indirectbr ptr %t, [label %a, label %b]
a:
  ret i32 1
b:
  ret i32 2
}

define i32 @goto(i1 %c) {
entry:
  %t = select i1 %c, ptr blockaddress(@goto, %x), ptr blockaddress(@goto, %y)
  indirectbr ptr %t, [label %x, label %y]
x:
  %r = call i32 @goto(i1 false)
  ret i32 %r
y:
  ret i32 2
}

define i32 @user() {
  call void @fa()
  call void @ifn()
  %v = load i32, ptr @ga
  %w = call i32 @interp(i64 1)
  %s = add i32 %v, %w
  ret i32 %s
}
"#,
        );
        let split = split(&mut ir, "t2").unwrap().expect("splittable");
        let mut got: Vec<&str> = split.functions.iter().map(|p| p.name.as_str()).collect();
        got.sort();
        assert_eq!(got, ["goto", "user"]);
        let (_, symbols) = reparse("globals", split.globals.as_ref().unwrap());
        assert_eq!(names(&symbols), ["fa", "g", "ga", "ifn", "interp", "labels.jitcore.t2", "resolver", "target"]);
        for p in &split.functions {
            let (m, symbols) = reparse(&p.name, &p.bitcode);
            assert_eq!(names(&symbols), std::slice::from_ref(&p.body));
            if p.name == "user" {
                let text = print(&m);
                assert!(text.contains("declare void @fa()"), "{text}");
                assert!(text.contains("declare void @ifn()"), "{text}");
                assert!(text.contains("@ga = external global i32"), "{text}");
                assert!(text.contains("declare i32 @interp(i64)"), "{text}");
            }
            if p.name == "goto" {
                let text = print(&m);
                assert!(text.contains("blockaddress(@goto.jitcore.body, %"), "{text}");
                assert!(text.contains("call i32 @goto(i1 false)"), "{text}");
            }
        }
    }

    /// `clang -g -O0` output for:
    /// ```c
    /// int counter = 3;
    /// static const char *names[] = {"a", "b"};
    /// enum color { RED, GREEN };
    /// static int helper(int x) { return x + counter; }
    /// int twice(int x) { enum color c = GREEN; return helper(x) * 2 + c + names[x & 1][0]; }
    /// int fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }
    /// ```
    const DEBUG_INFO: &str = r#"source_filename = "small.c"
target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

@counter = dso_local global i32 3, align 4, !dbg !0
@names = internal global [2 x ptr] [ptr @.str, ptr @.str.1], align 16, !dbg !19
@.str = private unnamed_addr constant [2 x i8] c"a\00", align 1, !dbg !11
@.str.1 = private unnamed_addr constant [2 x i8] c"b\00", align 1, !dbg !17

; Function Attrs: noinline nounwind optnone uwtable
define dso_local i32 @twice(i32 noundef %0) #0 !dbg !32 {
  %2 = alloca i32, align 4
  %3 = alloca i32, align 4
  store i32 %0, ptr %2, align 4
    #dbg_declare(ptr %2, !36, !DIExpression(), !37)
    #dbg_declare(ptr %3, !38, !DIExpression(), !39)
  store i32 1, ptr %3, align 4, !dbg !39
  %4 = load i32, ptr %2, align 4, !dbg !40
  %5 = call i32 @helper(i32 noundef %4), !dbg !41
  %6 = mul nsw i32 %5, 2, !dbg !42
  %7 = load i32, ptr %3, align 4, !dbg !43
  %8 = add i32 %6, %7, !dbg !44
  %9 = load i32, ptr %2, align 4, !dbg !45
  %10 = and i32 %9, 1, !dbg !46
  %11 = sext i32 %10 to i64, !dbg !47
  %12 = getelementptr inbounds [2 x ptr], ptr @names, i64 0, i64 %11, !dbg !47
  %13 = load ptr, ptr %12, align 8, !dbg !47
  %14 = getelementptr inbounds i8, ptr %13, i64 0, !dbg !47
  %15 = load i8, ptr %14, align 1, !dbg !47
  %16 = sext i8 %15 to i32, !dbg !47
  %17 = add i32 %8, %16, !dbg !48
  ret i32 %17, !dbg !49
}

; Function Attrs: noinline nounwind optnone uwtable
define internal i32 @helper(i32 noundef %0) #0 !dbg !50 {
  %2 = alloca i32, align 4
  store i32 %0, ptr %2, align 4
    #dbg_declare(ptr %2, !51, !DIExpression(), !52)
  %3 = load i32, ptr %2, align 4, !dbg !53
  %4 = load i32, ptr @counter, align 4, !dbg !54
  %5 = add nsw i32 %3, %4, !dbg !55
  ret i32 %5, !dbg !56
}

; Function Attrs: noinline nounwind optnone uwtable
define dso_local i32 @fact(i32 noundef %0) #0 !dbg !57 {
  %2 = alloca i32, align 4
  store i32 %0, ptr %2, align 4
    #dbg_declare(ptr %2, !58, !DIExpression(), !59)
  %3 = load i32, ptr %2, align 4, !dbg !60
  %4 = icmp sle i32 %3, 1, !dbg !61
  br i1 %4, label %5, label %6, !dbg !60

5:                                                ; preds = %1
  br label %12, !dbg !60

6:                                                ; preds = %1
  %7 = load i32, ptr %2, align 4, !dbg !62
  %8 = load i32, ptr %2, align 4, !dbg !63
  %9 = sub nsw i32 %8, 1, !dbg !64
  %10 = call i32 @fact(i32 noundef %9), !dbg !65
  %11 = mul nsw i32 %7, %10, !dbg !66
  br label %12, !dbg !60

12:                                               ; preds = %6, %5
  %13 = phi i32 [ 1, %5 ], [ %11, %6 ], !dbg !60
  ret i32 %13, !dbg !67
}

attributes #0 = { noinline nounwind optnone uwtable "frame-pointer"="all" }

!llvm.dbg.cu = !{!2}
!llvm.module.flags = !{!25, !26, !27, !28, !29, !30, !31}

!0 = !DIGlobalVariableExpression(var: !1, expr: !DIExpression())
!1 = distinct !DIGlobalVariable(name: "counter", scope: !2, file: !3, line: 1, type: !24, isLocal: false, isDefinition: true)
!2 = distinct !DICompileUnit(language: DW_LANG_C11, file: !3, isOptimized: false, runtimeVersion: 0, emissionKind: FullDebug, enums: !4, globals: !10, splitDebugInlining: false, nameTableKind: None)
!3 = !DIFile(filename: "small.c", directory: "/src", checksumkind: CSK_MD5, checksum: "4956370bf70338838e8e383be0db33f0")
!4 = !{!5}
!5 = !DICompositeType(tag: DW_TAG_enumeration_type, name: "color", file: !3, line: 3, baseType: !6, size: 32, elements: !7)
!6 = !DIBasicType(name: "unsigned int", size: 32, encoding: DW_ATE_unsigned)
!7 = !{!8, !9}
!8 = !DIEnumerator(name: "RED", value: 0)
!9 = !DIEnumerator(name: "GREEN", value: 1)
!10 = !{!0, !11, !17, !19}
!11 = !DIGlobalVariableExpression(var: !12, expr: !DIExpression())
!12 = distinct !DIGlobalVariable(scope: null, file: !3, line: 2, type: !13, isLocal: true, isDefinition: true)
!13 = !DICompositeType(tag: DW_TAG_array_type, baseType: !14, size: 16, elements: !15)
!14 = !DIBasicType(name: "char", size: 8, encoding: DW_ATE_signed_char)
!15 = !{!16}
!16 = !DISubrange(count: 2)
!17 = !DIGlobalVariableExpression(var: !18, expr: !DIExpression())
!18 = distinct !DIGlobalVariable(scope: null, file: !3, line: 2, type: !13, isLocal: true, isDefinition: true)
!19 = !DIGlobalVariableExpression(var: !20, expr: !DIExpression())
!20 = distinct !DIGlobalVariable(name: "names", scope: !2, file: !3, line: 2, type: !21, isLocal: true, isDefinition: true)
!21 = !DICompositeType(tag: DW_TAG_array_type, baseType: !22, size: 128, elements: !15)
!22 = !DIDerivedType(tag: DW_TAG_pointer_type, baseType: !23, size: 64)
!23 = !DIDerivedType(tag: DW_TAG_const_type, baseType: !14)
!24 = !DIBasicType(name: "int", size: 32, encoding: DW_ATE_signed)
!25 = !{i32 7, !"Dwarf Version", i32 5}
!26 = !{i32 2, !"Debug Info Version", i32 3}
!27 = !{i32 1, !"wchar_size", i32 4}
!28 = !{i32 8, !"PIC Level", i32 2}
!29 = !{i32 7, !"PIE Level", i32 2}
!30 = !{i32 7, !"uwtable", i32 2}
!31 = !{i32 7, !"frame-pointer", i32 2}
!32 = distinct !DISubprogram(name: "twice", scope: !3, file: !3, line: 5, type: !33, scopeLine: 5, flags: DIFlagPrototyped, spFlags: DISPFlagDefinition, unit: !2, retainedNodes: !35)
!33 = !DISubroutineType(types: !34)
!34 = !{!24, !24}
!35 = !{}
!36 = !DILocalVariable(name: "x", arg: 1, scope: !32, file: !3, line: 5, type: !24)
!37 = !DILocation(line: 5, column: 15, scope: !32)
!38 = !DILocalVariable(name: "c", scope: !32, file: !3, line: 5, type: !5)
!39 = !DILocation(line: 5, column: 31, scope: !32)
!40 = !DILocation(line: 5, column: 56, scope: !32)
!41 = !DILocation(line: 5, column: 49, scope: !32)
!42 = !DILocation(line: 5, column: 59, scope: !32)
!43 = !DILocation(line: 5, column: 65, scope: !32)
!44 = !DILocation(line: 5, column: 63, scope: !32)
!45 = !DILocation(line: 5, column: 75, scope: !32)
!46 = !DILocation(line: 5, column: 77, scope: !32)
!47 = !DILocation(line: 5, column: 69, scope: !32)
!48 = !DILocation(line: 5, column: 67, scope: !32)
!49 = !DILocation(line: 5, column: 42, scope: !32)
!50 = distinct !DISubprogram(name: "helper", scope: !3, file: !3, line: 4, type: !33, scopeLine: 4, flags: DIFlagPrototyped, spFlags: DISPFlagLocalToUnit | DISPFlagDefinition, unit: !2, retainedNodes: !35)
!51 = !DILocalVariable(name: "x", arg: 1, scope: !50, file: !3, line: 4, type: !24)
!52 = !DILocation(line: 4, column: 23, scope: !50)
!53 = !DILocation(line: 4, column: 35, scope: !50)
!54 = !DILocation(line: 4, column: 39, scope: !50)
!55 = !DILocation(line: 4, column: 37, scope: !50)
!56 = !DILocation(line: 4, column: 28, scope: !50)
!57 = distinct !DISubprogram(name: "fact", scope: !3, file: !3, line: 6, type: !33, scopeLine: 6, flags: DIFlagPrototyped, spFlags: DISPFlagDefinition, unit: !2, retainedNodes: !35)
!58 = !DILocalVariable(name: "n", arg: 1, scope: !57, file: !3, line: 6, type: !24)
!59 = !DILocation(line: 6, column: 14, scope: !57)
!60 = !DILocation(line: 6, column: 26, scope: !57)
!61 = !DILocation(line: 6, column: 28, scope: !57)
!62 = !DILocation(line: 6, column: 39, scope: !57)
!63 = !DILocation(line: 6, column: 48, scope: !57)
!64 = !DILocation(line: 6, column: 50, scope: !57)
!65 = !DILocation(line: 6, column: 43, scope: !57)
!66 = !DILocation(line: 6, column: 41, scope: !57)
!67 = !DILocation(line: 6, column: 19, scope: !57)
"#;

    /// Compiles a partition to an object file, as the engine will.
    fn codegen(name: &str, m: &IrModule) {
        let tm = crate::llvm::target_machine::TargetSpec::host(0).create().unwrap();
        // SAFETY: module and machine are live; the buffer and message are ours to dispose.
        unsafe {
            let mut buf = ptr::null_mut();
            let mut msg = ptr::null_mut();
            let failed = llvm_sys::target_machine::LLVMTargetMachineEmitToMemoryBuffer(
                tm.as_raw(),
                m.as_raw(),
                llvm_sys::target_machine::LLVMCodeGenFileType::LLVMObjectFile,
                &mut msg,
                &mut buf,
            );
            assert_eq!(failed, 0, "codegen of {name}: {}", take_message(msg));
            LLVMDisposeMemoryBuffer(buf);
        }
    }

    #[test]
    fn debug_info_stays_valid_and_compile_unit_lists_stay_with_the_globals() {
        let mut ir = parse(DEBUG_INFO);
        let split = split(&mut ir, "t8").unwrap().unwrap();
        let mut got: Vec<&str> = split.functions.iter().map(|p| p.name.as_str()).collect();
        got.sort();
        assert_eq!(got, ["fact", "helper.jitcore.t8", "twice"]);
        for p in &split.functions {
            let (m, symbols) = reparse(&p.name, &p.bitcode);
            assert_eq!(names(&symbols), std::slice::from_ref(&p.body));
            let text = print(&m);
            assert!(text.contains("distinct !DICompileUnit"), "{text}");
            assert!(!text.contains("globals:") && !text.contains("enums:"), "{text}");
            assert!(!text.contains("DIGlobalVariable("), "{text}");
            codegen(&p.name, &m);
        }
        let (twice, _) = reparse("twice", &partition(&split, "twice").bitcode);
        let text = print(&twice);
        assert!(text.contains("DILocalVariable(name: \"c\""), "{text}");
        assert!(text.contains("name: \"color\""), "the enum type stays reachable from the variable: {text}");
        let (globals, symbols) = reparse("globals", split.globals.as_ref().unwrap());
        assert_eq!(names(&symbols), [".str.1.jitcore.t8", ".str.jitcore.t8", "counter", "names.jitcore.t8"]);
        let text = print(&globals);
        assert!(text.contains("DIGlobalVariable(name: \"counter\""), "{text}");
        assert!(text.contains("enums:"), "{text}");
        codegen("globals", &globals);
    }

    #[test]
    fn odd_linkages_and_names() {
        let mut ir = parse(
            r#"
@tls = thread_local global i32 0
@0 = internal global i32 5

define available_externally i32 @ae() {
  ret i32 1
}

define internal i32 @1() {
  %v = load i32, ptr @0
  ret i32 %v
}

define weak i32 @w() {
  ret i32 2
}

define protected i32 @prot() {
  ret i32 3
}

define i32 @"\01raw"() {
  ret i32 4
}

define i32 @pre() prefix i32 123 {
  ret i32 5
}

define i32 @user() {
  %a = call i32 @ae()
  %b = call i32 @1()
  %c = call i32 @w()
  %d = call i32 @prot()
  %e = call i32 @"\01raw"()
  %f = call i32 @pre()
  %g = load i32, ptr @tls
  %s1 = add i32 %a, %b
  %s2 = add i32 %s1, %c
  %s3 = add i32 %s2, %d
  %s4 = add i32 %s3, %e
  %s5 = add i32 %s4, %f
  %s6 = add i32 %s5, %g
  ret i32 %s6
}
"#,
        );
        let split = split(&mut ir, "t9").unwrap().unwrap();
        let mut got: Vec<String> = split.functions.iter().map(|p| p.name.clone()).collect();
        got.sort();
        assert_eq!(got.len(), 6, "{got:?}");
        assert!(!got.contains(&"ae".to_string()), "available_externally is no definition: {got:?}");
        let anon = got.iter().find(|n| n.starts_with("anon.")).expect("the unnamed function got a name");
        assert!(anon.ends_with(".jitcore.t9"), "{anon}");
        let flags = |n: &str| {
            let p = partition(&split, n);
            (p.exported, p.weak)
        };
        assert_eq!(flags("w"), (true, true));
        assert_eq!(flags("prot"), (true, false));
        assert_eq!(flags(anon), (false, false));
        for p in &split.functions {
            let (m, symbols) = reparse(&p.name, &p.bitcode);
            assert_eq!(names(&symbols), std::slice::from_ref(&p.body), "{}", p.name);
            assert_eq!(symbols[0].weak, p.weak);
            codegen(&p.name, &m);
        }
        assert_eq!(partition(&split, "raw").body, "raw.jitcore.body");
        let (pre, _) = reparse("pre", &partition(&split, "pre").bitcode);
        assert!(print(&pre).contains("prefix i32 123"));
        let (user, _) = reparse("user", &partition(&split, "user").bitcode);
        let text = print(&user);
        assert!(text.contains("declare i32 @pre()\n"), "no prefix data on a declaration: {text}");
        assert!(text.contains("declare i32 @ae()"), "{text}");
        assert!(text.contains("declare i32 @w()"), "{text}");
        assert!(text.contains("@tls = external thread_local global i32"), "{text}");
        let (globals, symbols) = reparse("globals", split.globals.as_ref().unwrap());
        assert_eq!(symbols.len(), 2, "{symbols:?}");
        codegen("globals", &globals);
    }

    #[test]
    fn refuses_blockaddress_used_by_another_function() {
        let text = r#"
define void @f() {
entry:
  br label %l
l:
  ret void
}

define ptr @g() {
  ret ptr blockaddress(@f, %l)
}
"#;
        let mut ir = parse(text);
        let before = print(&ir);
        assert_eq!(
            split_or_refuse(&mut ir, "t3").unwrap().err(),
            Some("a blockaddress of one function is used by another function")
        );
        assert!(split(&mut ir, "t3").unwrap().is_none());
        assert_eq!(print(&ir), before, "a refused module is left as it was");
    }

    #[test]
    fn refuses_module_asm() {
        let mut ir = parse("module asm \".globl foo\"\ndefine void @f() {\n  ret void\n}\n");
        assert!(split(&mut ir, "t4").unwrap().is_none());
    }

    #[test]
    fn modules_without_globals_or_functions() {
        let mut ir = parse("define void @f() {\n  ret void\n}\ndefine internal void @g() {\n  ret void\n}\n");
        let split = split(&mut ir, "t5").unwrap().unwrap();
        assert!(split.globals.is_none());
        assert_eq!(split.functions.len(), 2);

        let mut ir = parse("@g = global i32 1\ndeclare void @f()\n");
        let split = super::split(&mut ir, "t5").unwrap().unwrap();
        assert!(split.functions.is_empty());
        let (_, symbols) = reparse("globals", split.globals.as_ref().unwrap());
        assert_eq!(names(&symbols), ["g"]);
    }

    /// `n` functions; each reads its own global and calls the next two.
    pub(super) fn chain_module(n: usize) -> String {
        let mut s = String::with_capacity(n * 400);
        for i in 0..n {
            s.push_str(&format!("@v{i} = global i64 {i}\n"));
        }
        for i in 0..n {
            let (a, b) = ((i + 1) % n, (i + 2) % n);
            s.push_str(&format!(
                "define i64 @f{i}(i64 %x) {{
entry:
  %g = load i64, ptr @v{i}
  %c = icmp sgt i64 %x, 0
  br i1 %c, label %rec, label %done
rec:
  %y = sub i64 %x, 1
  %a = call i64 @f{a}(i64 %y)
  %b = call i64 @f{b}(i64 %y)
  %s = add i64 %a, %b
  %t = add i64 %s, %g
  ret i64 %t
done:
  ret i64 %g
}}
"
            ));
        }
        s
    }

    #[test]
    fn parallel_split_with_aliases_and_eager_functions() {
        let n = 2 * PARALLEL_MIN_FUNCTIONS;
        let mut text = chain_module(n);
        text.push_str(&format!(
            r#"
@ga = alias i64, ptr @v7
@fa = alias i64 (i64), ptr @f{last}
@labels = internal constant [1 x ptr] [ptr blockaddress(@interp, %a)]
@ifn = ifunc i64 (i64), ptr @resolver

define ptr @resolver() {{
  ret ptr @f3
}}

define i64 @interp() {{
entry:
  %t = load ptr, ptr @labels
  indirectbr ptr %t, [label %a]
a:
  ret i64 1
}}

define i64 @user(i64 %x) {{
  %a = call i64 @fa(i64 %x)
  %b = call i64 @ifn(i64 %a)
  %c = load i64, ptr @ga
  %d = call i64 @interp()
  %s = add i64 %b, %c
  %t = add i64 %s, %d
  ret i64 %t
}}
"#,
            last = n - 1
        ));
        let mut ir = parse(&text);
        let split = split(&mut ir, "t7").unwrap().unwrap();
        assert_eq!(split.functions.len(), n, "f0..f{} and user; f{} is an alias target", n - 1, n - 1);
        assert!(split.functions.iter().all(|p| p.name != format!("f{}", n - 1)));
        assert_eq!(split.functions.last().unwrap().name, "user");
        let (_, symbols) = reparse("globals", split.globals.as_ref().unwrap());
        for name in ["fa", "ga", "ifn", "interp", "resolver", &format!("f{}", n - 1), "labels.jitcore.t7"] {
            assert!(symbols.iter().any(|s| s.name == name), "globals partition defines {name}");
        }
        for p in &split.functions {
            let (_, symbols) = reparse(&p.name, &p.bitcode);
            assert_eq!(names(&symbols), std::slice::from_ref(&p.body));
        }
    }

    #[test]
    fn splits_3000_functions() {
        let n = 3000;
        let mut ir = parse(&chain_module(n));
        let start = Instant::now();
        let split = split(&mut ir, "t6").unwrap().unwrap();
        let elapsed = start.elapsed();
        eprintln!(
            "split of {n} functions: {elapsed:?} ({} build)",
            if cfg!(debug_assertions) { "debug, leaves verified" } else { "release" }
        );
        assert_eq!(split.functions.len(), n);
        let (_, symbols) = reparse("globals", split.globals.as_ref().unwrap());
        assert_eq!(symbols.len(), n);
        // Leaves stay small: a body, its global and its two callees.
        let largest = split.functions.iter().map(|p| p.bitcode.len()).max().unwrap();
        assert!(largest < 4096, "largest partition has {largest} bytes of bitcode");
        for p in split.functions.iter().step_by(97) {
            let (m, symbols) = reparse(&p.name, &p.bitcode);
            assert_eq!(names(&symbols), std::slice::from_ref(&p.body));
            // SAFETY: the module is live; we only count its values.
            let (fns, vars) = unsafe { (functions(m.as_raw()).len(), globals(m.as_raw()).len()) };
            assert!(fns <= 3 && vars == 1, "{}: {fns} functions, {vars} variables", p.name);
        }
    }
}
