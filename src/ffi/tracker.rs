//! Resource trackers: everything added to a JITDylib is added under a
//! tracker, the dylib's default one (NULL) or one made with
//! `JitcoreDylibCreateResourceTracker`. Removing a tracker removes what was
//! added under it, code, data and symbols, as one, and nothing else: the
//! way to unload part of a dylib. Trackers are owned by the caller.

use std::sync::{Arc, Weak};

use super::error::JitcoreErrorRef;
use super::module;
use super::{boundary, boundary_or, non_null};
use crate::error::{Error, Result};
use crate::session::dylib::Dylib;
use crate::session::tracker::Group;
use crate::session::Session;

/// A resource tracker (`JitcoreResourceTrackerRef`).
pub struct JitcoreOpaqueResourceTracker {
    pub(crate) group: Arc<Group>,
    pub(crate) session: Weak<Session>,
}

/// A handle on what was added to a JITDylib under it, removable as one.
pub type JitcoreResourceTrackerRef = *mut JitcoreOpaqueResourceTracker;

/// The tracker's group, checked to belong to `d`'s JITDylib; NULL is the
/// dylib's default group.
///
/// # Safety
/// `rt` must be NULL or a live tracker handle.
pub(crate) unsafe fn group_for(d: &Arc<Dylib>, rt: JitcoreResourceTrackerRef) -> Result<Arc<Group>> {
    if rt.is_null() {
        return Ok(d.default_group().clone());
    }
    let g = &(*rt).group;
    if g.dylib == d.id() {
        Ok(g.clone())
    } else {
        Err(Error::invalid_argument(format!("the resource tracker is not one of JITDylib '{}'", d.name())))
    }
}

/// Removes everything added under `RT`: its code and data are freed
/// (addresses into it become invalid; nothing may be running in it), its
/// symbols are no longer found, its modules are disposed of (their handles
/// become dead), and unused symbol names are dropped. Static destructors
/// of its modules that have not run, and exit handlers their code
/// registered that have not run, are dropped without running (their code
/// is gone): call `JitcoreDylibDeinitialize` first to run them. Other trackers' code
/// is untouched; `RT` stays to be disposed of, and adding to it fails.
/// Errors: `INVALID_ARGUMENT` for NULL, or if its session was disposed of.
/// Thread-safe (not with `JitcoreDisposeSession`); must not race
/// `JitcoreDisposeResourceTracker` of `RT`, and no thread may run the code
/// being removed.
#[no_mangle]
pub unsafe extern "C" fn JitcoreResourceTrackerRemove(RT: JitcoreResourceTrackerRef) -> JitcoreErrorRef {
    boundary(|| {
        non_null(RT, "RT")?;
        // SAFETY: RT is a live tracker handle.
        let rt = unsafe { &*RT };
        let s = rt.session.upgrade().ok_or_else(|| Error::invalid_argument("the tracker's session was disposed of"))?;
        let modules = rt.group.modules();
        let result = s.remove_group(&rt.group);
        module::unregister(&modules);
        result
    })
}

/// Disposes of a tracker handle. What was added under it and not removed
/// stays loaded, under its dylib's default tracker (as in ORC). NULL is
/// ignored. Not thread-safe: must not race any other use of `RT`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeResourceTracker(RT: JitcoreResourceTrackerRef) {
    boundary_or((), || {
        if RT.is_null() {
            return;
        }
        // SAFETY: RT came from JitcoreDylibCreateResourceTracker, disposed of once.
        let rt = unsafe { Box::from_raw(RT) };
        if let Some(s) = rt.session.upgrade() {
            s.release_group(&rt.group);
        }
    })
}
