//! The LLVM contexts modules live in, recycled.
//!
//! Each module jitcore parses lives in a context of its own, so two modules
//! can be compiled on two threads at once (see `ir.rs`). Making a context
//! and disposing of it cost about 45,000 instructions (LLVM 22: the
//! constructor registers the fixed metadata kinds, operand-bundle tags and
//! sync scopes in string maps): 19% of what a warm module costs from its IR
//! text to a callable address, more than parsing a one-function module. So
//! a context is not disposed with its module but given back to a small
//! process-wide pool, and the next module parsed takes it from there.
//!
//! - **Exclusive.** A context serves one module at a time. It goes back to
//!   the pool only when its module is disposed, after everything else in
//!   it (the module's IR is the last thing that lives there; a copy made in
//!   it, as the lazy split makes, takes the context out of the pool for
//!   good, see [`Context::into_raw`]).
//! - **Bounded.** What an LLVM context keeps after its modules are gone
//!   (uniqued constants, types, attribute lists, metadata) stays until it is
//!   disposed. A context is therefore recycled only after a module made from
//!   at most [`MAX_RECYCLED_SOURCE`] bytes of IR text, for at most
//!   [`MAX_USES`] modules and [`MAX_SERVED`] bytes of their IR in all (what
//!   a context keeps grows with no more than the IR it read), and at most
//!   [`MAX_IDLE`] wait in the pool; every other context is disposed as
//!   before. What the pool holds is bounded whatever the host does.
//! - **Invisible.** A module's named struct types stay in its context too,
//!   so a later module's `%T` would be renamed `%T.0` in memory; so do the
//!   metadata kinds, sync scopes and operand-bundle tags it registered,
//!   which the bitcode writer writes for every later module. A context is
//!   therefore recycled only after text that can leave none of these (see
//!   [`leaves_names`]; no metadata at all), never after bitcode (whose
//!   tables LLVM-C cannot read), and never once IR passes or code
//!   generation ran in it ([`Context::retire`]): a module's IR
//!   (`jitcore-run -orc-lazy-debug=mods-to-stdout`) reads as it was given,
//!   and its bitcode (a lazy partition's content key) is the same bytes in
//!   a recycled context as in a new one. So the pool serves what is parsed
//!   and dropped without compiling: a module whose object comes from a
//!   cache, or whose IR is rebuilt and dropped again. Nothing else of a context changes with use: jitcore sets its
//!   diagnostic handler once, when it is made, and a context whose
//!   settings change (the lazy split discards value names) leaves the pool.
//! - **Never waited for.** The pool's lock is only tried: a thread that
//!   finds it held makes a new context (or disposes of its own) instead, so
//!   no thread queues behind another, and a child forked while some thread
//!   held it (`JitcoreCreateModuleFromUntrustedIR`) cannot hang on it.

use std::sync::{Mutex, MutexGuard, TryLockError};

use llvm_sys::core::LLVMContextDispose;
use llvm_sys::prelude::LLVMContextRef;

/// Source bytes of the largest module whose context is recycled: small
/// modules are where a context's cost shows, and a large one leaves more
/// behind in it. Beyond this the text checks ([`leaves_names`], about 1.4
/// instructions a byte) would cost more than half what a new context does
/// (a 33 KB module: 46,000 instructions of checks against 45,000 saved).
pub(crate) const MAX_RECYCLED_SOURCE: usize = 16 << 10;

/// Modules one context serves before it is disposed.
pub(crate) const MAX_USES: u32 = 64;

/// Bytes of IR one context reads, over all the modules it serves, before
/// it is disposed.
pub(crate) const MAX_SERVED: usize = 256 << 10;

/// What a context has served: modules and the bytes of their IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Wear {
    uses: u32,
    bytes: usize,
}

impl Wear {
    fn worn_out(self) -> bool {
        self.uses >= MAX_USES || self.bytes >= MAX_SERVED
    }
}

/// Contexts the pool keeps waiting (one per thread that parses at once is
/// enough; more would only hold memory).
pub(crate) const MAX_IDLE: usize = 4;

/// An idle context and what it has served.
struct Idle(LLVMContextRef, Wear);

// SAFETY: an idle context is used by no one; LLVM contexts have no thread
// affinity, and the one taking it uses it alone.
unsafe impl Send for Idle {}

