//! Calls of lazily compiled functions that failed. A jitted call has no
//! error channel: when a stub's body cannot be compiled (or linked), ORC
//! reports the failed lookup through the session's error reporter and runs
//! jitcore's handler in place of the body (see `llvm/lazy.rs`), on the
//! calling thread. Here the report is recorded ([`record`]) and the handler
//! asks which function failed and why ([`decide`]): the host hears of it
//! through the error reporter, the body is reset (its definition removed:
//! the next call after the session's next lookup or change compiles it
//! again), and the host's handler runs, or the default, which prints the
//! error on stderr and aborts.
//!
//! Which call failed. ORC's handler gets no argument, so the failed call
//! claims one recorded report: every report is followed by exactly one
//! call of the handler (the one whose lookup it was). It claims, in order,
//! (1) the report of the oldest body its thread's calls looked up (see
//! `lazy::call_notes`; the compile may have failed on another thread),
//! (2) the newest report made on its own thread (its lookup failed there:
//! the body had failed before), (3) the oldest report no other thread will
//! claim by (1) (its call joined a compile another thread's call started,
//! or ORC ran its lookup on another thread). Only when different functions
//! fail at the same moment on several threads can (3) name another of
//! them.

use std::collections::VecDeque;
use std::ffi::CString;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::ThreadId;

use super::env::SessionEnv;
use super::failure::failed_symbols;
use super::lazy::{self, BODY_SUFFIX};
use crate::error::{Error, JitcoreErrorCode};
use crate::llvm::lazy::{FailedCall, FailureHandler};
use crate::module::OwnerId;

/// A Rust host's handler of failed calls: the function's name and the
/// error. See `Session::set_lazy_failure_handler`.
pub type LazyFailureHandler = Arc<dyn Fn(&str, Error) + Send + Sync>;

/// A failed lookup of a stub's body, until its call claims it.
struct Record {
    env: Weak<SessionEnv>,
    /// The dylib ORC named (id and name), if it named one.
    dylib: Option<(OwnerId, String)>,
    /// The body, if ORC named it.
    body: Option<String>,
    /// ORC's message.
    message: String,
    thread: ThreadId,
}

/// The reports not claimed yet, oldest first (of every session: the
/// handler ORC runs is the same for all).
static RECORDS: Mutex<VecDeque<Record>> = Mutex::new(VecDeque::new());

/// At most this many (one per call waiting on its handler, so few).
const KEEP: usize = 1024;

/// What ORC's report of a failed call-through says: the dylib and the body,
/// as far as it names them; `None` for any other report.
fn classify(message: &str) -> Option<(Option<&str>, Option<&str>)> {
    // The lookup of one body: it failed, maybe with what it needed (the
    // module's globals). Nothing else looks bodies up, nor depends on one.
    let failed = failed_symbols(message);
    let bodies: Vec<(&str, &str)> = failed
        .iter()
        .flat_map(|(dylib, names)| names.iter().filter(|n| n.ends_with(BODY_SUFFIX)).map(move |n| (*dylib, *n)))
        .collect();
    match bodies.as_slice() {
        [(dylib, body)] => return Some((Some(dylib), Some(body))),
        [_, _, ..] => return Some((None, None)),
        [] if !failed.is_empty() => return None,
        [] => {}
    }
    if let Some(rest) = message.strip_prefix("Symbols not found: [") {
        let names: Vec<&str> = rest.trim_end().trim_end_matches(']').split(',').map(str::trim).collect();
        if let [name] = names.as_slice() {
            if name.ends_with(BODY_SUFFIX) {
                return Some((None, Some(name)));
            }
        }
        return None;
    }
    message.contains("Missing reexport for trampoline").then_some((None, None))
}

/// Records ORC's report `message` if it is that of a failed call-through
/// (then it is not logged: the failed call reports it, with its cause).
pub(super) fn record(env: &Arc<SessionEnv>, message: &str) -> bool {
    let Some((dylib, body)) = classify(message) else { return false };
    let dylib = dylib.and_then(|name| env.dylib_by_name(name)).map(|d| (d.id(), d.name().to_string()));
    let mut records = RECORDS.lock().unwrap_or_else(|p| p.into_inner());
    if records.len() == KEEP {
        records.pop_front();
    }
    records.push_back(Record {
        env: Arc::downgrade(env),
        dylib,
        body: body.map(str::to_string),
        message: message.to_string(),
        thread: std::thread::current().id(),
    });
    true
}

