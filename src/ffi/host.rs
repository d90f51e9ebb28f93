//! A host's `Ctx` pointer, as jitcore keeps it for the host's callbacks.

/// A host's `Ctx` pointer, handed back to the host's callbacks.
#[derive(Clone, Copy)]
pub(crate) struct HostPtr(pub(crate) *mut std::ffi::c_void);
// SAFETY: the host promises its callbacks may be called with their Ctx from
// any thread (documented on each callback type); jitcore never reads it.
unsafe impl Send for HostPtr {}
// SAFETY: as above.
unsafe impl Sync for HostPtr {}
