//! Function-level laziness: a module added lazily is split, on demand, into
//! one partition per function plus one for its global variables
//! (`llvm/split/`): its prepared IR stays in memory, and a partition is
//! written as bitcode only when it is compiled. Callers reach each function
//! `f` through a lazy stub named `f` (`LLVMOrcLazyReexports`); the first
//! call through the stub looks up the body, `f.jitcore.body`, whose
//! partition is then written, parsed and compiled by the one compile path
//! (on the thread that compiles it), and patches the stub to it.
//!
//! The stubs sit behind one placeholder (see unit.rs) under the module's
//! ORC tracker, the globals partition behind one of its own. A body is
//! defined only when its first call looks it up (the dylib's generator asks
//! [`LazyModule::define`]), behind a placeholder under an ORC tracker of its
//! own: a body (or globals partition) that failed is reset alone (a body's
//! definition is removed, so the next call defines and compiles it anew),
//! without touching the stubs and bodies that callers may be running. Each
//! lazily added module has its own stubs manager, freed when the module is
//! removed.

//!
//! The names the split gives promoted local symbols carry a tag made from
//! the module's content hash ([`LazyTags`]), not from the order modules were
//! added: the partitions of a module are the same bitcode in every session,
//! so their cache keys are too, and a warm disk cache serves them whatever
//! was added before.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Result;
use crate::llvm::generator::Generator;
use crate::llvm::ir::ModuleSymbol;
use crate::llvm::orc::{LookupKind, Tracker};
pub use crate::llvm::split::BODY_SUFFIX;
use crate::llvm::split::{split_lazily, FunctionInfo, LazySplit};
use crate::module::Module;

/// A module split for lazy compilation (its partitions written on demand).
pub struct LazyPlan {
    pub(super) module_name: String,
    split: LazySplit,
    /// The partition (index into `functions`) of each body name.
    by_body: HashMap<String, usize>,
}

/// A partition of a lazily added module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partition {
    /// The function of this index in [`LazyPlan::functions`].
    Function(usize),
    /// The globals partition.
    Globals,
}

/// The tags in use by a session's lazily added modules.
#[derive(Default)]
pub struct LazyTags {
    in_use: Arc<Mutex<HashSet<String>>>,
}

/// A module's tag, unique among the lazily added modules of its session
/// while it lives (it is released when dropped, with the module's member).
pub struct LazyTag {
    tag: String,
    in_use: Arc<Mutex<HashSet<String>>>,
}

impl LazyTags {
    /// The tag of a module with `content_hash`: the hash itself, or while
    /// another live module of identical content holds it (the same module
    /// added twice), the hash with the smallest free `.n` after it.
    pub fn reserve(&self, content_hash: u64) -> LazyTag {
        let mut in_use = self.in_use.lock().unwrap_or_else(|p| p.into_inner());
        let base = format!("{content_hash:016x}");
        let mut tag = base.clone();
        let mut n = 0u64;
        while in_use.contains(&tag) {
            n += 1;
            tag = format!("{base}.{n}");
        }
        in_use.insert(tag.clone());
        LazyTag { tag, in_use: self.in_use.clone() }
    }
}

impl LazyTag {
    pub fn as_str(&self) -> &str {
        &self.tag
    }
}

impl Drop for LazyTag {
    fn drop(&mut self) {
        self.in_use.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.tag);
    }
}

impl LazyPlan {
    /// Splits `module`, promoting local symbols under `unique` (see
    /// `llvm::split::split`); `None` when it cannot be split safely.
    pub fn new(module: &Module, unique: &str) -> Result<Option<LazyPlan>> {
        // The split takes the module's IR over (`Module::take_ir`, no
        // copy), with its context: it rewrites it freely, and the module
        // rebuilds its IR if something needs it again.
        let split = match split_lazily(module.take_ir()?, unique)? {
            Ok(split) => split,
            Err(_refused) => return Ok(None),
        };
        let by_body = split.functions().iter().enumerate().map(|(i, f)| (f.body.clone(), i)).collect();
        Ok(Some(LazyPlan { module_name: module.name().to_string(), split, by_body }))
    }

    /// The functions that have partitions of their own (their index is
    /// their partition's, see [`Partition::Function`]).
    pub fn functions(&self) -> &[FunctionInfo] {
        self.split.functions()
    }

    /// Whether the module has a globals partition.
    pub fn has_globals(&self) -> bool {
        self.split.globals().is_some()
    }

