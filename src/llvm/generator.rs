//! Definition generators: what a JITDylib asks when its own definitions
//! miss. LLVM's own (the host process, a shared library, a static archive)
//! and a custom one whose answer may come later, asynchronously
//! ([`LookupContinuation`]).
//!
//! A generator owns its symbol filter; attaching it to a JITDylib hands the
//! filter to the LLJIT, which frees it after it is disposed of (so the
//! filter outlives every call). A generator dropped unattached is disposed of.

use std::ffi::c_void;
use std::path::Path;
use std::ptr;

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::*;

use super::check;
use super::lljit::Lljit;
use super::orc::{JitDylib, LookupKind, ObjectLayer, SymbolName};
use super::unit::string_error;
use crate::error::{Error, JitcoreErrorCode, Result};

/// Decides whether a source may provide a name (true: allowed).
pub type Filter = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// A generator not yet attached to a JITDylib.
pub struct Generator {
    raw: LLVMOrcDefinitionGeneratorRef,
    /// What its C callbacks point to (a filter, a custom generator's body).
    ctx: Option<Box<dyn std::any::Any + Send + Sync>>,
}

// SAFETY: a generator not yet attached is owned by this value alone.
unsafe impl Send for Generator {}

extern "C" fn call_filter(ctx: *mut c_void, sym: LLVMOrcSymbolStringPoolEntryRef) -> i32 {
    crate::guard::catch(|| {
        // SAFETY: ctx is the Filter its generator keeps (and hands to the
        // LLJIT when attached), alive while the generator can call it; sym
        // is live for the call.
        let f = unsafe { &*ctx.cast::<Filter>() };
        // SAFETY: sym is a live pool entry for the call; its string is NUL-terminated.
        let name = unsafe { std::ffi::CStr::from_ptr(LLVMOrcSymbolStringPoolEntryStr(sym)) };
        i32::from(f(&name.to_string_lossy()))
    })
    .unwrap_or(0)
}

/// The C predicate and context for an optional filter (boxed again so its
/// address is stable).
fn filter_args(
    filter: Option<Filter>,
) -> (LLVMOrcSymbolPredicate, *mut c_void, Option<Box<dyn std::any::Any + Send + Sync>>) {
    match filter {
        Some(f) => {
            let boxed: Box<Filter> = Box::new(f);
            let p = &*boxed as *const Filter as *mut c_void;
            (Some(call_filter), p, Some(boxed))
        }
        None => (None, ptr::null_mut(), None),
    }
}

/// A path as the C string LLVM takes (Linux paths are bytes, never NUL).
fn c_path(path: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    std::ffi::CString::new(&bytes[..end]).unwrap_or_default()
}

impl Generator {
    /// The host process's exported symbols (libc, the host's own exports).
    pub fn process(filter: Option<Filter>) -> Result<Generator> {
        let (f, ctx, keep) = filter_args(filter);
        let mut raw = ptr::null_mut();
        // SAFETY: the filter context is kept with the generator.
        let err = unsafe { LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&mut raw, 0, f, ctx) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_INTERNAL)?;
        Ok(Generator { raw, ctx: keep })
    }

    /// The exported symbols of the shared library at `path` (loaded now).
    pub fn library(path: &Path, filter: Option<Filter>) -> Result<Generator> {
        let (f, ctx, keep) = filter_args(filter);
        let c = c_path(path);
        let mut raw = ptr::null_mut();
        // SAFETY: as above; the path is copied.
        let err = unsafe { LLVMOrcCreateDynamicLibrarySearchGeneratorForPath(&mut raw, c.as_ptr(), 0, f, ctx) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_IO)
            .map_err(|e| e.context(format!("loading '{}'", path.display())))?;
        Ok(Generator { raw, ctx: keep })
    }

    /// The members of the static archive at `path`, linked by `layer` when
    /// they define a missing name. The caller validates the members.
    pub fn archive(layer: ObjectLayer, path: &Path) -> Result<Generator> {
        let c = c_path(path);
        let mut raw = ptr::null_mut();
        // SAFETY: the object layer lives as long as the session the
        // generator is attached to; the path is copied.
        let err = unsafe { LLVMOrcCreateStaticLibrarySearchGeneratorForPath(&mut raw, layer.raw(), c.as_ptr()) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_INVALID_OBJECT)
            .map_err(|e| e.context(format!("loading '{}'", path.display())))?;
        Ok(Generator { raw, ctx: None })
    }

    /// A generator that calls `answer` for every lookup that misses.
    pub fn custom(answer: Answer) -> Generator {
        let boxed: Box<Answer> = Box::new(answer);
        let ctx = &*boxed as *const Answer as *mut c_void;
        // SAFETY: ctx is kept with the generator (and by the LLJIT once
        // attached); the dispose callback has nothing to free.
        let raw = unsafe { LLVMOrcCreateCustomCAPIDefinitionGenerator(try_to_generate, ctx, dispose_nothing) };
        Generator { raw, ctx: Some(boxed) }
    }

    /// Gives the generator to `jd` (of `jit`), which owns it from now on;
    /// what its callbacks use is kept by `jit` until it is disposed of.
    pub fn attach(mut self, jd: JitDylib, jit: &Lljit) {
        if let Some(ctx) = self.ctx.take() {
            jit.keep_until_disposed(ctx);
        }
        let raw = std::mem::replace(&mut self.raw, ptr::null_mut());
        // SAFETY: jd is a live JITDylib of `jit`; it takes the generator.
        unsafe { LLVMOrcJITDylibAddGenerator(jd.raw(), raw) }
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            // SAFETY: never attached: still ours, disposed of once (before
            // the context its callbacks use, a field dropped after this).
            unsafe { LLVMOrcDisposeDefinitionGenerator(self.raw) }
        }
    }
}

