//! The jitcore materialization unit: the one compile path every module takes.
//!
//! Installing a unit. LLVM-C can only define a custom unit into a JITDylib's
//! default resource tracker, and moving definitions out of the default
//! tracker makes it defunct. So a module is first added as a *placeholder*
//! (a tiny IR module of empty definitions with the module's symbol names and
//! flags) through `LLVMOrcLLJITAddLLVMIRModuleWithRT`, which does take a
//! tracker. When a lookup first needs one of its symbols, LLJIT's IR transform
//! layer calls `transform`, which replaces the placeholder's responsibility
//! with the real unit (`LLVMOrcMaterializationResponsibilityReplace`); the
//! real unit inherits the tracker and is materialized at once. The
//! placeholder is never compiled: `transform` ends its (now empty)
//! materialization with an error the session's reporter knows to ignore.
//!
//! Materializing. ORC calls `materialize`, which
//! asks the object cache for the module's object, compiles it when the cache
//! has none (or a bad one), tells the cache about fresh objects, and emits the
//! object into LLJIT's object linking layer.

use std::ffi::c_void;
use std::sync::Arc;

use llvm_sys::core::*;
use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::*;
use llvm_sys::prelude::LLVMModuleRef;
use llvm_sys::{LLVMLinkage, LLVMVisibility};

use super::materializer::HostMaterializer;
use super::report::with_current_unit;
use super::stats::Stats;
use super::tracker::Group;
use super::{Pending, SessionEnv};
use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::cstring;
use crate::llvm::ir::{module_identifier, ModuleSymbol};
use crate::llvm::object::{check_object, summarize_object, ObjectSummary};
use crate::llvm::orc::{responsibility_symbols, Responsibility, SymbolName};
use crate::module::Module;

/// Where a unit's code comes from.
pub enum Source {
    /// A module added by the host.
    Module(Arc<Module>),
    /// One partition of a lazily added module, as bitcode parsed on demand.
    Partition { name: String, bitcode: Arc<Vec<u8>> },
    /// A host materializer's callback.
    Host(Arc<HostMaterializer>),
    /// LLJIT's platform support module of a JITDylib (not cached, and not
    /// counted as host code: it lives as long as its JITDylib).
    Platform(Arc<Module>),
}

/// What a unit carries until it is materialized or destroyed.
pub struct Unit {
    /// The id of the placeholder it replaced: what failures are tied to.
    pub id: u64,
    pub env: Arc<SessionEnv>,
    pub source: Source,
    pub group: Arc<Group>,
}

/// The message with which `transform` ends a placeholder's materialization.
pub const PLACEHOLDER_DONE: &str = "jitcore: placeholder replaced by its unit";

pub const PLACEHOLDER_PREFIX: &str = "jitcore.unit.";

/// Builds the placeholder IR module for `symbols`, named after `unit_id`,
/// with one empty definition per symbol (same name, kind, weakness and
/// visibility, so ORC derives the same symbol flags).
pub fn placeholder(symbols: &[ModuleSymbol], unit_id: u64, data_layout: &str) -> LLVMOrcThreadSafeModuleRef {
    let ident = cstring(&format!("{PLACEHOLDER_PREFIX}{unit_id}"));
    let dl = cstring(data_layout);
    // SAFETY: everything is created here in a fresh context; the module and
    // context are handed to ORC (ThreadSafeModule) at the end, which owns them.
    unsafe {
        let ctx = crate::llvm::diagnostics::new_context();
        let m = LLVMModuleCreateWithNameInContext(ident.as_ptr(), ctx);
        LLVMSetDataLayout(m, dl.as_ptr());
        let void_fn = LLVMFunctionType(LLVMVoidTypeInContext(ctx), std::ptr::null_mut(), 0, 0);
        let i8t = LLVMInt8TypeInContext(ctx);
        let builder = LLVMCreateBuilderInContext(ctx);
        for sym in symbols {
            let name = cstring(&sym.name);
            let v = if sym.callable {
                let f = LLVMAddFunction(m, name.as_ptr(), void_fn);
                let bb = LLVMAppendBasicBlockInContext(ctx, f, c"entry".as_ptr());
                LLVMPositionBuilderAtEnd(builder, bb);
                LLVMBuildRetVoid(builder);
                f
            } else {
                let g = LLVMAddGlobal(m, i8t, name.as_ptr());
                LLVMSetInitializer(g, LLVMConstInt(i8t, 0, 0));
                g
            };
            if sym.weak {
                LLVMSetLinkage(v, LLVMLinkage::LLVMWeakAnyLinkage);
            }
            if !sym.exported {
                LLVMSetVisibility(v, LLVMVisibility::LLVMHiddenVisibility);
            }
        }
        LLVMDisposeBuilder(builder);
        let tsc = LLVMOrcCreateNewThreadSafeContextFromLLVMContext(ctx);
        let tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
        LLVMOrcDisposeThreadSafeContext(tsc);
        tsm
    }
}

