//! Exit handlers of jitted code (`atexit`, `__cxa_atexit`), run when the
//! program is done, while its code is still loaded, as lli runs them.
//!
//! Every JITDylib of a session gets LLJIT's generic platform support: a
//! per-dylib module defining `__dso_handle`, a hidden `atexit` and a hidden
//! `__lljit_run_atexits`, which record and run that dylib's handlers in
//! LLJIT's platform object (`__lljit.platform_support_instance`, in LLJIT's
//! platform JITDylib, which also defines `__cxa_atexit`; every dylib of the
//! session falls back to it). At the end the runner calls each dylib's
//! `__lljit_run_atexits` (handlers last registered first, as `exit` runs them).

use std::sync::Arc;

use jitcore::Result;
use jitcore::Dylib;
use jitcore::Session;

/// Runs the exit handlers the code in `dylibs` registered, dylib by dylib
/// in the order given, each dylib's last registered first.
pub fn run_handlers(session: &Session, dylibs: &[Arc<Dylib>]) -> Result<()> {
    for d in dylibs {
        let addr = session
            .lookup(d, &["__lljit_run_atexits"])
            .map_err(|e| e.context(format!("cannot run the exit handlers of JITDylib '{}'", d.name())))?[0];
        // SAFETY: `__lljit_run_atexits` is LLJIT's `void()` function that
        // runs the dylib's recorded handlers, whose code is still loaded.
        unsafe { super::entry::call_void(addr) };
    }
    Ok(())
}
