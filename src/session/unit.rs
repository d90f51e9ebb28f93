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

use std::sync::{Arc, Weak};

use super::dylib::AliasState;
use super::env::{Pending, SessionEnv, PLACEHOLDER_PREFIX};
use super::lazy::{LazyPlan, Partition};
use super::materializer::{Code, HostMaterializer};
use super::stats::Stats;
use super::tracker::{Group, Member};
use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::lazy::{lazy_reexports, StubsManager};
use crate::llvm::lljit::TransformRequest;
use crate::llvm::object::{check_object, summarize_object, ObjectSummary};
use crate::llvm::orc::{absolute_symbols, JitDylib, LookupKind, MaterializationUnit, SymbolFlags, SymbolName};
use crate::llvm::unit::{custom_unit, BorrowedResponsibility, Responsibility, UnitBody};
use crate::module::Module;
use crate::report::with_current_unit;
use std::collections::HashMap;

/// Where a unit's code comes from.
pub enum Source {
    /// A module added by the host.
    Module(Arc<Module>),
    /// One partition of a lazily added module, written as bitcode (if it
    /// was not yet) and parsed when it is materialized.
    Partition { name: String, plan: Arc<LazyPlan>, which: Partition },
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
    /// Weak: a unit ORC still holds must not keep the session alive.
    pub env: Weak<SessionEnv>,
    pub source: Source,
    pub group: Arc<Group>,
}

/// LLJIT's IR transform: swaps a placeholder for its real unit. Every other
/// IR module is LLJIT's own platform support (it defines `__dso_handle` and
/// the `atexit` helpers of a JITDylib): it takes jitcore's compile path too
/// (a target machine per compile, never LLJIT's single shared one, which
/// compile threads would race on), without the object cache.
/// `Ok(true)`: the responsibility was handed to jitcore's units.
pub fn transform(env: &Arc<SessionEnv>, request: &TransformRequest<'_>) -> std::result::Result<bool, String> {
    let mr = &request.responsibility;
    let ident = request.identifier().map_err(|e| e.message)?;
    // What replaces the placeholder defines exactly what this
    // responsibility covers (a weak definition may have been dropped in
    // favour of another).
    let symbols = mr.symbols();
    let Some(id) = ident.strip_prefix(PLACEHOLDER_PREFIX).and_then(|s| s.parse::<u64>().ok()) else {
        let (ir, bitcode) =
            request.copy().map_err(|e| format!("jitcore: cannot copy a platform module: {}", e.message))?;
        let module = Module::from_ir_module(&ident, ir, bitcode)
            .map_err(|e| format!("jitcore: cannot read a platform module: {}", e.message))?;
        let group = Group::new(0, true);
        mr.replace(create(env, 0, Source::Platform(module), &ident, symbols, group))?;
        return Ok(true);
    };
    let Some(pending) = env.take_pending(id) else {
        return Err("jitcore: a unit was materialized after it was removed".to_string());
    };
    match pending {
        Pending::Module { module, group } => {
            mr.replace(create(env, id, Source::Module(module.clone()), module.name(), symbols, group))?
        }
        Pending::Alias(found) => {
            let syms = found
                .into_iter()
                .filter(|f| symbols.iter().any(|(n, _)| *n == f.name))
                .map(|f| (f.name, f.address, f.flags.hidden()))
                .collect();
            mr.replace(absolute_symbols(syms))?
        }
        Pending::Lazy { plan, stubs } => install_lazy(env, &plan, &stubs, mr, symbols)?,
        Pending::Body { module, index, group } => {
            let which = Partition::Function(index);
            let name = module.plan.partition_name(which);
            let source = Source::Partition { name: name.clone(), plan: module.plan.clone(), which };
            mr.replace(create(env, id, source, &name, symbols, group))?
        }
        Pending::Globals { module, group } => {
            if !module.plan.has_globals() {
                return Err("jitcore: a lazily added module without globals has a globals placeholder".to_string());
            }
            let which = Partition::Globals;
            let name = module.plan.partition_name(which);
            let source = Source::Partition { name: name.clone(), plan: module.plan.clone(), which };
            mr.replace(create(env, id, source, &name, symbols, group))?
        }
        Pending::Stubs { source, stubs } => {
            let aliases = symbols
                .into_iter()
                .map(|(n, f)| {
                    let target = n.as_str();
                    (n, target, f)
                })
                .collect();
            mr.replace(lazy_reexports(&stubs, env.execution_session(), source, aliases)?)?
        }
        Pending::LinkAlias { source, state } => {
            state.set_busy();
            let body = LinkAlias { env: env.weak(), source, state };
            mr.replace(custom_unit("<link-order aliases>", symbols, Box::new(body)))?
        }
        Pending::Host { materializer, group } => {
            let name = materializer.name();
            mr.replace(create(env, id, Source::Host(materializer), &name, symbols, group))?
        }
    }
    Ok(true)
}

