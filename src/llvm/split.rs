//! Splits a module into one partition per function, for lazy compilation.
//!
//! A lazily added module is split once; each partition is kept as bitcode and
//! only the partitions whose functions are called get parsed and compiled.
//!
//! The split is a recursive bisection inside the module's own context: a node
//! (a module holding the bodies of a range of functions) is cloned once, the
//! original keeps the bodies of the first half and the clone those of the
//! second half, declarations nobody uses any more are deleted, and both halves
//! recurse. A leaf (one body) is written out as bitcode. Every level touches
//! each body about twice (one clone, one deletion) and what a body references,
//! so the whole split is O(N log N), where cloning a module per function would
//! be O(N^2).
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
//!   the functions that must live next to them (see [`Split::globals`]).

use std::collections::HashSet;
use std::ptr;

use llvm_sys::analysis::{LLVMVerifierFailureAction, LLVMVerifyModule};
use llvm_sys::bit_writer::LLVMWriteBitcodeToMemoryBuffer;
use llvm_sys::comdat::LLVMSetComdat;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::transforms::pass_builder::{LLVMCreatePassBuilderOptions, LLVMDisposePassBuilderOptions, LLVMRunPasses};
use llvm_sys::{LLVMAttributeFunctionIndex, LLVMAttributeReturnIndex, LLVMLinkage, LLVMTypeKind, LLVMVisibility};

use super::buffer::MemoryBuffer;
use super::ir::IrModule;
use super::{take_error, take_message};
use crate::error::{Error, Result};

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
/// `refusal`. After Ok(Some) or Err, `ir` has been changed and must not be
/// compiled.
pub fn split(ir: &mut IrModule, unique: &str) -> Result<Option<Split>> {
    Ok(split_or_refuse(ir, unique)?.ok())
}

/// Why a module is not split.
type Refusal = &'static str;

fn split_or_refuse(ir: &mut IrModule, unique: &str) -> Result<std::result::Result<Split, Refusal>> {
    if llvm_asserts_on_null_setters() {
        return Ok(Err("this LLVM is built with assertions; clearing an initializer or personality through LLVM-C would abort"));
    }
    let m = ir.as_raw();
    let mut splitter = Splitter { module_name: ir.name(), parts: Vec::new(), out: Vec::new() };
    // SAFETY: `m` is the live module of `ir`, which we hold exclusively for the
    // whole call; every clone made below lives in the same context, is owned by
    // a `Node` and is disposed before we return, so before `ir` (and its
    // context) can be dropped.
    unsafe {
        if let Some(why) = refusal(m) {
            return Ok(Err(why));
        }
        let eager = match eager_functions(m) {
            Ok(eager) => eager,
            Err(why) => return Ok(Err(why)),
        };
        // From here on the module is changed.
        let _names = DiscardValueNames::new(LLVMGetModuleContext(m));
        prepare(m, unique);
        for f in functions(m) {
            if LLVMIsDeclaration(f) == 0 && LLVMGetLinkage(f) == LLVMLinkage::LLVMAvailableExternallyLinkage {
                make_declaration(f);
            }
        }
        for f in functions(m) {
            if LLVMIsDeclaration(f) != 0 || eager.contains(&f) {
                continue;
            }
            let ir_name = raw_name(f);
            let name = String::from_utf8_lossy(ir_name.strip_prefix(b"\x01").unwrap_or(&ir_name)).into_owned();
            splitter.parts.push(Part {
                ir_name,
                name,
                exported: LLVMGetVisibility(f) != LLVMVisibility::LLVMHiddenVisibility,
                weak: is_weak(LLVMGetLinkage(f)),
            });
        }
        let globals = if has_global_definitions(m) || !eager.is_empty() {
            Some(splitter.globals_partition(m)?)
        } else {
            None
        };
        tm(5, || splitter.function_tree_root(m, &eager))?;
        let all: Vec<usize> = (0..splitter.parts.len()).collect();
        splitter.bisect(Node { raw: m, owned: false }, &all)?;
        Ok(Ok(Split { globals, functions: splitter.out }))
    }
}

/// Makes the context drop the names of local values (instructions,
/// arguments, blocks) set from now on, until dropped: the clones made by the
/// split then carry no local names, which makes cloning and deleting bodies
/// much cheaper. Names never matter to what the code does.
struct DiscardValueNames {
    ctx: LLVMContextRef,
    previous: LLVMBool,
}

impl DiscardValueNames {
    /// # Safety
    /// `ctx` must be a live context, outliving the guard, used by this thread only.
    unsafe fn new(ctx: LLVMContextRef) -> DiscardValueNames {
        let previous = LLVMContextShouldDiscardValueNames(ctx);
        LLVMContextSetDiscardValueNames(ctx, 1);
        DiscardValueNames { ctx, previous }
    }
}

