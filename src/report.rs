//! Errors that have no caller: a failed materialization, a rejected cache
//! entry. They are kept in a short log so the lookup that triggered them can
//! return the real cause, and forwarded to the host's reporter, if any.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::error::{Error, JitcoreErrorCode};

/// Receives errors that no call can return: the code and the message.
pub type Reporter = Arc<dyn Fn(JitcoreErrorCode, &str) + Send + Sync>;

/// One reported error, with the unit whose materialization it belongs to.
#[derive(Clone, Debug)]
pub struct Reported {
    pub seq: u64,
    pub error: Error,
    /// The unit (placeholder id) being materialized when it was reported.
    pub unit: Option<u64>,
    /// Whether it failed a materialization (rather than being a warning).
    pub fatal: bool,
    /// For a link error ORC reported: the external names it could not
    /// resolve. ORC reports on whatever thread ran the link's lookup
    /// continuation, so `unit` is only a hint for such errors: they are
    /// checked against the names each unit's module declares.
    pub missing: Vec<String>,
    /// The error without the module named from the reporting thread.
    pub bare: Error,
    /// Recorded by `report_unresolved`: it explains why `missing` are.
    pub explains: bool,
}

const KEEP: usize = 256;

#[derive(Default)]
pub struct ErrorLog {
    next: AtomicU64,
    entries: Mutex<VecDeque<Reported>>,
    host: RwLock<Option<Reporter>>,
}

thread_local! {
    /// The unit this thread is materializing: (unit id, name).
    static CURRENT: RefCell<Option<(u64, String)>> = const { RefCell::new(None) };
}

/// Marks the current thread as materializing unit `unit` (named `name` in
/// messages) while `f` runs; restored afterwards, also if `f` panics.
pub fn with_current_unit<T>(unit: u64, name: &str, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<(u64, String)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = prev);
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(Some((unit, name.to_string())))));
    f()
}

/// The unit this thread is materializing, if any: (unit id, name).
pub fn current_unit() -> Option<(u64, String)> {
    CURRENT.with(|c| c.borrow().clone())
}

impl ErrorLog {
    /// The sequence number the next report will get.
    pub fn mark(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// Records an error. `fatal` errors failed a materialization. An error
    /// reported while this thread materializes a module is tied to it, and
    /// its message names it.
    pub fn report(&self, error: Error, fatal: bool) {
        let current = CURRENT.with(|c| c.borrow().clone());
        self.record(error, current, fatal, Vec::new(), false);
    }

    fn record(
        &self,
        mut error: Error,
        current: Option<(u64, String)>,
        fatal: bool,
        missing: Vec<String>,
        explains: bool,
    ) {
        let bare = error.clone();
        if let Some((_, name)) = &current {
            if !error.message.contains(&format!("'{name}'")) {
                error = error.context(format!("module '{name}'"));
            }
        }
        let seq = self.next.fetch_add(1, Ordering::AcqRel);
        {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if entries.len() == KEEP {
                entries.pop_front();
            }
            let unit = current.map(|c| c.0);
            // The linker's "not found" for names a report already explained
            // (for the same unit) tells nothing more: not a cause.
            let explained = !explains
                && !missing.is_empty()
                && entries.iter().rev().take(16).any(|e| {
                    e.explains && e.unit == unit && missing.iter().all(|m| e.missing.contains(m))
                });
            let fatal = fatal && !explained;
            entries.push_back(Reported { seq, error: error.clone(), unit, fatal, missing, bare, explains });
        }
        let host = self.host.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(f) = host {
            f(error.code, &error.message);
        }
    }

    /// Records why a link will not find `missing` (names it uses): the
    /// failed link's lookup then names this as its cause.
    pub fn report_unresolved(&self, error: Error, missing: Vec<String>) {
        let current = CURRENT.with(|c| c.borrow().clone());
        self.record(error, current, true, missing, true);
    }

    /// Records why `unit`'s link could not bind names it needed from
    /// another JITDylib: ORC's error for the lookup that should have found
    /// them there (which names the symbols that failed to materialize), so
    /// that the failed lookup finds, and resets, the units behind it.
    pub fn report_dependency(&self, unit: Option<(u64, String)>, message: String) {
        let error = Error::from_orc_message(message, JitcoreErrorCode::JITCORE_ERROR_LINK);
        self.record(error, unit, true, Vec::new(), false);
    }

    /// Reports an error that came from ORC (through the session's reporter).
    pub fn report_orc(&self, message: String) {
        // A lazy function's body is an implementation detail: name the function.
        let message = message.replace(crate::llvm::split::BODY_SUFFIX, "");
        let (error, missing) = if let Some(rest) = message.strip_prefix("Symbols not found: ") {
            let missing = rest.trim().trim_start_matches('[').trim_end_matches(']');
            let missing = missing.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
            (Error::unresolved_symbol(format!("unresolved external symbol(s) {rest}")), missing)
        } else {
            (Error::from_orc_message(message, JitcoreErrorCode::JITCORE_ERROR_LINK), Vec::new())
        };
        // The reporting thread's unit is a hint (see `Reported::missing`).
        let current = CURRENT.with(|c| c.borrow().clone());
        self.record(error, current, true, missing, false);
    }

    /// The fatal errors reported since `mark`.
    pub fn since(&self, mark: u64) -> Vec<Reported> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().filter(|r| r.seq >= mark && r.fatal).cloned().collect()
    }

    pub fn set_host_reporter(&self, f: Option<Reporter>) {
        *self.host.write().unwrap_or_else(|p| p.into_inner()) = f;
    }
}