extern "C" fn read_unit_id(ctx: *mut c_void, m: LLVMModuleRef) -> LLVMErrorRef {
    let read = crate::guard::catch(|| {
        // SAFETY: m is the live placeholder module ORC lends us for the call.
        let ident = unsafe { module_identifier(m) };
        let id = ident.strip_prefix(PLACEHOLDER_PREFIX).and_then(|s| s.parse::<u64>().ok());
        // SAFETY: ctx points to the Option<u64> in `transform`'s frame.
        unsafe { *(ctx as *mut Option<u64>) = id };
    });
    match read {
        Ok(()) => std::ptr::null_mut(),
        Err(p) => string_error(&format!("jitcore: panic while reading a unit id: {p}")),
    }
}

extern "C" fn copy_module(ctx: *mut c_void, m: LLVMModuleRef) -> LLVMErrorRef {
    let copied = crate::guard::catch(|| {
        // SAFETY: m is the live module ORC lends us for the call; it is
        // copied (through bitcode) into a context of jitcore's own.
        let module = unsafe { Module::from_llvm(m) };
        // SAFETY: ctx points to the Option in `transform`'s frame.
        unsafe { *(ctx as *mut Option<Result<Arc<Module>>>) = Some(module) };
    });
    match copied {
        Ok(()) => std::ptr::null_mut(),
        Err(p) => string_error(&format!("jitcore: panic while copying a platform module: {p}")),
    }
}