impl Drop for DiscardValueNames {
    fn drop(&mut self) {
        // SAFETY: the context is live (see `new`); we restore its setting.
        unsafe { LLVMContextSetDiscardValueNames(self.ctx, self.previous) }
    }
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

/// A module of the bisection tree, in the context of the module being split.
/// The root is the split module itself, which belongs to its `IrModule`.
struct Node {
    raw: LLVMModuleRef,
    owned: bool,
}

impl Node {
    /// A deep copy of `self`, in the same context.
    fn clone_module(&self) -> Node {
        // SAFETY: self.raw is live; the clone is a new module we own (disposed
        // by Node's Drop, which runs before split() returns).
        Node { raw: unsafe { LLVMCloneModule(self.raw) }, owned: true }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: an owned node is a clone nobody else refers to; it is
            // disposed once, while its context (the IrModule's) is alive.
            unsafe { LLVMDisposeModule(self.raw) }
        }
    }
}

thread_local! { pub static T: std::cell::RefCell<[std::time::Duration; 6]> = Default::default(); }
fn tm<R>(i: usize, f: impl FnOnce() -> R) -> R { let t = std::time::Instant::now(); let r = f(); T.with(|x| x.borrow_mut()[i] += t.elapsed()); r }
thread_local! { pub static SZ: std::cell::RefCell<[(usize, std::time::Duration); 14]> = Default::default(); }
struct Splitter {
    module_name: String,
    parts: Vec<Part>,
    out: Vec<FunctionPartition>,
}

impl Splitter {
    /// Writes the globals partition: a copy of `m` where only the eager
    /// functions keep their bodies.
    ///
    /// # Safety
    /// `m` must be a live module, prepared by `prepare`.
    unsafe fn globals_partition(&self, m: LLVMModuleRef) -> Result<Vec<u8>> {
        let node = Node { raw: LLVMCloneModule(m), owned: true };
        for part in &self.parts {
            make_declaration(self.lookup(node.raw, part)?);
        }
        collect_garbage(node.raw);
        self.finish(&node, "<globals>")
    }

    /// Turns `m` itself into the root of the bisection: every global
    /// variable, alias and ifunc becomes a declaration, as does every eager
    /// function (their definitions are in the globals partition).
    ///
    /// # Safety
    /// `m` must be a live module, prepared by `prepare`; `eager` holds
    /// functions of `m`.
    unsafe fn function_tree_root(&self, m: LLVMModuleRef, eager: &HashSet<LLVMValueRef>) -> Result<()> {
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
        for &f in eager {
            make_declaration(f);
        }
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
    /// body per module.
    fn bisect(&mut self, node: Node, parts: &[usize]) -> Result<()> {
        match parts.len() {
            0 => Ok(()),
            1 => self.leaf(node, parts[0]),
            n => {
                let (first, second) = parts.split_at(n / 2);
                let t0 = std::time::Instant::now();
                let other = tm(0, || node.clone_module());
                SZ.with(|x| { let mut x = x.borrow_mut(); let k = (n as f64).log2() as usize; x[k].0 += 1; x[k].1 += t0.elapsed(); });
                // SAFETY: both nodes are live modules of this split holding the
                // bodies of `parts`; we hold them exclusively.
                unsafe {
                    self.keep_only(&node, second)?;
                    self.keep_only(&other, first)?;
                }
                self.bisect(node, first)?;
                self.bisect(other, second)
            }
        }
    }

    /// Turns the bodies of `drop` in `node` into declarations and deletes the
    /// declarations that became unused.
    ///
    /// # Safety
    /// `node` must be a live module of this split.
    unsafe fn keep_only(&self, node: &Node, drop: &[usize]) -> Result<()> {
        for &i in drop {
            let f = self.lookup(node.raw, &self.parts[i])?;
            tm(1, || make_declaration(f));
        }
        tm(2, || collect_garbage(node.raw));
        Ok(())
    }

    /// Renames the one body in `node` and writes its partition.
    fn leaf(&mut self, node: Node, index: usize) -> Result<()> {
        let part = &self.parts[index];
        let body = format!("{}.jitcore.body", part.name);
        let mut body_ir_name = part.ir_name.clone();
        body_ir_name.extend_from_slice(b".jitcore.body");
        // SAFETY: node is a live module of this split holding exactly this
        // body; we hold it exclusively. The new declaration has the body's
        // function type and address space (checked), so replacing the body's
        // uses with it keeps the IR well typed.
        unsafe {
            let f = self.lookup(node.raw, part)?;
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
                let stub = LLVMAddFunction(node.raw, c"".as_ptr(), LLVMGlobalGetValueType(f));
                set_raw_name(stub, &part.ir_name);
                if LLVMTypeOf(stub) != LLVMTypeOf(f) || raw_name(stub) != part.ir_name {
                    return Err(Error::internal(format!(
                        "splitting module '{}': cannot declare '{}' next to its body",
                        self.module_name, part.name
                    )));
                }
                copy_function_attributes(f, stub);
                let visibility =
                    if part.exported { LLVMVisibility::LLVMDefaultVisibility } else { LLVMVisibility::LLVMHiddenVisibility };
                LLVMSetVisibility(stub, visibility);
                LLVMReplaceAllUsesWith(f, stub);
            }
        }
        let bitcode = tm(3, || self.finish(&node, &part.name))?;
        tm(4, || drop(node));
        let part = &self.parts[index];
        self.out.push(FunctionPartition {
            name: part.name.clone(),
            body,
            exported: part.exported,
            weak: part.weak,
            bitcode,
        });
        Ok(())
    }

