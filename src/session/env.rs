//! The session environment: what the one compile path shares between the
//! session and its units (the LLJIT, the target, the object cache, the
//! statistics and error log, the compile pool, the JITDylibs and the
//! placeholders waiting to be materialized).

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use super::dylib::{AliasState, Dylib};
use super::exit::ExitHandlers;
use super::lazy::{self, LazyModule};
use super::materializer::HostMaterializer;
use super::perf::PerfMap;
use super::stats::Stats;
use super::tracker::Group;
use crate::cache::ObjectCache;
use crate::compile::pipeline::IrPipeline;
use crate::compile::pool::Pool;
use crate::error::{Error, Result};
use crate::fasthash::FastBuild;
use crate::llvm::ir::ModuleSymbol;
use crate::llvm::lazy::{FailureHandler, StubsManager};
use crate::llvm::lljit::Lljit;
use crate::llvm::orc::{
    absolute_symbols, ExecutionSession, Found, JitDylib, ObjectLayer, SymbolFlags, SymbolName, Tracker,
};
use crate::llvm::target_machine::{TargetMachine, TargetSpec};
use crate::llvm::unit::{PlaceholderContext, ThreadSafeModule};
use crate::module::Module;
use crate::report::ErrorLog;

/// How a session compiles.
#[derive(Clone, Debug, Default)]
pub struct SessionConfig {
    /// 0: compile on the thread that looks up; N: a pool of N threads.
    pub compile_threads: usize,
    /// `add_module` compiles function by function, on first call.
    pub lazy_by_default: bool,
    /// Register jitted code with GDB's JIT interface.
    pub debugger: bool,
    /// Write a perf map (`/tmp/perf-<pid>.map`) naming jitted functions.
    pub perf: bool,
    /// An object from a host's object cache callbacks stands for its module
    /// entirely, as in llvmlite's MCJIT (engines; never the disk cache,
    /// whose entries are content-keyed): the symbols it defines are defined,
    /// the module's symbols it does not define are not. Otherwise (sessions)
    /// an object that does not define every symbol of the module is
    /// rejected and the module compiled.
    pub cached_object_stands_for_module: bool,
}

/// A function a link-order cycle stub stands for, not yet linked by a
/// host's lookup.
pub struct StubTarget {
    /// Its number (in the order they were made).
    pub seq: u64,
    /// The dylib (id) of the stub, whose code calls through it.
    pub caller: crate::module::OwnerId,
    /// The dylib that defines the function.
    pub source: Arc<Dylib>,
    pub name: SymbolName,
}

/// The name prefix of placeholder modules (`jitcore.unit.<id>`).
pub const PLACEHOLDER_PREFIX: &str = "jitcore.unit.";

/// The placeholder IR module for `symbols`, named after `unit_id`, in the
/// session's shared placeholder context.
pub fn placeholder(shared: &PlaceholderContext, symbols: &[ModuleSymbol], unit_id: u64) -> Result<ThreadSafeModule> {
    crate::llvm::unit::placeholder(shared, symbols, &format!("{PLACEHOLDER_PREFIX}{unit_id}")).map_err(Error::internal)
}

/// What a placeholder stands for until it is materialized (see unit.rs).
pub enum Pending {
    Module { module: Arc<Module>, group: Arc<Group> },
    Lazy { plan: Arc<lazy::LazyPlan>, stubs: Arc<StubsManager> },
    /// One body of a lazily added module (partition `index`).
    Body { module: Arc<LazyModule>, index: usize, group: Arc<Group> },
    /// The globals partition of a lazily added module.
    Globals { module: Arc<LazyModule>, group: Arc<Group> },
    Alias(Vec<Found>),
    /// Stubs standing for functions of JITDylib `source` (of a link-order
    /// cycle) under the same names, made by `stubs`.
    Stubs { source: JitDylib, stubs: Arc<StubsManager> },
    /// Aliases of variables of JITDylib `source` (of a link-order cycle),
    /// looked up when they are materialized.
    LinkAlias { source: JitDylib, state: Arc<AliasState> },
    Host { materializer: Arc<HostMaterializer>, group: Arc<Group> },
}