/// LLJIT's IR transform: swaps a placeholder for its real unit. Every other
/// IR module is LLJIT's own platform support (it defines `__dso_handle` and
/// the `atexit` helpers of a JITDylib): it takes jitcore's compile path too
/// (a target machine per compile, never LLJIT's single shared one, which
/// compile threads would race on), without the object cache.
pub extern "C" fn transform(
    ctx: *mut c_void,
    tsm: *mut LLVMOrcThreadSafeModuleRef,
    mr: LLVMOrcMaterializationResponsibilityRef,
) -> LLVMErrorRef {
    let outcome = crate::guard::catch(|| {
        // SAFETY: ctx is the session's SessionEnv, alive while its LLJIT is.
        let env = unsafe { &*(ctx as *const SessionEnv) };
        let mut id: Option<u64> = None;
        // SAFETY: tsm is the live module ORC is materializing; read_unit_id
        // only reads its identifier.
        let err =
            unsafe { LLVMOrcThreadSafeModuleWithModuleDo(*tsm, read_unit_id, (&mut id as *mut Option<u64>).cast()) };
        if !err.is_null() {
            return err;
        }
        let Some(id) = id else {
            let mut copy: Option<Result<Arc<Module>>> = None;
            // SAFETY: as above; copy_module only reads the module.
            let err = unsafe {
                LLVMOrcThreadSafeModuleWithModuleDo(*tsm, copy_module, (&mut copy as *mut Option<_>).cast())
            };
            if !err.is_null() {
                return err;
            }
            let module = match copy {
                Some(Ok(m)) => m,
                Some(Err(e)) => return string_error(&format!("jitcore: cannot copy a platform module: {}", e.message)),
                None => return string_error("jitcore: a platform module could not be read"),
            };
            let group = super::tracker::Group::new(std::sync::Weak::new(), true);
            let name = module.name().to_string();
            let err = replace(mr, create(env, 0, Source::Platform(module), &name, responsibility_symbols(mr), group));
            if !err.is_null() {
                return err;
            }
            return string_error(PLACEHOLDER_DONE);
        };
        let Some(pending) = env.take_pending(id) else {
            return string_error("jitcore: a unit was materialized after it was removed");
        };
        // What replaces the placeholder defines exactly what this
        // responsibility covers (a weak definition may have been dropped in
        // favour of another).
        let symbols = responsibility_symbols(mr);
        let err = match pending {
            Pending::Module { module, group } => {
                replace(mr, create(env, id, Source::Module(module.clone()), module.name(), symbols, group))
            }
            Pending::Alias(found) => {
                let syms = found
                    .into_iter()
                    .filter(|f| symbols.iter().any(|(n, _)| n.as_raw() == f.name.as_raw()))
                    .map(|f| {
                        let callable = f.flags.GenericFlags
                            & LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsCallable as u8
                            != 0;
                        (f.name, f.address, callable, false)
                    })
                    .collect();
                replace(mr, crate::llvm::orc::absolute_symbols(syms))
            }
            Pending::Lazy { plan, group, stubs } => super::lazy::install(env, id, &plan, group, stubs, mr, symbols),
            Pending::Host { materializer, group } => {
                let name = materializer.name();
                replace(mr, create(env, id, Source::Host(materializer), &name, symbols, group))
            }
        };
        if !err.is_null() {
            return err;
        }
        string_error(PLACEHOLDER_DONE)
    });
    let err = outcome.unwrap_or_else(|_| string_error("jitcore: panic while installing a unit"));
    if !err.is_null() {
        // LLVM-C's contract: a transform that fails disposes of the module
        // and clears *ModInOut (the placeholder and its context are freed).
        // SAFETY: *tsm is the live module ORC handed us and nobody else frees it.
        unsafe {
            LLVMOrcDisposeThreadSafeModule(*tsm);
            *tsm = std::ptr::null_mut();
        }
    }
    err
}

pub fn string_error(msg: &str) -> LLVMErrorRef {
    let c = cstring(msg);
    // SAFETY: LLVMCreateStringError copies the message.
    unsafe { llvm_sys::error::LLVMCreateStringError(c.as_ptr()) }
}

/// Hands part of `mr` to `mu` (which takes over exactly the symbols it defines).
pub fn replace(mr: LLVMOrcMaterializationResponsibilityRef, mu: LLVMOrcMaterializationUnitRef) -> LLVMErrorRef {
    // SAFETY: mr is live; Replace takes the unit whatever the outcome.
    unsafe { LLVMOrcMaterializationResponsibilityReplace(mr, mu) }
}

/// Makes the ORC materialization unit for `source`, defining `symbols`.
pub fn create(
    env: &SessionEnv,
    id: u64,
    source: Source,
    name: &str,
    symbols: Vec<(SymbolName, LLVMJITSymbolFlags)>,
    group: Arc<Group>,
) -> LLVMOrcMaterializationUnitRef {
    let mut pairs: Vec<LLVMOrcCSymbolFlagsMapPair> = symbols
        .into_iter()
        .map(|(name, flags)| LLVMOrcCSymbolFlagsMapPair { Name: name.into_raw(), Flags: flags })
        .collect();
    let env = env.self_ref();
    let ctx = Box::into_raw(Box::new(Unit { id, env, source, group }));
    let name = cstring(name);
    // SAFETY: ORC takes the retained names and copies the unit name; ctx is
    // a Box that exactly one of materialize/destroy takes back.
    unsafe {
        LLVMOrcCreateCustomMaterializationUnit(
            name.as_ptr(),
            ctx.cast(),
            pairs.as_mut_ptr(),
            pairs.len(),
            std::ptr::null_mut(),
            materialize,
            discard,
            destroy,
        )
    }
}

