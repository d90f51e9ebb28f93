//! Materialization units and responsibilities: the ORC half of jitcore's
//! one compile path (the session half is `session/unit.rs`).
//!
//! A custom unit carries a [`UnitBody`]; ORC either materializes it (the
//! body receives an owned [`Responsibility`]) or destroys it unmaterialized
//! (the body is dropped). Placeholders are tiny IR modules of empty
//! definitions standing for a unit until a lookup needs it.

use std::ffi::c_void;
use std::marker::PhantomData;

use llvm_sys::core::*;
use llvm_sys::prelude::{LLVMContextRef, LLVMModuleRef};
use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::*;
use llvm_sys::{LLVMLinkage, LLVMVisibility};

use super::buffer::MemoryBuffer;
use super::with_cstr;
use super::ir::ModuleSymbol;
use super::orc::{JitDylib, MaterializationUnit, ObjectLayer, SymbolFlags, SymbolName};

/// The message with which a transform ends a placeholder's (now empty)
/// materialization; the session's reporter ignores it.
pub const PLACEHOLDER_DONE: &str = "jitcore: placeholder replaced by its unit";

/// An LLVM error with `msg`.
pub fn string_error(msg: &str) -> LLVMErrorRef {
    // SAFETY: LLVMCreateStringError copies the message.
    with_cstr(msg, |c| unsafe { llvm_sys::error::LLVMCreateStringError(c.as_ptr()) })
}

/// A materialization responsibility jitcore owns: what ORC hands a unit's
/// `materialize`. Emitting an object consumes it; dropping it unconsumed
/// fails the materialization (so an error or a panic on any path fails the
/// symbols it covers exactly once, and never one jitcore gave away).
pub struct Responsibility(LLVMOrcMaterializationResponsibilityRef);

// SAFETY: ORC lets a responsibility be completed from any thread; this
// owner is used by one thread at a time (it moves with its compile job).
unsafe impl Send for Responsibility {}

impl Responsibility {
    /// Takes ownership of `raw`.
    ///
    /// # Safety
    /// `raw` must be a live responsibility that nobody else completes or disposes.
    pub unsafe fn from_raw(raw: LLVMOrcMaterializationResponsibilityRef) -> Responsibility {
        Responsibility(raw)
    }

    /// The symbols (retained) and flags it covers.
    pub fn symbols(&self) -> Vec<(SymbolName, SymbolFlags)> {
        responsibility_symbols(self.0)
    }

    /// The symbols a lookup asked for (a subset of [`symbols`](Self::symbols)).
    pub fn requested(&self) -> Vec<SymbolName> {
        let mut n = 0usize;
        // SAFETY: the responsibility is live and ours; the returned array is
        // ours to dispose and its entries are borrowed (retained to keep).
        unsafe {
            let syms = LLVMOrcMaterializationResponsibilityGetRequestedSymbols(self.0, &mut n);
            let v = (0..n).map(|i| SymbolName::retain(*syms.add(i))).collect();
            LLVMOrcDisposeSymbols(syms);
            v
        }
    }

    /// The JITDylib it materializes into.
    pub fn target_dylib(&self) -> JitDylib {
        // SAFETY: the responsibility is live and ours; its JITDylib lives
        // as long as the session.
        unsafe { JitDylib::from_raw(LLVMOrcMaterializationResponsibilityGetTargetDylib(self.0)) }
    }

    /// Completes the materialization with `symbols` (every symbol it covers,
    /// at final addresses, with their flags), which are ready at once: no
    /// dependencies are registered, so use it only for addresses of symbols
    /// that are ready already. On error the materialization is failed.
    pub fn resolve_ready(self, symbols: Vec<(SymbolName, u64, SymbolFlags)>) -> Result<(), String> {
        let mut pairs: Vec<LLVMOrcCSymbolMapPair> = symbols
            .iter()
            .map(|(name, address, flags)| LLVMOrcCSymbolMapPair {
                Name: name.as_raw(),
                Sym: llvm_sys::orc2::LLVMJITEvaluatedSymbol { Address: *address, Flags: flags.raw() },
            })
            .collect();
        // SAFETY: the responsibility is live and ours; the pairs borrow
        // names `symbols` keeps alive for the call (NotifyResolved does not
        // take them).
        let err = unsafe { LLVMOrcMaterializationResponsibilityNotifyResolved(self.0, pairs.as_mut_ptr(), pairs.len()) };
        drop(symbols);
        super::take_error(err).map_or(Ok(()), Err)?;
        // SAFETY: as above; no dependence groups (the symbols are ready).
        let err = unsafe { LLVMOrcMaterializationResponsibilityNotifyEmitted(self.0, std::ptr::null_mut(), 0) };
        super::take_error(err).map_or(Ok(()), Err)?;
        let raw = self.0;
        std::mem::forget(self);
        // SAFETY: resolved and emitted: ours to dispose of, once.
        unsafe { LLVMOrcDisposeMaterializationResponsibility(raw) };
        Ok(())
    }

