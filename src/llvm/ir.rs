//! An LLVM module that owns its own `LLVMContext`.
//!
//! Each jitcore module lives in a private context (taken from the pool of
//! `context.rs`, which it goes back to when the module is disposed), so
//! two modules can be compiled on two threads at once. A context is not thread-safe: every
//! `IrModule` is used by one thread at a time (callers keep it behind a lock).

use std::ffi::CStr;
use std::ptr;

use llvm_sys::analysis::{LLVMVerifierFailureAction, LLVMVerifyModule};
use llvm_sys::bit_writer::LLVMWriteBitcodeToMemoryBuffer;
use llvm_sys::core::*;
use llvm_sys::ir_reader::LLVMParseIRInContext2;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMLinkage, LLVMVisibility};

use super::buffer::MemoryBuffer;
use super::context::Context;
use super::{cstring, take_message};
use crate::error::{Error, Result};

/// Owns an LLVM context and one module in it.
pub struct IrModule {
    module: LLVMModuleRef,
    /// Dropped after the module (see `Drop`).
    ctx: Context,
}

// SAFETY: the context and module are owned exclusively by this value and are
// only touched through &mut self or &self by one thread at a time (callers
// hold IrModule behind a Mutex); LLVM contexts have no thread affinity.
unsafe impl Send for IrModule {}

/// What kind of definition a module symbol is, as ORC needs to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSymbol {
    pub name: String,
    pub exported: bool,
    pub callable: bool,
    pub weak: bool,
}

/// One entry of `llvm.global_ctors` / `llvm.global_dtors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Structor {
    pub priority: u32,
    pub function: String,
}

pub(crate) fn is_local(linkage: LLVMLinkage) -> bool {
    matches!(linkage, LLVMLinkage::LLVMInternalLinkage | LLVMLinkage::LLVMPrivateLinkage)
}

pub(crate) fn is_weak(linkage: LLVMLinkage) -> bool {
    matches!(
        linkage,
        LLVMLinkage::LLVMLinkOnceAnyLinkage
            | LLVMLinkage::LLVMLinkOnceODRLinkage
            | LLVMLinkage::LLVMWeakAnyLinkage
            | LLVMLinkage::LLVMWeakODRLinkage
            | LLVMLinkage::LLVMCommonLinkage
    )
}

/// The name of a value as bytes (empty for unnamed values).
///
/// # Safety
/// `v` must be a live value.
pub(crate) unsafe fn raw_name(v: LLVMValueRef) -> Vec<u8> {
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
pub(crate) unsafe fn set_raw_name(v: LLVMValueRef, name: &[u8]) {
    LLVMSetValueName2(v, name.as_ptr().cast(), name.len());
}

/// The name of a global value as text (empty for unnamed values).
///
/// # Safety
/// `v` must be a live global value.
unsafe fn value_name(v: LLVMValueRef) -> String {
    String::from_utf8_lossy(&raw_name(v)).into_owned()
}

/// The users of `v`, one entry per use.
///
/// # Safety
/// `v` must be a live value.
pub(crate) unsafe fn users(v: LLVMValueRef) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    let mut u = LLVMGetFirstUse(v);
    while !u.is_null() {
        out.push(LLVMGetUser(u));
        u = LLVMGetNextUse(u);
    }
    out
}

/// Makes a linkonce definition weak (linkonce_odr becomes weak_odr): the
/// same for a linker, but nobody may drop it.
///
/// # Safety
/// `v` must be a live global value in a module we hold exclusively.
pub(crate) unsafe fn linkonce_to_weak(v: LLVMValueRef) {
    match LLVMGetLinkage(v) {
        LLVMLinkage::LLVMLinkOnceAnyLinkage => LLVMSetLinkage(v, LLVMLinkage::LLVMWeakAnyLinkage),
        LLVMLinkage::LLVMLinkOnceODRLinkage => LLVMSetLinkage(v, LLVMLinkage::LLVMWeakODRLinkage),
        _ => {}
    }
}

