//! Resource trackers as hosts see them: a *group* of ORC resource trackers.
//!
//! Every module, object or materializer added to a JITDylib gets an ORC
//! resource tracker of its own, and the host's tracker (or the JITDylib's
//! default one) is the group of those. That lets jitcore reset one module
//! that failed to link without touching its neighbours, free the lazy stubs of
//! a lazily added module with it, and account the bytes each group keeps live.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::lazy::{LazyModule, LazyTag};
use super::materializer::HostMaterializer;
use super::structors::ModuleInit;
use crate::llvm::lazy::StubsManager;
use crate::llvm::orc::Tracker;
use crate::llvm::tls::LinkedDescriptor;
use crate::module::{Module, OwnerId};

/// One thing added under a group: its ORC tracker and what it was made from.
pub struct Member {
    pub tracker: Tracker,
    /// The placeholder's unit id (0 for objects).
    pub unit_id: u64,
    /// The module, for modules added eagerly or lazily.
    pub module: Option<Arc<Module>>,
    /// The host materializer, for materializers.
    pub materializer: Option<Arc<HostMaterializer>>,
    /// For a lazily added module: its bodies, defined one by one.
    pub lazy: Option<Arc<LazyModule>>,
    /// The lazy stubs of a lazily added module, freed after the tracker.
    pub stubs: Option<Arc<StubsManager>>,
    /// The tag of a lazily added module's promoted names, held while it lives.
    pub tag: Option<LazyTag>,
    /// The names an object defines (for objects).
    pub object_names: Vec<String>,
    /// What the link-order cycle check needs beyond the module (see
    /// [`LinkFacts`]); `None` when the module tells all.
    pub facts: Option<Arc<LinkFacts>>,
    /// What is left of a module's constructors and destructors (modules only).
    pub init: Option<Arc<ModuleInit>>,
}

/// What the link-order cycle check (`cycles.rs`) knows of a member that its
/// module does not tell: for an object, its name, which of its definitions
/// are functions or hidden, and what it uses; for a lazily added module,
/// what its global variables use (its functions are stubs, ready at once).
#[derive(Clone, Debug, Default)]
pub struct LinkFacts {
    pub label: String,
    pub functions: Vec<String>,
    pub hidden: Vec<String>,
    pub refs: Vec<String>,
}

impl Member {
    /// The member for an object file added under `tracker`, defining `names`.
    pub fn object(tracker: Tracker, names: Vec<String>) -> Member {
        Member {
            tracker,
            unit_id: 0,
            module: None,
            materializer: None,
            lazy: None,
            stubs: None,
            tag: None,
            object_names: names,
            facts: None,
            init: None,
        }
    }
}

impl Member {
    /// The names this member defines (or, for a module, stands for).
    pub fn names(&self) -> Vec<String> {
        let mut names = self.object_names.clone();
        if let Some(m) = &self.module {
            names.extend(m.symbols().iter().map(|s| s.name.clone()));
        }
        if let Some(h) = &self.materializer {
            names.extend(h.symbols().into_iter().map(|s| s.name));
        }
        names
    }

    /// The tokens its code registers exit handlers through (see session/exit.rs).
    pub fn exit_tokens(&self) -> Vec<String> {
        let mut tokens: Vec<String> = self.module.iter().filter_map(|m| m.exit_token()).map(str::to_string).collect();
        if let Some(h) = &self.materializer {
            tokens.extend(h.exit_tokens());
        }
        tokens
    }
}

#[derive(Default)]
pub struct GroupState {
    pub members: Vec<Member>,
    pub removed: bool,
}

/// A jitcore resource tracker.
pub struct Group {
    pub id: u64,
    /// The id of the JITDylib it belongs to (0: none, LLJIT's own modules).
    pub dylib: OwnerId,
    /// Whether this is a JITDylib's default group (never removed by hosts).
    pub is_default: bool,
    state: Mutex<GroupState>,
    /// Bytes of loaded code and data this group keeps live.
    pub live_bytes: AtomicU64,
    /// The linked thread-local variables of its modules: their per-thread
    /// copies are released when the group's code is removed.
    thread_locals: Mutex<Vec<LinkedDescriptor>>,
    /// Symbols of its modules that a cached object standing for them did
    /// not define (resolved to 0; lookups report them missing).
    absent: Mutex<Vec<String>>,
}

static NEXT_GROUP: AtomicU64 = AtomicU64::new(1);

impl Group {
    pub fn new(dylib: OwnerId, is_default: bool) -> Arc<Group> {
        Arc::new(Group {
            id: NEXT_GROUP.fetch_add(1, Ordering::Relaxed),
            dylib,
            is_default,
            state: Mutex::new(GroupState::default()),
            live_bytes: AtomicU64::new(0),
            thread_locals: Mutex::new(Vec::new()),
            absent: Mutex::new(Vec::new()),
        })
    }

    /// Fails if the group was removed (nothing can be added to it then).
    pub fn check_open(&self) -> crate::error::Result<()> {
        if self.state().removed {
            return Err(crate::error::Error::invalid_argument("the resource tracker was removed"));
        }
        Ok(())
    }

    pub fn state(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The modules added under this group.
    pub fn modules(&self) -> Vec<Arc<Module>> {
        self.state().members.iter().filter_map(|m| m.module.clone()).collect()
    }

    /// Records thread-local variables of this group that were linked.
    pub fn add_thread_locals(&self, linked: Vec<LinkedDescriptor>) {
        self.thread_locals.lock().unwrap_or_else(|p| p.into_inner()).extend(linked);
    }

    /// Takes the group's linked thread-local variables out (read their ids
    /// while the code is loaded; release them once it is removed).
    pub fn take_thread_locals(&self) -> Vec<LinkedDescriptor> {
        std::mem::take(&mut *self.thread_locals.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Records symbols a cached object standing for one of its modules does
    /// not define.
    pub fn add_absent(&self, names: impl IntoIterator<Item = String>) {
        self.absent.lock().unwrap_or_else(|p| p.into_inner()).extend(names);
    }

    /// Whether `name` is a symbol of one of its modules that the cached
    /// object standing for it does not define.
    pub fn is_absent(&self, name: &str) -> bool {
        self.absent.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|n| n == name)
    }

    /// Takes every member out (the caller removes or releases them).
    pub fn take_members(&self) -> Vec<Member> {
        std::mem::take(&mut self.state().members)
    }
}
