//! Exit handlers of jitted code (`atexit`, `__cxa_atexit`), run when the
//! program is done, while its code is still loaded, as lli runs them.
//!
//! Every JITDylib of a session gets LLJIT's generic platform support: a
//! per-dylib module defining `__dso_handle`, a hidden `atexit` and a hidden
//! `__lljit_run_atexits`, which record and run that dylib's handlers in
//! LLJIT's platform object (`__lljit.platform_support_instance`, in LLJIT's
//! platform JITDylib, which also defines `__cxa_atexit`). The session's main
//! JITDylib links against the platform dylib; dylibs the session creates do
//! not, so there those two names would not resolve and `atexit` and
//! `__dso_handle` could not be linked. The runner learns their addresses
//! from a two-function probe module in the main dylib and defines them in
//! each dylib it creates; at the end it calls each dylib's
//! `__lljit_run_atexits` (handlers last registered first, as `exit` runs them).

use std::ffi::c_void;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::module::Module;
use crate::session::dylib::Dylib;
use crate::session::Session;

/// The name of the probe module (the runner's debug dumps leave it out).
pub const PROBE_NAME: &str = "<jitcore-run platform probe>";

const PROBE: &str = r#"
@__lljit.platform_support_instance = external global i8
declare i32 @__cxa_atexit(ptr, ptr, ptr)
define ptr @__jitcore_run.platform_support_instance() {
  ret ptr @__lljit.platform_support_instance
}
define ptr @__jitcore_run.cxa_atexit() {
  ret ptr @__cxa_atexit
}
"#;

/// What a dylib the session creates must define for LLJIT's platform
/// support in it to link: the platform object and `__cxa_atexit`, as the
/// session's main JITDylib sees them.
pub fn platform_symbols(session: &Session) -> Result<Vec<(String, u64)>> {
    let main = session.main_dylib();
    let probe = Module::from_ir(PROBE_NAME, PROBE.as_bytes())?;
    session.add_module(main, &probe, main.default_group(), false)?;
    let getters = ["__jitcore_run.platform_support_instance", "__jitcore_run.cxa_atexit"];
    let addrs = session.lookup(main, &getters).map_err(|e| e.context("cannot set up exit handlers"))?;
    let values: Vec<u64> = addrs
        .iter()
        .map(|&a| {
            // SAFETY: the probe's functions take nothing and return a pointer.
            let f: unsafe extern "C" fn() -> *const c_void = unsafe { std::mem::transmute(a as usize) };
            // SAFETY: as above; they only return an address.
            unsafe { f() as u64 }
        })
        .collect();
    if values.contains(&0) {
        return Err(Error::internal("LLJIT's platform support is missing from the session"));
    }
    Ok(vec![("__lljit.platform_support_instance".to_string(), values[0]), ("__cxa_atexit".to_string(), values[1])])
}

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