/// Runs the IR verifier on `m`: Err with LLVM's message (trailing
/// whitespace trimmed) if the module is broken.
///
/// # Safety
/// `m` must be a live module that no other thread mutates during the call.
pub(crate) unsafe fn verify_module(m: LLVMModuleRef) -> std::result::Result<(), String> {
    let mut msg = ptr::null_mut();
    let broken = LLVMVerifyModule(m, LLVMVerifierFailureAction::LLVMReturnStatusAction, &mut msg);
    let text = take_message(msg);
    if broken != 0 {
        return Err(text.trim_end().to_string());
    }
    Ok(())
}

/// The bitcode of `m`.
///
/// # Safety
/// `m` must be a live module that no other thread mutates during the call.
pub(crate) unsafe fn bitcode_of(m: LLVMModuleRef) -> Vec<u8> {
    MemoryBuffer::from_raw(LLVMWriteBitcodeToMemoryBuffer(m)).bytes().to_vec()
}

/// A module's identifier (its name).
///
/// # Safety
/// `m` must be a live module.
pub unsafe fn module_identifier(m: LLVMModuleRef) -> String {
    let mut len = 0usize;
    let p = LLVMGetModuleIdentifier(m, &mut len);
    if p.is_null() || len == 0 {
        return String::new();
    }
    String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), len)).into_owned()
}

/// Collects an LLVM-C list (`start`, then `next` until NULL) first, so
/// callers may change or delete its elements while they go through it.
///
/// # Safety
/// `start` must be NULL or a live element of a list that `next` walks.
unsafe fn list<T>(start: *mut T, next: unsafe extern "C" fn(*mut T) -> *mut T) -> Vec<*mut T> {
    let mut out = Vec::new();
    let mut v = start;
    while !v.is_null() {
        out.push(v);
        v = next(v);
    }
    out
}

/// # Safety
/// `m` must be a live module.
pub(crate) unsafe fn functions(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(LLVMGetFirstFunction(m), LLVMGetNextFunction)
}

/// # Safety
/// `m` must be a live module.
pub(crate) unsafe fn globals(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(LLVMGetFirstGlobal(m), LLVMGetNextGlobal)
}

/// # Safety
/// `m` must be a live module.
pub(crate) unsafe fn aliases(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(LLVMGetFirstGlobalAlias(m), LLVMGetNextGlobalAlias)
}

/// # Safety
/// `m` must be a live module.
pub(crate) unsafe fn ifuncs(m: LLVMModuleRef) -> Vec<LLVMValueRef> {
    list(LLVMGetFirstGlobalIFunc(m), LLVMGetNextGlobalIFunc)
}

/// The basic blocks of function `f`, in order (collected first).
///
/// # Safety
/// `f` must be a live function.
pub(crate) unsafe fn basic_blocks(f: LLVMValueRef) -> Vec<LLVMBasicBlockRef> {
    list(LLVMGetFirstBasicBlock(f), LLVMGetNextBasicBlock)
}

/// Calls `f` on every global value of `m` (functions, variables, aliases,
/// ifuncs, in that order), with whether it is callable. The lists are
/// collected first, so `f` may rename values or change their linkage.
///
/// # Safety
/// `m` must be a live module; `f` must not delete values.
pub(crate) unsafe fn for_each_global(m: LLVMModuleRef, mut f: impl FnMut(LLVMValueRef, bool)) {
    for v in functions(m) {
        f(v, true);
    }
    for v in globals(m) {
        f(v, false);
    }
    for v in aliases(m) {
        let callable = LLVMGetTypeKind(LLVMGlobalGetValueType(v)) == llvm_sys::LLVMTypeKind::LLVMFunctionTypeKind;
        f(v, callable);
    }
    for v in ifuncs(m) {
        f(v, true);
    }
}