thread_local! {
    /// How deep this thread is inside the JIT (see [`InJit`]).
    static IN_JIT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Marks the calling thread, while alive, as inside the JIT: a lookup
/// holding the session's shared lookup lock, or a unit materializing (with
/// the host callbacks it calls). A reset needs every lookup out of the way,
/// so on such a thread it is deferred to the next lookup (waiting for the
/// exclusive lock there would wait for itself).
pub struct InJit(());

impl InJit {
    pub fn enter() -> InJit {
        IN_JIT.with(|d| d.set(d.get().saturating_add(1)));
        InJit(())
    }

    /// Whether the calling thread is inside the JIT.
    pub fn here() -> bool {
        IN_JIT.with(|d| d.get() > 0)
    }
}

impl Drop for InJit {
    fn drop(&mut self) {
        IN_JIT.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Which units the object cache served, and which must not ask it.
#[derive(Default)]
pub struct CacheMarks {
    /// Served from the cache: if such a unit fails to link, its cached
    /// object is at fault and the reset compiles it instead.
    pub served: HashSet<u64, FastBuild>,
    /// Compile without asking the cache (and store the fresh object).
    pub bypass: HashSet<u64, FastBuild>,
}

/// A lazily added module of a dylib, for the generator that defines its
/// bodies on first call.
pub(super) struct LazyEntry {
    dylib: crate::module::OwnerId,
    module: Weak<LazyModule>,
    /// The group it was added under; gone once released (the module then
    /// lives in the dylib's default group).
    group: Weak<Group>,
}

/// The host's handler of calls of lazily compiled functions that failed,
/// and what the failed calls were handed: a call may still be using a
/// handler that was replaced, or a name, so both are kept until the
/// session goes (see `llvm::lazy::FailedCall`).
#[derive(Default)]
pub struct LazyFailures {
    handler: Option<FailureHandler>,
    retired: Vec<FailureHandler>,
    names: HashMap<String, Arc<CString>>,
}

impl LazyFailures {
    pub fn set_handler(&mut self, handler: Option<FailureHandler>) {
        if let Some(old) = std::mem::replace(&mut self.handler, handler) {
            self.retired.push(old);
        }
    }

    pub fn handler(&self) -> Option<FailureHandler> {
        self.handler.clone()
    }

    /// `name` as the C string a failed call hands over.
    pub fn name(&mut self, name: &str) -> Arc<CString> {
        self.names.entry(name.to_string()).or_insert_with(|| Arc::new(crate::llvm::cstring(name))).clone()
    }
}

/// What the compile path needs, shared by the session and its units.
pub struct SessionEnv {
    pub spec: TargetSpec,
    pub data_layout: String,
    pub(super) machines: Mutex<Vec<TargetMachine>>,
    /// What runs on IR before codegen, for compiles that start from now on.
    pub(super) ir_pipeline: RwLock<IrPipeline>,
    pub(super) cache: RwLock<Option<Arc<dyn ObjectCache>>>,
    pub stats: Stats,
    pub log: ErrorLog,
    pub(super) pending: Mutex<HashMap<u64, Pending, FastBuild>>,
    /// Units whose object came from the object cache, and units that must
    /// compile without asking it (a cached object of theirs failed to link).
    pub(super) cache_served: Mutex<CacheMarks>,
    pub(super) next_unit: AtomicU64,
    pub(super) pool: RwLock<Option<Pool>>,
    pub(super) dylibs: RwLock<Vec<Arc<Dylib>>>,
    pub(super) groups: Mutex<Vec<Weak<Group>>>,
    pub config: SessionConfig,
    /// LLJIT's platform dylib (atexit support, `__dso_handle`'s helpers)
    /// and process-symbols dylib, which LLJIT links only from main.
    pub(super) platform_dylib: Option<JitDylib>,
    pub(super) process_dylib: Option<JitDylib>,
    /// The functions link-order cycle stubs stand for that no host lookup
    /// has linked yet (see `cycles::link_stub_targets`).
    pub(super) stub_targets: Mutex<Vec<StubTarget>>,
    pub(super) next_stub_target: AtomicU64,
    /// The tags of lazily added modules' promoted names (see lazy.rs).
    pub(super) lazy_tags: lazy::LazyTags,
    /// The exit handlers jitted code registered, and their tokens.
    pub(super) exits: Arc<ExitHandlers>,
    /// The lazily added modules, whose bodies are defined on first call.
    pub(super) lazy_modules: Mutex<Vec<LazyEntry>>,
    pub lazy_failures: Mutex<LazyFailures>,
    /// Failed units whose reset is due (it was due on a thread inside the
    /// JIT): done by the session's next lookup or change, before it starts.
    pub(super) resets: Mutex<Vec<u64>>,
    /// Likewise, the units of lazy bodies whose call failed (see failure.rs).
    pub(super) body_resets: Mutex<Vec<u64>>,
    pub perf: Option<PerfMap>,
    /// The LLVM context every placeholder of the session is built in.
    pub(super) placeholders: PlaceholderContext,
    pub(super) me: Weak<SessionEnv>,
    /// The LLJIT: dropped last, when nothing else of the session is left.
    pub(super) jit: Lljit,
}

impl SessionEnv {
    pub fn object_layer(&self) -> ObjectLayer {
        self.jit.object_layer()
    }

    /// Checks that `module` can be compiled for this session's target and
    /// linked by it. A module naming no architecture (no triple, or one
    /// whose architecture is `unknown`, as `llvmlite.ir` writes
    /// `unknown-unknown-unknown`) is compiled for the session's target, as
    /// LLVM's MCJIT does.
    pub fn check_target(&self, module: &Module) -> Result<()> {
        let triple = module.triple();
        let arch = triple.split('-').next().unwrap_or("");
        if arch.is_empty() || arch == "unknown" {
            return Ok(());
        }
        if !self.spec.same_arch(arch) {
            return Err(Error::unsupported(format!(
                "module '{}' targets '{}', but this JIT runs '{}' code",
                module.name(),
                triple,
                self.spec.triple
            )));
        }
        Ok(())
    }

    pub fn execution_session(&self) -> ExecutionSession {
        self.jit.execution_session()
    }

    /// The jitcore JITDylib named `name`.
    pub(super) fn dylib_by_name(&self, name: &str) -> Option<Arc<Dylib>> {
        self.dylibs.read().unwrap_or_else(|p| p.into_inner()).iter().find(|d| d.name() == name).cloned()
    }

    /// The JITDylib with owner id `id`.
    pub(crate) fn dylib_by_id(&self, id: crate::module::OwnerId) -> Option<Arc<Dylib>> {
        self.dylibs.read().unwrap_or_else(|p| p.into_inner()).iter().find(|d| d.id() == id).cloned()
    }

    pub(crate) fn jit(&self) -> &Lljit {
        &self.jit
    }

    /// The IR pipeline a compile starting now runs (read once per compile,
    /// so its cache key and its object agree).
    pub fn ir_pipeline(&self) -> IrPipeline {
        self.ir_pipeline.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn cache(&self) -> Option<Arc<dyn ObjectCache>> {
        self.cache.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A target machine for one compile (they cannot be shared by threads).
    pub fn take_target_machine(&self) -> Result<TargetMachine> {
        let pooled = self.machines.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(tm) => Ok(tm),
            None => self.spec.create(),
        }
    }

    pub fn return_target_machine(&self, tm: TargetMachine) {
        self.machines.lock().unwrap_or_else(|p| p.into_inner()).push(tm);
    }

    /// A reference to this environment for what ORC holds (units, lookup
    /// callbacks): weak, so nothing inside the LLJIT keeps it alive.
    pub fn weak(&self) -> Weak<SessionEnv> {
        self.me.clone()
    }

    pub(super) fn pending(&self) -> MutexGuard<'_, HashMap<u64, Pending, FastBuild>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn cache_marks(&self) -> MutexGuard<'_, CacheMarks> {
        self.cache_served.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A unit is gone (removed, or replaced by a reset): forget its marks.
    pub(super) fn forget_unit(&self, unit: u64) {
        self.pending().remove(&unit);
        let mut marks = self.cache_marks();
        marks.served.remove(&unit);
        marks.bypass.remove(&unit);
    }

    /// What placeholder `unit_id` stands for, once.
    pub fn take_pending(&self, unit_id: u64) -> Option<Pending> {
        self.pending().remove(&unit_id)
    }

    /// Runs `job` on the compile pool, or right here without one.
    pub fn dispatch(&self, job: impl FnOnce() + Send + 'static) {
        // Spawn under the read lock: the pool is only ever dropped by the
        // session (never by one of its own threads).
        let pool = self.pool.read().unwrap_or_else(|p| p.into_inner());
        match &*pool {
            Some(pool) => pool.spawn(job),
            None => {
                drop(pool);
                job()
            }
        }
    }

    /// Installs a placeholder (see unit.rs) for `symbols` in `dylib` under
    /// a fresh ORC tracker, standing for `pending`.
    pub(super) fn install(&self, dylib: &Dylib, symbols: &[ModuleSymbol], pending: Pending) -> Result<(Tracker, u64)> {
        self.install_with(dylib, symbols, pending, false)
    }

    /// [`install`](Self::install); `bypass_cache`: the unit compiles
    /// without asking the object cache.
    pub(super) fn install_with(
        &self,
        dylib: &Dylib,
        symbols: &[ModuleSymbol],
        pending: Pending,
        bypass_cache: bool,
    ) -> Result<(Tracker, u64)> {
        let tracker = dylib.new_tracker();
        let unit_id = self.next_unit.fetch_add(1, Ordering::Relaxed);
        self.pending().insert(unit_id, pending);
        if bypass_cache {
            self.cache_marks().bypass.insert(unit_id);
        }
        let tsm = match placeholder(&self.placeholders, symbols, unit_id) {
            Ok(tsm) => tsm,
            Err(e) => {
                self.forget_unit(unit_id);
                return Err(e);
            }
        };
        if let Err(mut e) = self.jit.add_ir_module(&tracker, tsm) {
            self.forget_unit(unit_id);
            // ORC names the placeholder ("In jitcore.unit.7, ..."); the
            // caller adds the host's name for it.
            if let Some(rest) = e.message.strip_prefix(&format!("In {PLACEHOLDER_PREFIX}{unit_id}, ")) {
                e.message = rest.to_string();
            }
            return Err(e);
        }
        Ok((tracker, unit_id))
    }

    /// Defines what the link-order generator found as hidden aliases in `dylib`.
    /// `from`: the dylibs (ids) the addresses may come from (empty for
    /// sources that live as long as `dylib`).
    pub fn define_aliases(&self, dylib: &Arc<Dylib>, found: Vec<Found>, from: Vec<crate::module::OwnerId>) {
        let symbols: Vec<ModuleSymbol> = found
            .iter()
            .map(|f| ModuleSymbol {
                name: f.name.as_str(),
                exported: false,
                callable: f.flags.is_callable(),
                weak: false,
            })
            .collect();
        let names = symbols.iter().map(|s| s.name.clone()).collect();
        // A definition that raced us in is fine: the lookup finds it.
        if let Ok((tracker, _)) = self.install(dylib, &symbols, Pending::Alias(found)) {
            dylib.add_alias(tracker, names, from, None);
        }
    }

    /// Defines in `dylib`, under the same names, stubs that call the
    /// functions `names` of `source` (the first of its link order that
    /// exports them, in a link-order cycle with it). Nothing waits for
    /// `source`'s code: the first call through a stub looks it up (compiling
    /// it if need be) and patches the stub. False if lazy stubs are not
    /// available here (the caller then looks the names up instead).
    pub fn define_stubs(&self, dylib: &Arc<Dylib>, source: &Arc<Dylib>, names: &[SymbolName]) -> bool {
        let strings: Vec<String> = names.iter().map(SymbolName::as_str).collect();
        let Ok(stubs) = dylib.stubs_for(source.id(), || StubsManager::new(&self.spec.triple, self.execution_session())) else { return false };
        let symbols: Vec<ModuleSymbol> = strings
            .iter()
            .map(|n| ModuleSymbol { name: n.clone(), exported: false, callable: true, weak: false })
            .collect();
        // A definition that raced us in is fine: the lookup finds it.
        if let Ok((tracker, _)) = self.install(dylib, &symbols, Pending::Stubs { source: source.jd(), stubs }) {
            dylib.add_alias(tracker, strings, vec![source.id()], None);
            let mut targets = self.stub_targets.lock().unwrap_or_else(|p| p.into_inner());
            for n in names {
                targets.push(StubTarget {
                    seq: self.next_stub_target.fetch_add(1, Ordering::Relaxed),
                    caller: dylib.id(),
                    source: source.clone(),
                    name: n.clone(),
                });
            }
        }
        true
    }

    /// Defines in `dylib` aliases of the variables `names` of `source` (the
    /// first of its link order that exports them, in a link-order cycle with
    /// it). The linker that needs them waits for them as for any definition;
    /// the generator that made them does not (it is free for other links
    /// meanwhile). When materialized, each alias looks its variable up and
    /// stands at its address once it is ready.
    pub fn define_link_aliases(&self, dylib: &Arc<Dylib>, source: &Arc<Dylib>, names: &[SymbolName]) {
        let strings: Vec<String> = names.iter().map(SymbolName::as_str).collect();
        let symbols: Vec<ModuleSymbol> = strings
            .iter()
            .map(|n| ModuleSymbol { name: n.clone(), exported: false, callable: false, weak: false })
            .collect();
        let state = Arc::new(AliasState::default());
        let pending = Pending::LinkAlias { source: source.jd(), state: state.clone() };
        if let Ok((tracker, _)) = self.install(dylib, &symbols, pending) {
            dylib.add_alias(tracker, strings, vec![source.id()], Some(state));
        }
    }

    /// Drops the link-order aliases that may stand for `names` of dylib
    /// `from`, whose definitions are being removed (the addresses would be
    /// gone). Aliases of other code, maybe in use by a link right now, stay.
    pub(super) fn drop_aliases_of(&self, from: crate::module::OwnerId, names: &[String]) {
        let dylibs = self.dylibs.read().unwrap_or_else(|p| p.into_inner()).clone();
        for d in dylibs {
            for t in d.take_aliases_from(from, names) {
                let _ = t.remove();
            }
        }
    }

    /// Defines in `dylib`, for its life, the registrar that jitted code's
    /// exit handler registrations call (see llvm/exit.rs).
    pub(super) fn define_registrar(&self, dylib: &Dylib) -> Result<()> {
        let name = self.jit.mangle_and_intern(crate::llvm::exit::REGISTRAR);
        let address = crate::llvm::exit::registrar_address();
        dylib.jd().define(absolute_symbols(vec![(name, address, SymbolFlags::new(false, true))]))
    }

    /// Makes sure `dylib` defines exit token `name` (see session/exit.rs),
    /// for its life.
    pub(super) fn ensure_exit_token(&self, dylib: &Dylib, name: &str) -> Result<()> {
        self.exits.ensure_token(dylib.id(), name, |address| {
            let symbol = (self.jit.mangle_and_intern(name), address, SymbolFlags::new(false, false));
            dylib
                .jd()
                .define(absolute_symbols(vec![symbol]))
                .map_err(|e| e.context(format!("cannot define '{name}' in JITDylib '{}'", dylib.name())))
        })
    }

    /// Registers a lazily added module of `dylib` (see [`define_lazy_bodies`](Self::define_lazy_bodies)).
    pub(super) fn register_lazy(&self, dylib: &Dylib, module: &Arc<LazyModule>, group: &Arc<Group>) {
        let mut all = self.lazy_modules.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|e| e.module.strong_count() > 0);
        all.push(LazyEntry { dylib: dylib.id(), module: Arc::downgrade(module), group: Arc::downgrade(group) });
    }

    /// The live lazily added module of dylib `dylib` that plans body `name`,
    /// its partition, and the group its units count towards.
    pub(super) fn lazy_body(
        &self,
        dylib: crate::module::OwnerId,
        name: &str,
    ) -> Option<(Arc<LazyModule>, usize, Option<Arc<Group>>)> {
        let all = self.lazy_modules.lock().unwrap_or_else(|p| p.into_inner());
        all.iter().filter(|e| e.dylib == dylib).find_map(|e| {
            let module = e.module.upgrade()?;
            let index = module.partition_of(name)?;
            Some((module, index, e.group.upgrade()))
        })
    }

    /// The globals unit of the live lazily added module of dylib `dylib`
    /// whose globals partition defines `name`.
    pub(super) fn lazy_globals_unit(&self, dylib: crate::module::OwnerId, name: &str) -> Option<u64> {
        let all = self.lazy_modules.lock().unwrap_or_else(|p| p.into_inner());
        all.iter().filter(|e| e.dylib == dylib).find_map(|e| e.module.upgrade()?.globals_unit(name))
    }

    /// The link's misses in `dylib` that are bodies of its lazily added
    /// modules (a stub's first call looks its body up) are defined, each
    /// behind a placeholder under a tracker of its own; the other names
    /// are returned. A body no module of the dylib plans (its module was
    /// removed) stays missing.
    pub(super) fn define_lazy_bodies(&self, dylib: &Dylib, names: Vec<SymbolName>) -> Vec<SymbolName> {
        let mut rest = Vec::with_capacity(names.len());
        for name in names {
            let body = name.as_str();
            if !body.ends_with(lazy::BODY_SUFFIX) {
                rest.push(name);
                continue;
            }
            let Some((module, index, group)) = self.lazy_body(dylib.id(), &body) else { continue };
            let group = group.unwrap_or_else(|| dylib.default_group().clone());
            let pending = Pending::Body { module: module.clone(), index, group };
            if let Err(e) = module.define(index, self.log.mark(), |symbol| self.install(dylib, &[symbol], pending)) {
                let what = format!("cannot define lazily compiled function '{}'", module.plan.functions()[index].name);
                self.log.report(e.context(what), true);
            }
        }
        rest
    }

    /// Queues the reset of `units` for the session's next lookup or change.
    pub(super) fn queue_resets(&self, units: impl IntoIterator<Item = u64>) {
        self.resets.lock().unwrap_or_else(|p| p.into_inner()).extend(units);
    }

    /// Queues the reset of the lazy bodies (or globals partitions) of
    /// `units`, whose calls failed, for the session's next lookup or change.
    pub(super) fn queue_body_resets(&self, units: impl IntoIterator<Item = u64>) {
        self.body_resets.lock().unwrap_or_else(|p| p.into_inner()).extend(units);
    }

    pub(super) fn register_group(&self, group: &Arc<Group>) {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        groups.retain(|g| g.strong_count() > 0);
        groups.push(Arc::downgrade(group));
    }

    pub(super) fn live_groups(&self) -> Vec<Arc<Group>> {
        let mut all: Vec<Arc<Group>> =
            self.groups.lock().unwrap_or_else(|p| p.into_inner()).iter().filter_map(Weak::upgrade).collect();
        for d in self.dylibs.read().unwrap_or_else(|p| p.into_inner()).iter() {
            all.push(d.default_group().clone());
        }
        all
    }
}
