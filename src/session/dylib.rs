//! A JITDylib of a session: its ORC JITDylib, its link order, its default
//! resource tracker group, and the aliases its link order created.

use std::sync::{Arc, Mutex, RwLock, Weak};

use super::tracker::Group;
use crate::error::Result;
use crate::llvm::orc::{JitDylib, Tracker};
use crate::module::OwnerId;

/// Definitions the link-order generator made, at addresses it found.
pub(crate) struct Alias {
    tracker: Tracker,
    names: Vec<String>,
    /// The dylibs (ids) the addresses may have come from: the link order
    /// when they were found (none for LLJIT's platform dylib and the
    /// dylib's own symbol sources, which live as long as the dylib).
    from: Vec<OwnerId>,
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
        })
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

    pub(crate) fn add_alias(&self, tracker: Tracker, names: Vec<String>, from: Vec<OwnerId>) {
        self.aliases.lock().unwrap_or_else(|p| p.into_inner()).push(Alias { tracker, names, from });
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

    fn take_aliases_where(&self, gone: impl Fn(&Alias) -> bool) -> Vec<Tracker> {
        let mut aliases = self.aliases.lock().unwrap_or_else(|p| p.into_inner());
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut *aliases).into_iter().partition(|a| gone(a));
        *aliases = kept;
        gone.into_iter().map(|a| a.tracker).collect()
    }
}