impl IrModule {
    /// Keeps the module's context out of the pool once the module is gone
    /// (IR passes and code generation are about to run in it; see
    /// `context.rs`).
    pub(super) fn retire_context(&mut self) {
        self.ctx.retire();
    }

    /// Whether the module's context will go back to the pool (tests).
    #[cfg(test)]
    pub(crate) fn context_is_recycled(&self) -> bool {
        self.ctx.is_recycled()
    }

    /// The module, for the other files of this layer that rewrite IR.
    pub(super) fn raw(&self) -> LLVMModuleRef {
        self.module
    }

    /// Parses textual IR or bitcode (LLVM detects which) into a new context.
    /// `name` identifies the buffer in diagnostics ("name:line:col: error: ...").
    pub fn parse(name: &str, data: &[u8]) -> Result<IrModule> {
        IrModule::parse_from(name, data, || MemoryBuffer::copy_of(data, name))
    }

    /// [`parse`](Self::parse) of `terminated` without its last byte, which
    /// must be NUL: the parser reads the bytes where they are, without a
    /// copy (a module's source is kept that way).
    pub fn parse_terminated(name: &str, terminated: &[u8]) -> Result<IrModule> {
        let data = &terminated[..terminated.len().saturating_sub(1)];
        // SAFETY: the buffer is dropped inside parse_from, while `terminated`
        // is borrowed.
        IrModule::parse_from(name, data, || unsafe { MemoryBuffer::borrowing_terminated(terminated, name) })
    }

    fn parse_from(name: &str, data: &[u8], buffer: impl FnOnce() -> Result<MemoryBuffer>) -> Result<IrModule> {
        if let Some(depth) = text_nesting(data) {
            if depth > MAX_IR_NESTING {
                return Err(Error::invalid_ir(format!(
                    "cannot parse module '{name}': brackets nest {depth} levels deep, more than the {MAX_IR_NESTING} jitcore accepts"
                )));
            }
        }
        let buf = buffer()?;
        let mut ctx = Context::take();
        let mut module = ptr::null_mut();
        let mut msg = ptr::null_mut();
        // SAFETY: ctx and buf are live; the buffer stays ours (the parser
        // copies what it needs, the module keeps no reference), and on failure
        // LLVM hands us a message to dispose.
        let failed = unsafe { LLVMParseIRInContext2(ctx.raw(), buf.as_raw(), &mut module, &mut msg) };
        drop(buf);
        if failed != 0 || module.is_null() {
            // SAFETY: msg is NULL or an LLVM-owned message.
            let text = unsafe { take_message(msg) };
            // The context is disposed (what a failed parse left in it is
            // not worth reasoning about).
            drop(ctx);
            return Err(Error::invalid_ir(format!("cannot parse module '{name}': {text}")));
        }
        ctx.serve(data);
        let m = IrModule { module, ctx };
        // SAFETY: the module is live; the name is copied by LLVM.
        unsafe {
            let ident = super::until_nul(name);
            LLVMSetModuleIdentifier(m.module, ident.as_ptr().cast(), ident.len());
        }
        m.verify(name)?;
        Ok(m)
    }

    /// Copies a module that lives in some other context (a host's), through
    /// bitcode, into a new context of our own, with that bitcode. The host
    /// keeps `src`.
    ///
    /// # Safety
    /// `src` must be a live module that no other thread mutates during the call.
    pub unsafe fn copy_from(src: LLVMModuleRef) -> Result<(IrModule, Vec<u8>)> {
        let name = module_identifier(src);
        let bc = bitcode_of(src);
        Ok((IrModule::parse(&name, &bc)?, bc))
    }

    /// Runs the IR verifier; the message names the module and the problem.
    pub fn verify(&self, name: &str) -> Result<()> {
        // SAFETY: the module is live and only this thread uses it (&self).
        unsafe { verify_module(self.module) }
            .map_err(|text| Error::invalid_ir(format!("module '{name}' does not verify: {text}")))
    }

    pub fn as_raw(&self) -> LLVMModuleRef {
        self.module
    }