/// Aliases, in a JITDylib, of variables of another one of its link-order
/// cycle: materialized, they look the variables up (waiting for them to be
/// ready, as LLVM-C's lookups do) and stand at their addresses. The linker
/// that needs them waits for them; no definition generator does.
struct LinkAlias {
    env: Weak<SessionEnv>,
    source: JitDylib,
    state: Arc<AliasState>,
}

impl UnitBody for LinkAlias {
    fn materialize(self: Box<Self>, mr: Responsibility) {
        let LinkAlias { env, source, state } = *self;
        let Some(session) = env.upgrade() else {
            state.set_done(false);
            return;
        };
        let wanted = mr.symbols();
        let names: Vec<SymbolName> = wanted.iter().map(|(n, _)| n.clone()).collect();
        let es = session.execution_session();
        drop(session);
        // The unit whose link needs them (ORC materializes the aliases on
        // its thread), named when what they stand for failed.
        let unit = crate::report::current_unit();
        es.lookup_async(LookupKind::DLSym, &[(source, true)], &names, false, move |found| {
            if let (Err(e), Some(session)) = (&found, env.upgrade()) {
                session.log.report_dependency(unit, e.clone());
            }
            let resolved = found.and_then(|found| {
                wanted
                    .into_iter()
                    .map(|(n, flags)| match found.iter().find(|f| f.name == n) {
                        Some(f) => Ok((n, f.address, flags)),
                        None => Err(format!("Symbols not found: [ {} ]", n.as_str())),
                    })
                    .collect::<std::result::Result<Vec<_>, String>>()
            });
            // A failure of what they stand for was reported by its unit;
            // the aliases fail with it (dropping mr), and a reset removes
            // them: marked failed first, since failing mr may end the
            // lookup that waits for them, whose reset looks for them.
            match resolved {
                Ok(r) => {
                    let ok = mr.resolve_ready(r).is_ok();
                    state.set_done(ok);
                }
                Err(_) => {
                    state.set_done(false);
                    drop(mr);
                }
            }
        });
    }
}

/// Makes the ORC materialization unit for `source`, defining `symbols`.
pub fn create(
    env: &SessionEnv,
    id: u64,
    source: Source,
    name: &str,
    symbols: Vec<(SymbolName, SymbolFlags)>,
    group: Arc<Group>,
) -> MaterializationUnit {
    custom_unit(name, symbols, Box::new(Unit { id, env: env.weak(), source, group }))
}

impl UnitBody for Unit {
    fn materialize(self: Box<Self>, mr: Responsibility) {
        // Without the session there is nothing to compile for: dropping mr fails it.
        let Some(env) = self.env.upgrade() else { return };
        env.dispatch(move || materialize_now(*self, mr));
    }
}