    /// Completes `symbols` (some of the ones this responsibility covers) as
    /// defined by nothing: they are split off (ORC's delegate) and completed
    /// by [`complete_absent`](Self::complete_absent), so the rest can be
    /// emitted from an object that does not define them.
    pub fn emit_absent(&self, symbols: &[SymbolName]) -> Result<(), String> {
        let mut names: Vec<LLVMOrcSymbolStringPoolEntryRef> = symbols.iter().map(|n| n.clone().into_raw()).collect();
        let mut raw = std::ptr::null_mut();
        // SAFETY: the responsibility is live and ours; ORC takes the
        // retained names (clones) and writes a new responsibility we own.
        let err =
            unsafe { LLVMOrcMaterializationResponsibilityDelegate(self.0, names.as_mut_ptr(), names.len(), &mut raw) };
        if let Some(msg) = super::take_error(err) {
            return Err(msg);
        }
        // SAFETY: raw is the live responsibility ORC just handed us.
        unsafe { Responsibility::from_raw(raw) }.complete_absent()
    }

    /// Completes every symbol this responsibility covers as defined by
    /// nothing: resolved to address 0 and emitted, with no dependencies (so
    /// it cannot fail unless a dependency failed; then they are failed).
    pub fn complete_absent(self) -> Result<(), String> {
        let mut pairs: Vec<LLVMOrcCSymbolMapPair> = self
            .symbols()
            .into_iter()
            .map(|(name, flags)| LLVMOrcCSymbolMapPair {
                Name: name.into_raw(),
                Sym: LLVMJITEvaluatedSymbol { Address: 0, Flags: flags.raw() },
            })
            .collect();
        // SAFETY: the responsibility is live and ours; ORC takes the
        // retained names; the arrays are only read during the calls. On an
        // error, dropping self fails what is left.
        unsafe {
            let err = LLVMOrcMaterializationResponsibilityNotifyResolved(self.0, pairs.as_mut_ptr(), pairs.len());
            if let Some(msg) = super::take_error(err) {
                return Err(msg);
            }
            let err = LLVMOrcMaterializationResponsibilityNotifyEmitted(self.0, std::ptr::null_mut(), 0);
            if let Some(msg) = super::take_error(err) {
                return Err(msg);
            }
        }
        let raw = self.0;
        std::mem::forget(self);
        // SAFETY: completed above; disposed of once, never failed.
        unsafe { LLVMOrcDisposeMaterializationResponsibility(raw) };
        Ok(())
    }

    /// Hands the responsibility and `object` to `layer` (the object layer
    /// of this responsibility's session), which links the object and
    /// completes (or fails) the materialization.
    pub fn emit(self, layer: ObjectLayer, object: MemoryBuffer) {
        let raw = self.0;
        std::mem::forget(self);
        // SAFETY: the layer is live (orc.rs module doc); it takes the
        // responsibility and the buffer.
        unsafe { LLVMOrcObjectLayerEmit(layer.raw(), raw, object.into_raw()) }
    }
}

impl Drop for Responsibility {
    fn drop(&mut self) {
        // SAFETY: still ours (emit forgets self): fail it and dispose of it once.
        unsafe {
            LLVMOrcMaterializationResponsibilityFailMaterialization(self.0);
            LLVMOrcDisposeMaterializationResponsibility(self.0);
        }
    }
}

/// The symbols (retained) and flags a raw responsibility covers.
fn responsibility_symbols(mr: LLVMOrcMaterializationResponsibilityRef) -> Vec<(SymbolName, SymbolFlags)> {
    let mut n = 0usize;
    // SAFETY: mr is live for the call; the pairs array is ours to dispose,
    // and each name we keep is retained by us.
    unsafe {
        let pairs = LLVMOrcMaterializationResponsibilityGetSymbols(mr, &mut n);
        let v = (0..n)
            .map(|i| {
                let p = &*pairs.add(i);
                (SymbolName::retain(p.Name), SymbolFlags::from_raw(&p.Flags))
            })
            .collect();
        LLVMOrcDisposeCSymbolFlagsMap(pairs);
        v
    }
}

/// A responsibility ORC lends for the duration of a call (an IR transform).
pub struct BorrowedResponsibility<'a> {
    raw: LLVMOrcMaterializationResponsibilityRef,
    _call: PhantomData<&'a ()>,
}