    pub fn name(&self) -> String {
        // SAFETY: the module is live while self is.
        unsafe { module_identifier(self.module) }
    }

    /// The module's bitcode (the content the cache key is computed over).
    pub fn bitcode(&self) -> Vec<u8> {
        // SAFETY: the module is live and only this thread uses it (&self).
        unsafe { bitcode_of(self.module) }
    }

    pub fn target_triple(&self) -> String {
        // SAFETY: LLVMGetTarget returns a borrowed NUL-terminated string.
        unsafe { CStr::from_ptr(LLVMGetTarget(self.module)).to_string_lossy().into_owned() }
    }

    /// Sets the triple the module is compiled for.
    pub fn set_triple(&mut self, triple: &str) {
        let t = cstring(triple);
        // SAFETY: the module is live; LLVM copies the string.
        unsafe { LLVMSetTarget(self.module, t.as_ptr()) };
    }

    /// The external definitions of the module, as ORC symbol flags need them.
    /// `llvm.*` values, declarations, local and available_externally values
    /// are not definitions another module can see.
    pub fn defined_symbols(&self) -> Vec<ModuleSymbol> {
        // SAFETY: the module is live and not mutated while we iterate (&self).
        unsafe { defined_symbols_of(self.module) }
    }

    /// The module as IR text (what `llvm-dis` would print).
    pub fn to_text(&self) -> String {
        // SAFETY: the module is live; the returned string is ours to dispose.
        unsafe { take_message(LLVMPrintModuleToString(self.module)) }
    }

    /// The names of the functions the module defines, in module order, local
    /// ones included (`<anon>` for unnamed ones).
    pub fn function_definitions(&self) -> Vec<String> {
        let mut out = Vec::new();
        // SAFETY: the module is live and not mutated while we iterate.
        unsafe {
            for f in functions(self.module) {
                if LLVMIsDeclaration(f) == 0 {
                    let name = value_name(f);
                    out.push(if name.is_empty() { "<anon>".to_string() } else { name });
                }
            }
        }
        out
    }

    /// The names of the external values the module declares (uses without
    /// defining), `llvm.*` intrinsics left out.
    pub fn declarations(&self) -> Vec<String> {
        // SAFETY: the module is live and not mutated while we iterate (&self).
        unsafe { declarations_of(self.module) }
    }

    /// The names of the module's thread-local variables (defined or declared).
    pub fn thread_locals(&self) -> Vec<String> {
        let mut out = Vec::new();
        // SAFETY: the module is live and not mutated while we iterate.
        unsafe {
            for g in globals(self.module) {
                if LLVMIsThreadLocal(g) != 0 {
                    out.push(value_name(g));
                }
            }
        }
        out
    }

    /// Linkonce definitions may be deleted by the optimizer when unused, but
    /// ORC was promised them: make them weak so they are kept (the semantics
    /// for a linker are the same).
    pub fn keep_linkonce_definitions(&mut self) {
        // SAFETY: the module is live and we hold it exclusively (&mut self);
        // changing linkage does not invalidate the iteration.
        unsafe {
            for_each_global(self.module, |v, _| linkonce_to_weak(v));
        }
    }

