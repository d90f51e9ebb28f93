//! A JITDylib of a session: its ORC JITDylib, its link order, its default
//! resource tracker group, and the aliases its link order created.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use super::exports::Exports;
use super::linked::LinkedTable;
use super::tracker::Group;
use crate::error::Result;
use crate::llvm::lazy::StubsManager;
use crate::llvm::orc::{JitDylib, Tracker};
use crate::module::OwnerId;

/// Where a link alias is (see `SessionEnv::define_link_aliases`): waiting
/// for the variables it stands for, or failed (its symbols then stay in
/// ORC's error state until a reset removes it).
#[derive(Debug, Default)]
pub struct AliasState(AtomicU8);

const BUSY: u8 = 1;
const FAILED: u8 = 2;

impl AliasState {
    pub fn set_busy(&self) {
        self.0.store(BUSY, Ordering::Release);
    }

    /// It is done waiting: resolved (`ok`) or failed.
    pub fn set_done(&self, ok: bool) {
        self.0.store(if ok { 0 } else { FAILED }, Ordering::Release);
    }

    fn busy(&self) -> bool {
        self.0.load(Ordering::Acquire) == BUSY
    }

    fn failed(&self) -> bool {
        self.0.load(Ordering::Acquire) == FAILED
    }
}

/// Definitions the link-order generator made, at addresses it found.
pub(crate) struct Alias {
    tracker: Tracker,
    names: Vec<String>,
    /// The dylibs (ids) the addresses may have come from: the link order
    /// when they were found (none for LLJIT's platform dylib and the
    /// dylib's own symbol sources, which live as long as the dylib).
    from: Vec<OwnerId>,
    /// Set while a link alias waits for the symbol it stands for (see
    /// `SessionEnv::define_link_aliases`): removing its tracker then would
    /// take a unit ORC is materializing away from it.
    state: Option<Arc<AliasState>>,
    /// Dropped while busy: removed by a later drop, once idle.
    stale: bool,
}