    /// The function of `part` in `m`.
    ///
    /// # Safety
    /// `m` must be a live module.
    unsafe fn lookup(&self, m: LLVMModuleRef, part: &Part) -> Result<LLVMValueRef> {
        let f = LLVMGetNamedFunctionWithLength(m, part.ir_name.as_ptr().cast(), part.ir_name.len());
        if f.is_null() {
            return Err(Error::internal(format!(
                "splitting module '{}': function '{}' went missing",
                self.module_name, part.name
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
                unsafe { LLVMVerifyModule(node.raw, LLVMVerifierFailureAction::LLVMReturnStatusAction, &mut msg) };
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
        let buf = unsafe { MemoryBuffer::from_raw(LLVMWriteBitcodeToMemoryBuffer(node.raw)) };
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

/// Whether LLVM-C would abort on `LLVMSetInitializer(g, NULL)` and
/// `LLVMSetPersonalityFn(f, NULL)`.
///
/// Those two functions pass their argument through `cast<Constant>`, which
/// asserts it is not NULL when LLVM is built with assertions; without them
/// (release and distribution builds, `llvm-config --assertion-mode` OFF) it is
/// a plain pointer conversion and the C++ setters take NULL as "remove", which
/// is what we need. LLVM-C has no other way to remove either. An LLVM built
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
unsafe fn refusal(m: LLVMModuleRef) -> Option<Refusal> {
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
    let mut refuse = None;
    for_each_global_value(m, |v| {
        if contains(&raw_name(v), b".jitcore.") {
            // Our new names could collide with existing ones.
            refuse = Some("a global value name already contains '.jitcore.'");
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
/// Refuses when a `blockaddress` of one function is used by the code of
/// another (that code's partition would not have the blocks), or when an alias
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
/// built on one) to where they end: Ok(true) if one is a global value's
/// initializer (or aliasee), Ok(false) if all are instructions of `f` or dead,
/// Err if an instruction of another function uses it.
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
    globals(m).into_iter().any(|g| {
        LLVMIsDeclaration(g) == 0 && LLVMGetLinkage(g) != LLVMLinkage::LLVMAvailableExternallyLinkage
    }) || !LLVMGetFirstGlobalAlias(m).is_null()
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

/// Turns a function definition into a declaration: deletes its body,
/// personality and metadata (a declaration may not carry a distinct
/// DISubprogram) and gives it external linkage. Its name, type, attributes and
/// visibility stay; prefix and prologue data stay too (allowed on a
/// declaration, and LLVM-C can only remove them by the same NULL cast).
///
/// # Safety
/// `f` must be a live function definition in a module we hold exclusively.
unsafe fn make_declaration(f: LLVMValueRef) {
    delete_body(f);
    if LLVMHasPersonalityFn(f) != 0 {
        // SAFETY (null personality): see `llvm_asserts_on_null_setters`.
        LLVMSetPersonalityFn(f, ptr::null_mut());
    }
    LLVMGlobalClearMetadata(f);
    LLVMSetLinkage(f, LLVMLinkage::LLVMExternalLinkage);
}

/// Deletes every instruction and block of `f`.
///
/// Deleting a value that still has uses leaves dangling pointers, and the
/// body's values use each other in any order (phis, loops). So each
/// instruction first has its uses replaced by poison (`none` for tokens, which
/// have no poison); it can then be erased, which also drops its own uses of
/// other instructions and of blocks. Empty blocks are then used only by
/// blockaddress constants, which block deletion replaces itself.
///
/// # Safety
/// `f` must be a live function in a module we hold exclusively.
unsafe fn delete_body(f: LLVMValueRef) {
    let mut bb = LLVMGetFirstBasicBlock(f);
    while !bb.is_null() {
        let mut inst = LLVMGetFirstInstruction(bb);
        while !inst.is_null() {
            let next = LLVMGetNextInstruction(inst);
            if !LLVMGetFirstUse(inst).is_null() {
                let ty = LLVMTypeOf(inst);
                let replacement = if LLVMGetTypeKind(ty) == LLVMTypeKind::LLVMTokenTypeKind {
                    LLVMConstNull(ty)
                } else {
                    LLVMGetPoison(ty)
                };
                LLVMReplaceAllUsesWith(inst, replacement);
            }
            LLVMInstructionEraseFromParent(inst);
            inst = next;
        }
        bb = LLVMGetNextBasicBlock(bb);
    }
    loop {
        let bb = LLVMGetFirstBasicBlock(f);
        if bb.is_null() {
            break;
        }
        LLVMDeleteBasicBlock(bb);
    }
}

/// Deletes function and variable declarations nothing uses any more.
///
/// Constants that were used only by deleted code are not freed by LLVM (they
/// live in the context) and still count as uses here; the declarations they
/// keep are not copied into the next clone's users and go one level later.
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

fn is_local(linkage: LLVMLinkage) -> bool {
    matches!(linkage, LLVMLinkage::LLVMInternalLinkage | LLVMLinkage::LLVMPrivateLinkage)
}

fn is_weak(linkage: LLVMLinkage) -> bool {
    matches!(
        linkage,
        LLVMLinkage::LLVMLinkOnceAnyLinkage
            | LLVMLinkage::LLVMLinkOnceODRLinkage
            | LLVMLinkage::LLVMWeakAnyLinkage
            | LLVMLinkage::LLVMWeakODRLinkage
            | LLVMLinkage::LLVMCommonLinkage
    )
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
            assert_eq!(names(&symbols), [p.body.clone()], "partition {} defines only its body", p.name);
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
        assert_eq!(
            names(&symbols),
            ["fa", "g", "ga", "ifn", "interp", "labels.jitcore.t2", "resolver", "target"]
        );
        for p in &split.functions {
            let (m, symbols) = reparse(&p.name, &p.bitcode);
            assert_eq!(names(&symbols), [p.body.clone()]);
            if p.name == "user" {
                let text = print(&m);
                assert!(text.contains("declare void @fa()"), "{text}");
                assert!(text.contains("declare void @ifn()"), "{text}");
                assert!(text.contains("@ga = external global i32"), "{text}");
                assert!(text.contains("declare i32 @interp(i64)"), "{text}");
            }
            if p.name == "goto" {
                let text = print(&m);
                assert!(text.contains("blockaddress(@goto.jitcore.body, %x)"), "{text}");
                assert!(text.contains("call i32 @goto(i1 false)"), "{text}");
            }
        }
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
        assert_eq!(split_or_refuse(&mut ir, "t3").unwrap().err(), Some("a blockaddress of one function is used by another function"));
        assert!(split(&mut ir, "t3").unwrap().is_none());
        assert_eq!(print(&ir), before, "a refused module is left as it was");
    }

    #[test]
    fn refuses_module_asm() {
        let mut ir = parse("module asm \".globl foo\"\ndefine void @f() {\n  ret void\n}\n");
        assert!(split(&mut ir, "t4").unwrap().is_none());
    }

    #[test]
    fn module_without_globals() {
        let mut ir = parse("define void @f() {\n  ret void\n}\ndefine internal void @g() {\n  ret void\n}\n");
        let split = split(&mut ir, "t5").unwrap().unwrap();
        assert!(split.globals.is_none());
        assert_eq!(split.functions.len(), 2);
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
        SZ.with(|x| for (k, (c, d)) in x.borrow().iter().enumerate() { if *c > 0 { eprintln!("size 2^{k}: {c} clones, {d:?}, {:?} each", *d / *c as u32) } });
        T.with(|x| eprintln!("clone, decl, gc, finish, dispose, root: {:?}", x.borrow()));
        let (_, symbols) = reparse("globals", split.globals.as_ref().unwrap());
        assert_eq!(symbols.len(), n);
        // Leaves stay small: a body, its global and its two callees.
        let largest = split.functions.iter().map(|p| p.bitcode.len()).max().unwrap();
        assert!(largest < 4096, "largest partition has {largest} bytes of bitcode");
        for p in split.functions.iter().step_by(97) {
            let (m, symbols) = reparse(&p.name, &p.bitcode);
            assert_eq!(names(&symbols), [p.body.clone()]);
            // SAFETY: the module is live; we only count its values.
            let (fns, vars) = unsafe { (functions(m.as_raw()).len(), globals(m.as_raw()).len()) };
            assert!(fns <= 3 && vars == 1, "{}: {fns} functions, {vars} variables", p.name);
        }
    }
}