    /// Reads and removes `llvm.global_ctors` or `llvm.global_dtors`
    /// (`which` is the global's name). Local functions they name are renamed
    /// to `<prefix()>.<n>` with hidden visibility and external linkage, so
    /// the engine can look them up and run them itself (`prefix` is asked
    /// only when there is one to rename).
    pub fn take_structors(&mut self, which: &str, prefix: &dyn Fn() -> String) -> Result<Vec<Structor>> {
        let mut out = Vec::new();
        // SAFETY: the module is live and held exclusively; we read operands
        // of the global's initializer (checked to be constants of the
        // expected shape) and delete the global only after we are done.
        unsafe {
            let g = LLVMGetNamedGlobalWithLength(self.module, which.as_ptr().cast(), which.len());
            if g.is_null() {
                return Ok(out);
            }
            let init = LLVMGetInitializer(g);
            if !init.is_null() && !LLVMIsAConstantArray(init).is_null() {
                let n = LLVMGetNumOperands(init);
                for i in 0..n {
                    let entry = LLVMGetOperand(init, i as u32);
                    if LLVMGetNumOperands(entry) < 2 {
                        continue;
                    }
                    let prio = LLVMGetOperand(entry, 0);
                    let func = LLVMGetOperand(entry, 1);
                    if LLVMIsAConstantInt(prio).is_null() || LLVMIsAFunction(func).is_null() {
                        // A null entry (zeroinitializer) or something we cannot run.
                        continue;
                    }
                    let priority = LLVMConstIntGetZExtValue(prio) as u32;
                    if is_local(LLVMGetLinkage(func)) || value_name(func).is_empty() {
                        let new_name = cstring(&format!("{}.{i}", prefix()));
                        LLVMSetValueName2(func, new_name.as_ptr(), new_name.as_bytes().len());
                        LLVMSetLinkage(func, LLVMLinkage::LLVMExternalLinkage);
                        LLVMSetVisibility(func, LLVMVisibility::LLVMHiddenVisibility);
                    }
                    out.push(Structor { priority, function: value_name(func) });
                }
            } else if !init.is_null() && LLVMIsAConstantAggregateZero(init).is_null() {
                return Err(Error::invalid_ir(format!("{which} has an initializer of an unexpected shape")));
            }
            LLVMDeleteGlobal(g);
        }
        Ok(out)
    }
}

impl IrModule {
    /// Gives up ownership: the caller disposes the module, then the
    /// context (for the other files of this layer that keep IR of their own).
    pub(super) fn into_raw(self) -> (LLVMContextRef, LLVMModuleRef) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the context is moved out once.
        let ctx = unsafe { ptr::read(&this.ctx) };
        (ctx.into_raw(), this.module)
    }
}

/// What [`IrModule::defined_symbols`] reports, for any module.
///
/// # Safety
/// `m` must be a live module nobody mutates during the call.
pub(crate) unsafe fn defined_symbols_of(m: LLVMModuleRef) -> Vec<ModuleSymbol> {
    let mut out = Vec::new();
    for_each_global(m, |v, callable| {
        if LLVMIsDeclaration(v) != 0 {
            return;
        }
        let linkage = LLVMGetLinkage(v);
        if is_local(linkage) || linkage == LLVMLinkage::LLVMAvailableExternallyLinkage {
            return;
        }
        let name = value_name(v);
        if name.is_empty() || name.starts_with("llvm.") {
            return;
        }
        let name = name.strip_prefix('\u{1}').map(str::to_string).unwrap_or(name);
        out.push(ModuleSymbol {
            name,
            exported: LLVMGetVisibility(v) != LLVMVisibility::LLVMHiddenVisibility,
            callable,
            weak: is_weak(linkage),
        });
    });
    out
}

/// What [`IrModule::declarations`] reports, for any module.
///
/// # Safety
/// `m` must be a live module nobody mutates during the call.
pub(crate) unsafe fn declarations_of(m: LLVMModuleRef) -> Vec<String> {
    let mut out = Vec::new();
    for_each_global(m, |v, _| {
        if LLVMIsDeclaration(v) != 0 {
            let name = value_name(v);
            if !name.is_empty() && !name.starts_with("llvm.") {
                out.push(name);
            }
        }
    });
    out
}

impl Drop for IrModule {
    fn drop(&mut self) {
        // SAFETY: we own the module; its context goes after it (the field
        // is dropped when this returns), back to the pool or disposed.
        unsafe { LLVMDisposeModule(self.module) }
    }
}

/// How deeply IR text may nest brackets (`(`, `[`, `{`, `<`): LLVM's parser,
/// verifier and layout code recurse once per level, so deeper input would
/// overflow the stack of the thread that parses it. Real IR stays far below.
pub(crate) const MAX_IR_NESTING: usize = 512;

