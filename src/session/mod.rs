//! The session: one LLJIT (ExecutionSession, object linking layer, memory),
//! its JITDylibs with their link orders, resource tracker groups, symbol
//! sources, and the state the one compile path shares.
//!
//! Both public facades, the engine and the ORC-style session API, are built
//! on this type; there is no second compile path.

mod cycles;
pub mod dylib;
pub mod env;
pub mod exit;
mod exports;
mod failure;
mod init;
pub mod lazy;
pub mod lazy_failure;
pub mod linked;
pub mod linkorder;
pub mod materializer;
pub mod perf;
pub mod sources;
pub mod stats;
pub mod structors;
pub mod tracker;
pub mod unit;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use crate::cache::ObjectCache;
use crate::compile::pipeline::IrPipeline;
use crate::compile::pool::Pool;
use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::generator::Generator;
use crate::llvm::lazy::StubsManager;
use crate::llvm::lljit::Lljit;
use crate::llvm::object::check_object;
use crate::llvm::orc::{self, JitDylib, LookupKind, SymbolFlags, SymbolName};
use crate::llvm::target_machine::{TargetMachine, TargetSpec};
use crate::module::Module;
use crate::report::{self, ErrorLog};
use dylib::Dylib;
pub use env::{Pending, SessionConfig, SessionEnv};
use stats::{Statistics, Stats};
use structors::ModuleInit;
use tracker::{Group, Member};

/// A structural change in progress (see `Session::lock_changes`).
struct Change<'a> {
    _lock: MutexGuard<'a, ()>,
    epoch: &'a linked::Epoch,
}

impl Drop for Change<'_> {
    fn drop(&mut self) {
        // Before the lock goes: the next change starts after this.
        self.epoch.advance();
    }
}

/// An LLJIT with jitcore's compile path on it.
pub struct Session {
    env: Arc<SessionEnv>,
    main: Arc<Dylib>,
    /// Serializes structural changes (adding, removing, resetting, link
    /// orders, symbol sources) so they never interleave with a reset.
    changes: Mutex<()>,
    /// Lookups in flight (shared) against removals (exclusive): ORC can
    /// lose a query whose symbols a concurrent tracker removal takes away
    /// mid-materialization (every thread then waits forever), so code is
    /// removed between lookups, never under one.
    lookups: RwLock<()>,
    /// Moves on with every structural change: the age of the answers in
    /// the dylibs' linked-address tables (`linked.rs`).
    epoch: linked::Epoch,
    /// One thread at a time runs initializers and finalizers (init.rs).
    initializing: structors::Turnstile,
}

fn main_dylib_id() -> u64 {
    crate::module::new_owner_id()
}