impl BorrowedResponsibility<'_> {
    /// # Safety
    /// `raw` must be live for the borrow's lifetime.
    pub(super) unsafe fn new(raw: LLVMOrcMaterializationResponsibilityRef) -> Self {
        BorrowedResponsibility { raw, _call: PhantomData }
    }

    pub fn symbols(&self) -> Vec<(SymbolName, SymbolFlags)> {
        responsibility_symbols(self.raw)
    }

    pub fn target_dylib(&self) -> JitDylib {
        // SAFETY: live for the call; the JITDylib lives as long as the session.
        unsafe { JitDylib::from_raw(LLVMOrcMaterializationResponsibilityGetTargetDylib(self.raw)) }
    }

    /// Hands the symbols `mu` defines over to `mu`.
    pub fn replace(&self, mu: MaterializationUnit) -> Result<(), String> {
        // SAFETY: the responsibility is live; Replace takes the unit whatever the outcome.
        let err = unsafe { LLVMOrcMaterializationResponsibilityReplace(self.raw, mu.into_raw()) };
        super::take_error(err).map_or(Ok(()), Err)
    }
}

/// What a custom unit does when ORC materializes it.
pub trait UnitBody: Send + 'static {
    /// Produces the code for `mr` (emitting consumes it; dropping fails it).
    fn materialize(self: Box<Self>, mr: Responsibility);
}

/// A custom unit named `name` defining `symbols`, carrying `body`.
pub fn custom_unit(
    name: &str,
    symbols: Vec<(SymbolName, SymbolFlags)>,
    body: Box<dyn UnitBody>,
) -> MaterializationUnit {
    let mut pairs: Vec<LLVMOrcCSymbolFlagsMapPair> = symbols
        .into_iter()
        .map(|(name, flags)| LLVMOrcCSymbolFlagsMapPair { Name: name.into_raw(), Flags: flags.raw() })
        .collect();
    let ctx = Box::into_raw(Box::new(body));
    // SAFETY: ORC takes the retained names and copies the name; ctx is a
    // Box that exactly one of materialize/destroy takes back.
    with_cstr(name, |name| unsafe {
        MaterializationUnit::from_raw(LLVMOrcCreateCustomMaterializationUnit(
            name.as_ptr(),
            ctx.cast(),
            pairs.as_mut_ptr(),
            pairs.len(),
            std::ptr::null_mut(),
            materialize,
            discard,
            destroy,
        ))
    })
}

extern "C" fn materialize(ctx: *mut c_void, mr: LLVMOrcMaterializationResponsibilityRef) {
    // SAFETY: ORC hands us mr to complete: from here it fails itself when
    // dropped on any path that does not emit (a panic included).
    let mr = unsafe { Responsibility::from_raw(mr) };
    // SAFETY: ctx is the Box made in `custom_unit`; ORC calls materialize
    // at most once and then never destroy, so it is taken back once.
    let body = unsafe { Box::from_raw(ctx.cast::<Box<dyn UnitBody>>()) };
    let _ = crate::guard::catch(move || body.materialize(mr));
}

extern "C" fn discard(_ctx: *mut c_void, _jd: LLVMOrcJITDylibRef, _symbol: LLVMOrcSymbolStringPoolEntryRef) {
    // A weak definition of this unit was overridden by another definition.
    // Nothing to do: the linker drops a weak definition that ORC did not
    // assign to the unit, and binds references to the winning one.
}

extern "C" fn destroy(ctx: *mut c_void) {
    // SAFETY: ctx is the Box made in `custom_unit`, and ORC calls destroy
    // only for a unit that was never materialized, once. A panic in a drop
    // is contained.
    let _ = crate::guard::catch(|| drop(unsafe { Box::from_raw(ctx.cast::<Box<dyn UnitBody>>()) }));
}

/// An IR module with its own context, on its way to ORC.
pub struct ThreadSafeModule(LLVMOrcThreadSafeModuleRef);

// SAFETY: owned by this value alone until given to ORC.
unsafe impl Send for ThreadSafeModule {}

impl ThreadSafeModule {
    pub(super) fn into_raw(self) -> LLVMOrcThreadSafeModuleRef {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }
}

impl Drop for ThreadSafeModule {
    fn drop(&mut self) {
        // SAFETY: still ours; disposed of once (with its context).
        unsafe { LLVMOrcDisposeThreadSafeModule(self.0) }
    }
}