/// Idle contexts, most recently used last.
struct Pool(Mutex<Vec<Idle>>);

static POOL: Pool = Pool(Mutex::new(Vec::new()));

impl Pool {
    /// An idle context and what it served, if one waits.
    fn take(&self) -> Option<(LLVMContextRef, Wear)> {
        self.idle()?.pop().map(|Idle(raw, wear)| (raw, wear))
    }

    /// Keeps `raw`, which has served `wear`, if it may serve more and
    /// there is room; otherwise hands it back to be disposed.
    fn give(&self, raw: LLVMContextRef, wear: Wear) -> Option<LLVMContextRef> {
        if wear.worn_out() {
            return Some(raw);
        }
        let Some(mut idle) = self.idle() else { return Some(raw) };
        if idle.len() >= MAX_IDLE {
            return Some(raw);
        }
        idle.push(Idle(raw, wear));
        None
    }

    /// The idle contexts, unless another thread holds them right now: the
    /// pool is never waited for (a new context is made, or this one
    /// disposed, instead), so the child `JitcoreCreateModuleFromUntrustedIR`
    /// forks cannot hang on a lock some thread of the host held at the fork.
    fn idle(&self) -> Option<MutexGuard<'_, Vec<Idle>>> {
        match self.0.try_lock() {
            Ok(idle) => Some(idle),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// A context one module lives in: from the pool, or new.
pub struct Context {
    raw: LLVMContextRef,
    /// What it served, this module included.
    wear: Wear,
    /// Whether it goes back to the pool when dropped (see [`recyclable`]).
    recycle: bool,
}

// SAFETY: the context is owned by this value alone (see the module doc);
// LLVM contexts have no thread affinity.
unsafe impl Send for Context {}

impl Context {
    /// A context no one else uses: an idle one from the pool, or a new one
    /// with jitcore's diagnostic handler.
    pub fn take() -> Context {
        match POOL.take() {
            Some((raw, wear)) => Context { raw, wear: Wear { uses: wear.uses + 1, ..wear }, recycle: false },
            None => {
                Context { raw: super::diagnostics::new_context(), wear: Wear { uses: 1, bytes: 0 }, recycle: false }
            }
        }
    }

    pub fn raw(&self) -> LLVMContextRef {
        self.raw
    }

    /// Records that the context serves a module made from `source`: its
    /// bytes count to the context's wear, and they decide whether it goes
    /// back to the pool once dropped (see the module doc for why only some
    /// do).
    pub fn serve(&mut self, source: &[u8]) {
        self.wear.bytes = self.wear.bytes.saturating_add(source.len());
        self.recycle = recyclable(source);
    }

    /// Keeps the context out of the pool: IR passes and code generation
    /// can add named types and metadata kinds of their own (a coroutine's
    /// `%f.Frame`, shadow-stack GC's `gc_stackentry`), which the source
    /// does not show.
    pub fn retire(&mut self) {
        self.recycle = false;
    }

    /// Whether the context goes back to the pool when dropped (tests).
    #[cfg(test)]
    pub fn is_recycled(&self) -> bool {
        self.recycle
    }

    /// Gives up the context for good (it never returns to the pool): the
    /// caller disposes it after every module in it.
    pub fn into_raw(self) -> LLVMContextRef {
        let this = std::mem::ManuallyDrop::new(self);
        this.raw
    }
}

/// Whether a context may serve another module after one made from `source`
/// is disposed: IR text of at most [`MAX_RECYCLED_SOURCE`] bytes that
/// leaves nothing in the context a later module could see (see
/// [`leaves_names`]).
fn recyclable(source: &[u8]) -> bool {
    source.len() <= MAX_RECYCLED_SOURCE && !super::is_bitcode(source) && !leaves_names(source)
}

/// Whether IR text may leave names in its context that would show in a
/// later module: a named struct type (the later module's `%T` would become
/// `%T.0`), or a metadata kind, sync scope or operand-bundle tag the
/// context did not know (the bitcode writer writes every one the context
/// holds, so a later module's bitcode, and the content key of a lazy
/// partition made from it, would change; printed attachments are ordered
/// by kind). Over-counting (the word in a string or a comment) only costs
/// a recycling:
/// - `type` after an `=` (blanks between), or first on its line (a comment
///   may stand between the `=` and it);
/// - `!` before a letter or `.`, `_`, `$`, `-`: an attachment or named
///   metadata (`!dbg`, `!llvm.module.flags`), whatever its kind;
/// - `syncscope(`, and `"(` (an operand bundle: `[ "tag"(...) ]`).
fn leaves_names(text: &[u8]) -> bool {
    // Most real modules carry metadata: that single-byte search goes first.
    let metadata = memchr::memchr_iter(b'!', text)
        .any(|at| text.get(at + 1).is_some_and(|&c| c.is_ascii_alphabetic() || b"._$-".contains(&c)));
    metadata
        || memchr::memmem::find(text, b"syncscope(").is_some()
        || memchr::memmem::find(text, b"\"(").is_some()
        || memchr::memmem::find_iter(text, b"type").any(|at| {
            match text[..at].iter().rev().find(|b| !b" \t\r".contains(b)) {
                None | Some(b'\n') | Some(b'=') => true,
                Some(_) => false,
            }
        })
}

impl Drop for Context {
    /// Must run after every module of the context is disposed.
    fn drop(&mut self) {
        let dispose = if self.recycle { POOL.give(self.raw, self.wear) } else { Some(self.raw) };
        if let Some(raw) = dispose {
            // SAFETY: we own the context and nothing in it is left (above).
            unsafe { LLVMContextDispose(raw) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_text_without_named_types_is_recycled() {
        assert!(recyclable(b"define i32 @f() {\n  ret i32 1\n}\n"));
        assert!(!recyclable(b"%T = type { i32 }\ndefine void @f(ptr %p) {\n  ret void\n}\n"));
        assert!(!recyclable(b"%0=type { i32 }\n"));
        assert!(!recyclable(b"%T =\n\ttype opaque\n"));
        assert!(!recyclable(b"%T = ; a comment\n type { i32 }\n"));
        assert!(recyclable(b"; a comment with the word type in it\ndefine void @f() {\n  ret void\n}\n"));
        // Metadata kinds, sync scopes, operand-bundle tags.
        assert!(!recyclable(b"define void @f() !mykind !0 {\n  ret void\n}\n!0 = !{}\n"));
        assert!(!recyclable(b"!llvm.module.flags = !{}\n"));
        assert!(!recyclable(b"define void @f(ptr %p) {\n  fence syncscope(\"agent\") seq_cst\n  ret void\n}\n"));
        assert!(!recyclable(b"define void @f() {\n  call void @g() [ \"mytag\"(i32 1) ]\n  ret void\n}\n"));
        assert!(recyclable(b"@s = constant [3 x i8] c\"a!\\00\"\ndefine ptr @f() {\n  ret ptr @s\n}\n"));
        assert!(!recyclable(b"BC\xc0\xde\x35\x14\x00\x00"));
        assert!(!recyclable(&[0xde, 0xc0, 0x17, 0x0b, 0, 0, 0, 0]));
        let big = format!("; {}\ndefine void @f() {{\n  ret void\n}}\n", "x".repeat(MAX_RECYCLED_SOURCE));
        assert!(!recyclable(big.as_bytes()));
    }

    fn dispose(raw: Option<LLVMContextRef>) {
        if let Some(raw) = raw {
            // SAFETY: a context handed back by the pool is ours, with nothing in it.
            unsafe { LLVMContextDispose(raw) }
        }
    }

    #[test]
    fn the_pool_keeps_at_most_max_idle_contexts_each_for_max_uses_and_bytes() {
        let one = Wear { uses: 1, bytes: 100 };
        let pool = Pool(Mutex::new(Vec::new()));
        assert!(pool.take().is_none());
        let made: Vec<_> = (0..MAX_IDLE + 1).map(|_| crate::llvm::diagnostics::new_context()).collect();
        for (i, &raw) in made.iter().enumerate() {
            let back = pool.give(raw, one);
            assert_eq!(back.is_some(), i == MAX_IDLE, "context {i}");
            dispose(back);
        }
        // The last one given is taken first, with its count.
        let last = made[MAX_IDLE - 1];
        assert_eq!(pool.take(), Some((last, one)));
        // Worn out, by modules or by bytes: handed back to be disposed.
        assert_eq!(pool.give(last, Wear { uses: MAX_USES, bytes: 100 }), Some(last));
        assert_eq!(pool.give(last, Wear { uses: 2, bytes: MAX_SERVED }), Some(last));
        assert_eq!(pool.give(last, Wear { uses: MAX_USES - 1, bytes: MAX_SERVED - 1 }), None);
        assert_eq!(pool.take(), Some((last, Wear { uses: MAX_USES - 1, bytes: MAX_SERVED - 1 })));
        dispose(Some(last));
        while let Some((raw, _)) = pool.take() {
            dispose(Some(raw));
        }
    }

    #[test]
    fn a_pool_in_use_by_another_thread_is_passed_by_not_waited_for() {
        let pool = Pool(Mutex::new(Vec::new()));
        let one = Wear { uses: 1, bytes: 100 };
        let raw = crate::llvm::diagnostics::new_context();
        assert_eq!(pool.give(raw, one), None);
        let held = pool.0.lock().unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(pool.take(), None, "no waiting for the held pool");
                let other = crate::llvm::diagnostics::new_context();
                assert_eq!(pool.give(other, one), Some(other), "handed back to be disposed");
                dispose(Some(other));
            });
        });
        drop(held);
        assert_eq!(pool.take(), Some((raw, one)));
        dispose(Some(raw));
    }

    #[test]
    fn a_context_serves_one_module_at_a_time_and_is_reused_after() {
        // Two taken at once are two contexts.
        let (a, b) = (Context::take(), Context::take());
        assert_ne!(a.raw(), b.raw());
        drop((a, b));
        // A recycled module context is the next one taken, unless another
        // test's thread took it first; its wear goes on.
        let text = b"define void @f() {\n  ret void\n}\n";
        let mut c = Context::take();
        c.serve(text);
        let (raw, wear) = (c.raw(), c.wear);
        assert!(wear.bytes >= text.len());
        drop(c);
        let d = Context::take();
        if d.raw() == raw {
            assert_eq!(d.wear, Wear { uses: wear.uses + 1, bytes: wear.bytes });
        }
    }

    #[test]
    fn a_module_reads_and_writes_as_given_whatever_its_context_served_before() {
        use crate::llvm::ir::IrModule;
        let named = "%T = type { i32 }\n\ndefine i32 @get(ptr %p) {\n  %v = load %T, ptr %p, align 4\n  %i = extractvalue %T %v, 0\n  ret i32 %i\n}\n";
        // A metadata kind, a sync scope and an operand-bundle tag no new
        // context knows: in a recycled context they would be written into
        // every later module's bitcode.
        let registers = "declare void @g()\ndefine void @f() {\n  fence syncscope(\"jitcore-test\") seq_cst\n  \
                         call void @g() [ \"jitcore-tag\"(i32 1) ], !jitcore.kind !0\n  ret void\n}\n!0 = !{}\n";
        let plain = "define i32 @plain() {\n  ret i32 7\n}\n";
        // The plain module's bitcode from a new context: the pool emptied
        // first (other tests' threads may give contexts back meanwhile, which
        // only makes this check weaker, never wrong).
        let held: Vec<Context> = (0..MAX_IDLE).map(|_| Context::take()).collect();
        let fresh = IrModule::parse("plain", plain.as_bytes()).unwrap().bitcode();
        drop(held);
        for round in 0..2 * MAX_IDLE {
            // Plain modules come and go (their contexts are recycled), and so
            // do modules that name a type or register names (theirs are not).
            drop(
                IrModule::parse("plain", format!("define i32 @f{round}() {{\n  ret i32 {round}\n}}\n").as_bytes())
                    .unwrap(),
            );
            let m = IrModule::parse("named", named.as_bytes()).unwrap();
            let text = m.to_text();
            assert!(text.contains("%T = type { i32 }"), "round {round}:\n{text}");
            assert!(!text.contains("%T.0"), "round {round}:\n{text}");
            drop(m);
            drop(IrModule::parse("registers", registers.as_bytes()).unwrap());
            let now = IrModule::parse("plain", plain.as_bytes()).unwrap().bitcode();
            assert!(now == fresh, "round {round}: {} bytes of bitcode, {} from a new context", now.len(), fresh.len());
        }
    }
}
