//! The session: one LLJIT (ExecutionSession, object linking layer, memory),
//! its JITDylibs, and the state the compile path shares.
//!
//! Both public facades, the engine and (next) the ORC-style session API,
//! are built on this type; there is no second compile path.

pub mod dylib;
pub mod report;
pub mod stats;
pub mod unit;

use std::collections::HashMap;
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::LLVMOrcObjectLayerRef;

use crate::cache::ObjectCache;
use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::object::check_object;
use crate::llvm::orc::{self, Lljit, SymbolName, Tracker};
use crate::llvm::target_machine::{TargetMachine, TargetSpec};
use crate::module::Module;
use dylib::Dylib;
use report::ErrorLog;
use stats::{JitcoreStatistics, Stats};

/// What the compile path needs, shared by the session and its units.
pub struct SessionEnv {
    pub spec: TargetSpec,
    pub data_layout: String,
    object_layer: usize,
    machines: Mutex<Vec<TargetMachine>>,
    cache: RwLock<Option<Arc<dyn ObjectCache>>>,
    pub stats: Stats,
    pub log: ErrorLog,
    /// Modules added but not yet materialized, by unit id (see unit.rs).
    pending: Mutex<HashMap<u64, Arc<Module>>>,
    next_unit: AtomicU64,
    me: Weak<SessionEnv>,
}

impl SessionEnv {
    pub fn object_layer(&self) -> LLVMOrcObjectLayerRef {
        self.object_layer as LLVMOrcObjectLayerRef
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

    /// A counted reference to this environment (for units to hold).
    pub fn self_ref(&self) -> Arc<SessionEnv> {
        self.me.upgrade().expect("a SessionEnv is only used while referenced")
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<u64, Arc<Module>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The module waiting behind placeholder `unit_id`, once.
    pub fn take_pending(&self, unit_id: u64) -> Option<Arc<Module>> {
        self.pending().remove(&unit_id)
    }
}

/// A module added to a JITDylib: its tracker and its unit id.
pub struct AddedUnit {
    pub tracker: Tracker,
    unit_id: u64,
}

/// Why a lookup failed, and which modules' materialization failed with it.
#[derive(Debug)]
pub struct LookupFailure {
    pub error: Error,
    /// Content hashes of modules whose materialization failed.
    pub failed_modules: Vec<u64>,
}

/// An LLJIT with jitcore's compile path on it.
pub struct Session {
    // Dropped explicitly in Drop, before the reporter context it calls into.
    jit: ManuallyDrop<Lljit>,
    env: Arc<SessionEnv>,
    main: Dylib,
    reporter_ctx: *const SessionEnv,
}

// SAFETY: every field is Send + Sync except the raw reporter context, which
// is an Arc reference only used to free it in Drop.
unsafe impl Send for Session {}
// SAFETY: as above.
unsafe impl Sync for Session {}

extern "C" fn report_orc_error(ctx: *mut c_void, err: LLVMErrorRef) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: ctx is the SessionEnv reference the session keeps alive
        // until after the LLJIT (the only caller) is disposed.
        let env = unsafe { &*(ctx as *const SessionEnv) };
        if let Some(msg) = crate::llvm::take_error(err) {
            if msg != unit::PLACEHOLDER_DONE {
                // ORC reports what fails a materialization (link errors).
                Stats::bump(&env.stats.failures, 1);
                env.log.report_orc(msg);
            }
        }
    }));
}

impl Session {
    pub fn new(spec: TargetSpec) -> Result<Session> {
        crate::llvm::initialize()?;
        let jit = Lljit::new(spec.create()?)?;
        let arch = spec.arch().to_string();
        if !jit.triple().starts_with(&arch) {
            return Err(Error::unsupported(format!("JIT triple '{}' does not match '{}'", jit.triple(), spec.triple)));
        }
        let env = Arc::new_cyclic(|me| SessionEnv {
            data_layout: jit.data_layout(),
            spec,
            object_layer: jit.object_layer() as usize,
            machines: Mutex::new(Vec::new()),
            cache: RwLock::new(None),
            stats: Stats::default(),
            log: ErrorLog::default(),
            pending: Mutex::new(HashMap::new()),
            next_unit: AtomicU64::new(1),
            me: me.clone(),
        });
        let reporter_ctx = Arc::into_raw(env.clone());
        // SAFETY: reporter_ctx stays valid until Drop, after the LLJIT is gone.
        unsafe {
            jit.set_error_reporter(report_orc_error, reporter_ctx as *mut c_void);
            jit.set_ir_transform(unit::transform, reporter_ctx as *mut c_void);
        }
        // SAFETY: the main JITDylib lives as long as the LLJIT, which `self` owns.
        let main = unsafe { Dylib::new(jit.main_dylib(), "main") };
        Ok(Session { jit: ManuallyDrop::new(jit), env, main, reporter_ctx })
    }

    pub fn env(&self) -> &Arc<SessionEnv> {
        &self.env
    }

    pub fn main_dylib(&self) -> &Dylib {
        &self.main
    }

    pub fn statistics(&self) -> JitcoreStatistics {
        self.env.stats.snapshot()
    }

    pub fn set_cache(&self, cache: Option<Arc<dyn ObjectCache>>) {
        *self.env.cache.write().unwrap_or_else(|p| p.into_inner()) = cache;
    }