/// Takes the report of the calling thread's failed call (see the module's
/// comment), and forgets the bodies its calls looked up.
fn claim() -> Option<Record> {
    let me = std::thread::current().id();
    let mut notes = lazy::first_calls();
    let mut records = RECORDS.lock().unwrap_or_else(|p| p.into_inner());
    // A thread's pick: the report of its oldest noted body that has one.
    let pick = |thread: ThreadId| {
        notes.iter().filter(|n| n.thread == thread).find_map(|n| {
            records.iter().position(|r| {
                r.dylib.as_ref().is_some_and(|(d, _)| *d == n.dylib) && r.body.as_deref() == Some(n.body.as_str())
            })
        })
    };
    let at = pick(me).or_else(|| records.iter().rposition(|r| r.thread == me)).or_else(|| {
        // Not what another thread's call will pick.
        let mut others: Vec<ThreadId> = Vec::new();
        for n in notes.iter().filter(|n| n.thread != me) {
            if !others.contains(&n.thread) {
                others.push(n.thread);
            }
        }
        let reserved: Vec<usize> = others.into_iter().filter_map(pick).collect();
        (0..records.len()).find(|i| !reserved.contains(i)).or((!records.is_empty()).then_some(0))
    });
    notes.retain(|n| n.thread != me);
    records.remove(at?)
}

/// What a failed call explains: the function, the error, and the units to
/// reset (the body's, and its module's globals partition's if ORC named
/// one of its symbols as failed too).
struct Explained {
    function: String,
    error: Error,
    units: Vec<u64>,
}

fn explain(env: &SessionEnv, record: &Record) -> Explained {
    let function = record.body.as_deref().map_or("?", |b| b.strip_suffix(BODY_SUFFIX).unwrap_or(b)).to_string();
    let orc = record.message.replace(BODY_SUFFIX, "");
    let Some((dylib, body)) = record.dylib.as_ref().zip(record.body.as_ref()) else {
        let why = if record.body.is_some() {
            // The body was not there to look up.
            "no body is defined for it (its module was removed, or defining the body failed)".to_string()
        } else {
            orc
        };
        let error = Error::symbol_not_found(format!("cannot call lazily compiled function '{function}': {why}"));
        return Explained { function, error, units: Vec::new() };
    };
    let subject = format!("cannot call lazily compiled function '{function}' (JITDylib '{}')", dylib.1);
    let defined = env.lazy_body(dylib.0, body).and_then(|(module, _, _)| module.body_unit(body));
    let cause = defined.and_then(|(unit, mark)| env.cause_of(&[unit], mark).0);
    let error = match cause {
        Some(r) => Error { code: r.error.code, message: format!("{subject}: {}", r.error.message) },
        None => Error::from_orc_message(orc, JitcoreErrorCode::JITCORE_ERROR_LINK).context(subject),
    };
    let mut units: Vec<u64> = defined.map(|(unit, _)| unit).into_iter().collect();
    for (name, symbols) in failed_symbols(&record.message) {
        let Some(d) = env.dylib_by_name(name) else { continue };
        let globals = symbols.iter().filter(|s| !s.ends_with(BODY_SUFFIX));
        units.extend(globals.filter_map(|g| env.lazy_globals_unit(d.id(), g)));
    }
    units.sort_unstable();
    units.dedup();
    Explained { function, error, units }
}

/// Every session's environment (weak), for a failed call whose report
/// jitcore could not tell.
static SESSIONS: Mutex<Vec<Weak<SessionEnv>>> = Mutex::new(Vec::new());

/// Registers a session for [`decide`].
pub(super) fn register(env: &Arc<SessionEnv>) {
    let mut sessions = SESSIONS.lock().unwrap_or_else(|p| p.into_inner());
    sessions.retain(|s| s.strong_count() > 0);
    sessions.push(Arc::downgrade(env));
}