extern "C" fn materialize(ctx: *mut c_void, mr: LLVMOrcMaterializationResponsibilityRef) {
    // SAFETY: ORC hands us mr to complete; from here it fails itself when
    // dropped on any path that does not emit.
    let mr = unsafe { Responsibility::from_raw(mr) };
    // SAFETY: ctx is the Box made in `create`; ORC calls materialize at most
    // once and then never calls destroy, so we take it back exactly once.
    let unit = unsafe { Box::from_raw(ctx.cast::<Unit>()) };
    let env = unit.env.clone();
    let dispatched = crate::guard::catch(move || env.dispatch(move || materialize_now(*unit, mr)));
    // A panic while queueing dropped (and so failed) the responsibility.
    drop(dispatched);
}

fn materialize_now(unit: Unit, mr: Responsibility) {
    let env = unit.env.clone();
    let (id, name) = (unit.id, unit.name());
    let outcome = crate::guard::catch(|| with_current_unit(id, &name, || prepare(&unit, &mr)));
    let error = match outcome {
        Ok(Ok(ready)) => {
            // A panic after the object layer took mr cannot fail it again.
            // Link errors are reported (and attributed to this module) while
            // the object layer links, on this thread.
            let _ = crate::guard::catch(move || with_current_unit(id, &name, || emit(&unit, mr, ready)));
            return;
        }
        Ok(Err(e)) => e,
        Err(p) => Error::internal(format!("panic while materializing '{name}': {p}")),
    };
    Stats::bump(&env.stats.failures, 1);
    with_current_unit(id, &name, || env.log.report(error, true));
    drop(mr);
}

impl Unit {
    /// The name errors use.
    fn name(&self) -> String {
        match &self.source {
            Source::Module(m) => m.name().to_string(),
            Source::Partition { name, .. } => name.clone(),
            Source::Host(h) => h.name(),
            Source::Platform(m) => m.name().to_string(),
        }
    }
}

/// What the compile path compiles: the module, or the object a host
/// materializer returned.
pub enum Code {
    Module(Arc<Module>),
    Object(MemoryBuffer),
}

/// An object ready to be emitted.
struct Ready {
    object: MemoryBuffer,
    summary: ObjectSummary,
}

/// The compile path, up to the object: from the cache, or compiled.
fn prepare(unit: &Unit, mr: &Responsibility) -> Result<Ready> {
    let env = &unit.env;
    let module = match &unit.source {
        Source::Module(m) => m.clone(),
        Source::Partition { name, bitcode } => Module::from_ir(name, bitcode)?,
        Source::Platform(m) => {
            let tm = env.take_target_machine()?;
            let compiled = crate::compile::compile(m, &env.spec, &tm, &env.data_layout);
            env.return_target_machine(tm);
            let object = compiled?;
            let summary = summarize_object(&object, m.name())?;
            return Ok(Ready { object, summary });
        }
        Source::Host(h) => match h.materialize(&mr.requested())? {
            // A materializer's module takes the checks every added module takes.
            Code::Module(m) => {
                env.check_target(&m).map_err(|e| e.context(h.name()))?;
                m
            }
            Code::Object(object) => {
                let summary = check_object(&object, &h.name())?;
                return Ok(Ready { object, summary });
            }
        },
    };
    let cache = env.cache();
    let cx = crate::cache::CacheContext { spec: &env.spec, log: &env.log };
    if let Some(cache) = &cache {
        match cache.lookup(&module, &cx) {
            Some(bytes) => {
                let object = MemoryBuffer::copy_of(&bytes, module.name())?;
                drop(bytes);
                match usable_cached_object(&object, &module, mr) {
                    Ok(summary) => {
                        Stats::bump(&env.stats.cache_hits, 1);
                        return Ok(Ready { object, summary });
                    }
                    Err(why) => {
                        Stats::bump(&env.stats.cache_rejected, 1);
                        env.log.report(
                            Error::cache(format!("cached object ignored, compiling instead: {}", why.message)),
                            false,
                        );
                    }
                }
            }
            None => Stats::bump(&env.stats.cache_misses, 1),
        }
    }
    let tm = env.take_target_machine()?;
    let compiled = crate::compile::compile(&module, &env.spec, &tm, &env.data_layout);
    env.return_target_machine(tm);
    let object = compiled?;
    Stats::bump(&env.stats.modules_compiled, 1);
    Stats::bump(&env.stats.functions_compiled, module.function_count() as u64);
    if let Some(cache) = &cache {
        cache.store(&module, object.bytes(), &cx);
    }
    let summary = summarize_object(&object, module.name())?;
    Ok(Ready { object, summary })
}