impl Session {
    pub fn new(spec: TargetSpec, config: SessionConfig) -> Result<Session> {
        crate::llvm::initialize()?;
        let jit = Lljit::new(spec.create()?)?;
        let arch = spec.arch().to_string();
        if !jit.triple().starts_with(&arch) {
            return Err(Error::unsupported(format!("JIT triple '{}' does not match '{}'", jit.triple(), spec.triple)));
        }
        if config.debugger {
            jit.enable_debug_support().map_err(|e| e.context("cannot enable GDB JIT registration"))?;
        }
        let pool = match config.compile_threads {
            0 => None,
            n => Some(Pool::new(n).map_err(|e| Error::internal(format!("cannot start compile threads: {e}")))?),
        };
        let perf = if config.perf { Some(perf::PerfMap::open()?) } else { None };
        // The first compile's target machine, made now as LLJIT makes its
        // own: creating one costs about as much as compiling a tiny module
        // at O0, and belongs to making a JIT, not to its first compile. A
        // failure here is the first compile's to report.
        let first_machine: Vec<TargetMachine> = spec.create().ok().into_iter().collect();
        let platform_dylib = jit.dylib_by_name("<Platform>");
        let process_dylib = jit.dylib_by_name("<Process Symbols>");
        let main_jd = jit.main_dylib();
        let env = Arc::new_cyclic(|me: &Weak<SessionEnv>| {
            let reporter = me.clone();
            jit.set_error_reporter(Box::new(move |msg| {
                // ORC reports what fails a materialization (link errors,
                // lazy compiles that failed) and each call of a lazily
                // compiled function that failed.
                if let Some(env) = reporter.upgrade() {
                    Stats::bump(&env.stats.failures, 1);
                    if !lazy_failure::record(&env, &msg) {
                        env.log.report_orc(msg);
                    }
                }
            }));
            let transformer = me.clone();
            jit.set_ir_transform(Box::new(move |request| match transformer.upgrade() {
                Some(env) => unit::transform(&env, request),
                None => Err("jitcore: the session is gone".to_string()),
            }));
            SessionEnv {
                data_layout: jit.data_layout(),
                spec,
                machines: Mutex::new(first_machine),
                ir_pipeline: RwLock::new(IrPipeline::Default),
                cache: RwLock::new(None),
                stats: Stats::default(),
                log: ErrorLog::default(),
                pending: Mutex::new(HashMap::default()),
                cache_served: Mutex::new(Default::default()),
                next_unit: AtomicU64::new(1),
                pool: RwLock::new(pool),
                dylibs: RwLock::new(Vec::new()),
                groups: Mutex::new(Vec::new()),
                config,
                platform_dylib,
                process_dylib,
                stub_targets: Mutex::new(Vec::new()),
                next_stub_target: AtomicU64::new(0),
                lazy_tags: Default::default(),
                placeholders: Default::default(),
                exits: Arc::new(exit::ExitHandlers::default()),
                lazy_modules: Mutex::new(Vec::new()),
                lazy_failures: Mutex::new(Default::default()),
                resets: Mutex::new(Vec::new()),
                body_resets: Mutex::new(Vec::new()),
                perf,
                me: me.clone(),
                jit,
            }
        });
        // Lowered thread-local accesses call jitcore's runtime: every
        // dylib links the platform dylib (main, when there is none).
        let runtime = orc::absolute_symbols(vec![(
            env.jit.mangle_and_intern(crate::llvm::tls::GET_ADDRESS),
            crate::llvm::tls::get_address_function(),
            SymbolFlags::new(true, true),
        )]);
        env.platform_dylib
            .unwrap_or(main_jd)
            .define(runtime)
            .map_err(|e| e.context("cannot define the thread-local runtime"))?;
        let main = Dylib::new(main_jd, "main", main_dylib_id());
        linkorder::install(&env, &main);
        env.define_registrar(&main)?;
        env.dylibs.write().unwrap_or_else(|p| p.into_inner()).push(main.clone());
        crate::llvm::lazy::on_failed_call(lazy_failure::decide);
        lazy_failure::register(&env);
        Ok(Session {
            env,
            main,
            changes: Mutex::new(()),
            lookups: RwLock::new(()),
            epoch: linked::Epoch::default(),
            initializing: structors::Turnstile::default(),
        })
    }

    pub fn env(&self) -> &Arc<SessionEnv> {
        &self.env
    }

    pub fn main_dylib(&self) -> &Arc<Dylib> {
        &self.main
    }

    /// The data layout string of the session's target (LLJIT's).
    pub fn data_layout(&self) -> &str {
        &self.env.data_layout
    }

    pub fn statistics(&self) -> Statistics {
        self.env.stats.snapshot()
    }