/// A JITDylib of a session.
pub struct Dylib {
    jd: JitDylib,
    name: String,
    c_name: std::ffi::CString,
    id: OwnerId,
    /// The dylibs searched after this one, in order (a dynamic linker's
    /// DT_NEEDED list). Weak: the session owns every dylib.
    link_order: RwLock<Vec<Weak<Dylib>>>,
    /// Where modules added without a tracker go.
    default_group: Arc<Group>,
    /// The hidden JITDylib holding this dylib's symbol sources (process,
    /// library and archive generators), searched right after its own
    /// definitions and before its link order.
    sources: once_cell::sync::OnceCell<Arc<Dylib>>,
    /// LLJIT's platform dylib, searched by the linker right after this
    /// dylib's own definitions (see `Session::create_dylib`).
    platform: once_cell::sync::OnceCell<JitDylib>,
    /// Definitions the link-order generator made here, standing for symbols
    /// of other dylibs.
    aliases: Mutex<Vec<Alias>>,
    /// The names defined with `Session::define_absolute` (they live as long
    /// as the dylib).
    absolutes: Mutex<Vec<String>>,
    /// Bumped after every change of what the dylib's members define.
    generation: AtomicU64,
    /// What the members define and use, as of a generation.
    exports: Mutex<Option<(u64, Arc<Exports>)>>,
    /// The stubs managers of the stubs that stand here for functions of
    /// other dylibs of a link-order cycle, one per such dylib (by id). A
    /// manager patches a stub by name on its first call, so when a name gets
    /// a stub again (its alias was dropped), an old stub's first call may
    /// patch the new one: to the same dylib's definition of the name, as the
    /// new one's own first call would. Kept until the session is gone (code
    /// linked against a stub may call it as long as that code lives).
    stubs: Mutex<Vec<(OwnerId, Arc<StubsManager>)>>,
    /// What lookups from this dylib found (see `linked.rs`).
    linked: LinkedTable,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Dylib {
    /// The jitcore side of JITDylib `jd`.
    pub(crate) fn new(jd: JitDylib, name: &str, id: OwnerId) -> Arc<Dylib> {
        Arc::new(Dylib {
            jd,
            name: name.to_string(),
            c_name: crate::llvm::cstring(name),
            id,
            link_order: RwLock::new(Vec::new()),
            default_group: Group::new(id, true),
            aliases: Mutex::new(Vec::new()),
            sources: once_cell::sync::OnceCell::new(),
            platform: once_cell::sync::OnceCell::new(),
            absolutes: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            exports: Mutex::new(None),
            stubs: Mutex::new(Vec::new()),
            linked: LinkedTable::default(),
        })
    }

    /// The addresses lookups from this dylib found (see `linked.rs`).
    #[inline]
    pub(crate) fn linked(&self) -> &LinkedTable {
        &self.linked
    }

    pub(crate) fn jd(&self) -> JitDylib {
        self.jd
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn c_name(&self) -> &std::ffi::CStr {
        &self.c_name
    }

    pub fn id(&self) -> OwnerId {
        self.id
    }

    pub fn default_group(&self) -> &Arc<Group> {
        &self.default_group
    }

    /// A fresh ORC tracker for this JITDylib.
    pub(crate) fn new_tracker(&self) -> Tracker {
        self.jd.create_tracker()
    }

    pub fn set_link_order(&self, order: &[Arc<Dylib>]) {
        *self.link_order.write().unwrap_or_else(|p| p.into_inner()) = order.iter().map(Arc::downgrade).collect();
    }

    /// The dylibs of the link order that still exist.
    pub fn link_order(&self) -> Vec<Arc<Dylib>> {
        self.link_order.read().unwrap_or_else(|p| p.into_inner()).iter().filter_map(Weak::upgrade).collect()
    }

    pub(crate) fn set_platform(&self, jd: JitDylib) {
        let _ = self.platform.set(jd);
    }

    /// LLJIT's platform dylib, if this dylib falls back to it.
    pub(crate) fn platform(&self) -> Option<JitDylib> {
        self.platform.get().copied()
    }

    pub fn sources(&self) -> Option<&Arc<Dylib>> {
        self.sources.get()
    }

    /// The sources dylib, made by `make` the first time.
    pub fn sources_or_init(&self, make: impl FnOnce() -> Result<Arc<Dylib>>) -> Result<&Arc<Dylib>> {
        self.sources.get_or_try_init(make)
    }

    /// The JITDylibs the linker searches after this one, with whether only
    /// their exported symbols count: its sources, then its link order.
    pub(crate) fn search_tail(&self) -> Vec<(JitDylib, bool)> {
        let mut tail = Vec::new();
        if let Some(s) = self.sources.get() {
            tail.push((s.jd(), false));
        }
        tail.extend(self.link_order().iter().map(|d| (d.jd(), true)));
        tail
    }

    /// Records aliases defined under `tracker`; `state` tells whether they
    /// wait for what they stand for (link aliases).
    pub(crate) fn add_alias(
        &self,
        tracker: Tracker,
        names: Vec<String>,
        from: Vec<OwnerId>,
        state: Option<Arc<AliasState>>,
    ) {
        locked(&self.aliases).push(Alias { tracker, names, from, state, stale: false });
    }

    /// Something a member defines changed (call it after the change).
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn add_absolutes(&self, names: Vec<String>) {
        locked(&self.absolutes).extend(names);
        self.changed();
    }

    /// What the dylib's members define and use; `groups` gives the groups
    /// of this dylib when it has changed since the last call.
    pub(crate) fn exports(&self, groups: impl FnOnce() -> Vec<Arc<Group>>) -> Arc<Exports> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((g, e)) = &*locked(&self.exports) {
            if *g == generation {
                return e.clone();
            }
        }
        let absolutes = locked(&self.absolutes).clone();
        let built = Arc::new(Exports::build(&groups(), &absolutes));
        *locked(&self.exports) = Some((generation, built.clone()));
        built
    }

    /// The stubs manager for stubs of functions of dylib `source` (made
    /// with `make` the first time).
    pub(crate) fn stubs_for(
        &self,
        source: OwnerId,
        make: impl FnOnce() -> Result<StubsManager>,
    ) -> Result<Arc<StubsManager>> {
        let mut managers = locked(&self.stubs);
        if let Some((_, m)) = managers.iter().find(|(s, _)| *s == source) {
            return Ok(m.clone());
        }
        let m = Arc::new(make()?);
        managers.push((source, m.clone()));
        Ok(m)
    }

    /// The stubs managers, taken out (for the session's end).
    pub(crate) fn take_stubs(&self) -> Vec<Arc<StubsManager>> {
        std::mem::take(&mut *locked(&self.stubs)).into_iter().map(|(_, m)| m).collect()
    }

    /// Whether an alias of `name` standing for dylib `from` is defined here.
    pub(crate) fn has_alias(&self, name: &str, from: OwnerId) -> bool {
        locked(&self.aliases).iter().any(|a| !a.stale && a.from.contains(&from) && a.names.iter().any(|n| n == name))
    }

    /// Takes the aliases out: all of them, or those naming one of `names`.
    pub(crate) fn take_aliases(&self, names: Option<&[String]>) -> Vec<Tracker> {
        self.take_aliases_where(|a| names.is_none_or(|n| a.names.iter().any(|x| n.contains(x))))
    }

    /// Removes the aliases naming one of `names` (all with `None`): what the
    /// link order supplied is looked up again on the next link that needs it.
    pub(crate) fn drop_aliases(&self, names: Option<&[String]>) {
        for t in self.take_aliases(names) {
            let _ = t.remove();
        }
    }

    /// Takes out the aliases that may stand for one of `names` of dylib
    /// `from` (whose definitions of them are being removed).
    pub(crate) fn take_aliases_from(&self, from: OwnerId, names: &[String]) -> Vec<Tracker> {
        self.take_aliases_where(|a| a.from.contains(&from) && a.names.iter().any(|x| names.contains(x)))
    }

    /// Whether a link alias failed (a reset removes it).
    pub(crate) fn has_failed_aliases(&self) -> bool {
        locked(&self.aliases).iter().any(|a| a.state.as_ref().is_some_and(|s| s.failed()))
    }

    /// Removes the link aliases that failed, so that the next link that
    /// needs their names makes them again.
    pub(crate) fn drop_failed_aliases(&self) {
        for t in self.take_aliases_where(|a| a.state.as_ref().is_some_and(|s| s.failed())) {
            let _ = t.remove();
        }
    }

    /// Takes out the aliases `gone` names, and those dropped earlier while
    /// busy that are idle now; a busy one is marked to go later.
    fn take_aliases_where(&self, gone: impl Fn(&Alias) -> bool) -> Vec<Tracker> {
        let mut aliases = locked(&self.aliases);
        let mut out = Vec::new();
        for mut a in std::mem::take(&mut *aliases) {
            let busy = a.state.as_ref().is_some_and(|s| s.busy());
            if !(a.stale || gone(&a)) {
                aliases.push(a);
            } else if busy {
                a.stale = true;
                aliases.push(a);
            } else {
                out.push(a.tracker);
            }
        }
        out
    }
}