/// The one LLVM context a session's placeholders share, in one ORC
/// `ThreadSafeContext` (creating a context per placeholder cost as much as
/// building the placeholder itself). Everything ORC does with a module of
/// a thread-safe context (reading its symbols when it is added, handing it
/// to the IR transform, destroying it) holds the context's lock; jitcore
/// builds each placeholder under that lock too, taken through `anchor`
/// (`LLVMOrcThreadSafeModuleWithModuleDo`, LLVM-C's only way to it), so no
/// two threads use the context at once. ORC's `discard` of a weak
/// placeholder definition changes that value's linkage without the lock,
/// which touches nothing shared (placeholders have no comdats). Types and
/// constants placeholders use are uniqued once in the context; each
/// module's names and values go with it, so the context does not grow
/// with the modules added and removed.
pub struct PlaceholderContext {
    tsc: LLVMOrcThreadSafeContextRef,
    /// An empty module of the context, through which its lock is taken.
    anchor: LLVMOrcThreadSafeModuleRef,
}

// SAFETY: the context is only used under its ORC lock (see above); the
// two handles are shared-ownership references ORC lets any thread use.
unsafe impl Send for PlaceholderContext {}
// SAFETY: as above: every use of the context from `&self` takes its lock.
unsafe impl Sync for PlaceholderContext {}

impl PlaceholderContext {
    pub fn new() -> PlaceholderContext {
        // SAFETY: a fresh context and an empty module in it, handed to a new
        // thread-safe context (which owns the context) and module.
        unsafe {
            let ctx = super::diagnostics::new_context();
            let m = LLVMModuleCreateWithNameInContext(c"jitcore.placeholders".as_ptr(), ctx);
            let tsc = LLVMOrcCreateNewThreadSafeContextFromLLVMContext(ctx);
            let anchor = LLVMOrcCreateNewThreadSafeModule(m, tsc);
            PlaceholderContext { tsc, anchor }
        }
    }

