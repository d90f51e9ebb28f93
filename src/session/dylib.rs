//! A JITDylib of a session.

use llvm_sys::orc2::{LLVMOrcJITDylibRef, LLVMOrcMaterializationUnitRef};

use crate::error::Result;
use crate::llvm::orc::{self, Tracker};

/// A JITDylib of a session.
pub struct Dylib {
    raw: LLVMOrcJITDylibRef,
    name: String,
}

// SAFETY: JITDylibs are owned by the ExecutionSession, which synchronizes
// every operation on them; the raw pointer stays valid while the session lives.
unsafe impl Send for Dylib {}
// SAFETY: as above.
unsafe impl Sync for Dylib {}

impl Dylib {
    /// # Safety
    /// `raw` must be a JITDylib of a session that outlives this value.
    pub unsafe fn new(raw: LLVMOrcJITDylibRef, name: &str) -> Dylib {
        Dylib { raw, name: name.to_string() }
    }

    pub fn as_raw(&self) -> LLVMOrcJITDylibRef {
        self.raw
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A fresh tracker for this JITDylib.
    pub fn new_tracker(&self) -> Tracker {
        // SAFETY: the JITDylib is live while its session is (see `new`).
        unsafe { Tracker::create(self.raw) }
    }

    /// Defines `mu` here, in the JITDylib's default tracker (what lives as
    /// long as the JITDylib: absolute symbols, host mappings). On failure the
    /// unit is disposed and nothing is defined.
    pub fn define(&self, mu: LLVMOrcMaterializationUnitRef) -> Result<()> {
        // SAFETY: the JITDylib is live; `define` takes the unit in all cases.
        unsafe { orc::define(self.raw, mu) }
    }
}