/// What the failed call on this thread does (the hook `llvm::lazy` calls):
/// the host hears of it, its body is reset, and the handler to run is the
/// host's or the default.
pub(crate) fn decide() -> FailedCall {
    let claimed = claim().and_then(|r| Some((r.env.upgrade()?, r)));
    let Some((env, record)) = claimed else {
        // Cannot happen (every failed call is reported first); if it does,
        // the call still fails, in the only session if there is one.
        let error = Error::internal("a call of a lazily compiled function failed, and jitcore lost track of which");
        let sessions: Vec<Arc<SessionEnv>> =
            SESSIONS.lock().unwrap_or_else(|p| p.into_inner()).iter().filter_map(Weak::upgrade).collect();
        return match sessions.as_slice() {
            [env] => fail_in(env, "?", error, Vec::new()),
            _ => FailedCall { handler: default_handler(), function: unknown(), error },
        };
    };
    let Explained { function, error, units } = explain(&env, &record);
    fail_in(&env, &function, error, units)
}

/// The failed call of `function` in session `env`: reported, `units` reset.
fn fail_in(env: &SessionEnv, function: &str, error: Error, units: Vec<u64>) -> FailedCall {
    env.log.report(error.clone(), false);
    // The handler runs inside a jitted call, maybe on a thread inside the
    // JIT: the reset waits for the session's next lookup or change.
    env.queue_body_resets(units);
    let mut failures = env.lazy_failures.lock().unwrap_or_else(|p| p.into_inner());
    let function = failures.name(function);
    let handler = failures.handler().unwrap_or_else(default_handler);
    FailedCall { handler, function, error }
}

/// The default: one line on stderr, then `abort()`. The call cannot return
/// a result; `abort` stops the process where it failed (a debugger or core
/// dump shows the call), and runs no exit handlers or static destructors,
/// which could need what this thread's caller was in the middle of.
fn default_handler() -> FailureHandler {
    static DEFAULT: OnceLock<FailureHandler> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            Arc::new(|_, error: Error| {
                let message = error.message.replace('\n', "; ");
                eprintln!("jitcore: {message}; aborting (no lazy failure handler is set)");
                std::process::abort()
            })
        })
        .clone()
}

fn unknown() -> Arc<CString> {
    static UNKNOWN: OnceLock<Arc<CString>> = OnceLock::new();
    UNKNOWN.get_or_init(|| Arc::new(crate::llvm::cstring("?"))).clone()
}

/// A Rust host's handler as a failed call runs it: a panic in it aborts
/// (it could only unwind into jitted code).
pub(super) fn guarded(handler: LazyFailureHandler) -> FailureHandler {
    Arc::new(move |function, error| {
        let name = function.to_string_lossy();
        if crate::guard::catch(|| handler(&name, error)).is_err() {
            eprintln!("jitcore: the lazy failure handler panicked; aborting");
            std::process::abort()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn call_through_failures_are_told_from_other_reports() {
        assert_eq!(
            classify("Failed to materialize symbols: { (main, { bad.jitcore.body }) }"),
            Some((Some("main"), Some("bad.jitcore.body")))
        );
        assert_eq!(classify("Symbols not found: [ f.jitcore.body ]"), Some((None, Some("f.jitcore.body"))));
        assert_eq!(classify("Missing reexport for trampoline address %p0x7f00"), Some((None, None)));
        // Link errors and failures of other symbols are not calls.
        assert_eq!(classify("Symbols not found: [ nowhere ]"), None);
        assert_eq!(classify("Symbols not found: [ a.jitcore.body, b.jitcore.body ]"), None);
        assert_eq!(classify("Failed to materialize symbols: { (main, { bad }) }"), None);
        // A body that failed with what it needed.
        assert_eq!(
            classify("Failed to materialize symbols: { (main, { g, f.jitcore.body }) }"),
            Some((Some("main"), Some("f.jitcore.body")))
        );
        assert_eq!(
            classify("Failed to materialize symbols: { (lib, { g }), (main, { f.jitcore.body }) }"),
            Some((Some("main"), Some("f.jitcore.body")))
        );
    }
}