    /// The bitcode of a partition (written on first use; the same bytes in
    /// every session, whatever order functions are called in). None for
    /// the globals partition of a module without one.
    pub fn bitcode(&self, which: Partition) -> Result<Option<Arc<Vec<u8>>>> {
        match which {
            Partition::Function(index) => self.split.function_bitcode(index).map(Some),
            Partition::Globals => self.split.globals_bitcode(),
        }
    }

    /// The names the module's global variables use (its functions are
    /// reached through stubs, so only these can make a lookup wait).
    pub fn globals_refs(&self) -> Vec<String> {
        self.split.globals().map(|g| g.refs.clone()).unwrap_or_default()
    }

    /// The body behind function `name`'s stub (none if `name` was not
    /// split out: it lives in the globals partition, under its own name).
    pub fn body_of(&self, name: &str) -> Option<&str> {
        self.functions().iter().find(|f| f.name == name).map(|f| f.body.as_str())
    }

    /// What the module's placeholder promises: the stubs (the globals
    /// partition and the bodies have placeholders of their own, see
    /// [`LazyModule`]).
    pub fn placeholder_symbols(&self) -> Vec<ModuleSymbol> {
        let stub = |f: &FunctionInfo| ModuleSymbol {
            name: f.name.clone(),
            exported: f.exported,
            callable: true,
            weak: f.weak,
        };
        self.functions().iter().map(stub).collect()
    }

    /// What the globals partition defines (nothing without one).
    pub fn global_symbols(&self) -> &[ModuleSymbol] {
        self.split.globals().map_or(&[], |g| g.symbols.as_slice())
    }

    /// The name errors use for partition `index` (`module#function`).
    pub(super) fn partition_name(&self, which: Partition) -> String {
        match which {
            Partition::Function(index) => format!("{}#{}", self.module_name, self.functions()[index].name),
            Partition::Globals => format!("{}#globals", self.module_name),
        }
    }
}

/// A lazily added module, once added: its plan, its globals partition's
/// placeholder, and the bodies defined so far, each under an ORC tracker of
/// its own (so that one that failed can be reset alone).
pub struct LazyModule {
    pub(super) plan: Arc<LazyPlan>,
    bodies: Mutex<Bodies>,
}

#[derive(Default)]
struct Bodies {
    defined: HashMap<usize, Body>,
    /// The globals partition's definition (tracker and unit), if any.
    globals: Option<(Tracker, u64)>,
    /// Removed with its group: no body may be defined any more.
    removed: bool,
}

/// A body's definition: its placeholder's tracker and unit id, and the
/// error log's mark when it was defined (what it reported comes after).
struct Body {
    tracker: Tracker,
    unit: u64,
    mark: u64,
}

impl LazyModule {
    pub fn new(plan: Arc<LazyPlan>) -> Arc<LazyModule> {
        Arc::new(LazyModule { plan, bodies: Mutex::new(Bodies::default()) })
    }

    fn bodies(&self) -> MutexGuard<'_, Bodies> {
        self.bodies.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The partition defining body `name`, if this module has it.
    pub fn partition_of(&self, name: &str) -> Option<usize> {
        self.plan.by_body.get(name).copied()
    }

    /// Defines the body of partition `index` unless it is defined (or the
    /// module was removed): `install` makes its placeholder for the symbol
    /// and returns its tracker and unit id; `mark` is the error log's mark.
    pub fn define(
        &self,
        index: usize,
        mark: u64,
        install: impl FnOnce(ModuleSymbol) -> Result<(Tracker, u64)>,
    ) -> Result<()> {
        let mut bodies = self.bodies();
        if bodies.removed || bodies.defined.contains_key(&index) {
            return Ok(());
        }
        let f = &self.plan.functions()[index];
        let symbol = ModuleSymbol { name: f.body.clone(), exported: false, callable: true, weak: f.weak };
        let (tracker, unit) = install(symbol)?;
        bodies.defined.insert(index, Body { tracker, unit, mark });
        Ok(())
    }

    /// The units of the bodies defined now, and of the globals partition.
    pub fn units(&self) -> Vec<u64> {
        let bodies = self.bodies();
        bodies.defined.values().map(|b| b.unit).chain(bodies.globals.as_ref().map(|g| g.1)).collect()
    }