/// Whether a cached object may stand in for the module: a valid relocatable
/// object for this host that defines every symbol ORC expects of it.
fn usable_cached_object(buffer: &MemoryBuffer, module: &Module, mr: &Responsibility) -> Result<ObjectSummary> {
    let summary = check_object(buffer, module.name())?;
    let wanted = mr.symbols();
    if let Some((missing, _)) = wanted.iter().find(|(w, _)| !summary.defined.contains(&w.as_str())) {
        return Err(Error::invalid_object(format!("it does not define '{}'", missing.as_str())));
    }
    Ok(summary)
}

fn emit(unit: &Unit, mr: Responsibility, ready: Ready) {
    let Ready { object, summary } = ready;
    let env = &unit.env;
    if !matches!(unit.source, Source::Platform(_)) {
        Stats::bump(&env.stats.objects_loaded, 1);
        Stats::bump(&env.stats.object_bytes, object.bytes().len() as u64);
        Stats::bump(&env.stats.live_bytes, summary.loaded_bytes);
        unit.group.live_bytes.fetch_add(summary.loaded_bytes, std::sync::atomic::Ordering::Relaxed);
    }
    // Ask for the addresses of the functions for the profiler map once
    // they are linked (the JITDylib is read before mr is given away).
    let perf = env.perf.as_ref().map(|_| {
        let wanted = mr.symbols();
        let functions: Vec<(SymbolName, u64)> = summary
            .functions
            .iter()
            .filter_map(|(f, size)| wanted.iter().find(|(w, _)| w.as_str() == *f).map(|(w, _)| (w.clone(), *size)))
            .collect();
        (mr.target_dylib(), functions)
    });
    // SAFETY: the object layer lives as long as the LLJIT, which outlives every
    // materialization; it takes mr and the buffer, and reports link failures
    // through the session's error reporter.
    unsafe { mr.emit(env.object_layer(), object) }
    if let (Some(map), Some((jd, functions))) = (env.perf.as_ref(), perf) {
        map.record_when_linked(env, jd, functions);
    }
}

extern "C" fn discard(_ctx: *mut c_void, _jd: LLVMOrcJITDylibRef, _symbol: LLVMOrcSymbolStringPoolEntryRef) {
    // A weak definition of this unit was overridden by another definition.
    // Nothing to do: the linker drops a weak definition that ORC did not
    // assign to the unit, and binds references to the winning one.
}

extern "C" fn destroy(ctx: *mut c_void) {
    // SAFETY: ctx is the Box made in `create`, and ORC calls destroy only for a
    // unit that was never materialized, once. A panic in a drop is contained.
    let _ = crate::guard::catch(|| drop(unsafe { Box::from_raw(ctx.cast::<Unit>()) }));
}