fn materialize_now(unit: Unit, mr: Responsibility) {
    let Some(env) = unit.env.upgrade() else { return };
    let _in_jit = super::env::InJit::enter();
    let (id, name) = (unit.id, unit.name());
    let outcome = crate::guard::catch(|| with_current_unit(id, &name, || prepare(&env, &unit, &mr)));
    let error = match outcome {
        Ok(Ok(ready)) => {
            // A panic after the object layer took mr cannot fail it again.
            // Link errors are reported (and attributed to this module) while
            // the object layer links, on this thread.
            let _ = crate::guard::catch(move || with_current_unit(id, &name, || emit(&env, &unit, mr, ready)));
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

/// An object ready to be emitted.
struct Ready {
    object: MemoryBuffer,
    summary: ObjectSummary,
    /// The thread-local variables it defines (their storage is released
    /// with the group's code).
    thread_locals: Vec<String>,
    /// The object was added to the JITDylib on its own, standing for a
    /// module none of whose symbols it defines (`stand_in_object`): the
    /// responsibility's symbols are completed as absent instead.
    added: bool,
}

/// The compile path, up to the object: from the cache, or compiled (after
/// the IR pipeline the session has when the compile starts).
fn prepare(env: &SessionEnv, unit: &Unit, mr: &Responsibility) -> Result<Ready> {
    let pipeline = env.ir_pipeline();
    let module = match &unit.source {
        Source::Module(m) => m.clone(),
        Source::Partition { name, plan, which } => {
            let bitcode = plan.bitcode(*which)?.ok_or_else(|| Error::internal(format!("{name}: no such partition")))?;
            Module::from_ir(name, &bitcode)?
        }
        Source::Platform(m) => {
            let tm = env.take_target_machine()?;
            let compiled = crate::compile::compile(m, &env.spec, &tm, &pipeline);
            env.return_target_machine(tm);
            let object = compiled?;
            let summary = summarize_object(&object, m.name())?;
            return Ok(Ready { object, summary, thread_locals: Vec::new(), added: false });
        }
        Source::Host(h) => match h.materialize(&mr.requested())? {
            // A materializer's module takes the checks every added module takes.
            Code::Module(m) => {
                env.check_target(&m).map_err(|e| e.context(h.name()))?;
                if let Some(token) = m.exit_token() {
                    // Its exit handlers are the materializer's: dropped
                    // when its tracker is removed.
                    let dylib = env
                        .dylib_by_id(unit.group.dylib)
                        .ok_or_else(|| Error::internal(format!("{}: its JITDylib is gone", h.name())))?;
                    env.ensure_exit_token(&dylib, token)?;
                    h.note_exit_token(token);
                }
                m
            }
            Code::Object(object) => {
                let summary = check_object(&object, &h.name())?;
                return Ok(Ready { object, summary, thread_locals: Vec::new(), added: false });
            }
        },
    };
    let cache = env.cache();
    let cx = crate::cache::CacheContext { spec: &env.spec, pipeline: &pipeline, log: &env.log };
    // A unit whose cached object failed to link compiles instead.
    let bypass = env.cache_marks().bypass.remove(&unit.id);
    if let Some(cache) = cache.as_ref().filter(|_| !bypass) {
        match cache.lookup(&module, &cx) {
            Some(bytes) => {
                let object = MemoryBuffer::copy_of(&bytes, module.name())?;
                drop(bytes);
                let usable = if env.config.cached_object_stands_for_module && cache.may_stand_for_module() {
                    stand_in_object(env, object, &module, mr, &unit.group)
                } else {
                    usable_cached_object(&object, &module, mr).map(|summary| Ready {
                        object,
                        summary,
                        thread_locals: defined_thread_locals(&module),
                        added: false,
                    })
                };
                match usable {
                    Ok(ready) => {
                        Stats::bump(&env.stats.cache_hits, 1);
                        module.drop_ir();
                        if !ready.added {
                            env.cache_marks().served.insert(unit.id);
                        }
                        return Ok(ready);
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
    let compiled = crate::compile::compile(&module, &env.spec, &tm, &pipeline);
    env.return_target_machine(tm);
    let object = compiled?;
    Stats::bump(&env.stats.modules_compiled, 1);
    Stats::bump(&env.stats.functions_compiled, module.function_count() as u64);
    if let Some(cache) = &cache {
        cache.store(&module, object.bytes(), &cx);
    }
    let summary = summarize_object(&object, module.name())?;
    Ok(Ready { object, summary, thread_locals: defined_thread_locals(&module), added: false })
}

/// The thread-local variables `module` defines (it may declare others).
fn defined_thread_locals(module: &Module) -> Vec<String> {
    let defined = module.symbols();
    module.thread_locals().iter().filter(|t| defined.iter().any(|s| &s.name == *t)).cloned().collect()
}

/// Whether a cached object may stand in for the module: a valid relocatable
/// object for this host that defines every symbol ORC expects of it.
fn usable_cached_object(buffer: &MemoryBuffer, module: &Module, mr: &Responsibility) -> Result<ObjectSummary> {
    let summary = check_object(buffer, module.name())?;
    let defined = sorted_names(&summary.defined);
    let wanted = mr.symbols();
    if let Some((missing, _)) = wanted.iter().find(|(w, _)| defined.binary_search(&&*w.lossy()).is_err()) {
        return Err(Error::invalid_object(format!("it does not define '{}'", missing.as_str())));
    }
    Ok(summary)
}

/// `names`, sorted and distinct: a module's symbols are looked up in what
/// its object defines in n log n, not n² (a 50-function module compared
/// every pair, allocating a String per comparison). Names compare as
/// `SymbolName::lossy` gives them, as the object's are read.
fn sorted_names(names: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// Makes a cached object stand for the module entirely (engines, as in
/// llvmlite's MCJIT), when it does not define exactly the module's symbols:
///  - it defines some of them and nothing else: the others are completed
///    as absent (address 0), and it is emitted for the rest;
///  - it defines none of them (an object of another module): it is added
///    to the JITDylib on its own, under a tracker of the module's group (so
///    removing the module removes it; a symbol defined already fails the
///    add), and all the module's symbols are absent (`Ready::added`);
///  - some of them and others: rejected.
///
/// Absent symbols are recorded in the group, so engine lookups report them
/// missing. Fails, changing nothing, if the object cannot stand in.
fn stand_in_object(
    env: &SessionEnv,
    object: MemoryBuffer,
    module: &Module,
    mr: &Responsibility,
    group: &Group,
) -> Result<Ready> {
    let summary = check_object(&object, module.name())?;
    let defined = sorted_names(&summary.defined);
    let wanted = mr.symbols();
    let (kept, missing): (Vec<_>, Vec<_>) =
        wanted.into_iter().map(|(w, _)| w).partition(|w| defined.binary_search(&&*w.lossy()).is_ok());
    // The wanted names are distinct, so the object defines something else
    // exactly when fewer of them are kept than it defines.
    let has_extra = kept.len() < defined.len();
    let thread_locals = defined_thread_locals(module);
    if !has_extra {
        if !missing.is_empty() {
            mr.emit_absent(&missing).map_err(Error::internal)?;
            group.add_absent(missing.iter().map(SymbolName::as_str));
        }
        return Ok(Ready { object, summary, thread_locals, added: false });
    }
    if !kept.is_empty() {
        return Err(Error::invalid_object(format!(
            "it defines some of the module's symbols ('{}') and others ('{}'); an object standing for a \
             module defines all of them, none, or some and nothing else",
            kept[0].as_str(),
            summary.defined.iter().find(|d| !kept.iter().any(|k| k.lossy() == d.as_str())).map_or("", String::as_str)
        )));
    }
    let dylib = env
        .dylib_by_id(group.dylib)
        .ok_or_else(|| Error::internal(format!("module '{}' has no JITDylib", module.name())))?;
    let rt = dylib.new_tracker();
    let copy = MemoryBuffer::copy_of(object.bytes(), module.name())?;
    env.jit().add_object(&rt, copy)?;
    group.state().members.push(Member::object(rt, summary.defined.clone()));
    dylib.changed();
    group.add_absent(missing.iter().map(SymbolName::as_str));
    Ok(Ready { object, summary, thread_locals: Vec::new(), added: true })
}

fn emit(env: &SessionEnv, unit: &Unit, mr: Responsibility, ready: Ready) {
    let Ready { object, summary, thread_locals, added } = ready;
    if !matches!(unit.source, Source::Platform(_)) {
        Stats::bump(&env.stats.objects_loaded, 1);
        Stats::bump(&env.stats.object_bytes, object.bytes().len() as u64);
        Stats::bump(&env.stats.live_bytes, summary.loaded_bytes);
        unit.group.live_bytes.fetch_add(summary.loaded_bytes, std::sync::atomic::Ordering::Relaxed);
    }
    if added {
        // The object is in the JITDylib on its own; none of mr's symbols is in it.
        if let Err(why) = mr.complete_absent() {
            env.log.report(Error::internal(format!("module '{}': {why}", unit.name())), true);
        }
        return;
    }
    // Ask for the addresses of the functions for the profiler map once
    // they are linked (the JITDylib is read before mr is given away).
    let perf = env.perf.as_ref().map(|_| {
        let wanted = mr.symbols();
        let functions: Vec<(SymbolName, u64)> = summary
            .functions
            .iter()
            .filter_map(|(f, size)| {
                wanted.iter().find(|(w, _)| w.lossy() == f.as_str()).map(|(w, _)| (w.clone(), *size))
            })
            .collect();
        (mr.target_dylib(), functions)
    });
    // The layer takes mr and the buffer, and reports link failures through
    // the session's error reporter.
    let thread_locals: Vec<SymbolName> = thread_locals.iter().map(|t| env.jit.mangle_and_intern(t)).collect();
    let jd = mr.target_dylib();
    mr.emit(env.object_layer(), object);
    let group = unit.group.clone();
    crate::llvm::tls::when_linked(env.execution_session(), jd, thread_locals, move |linked| {
        group.add_thread_locals(linked)
    });
    if let (Some(map), Some((jd, functions))) = (env.perf.as_ref(), perf) {
        map.record_when_linked(env.execution_session(), jd, functions);
    }
}

/// Replaces a lazy module's placeholder responsibility `mr` (covering
/// `symbols`) with its lazy stubs (the globals partition has a placeholder
/// of its own, and each body is defined on its first call, see lazy.rs).
fn install_lazy(
    env: &SessionEnv,
    plan: &LazyPlan,
    stubs: &StubsManager,
    mr: &BorrowedResponsibility<'_>,
    symbols: Vec<(SymbolName, SymbolFlags)>,
) -> std::result::Result<(), String> {
    let by_name: HashMap<String, (SymbolName, SymbolFlags)> =
        symbols.into_iter().map(|(n, f)| (n.as_str(), (n, f))).collect();
    let aliases: Vec<(SymbolName, String, SymbolFlags)> = plan
        .functions()
        .iter()
        .filter_map(|f| by_name.get(&f.name).map(|(stub, flags)| (stub.clone(), f.body.clone(), *flags)))
        .collect();
    if !aliases.is_empty() {
        mr.replace(lazy_reexports(stubs, env.execution_session(), mr.target_dylib(), aliases)?)?;
    }
    Ok(())
}