    /// Sets the globals partition's definition; the one it replaces, if any.
    pub fn set_globals(&self, globals: (Tracker, u64)) -> Option<(Tracker, u64)> {
        self.bodies().globals.replace(globals)
    }

    /// Takes out the globals partition's definition if its unit is in `units`.
    pub fn take_globals(&self, units: &[u64]) -> Option<(Tracker, u64)> {
        let mut bodies = self.bodies();
        if !bodies.globals.as_ref().is_some_and(|g| units.contains(&g.1)) {
            return None;
        }
        bodies.globals.take()
    }

    /// The globals partition's unit, if it has one that defines `name`.
    pub fn globals_unit(&self, name: &str) -> Option<u64> {
        if !self.plan.global_symbols().iter().any(|g| g.name == name) {
            return None;
        }
        self.bodies().globals.as_ref().map(|g| g.1)
    }

    /// The unit and mark of body `name`, if it is defined.
    pub fn body_unit(&self, name: &str) -> Option<(u64, u64)> {
        let index = self.partition_of(name)?;
        self.bodies().defined.get(&index).map(|b| (b.unit, b.mark))
    }

    /// Takes out the definitions of the bodies whose unit is in `units`
    /// (all of them, and the globals', with `None`, which also stops new
    /// ones): the caller removes their trackers, and the next call defines
    /// them anew.
    pub fn take_bodies(&self, units: Option<&[u64]>) -> Vec<(Tracker, u64)> {
        let mut bodies = self.bodies();
        let mut gone = Vec::new();
        if units.is_none() {
            bodies.removed = true;
            gone.extend(bodies.globals.take());
        }
        let taken: Vec<usize> =
            bodies.defined.iter().filter(|(_, b)| units.is_none_or(|u| u.contains(&b.unit))).map(|(i, _)| *i).collect();
        gone.extend(taken.into_iter().filter_map(|i| bodies.defined.remove(&i)).map(|b| (b.tracker, b.unit)));
        gone
    }

    /// Defines nothing any more, and hands back every tracker (the session
    /// is going away: they are released, not removed).
    pub fn release_bodies(&self) -> Vec<Tracker> {
        self.take_bodies(None).into_iter().map(|(t, _)| t).collect()
    }
}

/// A call that looked a body up: its thread, the dylib, the body.
pub struct FirstCall {
    pub thread: std::thread::ThreadId,
    pub dylib: crate::module::OwnerId,
    pub body: String,
}

/// The bodies calls looked up recently, oldest first: when a compile fails
/// on another thread, the thread whose call waits for it learns which
/// function it was calling from here (see lazy_failure.rs).
static FIRST_CALLS: Mutex<std::collections::VecDeque<FirstCall>> = Mutex::new(std::collections::VecDeque::new());

/// How many notes are kept, per thread and in all.
const NOTES_PER_THREAD: usize = 8;
const NOTES: usize = 256;

/// A generator that notes, on the thread of each lookup that misses a body
/// (a stub's first call looks it up), which body it is, and defines
/// nothing. It is the first generator of every dylib, and quick, so ORC
/// runs it on the calling thread: the generator that defines the body
/// comes next, and a lookup that has to wait for it is resumed on another
/// thread.
pub fn call_notes(dylib: crate::module::OwnerId) -> Generator {
    Generator::custom(Box::new(move |lookup| {
        if lookup.kind != LookupKind::Static {
            return;
        }
        for name in &lookup.names {
            let name = name.as_str();
            if name.ends_with(BODY_SUFFIX) {
                note_first_call(dylib, &name);
            }
        }
    }))
}

/// Notes that this thread's call looks up body `body` of dylib `dylib`.
fn note_first_call(dylib: crate::module::OwnerId, body: &str) {
    let thread = std::thread::current().id();
    let mut notes = first_calls();
    if notes.iter().filter(|n| n.thread == thread).count() >= NOTES_PER_THREAD {
        if let Some(at) = notes.iter().position(|n| n.thread == thread) {
            notes.remove(at);
        }
    }
    if notes.len() >= NOTES {
        notes.pop_front();
    }
    notes.push_back(FirstCall { thread, dylib, body: body.to_string() });
}

/// The notes of [`note_first_call`], oldest first.
pub fn first_calls() -> MutexGuard<'static, std::collections::VecDeque<FirstCall>> {
    FIRST_CALLS.lock().unwrap_or_else(|p| p.into_inner())
}