    /// Runs `f` with the context, under its lock.
    fn with_lock(&self, f: &mut dyn FnMut(LLVMContextRef)) -> Result<(), String> {
        type Visit<'f> = &'f mut dyn FnMut(LLVMContextRef);
        extern "C" fn visit(ctx: *mut c_void, m: LLVMModuleRef) -> LLVMErrorRef {
            // SAFETY: ctx is the Visit in with_lock's frame, for this call.
            let f = unsafe { &mut *ctx.cast::<Visit<'_>>() };
            // SAFETY: m is the live anchor module ORC lends for the call.
            let context = unsafe { LLVMGetModuleContext(m) };
            match crate::guard::catch(|| f(context)) {
                Ok(()) => std::ptr::null_mut(),
                Err(p) => string_error(&format!("jitcore: panic while building a placeholder: {p}")),
            }
        }
        let mut f: Visit<'_> = f;
        // SAFETY: the anchor is live while self is; visit only runs during
        // the call, with the lock held, and f outlives it.
        let err = unsafe { LLVMOrcThreadSafeModuleWithModuleDo(self.anchor, visit, (&mut f as *mut Visit<'_>).cast()) };
        super::take_error(err).map_or(Ok(()), Err)
    }
}

impl Default for PlaceholderContext {
    fn default() -> Self {
        PlaceholderContext::new()
    }
}

impl Drop for PlaceholderContext {
    fn drop(&mut self) {
        // SAFETY: our references, disposed of once; placeholders still in
        // ORC keep the shared context alive until they are gone.
        unsafe {
            LLVMOrcDisposeThreadSafeModule(self.anchor);
            LLVMOrcDisposeThreadSafeContext(self.tsc);
        }
    }
}

/// The placeholder IR module named `name` for `symbols`, in the shared
/// context `shared`: one empty definition per symbol (same name, kind,
/// weakness and visibility, so ORC derives the same symbol flags). It has
/// no data layout: LLJIT gives a module without one its own when it is
/// added (a copy; parsing the layout's text again cost as much as a
/// quarter of the placeholder).
pub fn placeholder(shared: &PlaceholderContext, symbols: &[ModuleSymbol], name: &str) -> Result<ThreadSafeModule, String> {
    let mut out = None;
    shared.with_lock(&mut |ctx| {
        // SAFETY: under the context's lock, everything is created here in
        // the context; the module is handed to the ThreadSafeModule at the
        // end, which owns it (and shares the context).
        unsafe {
            let m = with_cstr(name, |ident| LLVMModuleCreateWithNameInContext(ident.as_ptr(), ctx));
            let void_fn = LLVMFunctionType(LLVMVoidTypeInContext(ctx), std::ptr::null_mut(), 0, 0);
            let i8t = LLVMInt8TypeInContext(ctx);
            let builder = LLVMCreateBuilderInContext(ctx);
            for sym in symbols {
                let v = with_cstr(&sym.name, |name| {
                    if sym.callable {
                        let f = LLVMAddFunction(m, name.as_ptr(), void_fn);
                        let bb = LLVMAppendBasicBlockInContext(ctx, f, c"entry".as_ptr());
                        LLVMPositionBuilderAtEnd(builder, bb);
                        LLVMBuildRetVoid(builder);
                        f
                    } else {
                        let g = LLVMAddGlobal(m, i8t, name.as_ptr());
                        LLVMSetInitializer(g, LLVMConstInt(i8t, 0, 0));
                        g
                    }
                });
                if sym.weak {
                    LLVMSetLinkage(v, LLVMLinkage::LLVMWeakAnyLinkage);
                }
                if !sym.exported {
                    LLVMSetVisibility(v, LLVMVisibility::LLVMHiddenVisibility);
                }
            }
            LLVMDisposeBuilder(builder);
            out = Some(ThreadSafeModule(LLVMOrcCreateNewThreadSafeModule(m, shared.tsc)));
        }
    })?;
    out.ok_or_else(|| "jitcore: no placeholder was built".to_string())
}

#[cfg(test)]
mod tests {
    //! Issue 8.7: ORC's callbacks into jitcore's units run under the panic
    //! guard. Before it, each of these panics unwound into LLVM's C++ frames
    //! and the test process aborted.
    use super::*;
    use crate::llvm::generator::Generator;
    use crate::llvm::lljit::Lljit;
    use crate::llvm::orc::LookupKind;
    use crate::llvm::target_machine::TargetSpec;

    fn jit() -> Lljit {
        crate::llvm::initialize().unwrap();
        Lljit::new(TargetSpec::host(0).create().unwrap()).unwrap()
    }

    fn lookup(jit: &Lljit, name: &str) -> crate::error::Result<Vec<u64>> {
        let n = jit.mangle_and_intern(name);
        jit.lookup(LookupKind::DLSym, &[(jit.main_dylib(), false)], &[n])
    }

    struct Panics;
    impl UnitBody for Panics {
        fn materialize(self: Box<Self>, _mr: Responsibility) {
            panic!("a bug in a unit body")
        }
    }

    struct PanicsWhenDropped;
    impl UnitBody for PanicsWhenDropped {
        fn materialize(self: Box<Self>, _mr: Responsibility) {}
    }
    impl Drop for PanicsWhenDropped {
        fn drop(&mut self) {
            panic!("a bug in a unit's drop")
        }
    }

    #[test]
    fn a_panicking_materialize_fails_its_symbols_and_the_jit_goes_on() {
        let jit = jit();
        let name = jit.mangle_and_intern("panics");
        let unit = custom_unit("panicky", vec![(name, SymbolFlags::new(true, true))], Box::new(Panics));
        jit.main_dylib().define(unit).unwrap();
        let e = lookup(&jit, "panics").unwrap_err();
        assert!(e.message.contains("panics"), "{}", e.message);
        // The JIT still works: an absolute symbol defined afterwards is found.
        let other = jit.mangle_and_intern("other");
        jit.main_dylib()
            .define(crate::llvm::orc::absolute_symbols(vec![(other, 0x1234, SymbolFlags::new(true, false))]))
            .unwrap();
        assert_eq!(lookup(&jit, "other").unwrap(), vec![0x1234]);
    }

    #[test]
    fn a_panicking_drop_of_an_unmaterialized_unit_is_contained() {
        let jit = jit();
        let name = jit.mangle_and_intern("never_asked");
        let unit = custom_unit("dropped", vec![(name, SymbolFlags::new(true, true))], Box::new(PanicsWhenDropped));
        jit.main_dylib().define(unit).unwrap();
        // Disposing of the LLJIT destroys the unit ORC never materialized.
        drop(jit);
    }

    #[test]
    fn a_panicking_symbol_source_fails_the_lookup_instead_of_hanging() {
        let jit = jit();
        let generator = Generator::custom(Box::new(|mut lookup| {
            // Takes the lookup over, then panics: the continuation is
            // dropped during the unwind, which resumes the lookup with an
            // error instead of leaving it waiting forever.
            let _continuation = lookup.take_over();
            panic!("a bug in a symbol source")
        }));
        generator.attach(jit.main_dylib(), &jit);
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            let r = lookup(&jit, "from_source").map_err(|e| e.message);
            let _ = tx.send(r);
            jit
        });
        let r = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the lookup hung");
        assert!(r.is_err(), "{r:?}");
        drop(handle.join().unwrap());
    }
}
