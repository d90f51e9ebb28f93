//! `jitcore-run`: runs an LLVM IR program with jitcore, flag-compatible with
//! LLVM's `lli` (see `jitcore::run`). The exit status is the program's
//! `main` return value; any error prints one `jitcore-run: error: ...` line
//! and exits with status 1.

fn main() {
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let status = jitcore::run::main(&args);
    // exit(), not a return: the C library flushes the program's output and
    // runs the exit handlers it registered while the JIT is still loaded.
    // SAFETY: exit is always safe to call; nothing here runs after it.
    unsafe { libc::exit(status) }
}