/// The deepest bracket nesting of IR text, outside string literals and
/// comments, or `None` for bitcode (which is read without recursion).
/// Not inlined: inlined into the parse, it was compiled to a slower loop
/// (12.1M instead of 9.4M instructions over 1.3 MB of IR).
#[inline(never)]
fn text_nesting(data: &[u8]) -> Option<usize> {
    if super::is_bitcode(data) {
        return None;
    }
    // Sixteen bytes at a time, the positions of the bytes that matter (most
    // bytes are none of them) are found at once and visited in order; a
    // string or a comment is skipped by a search for its end (memchr). The
    // last bytes, fewer than sixteen, are a block padded with NULs (which
    // matter to nothing). This runs over every text module before LLVM
    // parses it: about 2 instructions a byte (7 when every byte was looked
    // up in the table).
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut i = 0;
    let mut padded: [u8; 16];
    'blocks: while i < data.len() {
        let block = match data.get(i..i + 16) {
            Some(block) => block,
            None => {
                // Cleared each time: a string may end inside the tail, and
                // the scan go on from there with fewer bytes left.
                padded = [0u8; 16];
                padded[..data.len() - i].copy_from_slice(&data[i..]);
                &padded[..]
            }
        };
        let base = i;
        i += 16;
        let mut mask = special_bytes(block);
        while mask != 0 {
            let at = base + mask.trailing_zeros() as usize;
            mask &= mask - 1;
            match NESTING_CLASS[data[at] as usize] {
                0 => {} // (never: the block test finds exactly the bytes of the table)
                OPEN => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                CLOSE => depth = depth.saturating_sub(1),
                // A string ends at the next quote (IR escapes quotes as
                // \22), a comment at the end of its line.
                class => match memchr::memchr(if class == QUOTE { b'"' } else { b'\n' }, &data[at + 1..]) {
                    Some(end) => {
                        i = at + 1 + end + 1;
                        continue 'blocks;
                    }
                    None => break 'blocks,
                },
            }
        }
    }
    Some(deepest)
}

const OPEN: u8 = 1;
const CLOSE: u8 = 2;
const QUOTE: u8 = 3;
const COMMENT: u8 = 4;
/// What each byte is to `text_nesting` (0: nothing).
const NESTING_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'(' as usize] = OPEN;
    t[b'[' as usize] = OPEN;
    t[b'{' as usize] = OPEN;
    t[b'<' as usize] = OPEN;
    t[b')' as usize] = CLOSE;
    t[b']' as usize] = CLOSE;
    t[b'}' as usize] = CLOSE;
    t[b'>' as usize] = CLOSE;
    t[b'"' as usize] = QUOTE;
    t[b';' as usize] = COMMENT;
    t
};

/// Bit k set: byte k of `block` (16 bytes) is a bracket, a quote or a
/// semicolon (a byte of nonzero `NESTING_CLASS`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn special_bytes(block: &[u8]) -> u32 {
    use std::arch::x86_64::*;
    assert!(block.len() == 16);
    // SAFETY: SSE2 is part of x86_64's baseline (these intrinsics need no
    // other feature); the unaligned load reads exactly the 16 bytes of
    // `block`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast());
        let is = |x: __m128i, b: u8| _mm_cmpeq_epi8(x, _mm_set1_epi8(b as i8));
        // ( ) differ in bit 0, < > in bit 1, [ { and ] } in bit 5.
        let parens = is(_mm_and_si128(v, _mm_set1_epi8(!1u8 as i8)), b'(');
        let angles = is(_mm_and_si128(v, _mm_set1_epi8(!2u8 as i8)), b'<');
        let lowered = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let opens = is(lowered, b'{');
        let closes = is(lowered, b'}');
        let marks = _mm_or_si128(is(v, b'"'), is(v, b';'));
        let any = _mm_or_si128(_mm_or_si128(parens, angles), _mm_or_si128(_mm_or_si128(opens, closes), marks));
        _mm_movemask_epi8(any) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn special_bytes(block: &[u8]) -> u32 {
    block.iter().enumerate().fold(0, |m, (k, &b)| m | (u32::from(NESTING_CLASS[b as usize] != 0) << k))
}

