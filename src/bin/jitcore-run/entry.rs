//! Calling into the program: `main(argc, argv, envp)`, `-thread-entry`
//! functions (the library runs static constructors and destructors), and
//! what happens when jitted code fails while it runs (a lazily compiled
//! function that cannot be compiled).

use std::ffi::{c_char, c_int, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use jitcore::{Error, JitcoreErrorCode, Result};

extern "C" {
    static environ: *const *const c_char;
}

/// Calls the function at `addr` as `int main(int argc, char **argv, char **envp)`
/// (a `main` declared with fewer parameters ignores the extra ones, as in C).
///
/// # Safety
/// `addr` must be the address of loaded code that may be called that way.
pub unsafe fn call_main(addr: u64, argv0: &str, args: &[String]) -> Result<i32> {
    let to_c =
        |s: &str| CString::new(s).map_err(|_| Error::invalid_argument(format!("argument '{s}' contains a NUL byte")));
    let mut owned = vec![to_c(argv0)?];
    for a in args {
        owned.push(to_c(a)?);
    }
    let mut argv: Vec<*const c_char> = owned.iter().map(|s| s.as_ptr()).collect();
    argv.push(std::ptr::null());
    let argc = owned.len() as c_int;
    // SAFETY: the caller vouches for `addr`; argv holds `argc` live C
    // strings and a NULL and outlives the call; `environ` is the process's
    // environment.
    let status = as_program(|| unsafe {
        let main: unsafe extern "C" fn(c_int, *const *const c_char, *const *const c_char) -> c_int =
            std::mem::transmute(addr as usize);
        *libc::__errno_location() = 0;
        main(argc, argv.as_ptr(), environ)
    });
    drop(owned);
    Ok(status)
}

/// Calls the `void()` function at `addr` (a `-thread-entry` function).
///
/// # Safety
/// `addr` must be the address of loaded code that may be called as `void(void)`.
pub unsafe fn call_void(addr: u64) {
    // SAFETY: the caller vouches for `addr`.
    as_program(|| unsafe {
        let f: unsafe extern "C" fn() = std::mem::transmute(addr as usize);
        f()
    })
}

/// Starts a `-thread-entry` function on a thread of its own.
///
/// # Safety
/// As for [`call_void`], from any thread.
pub unsafe fn spawn_void(addr: u64) -> std::thread::JoinHandle<()> {
    // SAFETY: the caller vouches for `addr` on any thread.
    std::thread::spawn(move || unsafe { call_void(addr) })
}

static IN_PROGRAM: AtomicBool = AtomicBool::new(false);

/// Runs `f`, which calls jitted code, marked as the program running.
pub fn as_program<T>(f: impl FnOnce() -> T) -> T {
    let was = IN_PROGRAM.swap(true, Ordering::SeqCst);
    let out = f();
    IN_PROGRAM.store(was, Ordering::SeqCst);
    out
}

/// The session's error reporter. Errors reported while jitted code runs
/// come from code compiled on first call that failed to compile or link:
/// the program cannot go on (lli exits too), so the runner says why and
/// exits. Other errors are also returned by the lookup that caused them,
/// and reported then; a rejected cache entry is only a warning.
pub fn report_error(code: JitcoreErrorCode, text: &str) {
    // The disk cache reports what it cannot read or write (CACHE, IO) and
    // compiles instead: a warning.
    if matches!(code, JitcoreErrorCode::JITCORE_ERROR_CACHE | JitcoreErrorCode::JITCORE_ERROR_IO) {
        super::dump::flush_c_stdout();
        eprintln!("jitcore-run: warning: {}", super::one_line(text));
        return;
    }
    if IN_PROGRAM.load(Ordering::SeqCst) {
        super::dump::flush_c_stdout();
        eprintln!("jitcore-run: error: {}", super::one_line(text));
        // SAFETY: ends the process without running exit handlers, which
        // could need the JIT locks this thread may be holding.
        unsafe { libc::_exit(1) }
    }
}

type Finisher = Box<dyn FnOnce() + Send>;

static FINISH: Mutex<Option<Finisher>> = Mutex::new(None);

/// Sets what runs when the program's `main` has returned (its exit
/// handlers and static destructors). A program that calls `exit` itself
/// skips them, as under lli: that runs while the C library and LLVM tear
/// the process down, when nothing may be compiled any more.
pub fn on_finish(f: impl FnOnce() + Send + 'static) {
    *FINISH.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(f));
}

/// Runs what [`on_finish`] set, once.
pub fn finish() {
    let f = FINISH.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(f) = f {
        as_program(f)
    }
}