    /// Checks that `module` can be compiled for this session's target.
    fn check_target(&self, module: &Module) -> Result<()> {
        let triple = module.triple();
        if triple.is_empty() {
            return Ok(());
        }
        let arch = triple.split('-').next().unwrap_or("");
        let host = self.env.spec.arch();
        let same = arch == host || (host == "x86_64" && arch == "amd64") || (host == "aarch64" && arch == "arm64");
        if !same {
            return Err(Error::unsupported(format!(
                "module '{}' targets '{}', but this JIT runs '{}' code",
                module.name(),
                triple,
                self.env.spec.triple
            )));
        }
        Ok(())
    }

    /// Adds `module` to `dylib` as a jitcore unit with a tracker of its own.
    /// Nothing compiles until a lookup needs one of its symbols.
    pub fn add_module(&self, dylib: &Dylib, module: &Arc<Module>) -> Result<AddedUnit> {
        self.check_target(module)?;
        let tracker = dylib.new_tracker();
        let unit_id = self.env.next_unit.fetch_add(1, Ordering::Relaxed);
        if module.symbols().is_empty() {
            // Nothing can ever be looked up, so nothing would ever compile.
            return Ok(AddedUnit { tracker, unit_id });
        }
        self.env.pending().insert(unit_id, module.clone());
        let tsm = unit::placeholder(module, unit_id, &self.env.data_layout);
        // SAFETY: the placeholder is ours to give; the tracker is of `dylib`.
        let added = unsafe { self.jit.add_ir_module(&tracker, tsm) };
        if let Err(mut e) = added {
            self.env.pending().remove(&unit_id);
            // ORC names the placeholder ("In jitcore.unit.7, ..."); the host
            // knows the module by its own name, which the context gives.
            if let Some(rest) = e.message.strip_prefix(&format!("In jitcore.unit.{unit_id}, ")) {
                e.message = rest.to_string();
            }
            return Err(e.context(format!("cannot add module '{}' to JITDylib '{}'", module.name(), dylib.name())));
        }
        Ok(AddedUnit { tracker, unit_id })
    }

    /// Removes an added module: frees its code and data, forgets its symbols.
    pub fn remove_unit(&self, unit: &AddedUnit) -> Result<()> {
        self.env.pending().remove(&unit.unit_id);
        self.remove(&unit.tracker)
    }

    /// Adds a relocatable object (checked first) tracked by a new tracker.
    pub fn add_object(&self, dylib: &Dylib, bytes: &[u8], name: &str) -> Result<Tracker> {
        let buffer = MemoryBuffer::copy_of(bytes, name);
        check_object(&buffer, name)?;
        let rt = dylib.new_tracker();
        // LLJIT adds objects to the tracker directly; the define lock is not
        // needed because nothing passes through the default tracker.
        self.jit
            .add_object(&rt, buffer)
            .map_err(|e| e.context(format!("cannot add object '{name}' to JITDylib '{}'", dylib.name())))?;
        Stats::bump(&self.env.stats.objects_loaded, 1);
        Ok(rt)
    }

    /// Defines symbols at absolute addresses for the life of `dylib`.
    pub fn define_absolute(&self, dylib: &Dylib, symbols: &[(String, u64)]) -> Result<()> {
        let syms = symbols.iter().map(|(n, a)| (self.jit.mangle_and_intern(n), *a, true)).collect();
        dylib.define(orc::absolute_symbols(syms))
    }

    /// Removes what `rt` tracks (freeing its code and data) and drops symbol
    /// names nothing uses any more.
    pub fn remove(&self, rt: &Tracker) -> Result<()> {
        rt.remove()?;
        // SAFETY: the execution session is live; clearing dead entries is
        // synchronized by the pool's own lock.
        unsafe {
            let es = self.jit.execution_session();
            llvm_sys::orc2::LLVMOrcSymbolStringPoolClearDeadEntries(
                llvm_sys::orc2::LLVMOrcExecutionSessionGetSymbolStringPool(es),
            );
        }
        Ok(())
    }

    /// Looks `name` up in `search` (in order), compiling what it needs.
    pub fn lookup(&self, search: &[&Dylib], name: &str) -> std::result::Result<u64, LookupFailure> {
        let mark = self.env.log.mark();
        let order: Vec<_> = search.iter().map(|d| d.as_raw()).collect();
        let interned: SymbolName = self.jit.mangle_and_intern(name);
        match self.jit.lookup(&order, &interned) {
            Ok(addr) => Ok(addr),
            Err(e) => Err(self.explain_lookup_failure(e, mark, search, name)),
        }
    }

    fn explain_lookup_failure(&self, e: Error, mark: u64, search: &[&Dylib], name: &str) -> LookupFailure {
        let reported = self.env.log.since(mark);
        let failed_modules: Vec<u64> = reported.iter().filter_map(|r| r.module).collect();
        let where_ = search.iter().map(|d| format!("'{}'", d.name())).collect::<Vec<_>>().join(", ");
        let error = if e.message.starts_with("Symbols not found") && reported.is_empty() {
            Error::symbol_not_found(format!("symbol '{name}' not found (searched JITDylib {where_})"))
        } else if let Some(first) = reported.first() {
            let mut err = first.error.clone();
            err.message = format!("{} (while looking up '{name}')", err.message);
            err
        } else {
            Error::from_orc_message(e.message, crate::error::JitcoreErrorCode::JITCORE_ERROR_LINK)
                .context(format!("looking up '{name}'"))
        };
        LookupFailure { error, failed_modules }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: the LLJIT is dropped exactly once, here, before the
        // reporter context it may call into is freed; no field is used after.
        unsafe {
            ManuallyDrop::drop(&mut self.jit);
            drop(Arc::from_raw(self.reporter_ctx));
        }
    }
}