/// A sized IR type parsed from text in a scratch context of its own.
pub struct IrType {
    ty: LLVMTypeRef,
    _module: IrModule,
}

impl IrType {
    /// Parses `text` as one IR type (`i32`, `{i64, [2 x i64]}`, `ptr`). Only
    /// a type is accepted: text that would add anything else to the probe
    /// module, types without a size, and types whose size in bits does not
    /// fit in 64 bits are `INVALID_ARGUMENT` naming the text.
    pub fn parse(text: &str) -> Result<IrType> {
        let not_a_type = |why: &str| Error::invalid_argument(format!("not an IR type: '{text}'{why}"));
        // A type never needs these; they would let text end the declaration
        // and add globals, functions or metadata to the probe module.
        if text.trim().is_empty() || text.bytes().any(|b| b"\n\r;@=!\"#$^|\\".contains(&b) || b < 0x20) {
            return Err(not_a_type(""));
        }
        let source = format!("@jitcore.type.probe = external global {text}\n");
        let m = IrModule::parse("<type>", source.as_bytes()).map_err(|e| not_a_type(&format!(" ({})", e.message)))?;
        let g = cstring("jitcore.type.probe");
        // SAFETY: the module is live; the global exists because parsing
        // succeeded; we only read the module's lists and the type.
        let ty = unsafe {
            let v = LLVMGetNamedGlobal(m.as_raw(), g.as_ptr());
            let alone = !v.is_null()
                && LLVMGetFirstGlobal(m.as_raw()) == v
                && LLVMGetNextGlobal(v).is_null()
                && LLVMGetFirstFunction(m.as_raw()).is_null();
            if !alone {
                return Err(not_a_type(""));
            }
            LLVMGlobalGetValueType(v)
        };
        // SAFETY: LLVMTypeIsSized only inspects the type, which lives in m's context.
        if unsafe { LLVMTypeIsSized(ty) } == 0 {
            return Err(Error::invalid_argument(format!("IR type '{text}' has no size")));
        }
        // LLVM computes sizes in bits in 64-bit arithmetic and wraps.
        // SAFETY: the type is live in m's context.
        if unsafe { size_bound_bits(ty) }.is_none() {
            return Err(Error::invalid_argument(format!("IR type '{text}' is too large: its size overflows 64 bits")));
        }
        Ok(IrType { ty, _module: m })
    }

    pub fn as_raw(&self) -> LLVMTypeRef {
        self.ty
    }
}

/// An upper bound of a type's size in bits (padding included), or `None` if
/// it may not fit in 64 bits.
///
/// # Safety
/// `ty` must be a live, sized type. Its nesting is bounded by [`MAX_IR_NESTING`].
unsafe fn size_bound_bits(ty: LLVMTypeRef) -> Option<u64> {
    use llvm_sys::LLVMTypeKind::*;
    // Room for the largest scalar (x86_fp80, fp128) and its alignment.
    const SCALAR: u64 = 256;
    let bound = match LLVMGetTypeKind(ty) {
        LLVMIntegerTypeKind => (LLVMGetIntTypeWidth(ty) as u64).checked_add(SCALAR)?,
        LLVMArrayTypeKind => LLVMGetArrayLength2(ty).checked_mul(size_bound_bits(LLVMGetElementType(ty))?)?,
        LLVMVectorTypeKind | LLVMScalableVectorTypeKind => {
            (LLVMGetVectorSize(ty) as u64).checked_mul(size_bound_bits(LLVMGetElementType(ty))?)?
        }
        LLVMStructTypeKind => {
            let n = LLVMCountStructElementTypes(ty);
            let mut total: u64 = SCALAR;
            for i in 0..n {
                let element = LLVMStructGetTypeAtIndex(ty, i);
                total = total.checked_add(size_bound_bits(element)?)?.checked_add(SCALAR)?;
            }
            total
        }
        _ => SCALAR,
    };
    // Sizes are also kept in bytes rounded up to alignments: keep headroom.
    (bound < (1u64 << 60)).then_some(bound)
}