    /// Asks the object cache for `module`'s object once and, if it has one,
    /// adds it to `dylib` under `group`, standing for the module (so removing
    /// the group removes it). For a module that defines no symbols, which no
    /// lookup ever materializes: engines finalize such modules this way, as
    /// llvmlite's MCJIT asks its cache for every module it finalizes (numba
    /// loads cached code so). Counts a hit, a miss or a rejection; an object
    /// that cannot be added is reported as a `CACHE` error and ignored.
    /// Returns whether an object was added.
    pub fn load_cached_object(&self, dylib: &Arc<Dylib>, module: &Arc<Module>, group: &Arc<Group>) -> bool {
        let Some(cache) = self.env.cache() else { return false };
        let pipeline = self.env.ir_pipeline();
        let cx = crate::cache::CacheContext { spec: &self.env.spec, pipeline: &pipeline, log: &self.env.log };
        let Some(bytes) = cache.lookup(module, &cx) else {
            Stats::bump(&self.env.stats.cache_misses, 1);
            return false;
        };
        match self.add_object(dylib, &bytes, module.name(), group) {
            Ok(()) => {
                Stats::bump(&self.env.stats.cache_hits, 1);
                true
            }
            Err(why) => {
                Stats::bump(&self.env.stats.cache_rejected, 1);
                self.env.log.report(Error::cache(format!("cached object ignored: {}", why.message)), false);
                false
            }
        }
    }

    pub fn set_cache(&self, cache: Option<Arc<dyn ObjectCache>>) {
        *self.env.cache.write().unwrap_or_else(|p| p.into_inner()) = cache;
    }

    /// Sets the IR pipeline of every module compiled from now on (a
    /// module compiled already keeps its code; one being compiled finishes
    /// with the pipeline it started with). A custom pipeline is parsed by
    /// LLVM first: one that does not parse is `INVALID_ARGUMENT`, and the
    /// session keeps its pipeline.
    pub fn set_ir_pipeline(&self, pipeline: IrPipeline) -> Result<()> {
        let tm = self.env.take_target_machine()?;
        let checked = pipeline.check(&tm);
        self.env.return_target_machine(tm);
        checked?;
        *self.env.ir_pipeline.write().unwrap_or_else(|p| p.into_inner()) = pipeline;
        Ok(())
    }

    pub fn set_error_reporter(&self, f: Option<report::Reporter>) {
        self.env.log.set_host_reporter(f);
    }

    /// Sets what a call of a lazily compiled function that cannot be
    /// compiled does, on the calling thread, in place of the function: the
    /// handler gets the function's name and the error, and should not
    /// return (exit, or end the thread); if it returns, the call returns 0
    /// (0.0, a null pointer, nothing). A panic in it aborts the process.
    /// `None` restores the default, which prints the error on stderr and
    /// aborts. Either way the error reporter hears of the failure first.
    pub fn set_lazy_failure_handler(&self, handler: Option<lazy_failure::LazyFailureHandler>) {
        self.set_lazy_failure_handler_raw(handler.map(lazy_failure::guarded));
    }

    /// [`set_lazy_failure_handler`](Self::set_lazy_failure_handler) with a
    /// handler as the failed call runs it: it must not panic, and may
    /// longjmp (the C API's).
    pub(crate) fn set_lazy_failure_handler_raw(&self, handler: Option<crate::llvm::lazy::FailureHandler>) {
        self.env.lazy_failures.lock().unwrap_or_else(|p| p.into_inner()).set_handler(handler);
    }