/// What a custom generator does with a lookup that missed in its JITDylib.
pub type Answer = Box<dyn Fn(GeneratorLookup) + Send + Sync>;

/// One lookup a custom generator was asked to help with.
pub struct GeneratorLookup {
    pub kind: LookupKind,
    /// The names that are missing.
    pub names: Vec<SymbolName>,
    state: *mut LLVMOrcLookupStateRef,
}

impl GeneratorLookup {
    /// Takes the lookup over: it waits until the continuation is resumed
    /// (define what was found first). Without this the lookup goes on at
    /// once when the generator returns.
    pub fn take_over(&mut self) -> LookupContinuation {
        // SAFETY: state is the live lookup state ORC passed for this call;
        // setting it to NULL is how a generator takes ownership of it.
        let ls = unsafe { std::mem::replace(&mut *self.state, ptr::null_mut()) };
        LookupContinuation(ls)
    }
}

/// A lookup a generator took over: continued exactly once, by
/// [`resume`](Self::resume) or, failing the lookup, when dropped.
pub struct LookupContinuation(LLVMOrcLookupStateRef);

// SAFETY: ORC lets a taken-over lookup be continued from any thread; this
// owner is used by one thread at a time and continues it once.
unsafe impl Send for LookupContinuation {}

impl LookupContinuation {
    /// Lets the lookup go on (it sees what was defined meanwhile).
    pub fn resume(self) {
        let ls = self.0;
        std::mem::forget(self);
        // SAFETY: the state we took, continued once.
        unsafe { LLVMOrcLookupStateContinueLookup(ls, ptr::null_mut()) }
    }
}

impl Drop for LookupContinuation {
    fn drop(&mut self) {
        let err = string_error("jitcore: a symbol source gave up on a lookup");
        // SAFETY: the state we took, continued once (with an error it consumes).
        unsafe { LLVMOrcLookupStateContinueLookup(self.0, err) }
    }
}

extern "C" fn dispose_nothing(_ctx: *mut c_void) {}

#[allow(clippy::too_many_arguments)]
extern "C" fn try_to_generate(
    _gen: LLVMOrcDefinitionGeneratorRef,
    ctx: *mut c_void,
    state: *mut LLVMOrcLookupStateRef,
    kind: LLVMOrcLookupKind,
    _jd: LLVMOrcJITDylibRef,
    _flags: LLVMOrcJITDylibLookupFlags,
    set: LLVMOrcCLookupSet,
    n: usize,
) -> LLVMErrorRef {
    let outcome = crate::guard::catch(|| {
        // SAFETY: ctx is the Answer its generator keeps; ORC passes n live
        // set elements for the call, whose names we retain.
        let answer = unsafe { &*ctx.cast::<Answer>() };
        // SAFETY: ORC passes n live set elements for the call.
        let names = (0..n).map(|i| unsafe { SymbolName::retain((*set.add(i)).Name) }).collect();
        let kind = match kind {
            LLVMOrcLookupKind::LLVMOrcLookupKindStatic => LookupKind::Static,
            LLVMOrcLookupKind::LLVMOrcLookupKindDLSym => LookupKind::DLSym,
        };
        answer(GeneratorLookup { kind, names, state });
    });
    match outcome {
        Ok(()) => ptr::null_mut(),
        // A generator that took the lookup over must return success: ORC
        // fails the lookup it still holds with an error returned here, and
        // one taken over it no longer holds (the taken continuation, dropped
        // in the unwind or kept elsewhere, continues it exactly once).
        // SAFETY: state is the live pointer ORC passed for this call.
        Err(_) if unsafe { (*state).is_null() } => ptr::null_mut(),
        Err(p) => string_error(&format!("jitcore: panic in a symbol source: {p}")),
    }
}

/// Whether `path` is an existing file (what a source needs), as an `IO` error.
pub fn existing_file(path: &Path, what: &str) -> Result<()> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(Error::io(format!("{what} '{shown}' is not a file"))),
        Err(e) => Err(Error::io(format!("cannot open {what} '{shown}': {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Issue 8.10: a generator that is never attached (its adding failed)
    /// releases what its callbacks use, and LLVM's generator with it.
    #[test]
    fn an_unattached_generator_releases_its_context() {
        crate::llvm::initialize().unwrap();
        let held = Arc::new(());
        let in_filter = held.clone();
        let process = Generator::process(Some(Box::new(move |_| {
            let _ = &in_filter;
            true
        })))
        .unwrap();
        let in_answer = held.clone();
        let custom = Generator::custom(Box::new(move |_| {
            let _ = &in_answer;
        }));
        assert_eq!(Arc::strong_count(&held), 3);
        drop(process);
        drop(custom);
        assert_eq!(Arc::strong_count(&held), 1);
    }
}