#[cfg(test)]
mod tests {
    use super::text_nesting;

    /// The byte-at-a-time scan `text_nesting` replaced (same answers).
    fn text_nesting_reference(data: &[u8]) -> usize {
        let (mut depth, mut deepest) = (0usize, 0usize);
        let (mut in_string, mut in_comment) = (false, false);
        for &b in data {
            match b {
                b'\n' => in_comment = false,
                _ if in_comment => {}
                b'"' => in_string = !in_string,
                _ if in_string => {}
                b';' => in_comment = true,
                b'(' | b'[' | b'{' | b'<' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b')' | b']' | b'}' | b'>' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        deepest
    }

    #[test]
    fn text_nesting_skips_strings_and_comments() {
        let cases: &[&[u8]] = &[
            b"",
            b"define i32 @f() {\n  ret i32 0\n}\n",
            b"@s = constant [4 x i8] c\"(((\\22[\"\n; (((((( {{{\n%t = type { { { i8 } } }\n",
            b"; unterminated comment ((((",
            b"@u = global [2 x i8] c\"((( unterminated\n(((",
            b"))))((((<<[[{{",
            b"\"\"\"(\";(\n(\"\n\"(",
        ];
        for case in cases {
            assert_eq!(text_nesting(case), Some(text_nesting_reference(case)), "{:?}", String::from_utf8_lossy(case));
        }
        // Every string of a small alphabet up to 6 bytes long.
        let alphabet = b"([<)]>\";\nx";
        let k = alphabet.len() as u64;
        let mut buf = Vec::new();
        for len in 0..=6u32 {
            for mut n in 0..k.pow(len) {
                buf.clear();
                for _ in 0..len {
                    buf.push(alphabet[(n % k) as usize]);
                    n /= k;
                }
                assert_eq!(text_nesting(&buf), Some(text_nesting_reference(&buf)), "{:?}", String::from_utf8_lossy(&buf));
            }
        }
        assert_eq!(text_nesting(b"BC\xc0\xde(((("), None);
    }

    /// Inputs longer than the sixteen-byte blocks: brackets, quotes and
    /// comments across block edges, among bytes that differ from the
    /// special ones in one bit (`=` `?` `|` `~` `\\` `_` `:` `*` `\x08`
    /// `\xa8` `\xfb`), which the block test must not take for them.
    #[test]
    fn text_nesting_agrees_across_blocks() {
        let alphabet = b"([<{)]>}\";\n=?|~\\_:*\x08\xa8\xfbxxxxxxxx";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut buf = Vec::new();
        for round in 0..20_000 {
            buf.clear();
            let len = (next() % 120) as usize;
            // Some rounds without quotes and comments, which nest deeper.
            let plain = round % 3 == 0;
            while buf.len() < len {
                let b = alphabet[(next() % alphabet.len() as u64) as usize];
                if !(plain && (b == b'"' || b == b';')) {
                    buf.push(b);
                }
            }
            assert_eq!(text_nesting(&buf), Some(text_nesting_reference(&buf)), "{:?}", String::from_utf8_lossy(&buf));
        }
        let deep = [&[b'x'; 7][..], &[b'['; 600], &[b']'; 600]].concat();
        assert_eq!(text_nesting(&deep), Some(600));
        let long_string = [&b"@s = c\""[..], &[b'('; 100], b"\" (", &[b';'; 40], b"((\n<"].concat();
        assert_eq!(text_nesting(&long_string), Some(text_nesting_reference(&long_string)));
    }
}