    /// Starts a structural change: serialized with the others, and no
    /// answer a lookup found before it ends is used after it
    /// (`linked.rs`).
    fn lock_changes(&self) -> Change<'_> {
        let lock = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.advance();
        Change { _lock: lock, epoch: &self.epoch }
    }

    /// Starts a change that may supply what a failed unit missed: the
    /// resets that were due are done first (a failed lazy call's among
    /// them), so the next lookup or call compiles the unit again.
    fn begin_change(&self) -> Change<'_> {
        self.deferred_resets();
        self.lock_changes()
    }

    /// Creates an empty JITDylib named `name` (unique in the session).
    pub fn create_dylib(&self, name: &str) -> Result<Arc<Dylib>> {
        if name.is_empty() || name.starts_with('<') {
            return Err(Error::invalid_argument(format!("'{name}' is not a usable JITDylib name")));
        }
        let mut dylibs = self.env.dylibs.write().unwrap_or_else(|p| p.into_inner());
        if dylibs.iter().any(|d| d.name() == name) || self.env.jit.dylib_by_name(name).is_some() {
            return Err(Error::invalid_argument(format!("a JITDylib named '{name}' already exists")));
        }
        let d = Dylib::new(self.env.jit.create_dylib(name)?, name, crate::module::new_owner_id());
        // LLJIT's platform support adds code to every JITDylib that needs
        // its platform dylib (atexit, __dso_handle); main links it first,
        // before the process's symbols, and so does every dylib made here.
        if let Some(p) = self.env.platform_dylib {
            d.set_platform(p);
        }
        linkorder::install(&self.env, &d);
        self.env.define_registrar(&d)?;
        dylibs.push(d.clone());
        Ok(d)
    }

    pub fn dylib_by_name(&self, name: &str) -> Option<Arc<Dylib>> {
        if name.starts_with('<') {
            return None;
        }
        self.env.dylib_by_name(name)
    }

    /// The hidden dylib of `dylib`'s symbol sources, made on first use. It
    /// links nothing: archive members resolve against the dylib's other
    /// sources (the process's symbols, libraries, other archives).
    fn sources_of<'a>(&self, dylib: &'a Arc<Dylib>) -> Result<&'a Arc<Dylib>> {
        dylib.sources_or_init(|| {
            let name = format!("<sources of {}>", dylib.name());
            let d = Dylib::new(self.env.jit.create_dylib(&name)?, &name, crate::module::new_owner_id());
            self.env.dylibs.write().unwrap_or_else(|p| p.into_inner()).push(d.clone());
            Ok(d)
        })
    }

    /// Sets the dylibs `dylib` links against, searched in order after its
    /// own definitions. Naming `dylib` itself is allowed and ignored.
    pub fn set_link_order(&self, dylib: &Arc<Dylib>, order: &[Arc<Dylib>]) -> Result<()> {
        let _changes = self.begin_change();
        let mut seen = Vec::new();
        for d in order {
            if Arc::ptr_eq(d, dylib) || seen.iter().any(|s: &Arc<Dylib>| Arc::ptr_eq(s, d)) {
                continue;
            }
            seen.push(d.clone());
        }
        dylib.set_link_order(&seen);
        // What the old order resolved may now resolve elsewhere.
        dylib.drop_aliases(None);
        Ok(())
    }

    /// A new resource tracker group for `dylib`.
    pub fn new_group(&self, dylib: &Arc<Dylib>) -> Arc<Group> {
        let g = Group::new(dylib.id(), false);
        self.env.register_group(&g);
        g
    }

    /// Adds `module` to `dylib` under `group`. Nothing compiles until a
    /// lookup needs one of its symbols; with `lazy`, each function compiles
    /// when it is first called.
    pub fn add_module(&self, dylib: &Arc<Dylib>, module: &Arc<Module>, group: &Arc<Group>, lazy: bool) -> Result<()> {
        self.env.check_target(module)?;
        // Splitting a module for laziness is the slow part: done before the
        // structural lock, so other threads' changes do not wait for it.
        let plan = if lazy {
            let tag = self.env.lazy_tags.reserve(module.content_hash());
            lazy::LazyPlan::new(module, tag.as_str())?.map(|plan| (plan, tag))
        } else {
            None
        };
        let _changes = self.begin_change();
        group.check_open()?;
        if let Some(token) = module.exit_token() {
            self.env.ensure_exit_token(dylib, token)?;
        }
        // The dylib's own definition wins over what its link order supplied.
        let names: Vec<String> = module.symbols().iter().map(|s| s.name.clone()).collect();
        dylib.drop_aliases(Some(&names));
        let member = match plan {
            Some((plan, tag)) => self.install_lazy(dylib, module, group, plan, tag)?,
            // Not splittable (or eager): the whole module compiles on first lookup.
            None => self.install_eager(dylib, module, group)?,
        };
        group.state().members.push(member);
        dylib.changed();
        Ok(())
    }

    fn install_eager(&self, dylib: &Arc<Dylib>, module: &Arc<Module>, group: &Arc<Group>) -> Result<Member> {
        let pending = Pending::Module { module: module.clone(), group: group.clone() };
        let (tracker, unit_id) = if module.symbols().is_empty() {
            // Nothing can ever be looked up, so nothing would ever compile.
            (dylib.new_tracker(), 0)
        } else {
            self.env.install(dylib, module.symbols(), pending).map_err(|e| {
                e.context(format!("cannot add module '{}' to JITDylib '{}'", module.name(), dylib.name()))
            })?
        };
        Ok(Member {
            tracker,
            unit_id,
            module: Some(module.clone()),
            materializer: None,
            lazy: None,
            stubs: None,
            tag: None,
            object_names: Vec::new(),
            facts: None,
            init: Some(ModuleInit::new(module, str::to_string)),
        })
    }

    fn install_lazy(
        &self,
        dylib: &Arc<Dylib>,
        module: &Arc<Module>,
        group: &Arc<Group>,
        plan: lazy::LazyPlan,
        tag: lazy::LazyTag,
    ) -> Result<Member> {
        let stubs = StubsManager::new(&self.env.spec.triple, self.env.execution_session())?;
        let symbols = plan.placeholder_symbols();
        let facts = Arc::new(tracker::LinkFacts { refs: plan.globals_refs(), ..Default::default() });
        // Constructors and destructors run through their bodies: looking
        // them up compiles them.
        let init = ModuleInit::new(module, |f| plan.body_of(f).unwrap_or(f).to_string());
        let stubs = Arc::new(stubs);
        let plan = Arc::new(plan);
        let lazy = lazy::LazyModule::new(plan.clone());
        let cannot = |e: Error| e.context(format!("cannot add module '{}' to JITDylib '{}'", module.name(), dylib.name()));
        let (tracker, unit_id) = if symbols.is_empty() {
            (dylib.new_tracker(), 0)
        } else {
            self.env.install(dylib, &symbols, Pending::Lazy { plan: plan.clone(), stubs: stubs.clone() }).map_err(cannot)?
        };
        if !plan.global_symbols().is_empty() {
            let pending = Pending::Globals { module: lazy.clone(), group: group.clone() };
            match self.env.install(dylib, plan.global_symbols(), pending) {
                Ok(globals) => drop(lazy.set_globals(globals)),
                Err(e) => {
                    let _ = tracker.remove();
                    self.env.forget_unit(unit_id);
                    return Err(cannot(e));
                }
            }
        }
        self.env.register_lazy(dylib, &lazy, group);
        Ok(Member {
            tracker,
            unit_id,
            module: Some(module.clone()),
            materializer: None,
            lazy: Some(lazy),
            stubs: Some(stubs),
            tag: Some(tag),
            object_names: Vec::new(),
            facts: Some(facts),
            init: Some(init),
        })
    }

    /// Adds a relocatable object (checked first) to `dylib` under `group`.
    pub fn add_object(&self, dylib: &Arc<Dylib>, bytes: &[u8], name: &str, group: &Arc<Group>) -> Result<()> {
        let buffer = MemoryBuffer::copy_of(bytes, name)?;
        let summary = check_object(&buffer, name)?;
        let _changes = self.begin_change();
        group.check_open()?;
        dylib.drop_aliases(Some(&summary.defined));
        let rt = dylib.new_tracker();
        self.env
            .jit
            .add_object(&rt, buffer)
            .map_err(|e| e.context(format!("cannot add object '{name}' to JITDylib '{}'", dylib.name())))?;
        Stats::bump(&self.env.stats.objects_loaded, 1);
        Stats::bump(&self.env.stats.live_bytes, summary.loaded_bytes);
        group.live_bytes.fetch_add(summary.loaded_bytes, Ordering::Relaxed);
        let facts = Arc::new(tracker::LinkFacts {
            label: format!("object '{name}'"),
            functions: summary.functions.iter().map(|(f, _)| f.clone()).collect(),
            hidden: summary.hidden,
            refs: summary.undefined,
        });
        group.state().members.push(Member {
            tracker: rt,
            unit_id: 0,
            module: None,
            materializer: None,
            lazy: None,
            stubs: None,
            tag: None,
            object_names: summary.defined,
            facts: Some(facts),
            init: None,
        });
        dylib.changed();
        Ok(())
    }

    /// Adds a host materializer for `symbols` to `dylib` under `group`.
    pub fn add_materializer(
        &self,
        dylib: &Arc<Dylib>,
        materializer: Arc<materializer::HostMaterializer>,
        group: &Arc<Group>,
    ) -> Result<()> {
        let symbols = materializer.symbols();
        let _changes = self.begin_change();
        group.check_open()?;
        let pending = Pending::Host { materializer: materializer.clone(), group: group.clone() };
        let (tracker, unit_id) = self
            .env
            .install(dylib, &symbols, pending)
            .map_err(|e| e.context(format!("cannot add a materializer to JITDylib '{}'", dylib.name())))?;
        let member = Member {
            tracker,
            unit_id,
            module: None,
            materializer: Some(materializer),
            lazy: None,
            stubs: None,
            tag: None,
            object_names: Vec::new(),
            facts: None,
            init: None,
        };
        group.state().members.push(member);
        dylib.changed();
        Ok(())
    }

    /// Defines symbols at absolute addresses for the life of `dylib`.
    pub fn define_absolute(&self, dylib: &Dylib, symbols: &[(String, u64)]) -> Result<()> {
        let _changes = self.begin_change();
        let names: Vec<String> = symbols.iter().map(|s| s.0.clone()).collect();
        dylib.drop_aliases(Some(&names));
        let syms = symbols
            .iter()
            .map(|(n, a)| (self.env.jit.mangle_and_intern(n), *a, SymbolFlags::new(true, true)))
            .collect();
        dylib.jd().define(orc::absolute_symbols(syms)).map_err(|e| e.context(format!("in JITDylib '{}'", dylib.name())))?;
        dylib.add_absolutes(names);
        Ok(())
    }

    /// Removes everything `group` tracks (freeing its code and data) and
    /// drops symbol names nothing uses any more. A removed group stays
    /// removed: adding to it fails.
    pub fn remove_group(&self, group: &Group) -> Result<()> {
        // Lock order: lookups, then changes (a lookup takes changes to
        // recover only after it released its shared lock).
        let _no_lookups = self.lookups.write().unwrap_or_else(|p| p.into_inner());
        let _changes = self.lock_changes();
        let members = {
            let mut state = group.state();
            state.removed = !group.is_default;
            std::mem::take(&mut state.members)
        };
        let names: Vec<String> = members.iter().flat_map(Member::names).collect();
        if let Some(d) = self.env.dylib_by_id(group.dylib) {
            d.changed();
        }
        self.env.drop_aliases_of(group.dylib, &names);
        // Read while the code (and so each variable's descriptor) is loaded.
        let thread_locals = group.take_thread_locals();
        let thread_local_ids: Vec<u64> = thread_locals.iter().map(|d| d.id()).collect();
        // Their destructors go with them unrun, and so do the exit handlers
        // their code registered: the code is about to be gone.
        let tokens: Vec<String> = members.iter().flat_map(Member::exit_tokens).collect();
        self.env.exits.forget(group.dylib, &tokens);
        let mut first_error = None;
        let mut kept = Vec::new();
        for m in members {
            // A lazily added module's bodies go first (its stubs lead there).
            for (body, unit) in m.lazy.as_ref().map(|l| l.take_bodies(None)).unwrap_or_default() {
                match body.remove() {
                    Ok(()) => self.env.forget_unit(unit),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            match m.tracker.remove() {
                Ok(()) => {
                    self.env.forget_unit(m.unit_id);
                    drop(m.tracker);
                    drop(m.stubs);
                }
                Err(e) => {
                    // What could not be removed stays tracked by the group,
                    // so a later removal (or the session's end) frees it.
                    first_error.get_or_insert(e);
                    kept.push(m);
                }
            }
        }
        if kept.is_empty() {
            crate::tls::release(&thread_local_ids);
            let bytes = group.live_bytes.swap(0, Ordering::Relaxed);
            self.env
                .stats
                .live_bytes
                .fetch_sub(bytes.min(self.env.stats.live_bytes.load(Ordering::Relaxed)), Ordering::Relaxed);
        } else {
            group.add_thread_locals(thread_locals);
            let mut state = group.state();
            state.removed = false;
            state.members.extend(kept);
        }
        self.env.jit.clear_dead_symbol_names();
        first_error.map_or(Ok(()), Err)
    }

    /// A host let go of `group` without removing it: what it tracks stays
    /// loaded, now under its dylib's default group (as ORC moves a released
    /// tracker's resources to the default tracker).
    pub fn release_group(&self, group: &Group) {
        let _changes = self.lock_changes();
        let members = group.take_members();
        let bytes = group.live_bytes.swap(0, Ordering::Relaxed);
        match self.env.dylib_by_id(group.dylib) {
            Some(d) if !group.is_default => {
                d.default_group().add_thread_locals(group.take_thread_locals());
                d.default_group().state().members.extend(members);
                d.default_group().live_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            _ => group.state().members.extend(members),
        }
    }

    /// Every module added to the session and not removed.
    pub fn all_modules(&self) -> Vec<Arc<Module>> {
        self.env.live_groups().iter().flat_map(|g| g.modules()).collect()
    }

    /// Looks `names` up from `dylib`: its own definitions first, then the
    /// exported definitions of its link order, in order (and the process's
    /// symbols last, for dylibs that fall back to them). Compiles what it
    /// needs; a module that failed to compile or link is reset so a retry
    /// can succeed once the cause is fixed.
    pub fn lookup(&self, dylib: &Dylib, names: &[&str]) -> std::result::Result<Vec<u64>, Error> {
        let epoch = self.epoch.current();
        let known: Option<Vec<u64>> = names.iter().map(|n| dylib.linked().get(n.as_bytes(), epoch)).collect();
        if let Some(addrs) = known {
            return Ok(addrs);
        }
        self.lookup_and_record(dylib, names, epoch)
    }

    /// [`lookup`](Self::lookup) of one name: an answer found before costs
    /// no allocation (`linked.rs`).
    #[inline]
    pub fn lookup_one(&self, dylib: &Dylib, name: &str) -> std::result::Result<u64, Error> {
        let epoch = self.epoch.current();
        if let Some(addr) = dylib.linked().get(name.as_bytes(), epoch) {
            return Ok(addr);
        }
        Ok(self.lookup_and_record(dylib, &[name], epoch)?[0])
    }

    /// What a lookup of `name` from `dylib` found since the last change,
    /// if one did: the answer [`lookup`](Self::lookup) would give, without
    /// asking ORC (`linked.rs`). `None`: ask [`lookup`](Self::lookup).
    #[inline]
    pub fn known_address(&self, dylib: &Dylib, name: &[u8]) -> Option<u64> {
        dylib.linked().get(name, self.epoch.current())
    }

    /// Asks ORC, and records the answers in `dylib`'s linked-address table
    /// unless a change overlapped the lookup (it started in `epoch`).
    fn lookup_and_record(&self, dylib: &Dylib, names: &[&str], epoch: u64) -> std::result::Result<Vec<u64>, Error> {
        // The body behind a lazy stub is jitcore's own: hosts only see the stub.
        if let Some(body) = names.iter().find(|n| n.ends_with(lazy::BODY_SUFFIX)) {
            return Err(Error::symbol_not_found(format!(
                "symbol '{body}' not found (names ending in '{}' are jitcore's own)",
                lazy::BODY_SUFFIX
            )));
        }
        let addrs = self.lookup_any(dylib, names)?;
        for (name, &addr) in names.iter().zip(&addrs) {
            dylib.linked().record(&self.epoch, epoch, name, addr);
        }
        Ok(addrs)
    }

    /// [`lookup`](Self::lookup), lazy bodies included (to compile one).
    fn lookup_any(&self, dylib: &Dylib, names: &[&str]) -> std::result::Result<Vec<u64>, Error> {
        let mut order: Vec<(JitDylib, bool)> = vec![(dylib.jd(), false)];
        order.extend(dylib.search_tail());
        if dylib.jd() == self.main.jd() {
            // Main resolves the process's symbols (LLJIT links them), for
            // the host's lookups too.
            if let Some(p) = self.env.process_dylib {
                order.push((p, true));
            }
        }
        let interned: Vec<SymbolName> = names.iter().map(|n| self.env.jit.mangle_and_intern(n)).collect();
        // A second try only after a cached object failed to link (its
        // unit was reset to compile): the cache must never cost a lookup.
        for attempt in 0..2 {
            self.deferred_resets();
            let mark = self.env.log.mark();
            let found = {
                let _lookup = self.lookups.read().unwrap_or_else(|p| p.into_inner());
                let _in_jit = env::InJit::enter();
                // What the symbols' code calls through link-order cycle
                // stubs is linked too, as eager linking would (cycles.rs).
                self.env
                    .jit
                    .lookup(LookupKind::DLSym, &order, &interned)
                    .and_then(|addrs| cycles::link_stub_targets(&self.env, dylib, names).map(|()| addrs))
            };
            let e = match found {
                Ok(addrs) => return Ok(addrs),
                Err(e) => e,
            };
            let failure = self.env.explain_lookup_failure(e, mark, dylib, names);
            let recovery = self.recover(failure);
            if attempt == 1 || recovery.cache_faults.is_empty() {
                return Err(recovery.error);
            }
            for name in &recovery.cache_faults {
                // Counted as a hit when it was served; it is a rejection.
                let _ = self.env.stats.cache_hits.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
                Stats::bump(&self.env.stats.cache_rejected, 1);
                self.env.log.report(
                    Error::cache(format!(
                        "cached object of {name} ignored, compiling instead: {}",
                        recovery.error.message
                    )),
                    false,
                );
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// Adds a symbol source to `dylib`: searched after its own definitions
    /// and earlier sources, before its link order.
    pub fn add_source(&self, dylib: &Arc<Dylib>, source: sources::SymbolSource) -> Result<()> {
        let generator = source.generator(self.env.object_layer())?;
        self.add_generator(dylib, generator)
    }

    fn add_generator(&self, dylib: &Arc<Dylib>, generator: Generator) -> Result<()> {
        let _changes = self.begin_change();
        let sources = self.sources_of(dylib)?;
        generator.attach(sources.jd(), &self.env.jit);
        // What the link order supplied may now come from the new source.
        dylib.drop_aliases(None);
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Finish queued compiles while everything they touch is alive.
        let pool = self.env.pool.write().unwrap_or_else(|p| p.into_inner()).take();
        drop(pool);
        // Release every ORC tracker before the session that owns them goes;
        // lazy stubs are freed after it (nothing can call them then).
        let mut thread_locals = Vec::new();
        for group in self.env.live_groups() {
            thread_locals.extend(group.take_thread_locals().into_iter().map(|d| d.id()));
            for m in group.take_members() {
                drop(m.lazy.map(|l| l.release_bodies()));
                drop(m.tracker);
                if let Some(stubs) = m.stubs {
                    stubs.retire();
                    self.env.jit.keep_until_disposed(Box::new(stubs));
                }
            }
        }
        for d in self.env.dylibs.read().unwrap_or_else(|p| p.into_inner()).iter() {
            drop(d.take_aliases(None));
            for stubs in d.take_stubs() {
                stubs.retire();
                self.env.jit.keep_until_disposed(Box::new(stubs));
            }
        }
        self.env.pending().clear();
        crate::tls::release(&thread_locals);
        // The environment (and with it the LLJIT, its last field) goes when
        // `env` is dropped: nothing inside ORC holds it (units, callbacks
        // and lookups keep weak references).
    }
}
