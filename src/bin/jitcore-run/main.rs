//! `jitcore-run`, an lli-compatible runner built on the crate's public API:
//! the command line (`options`), loading and running the program on a
//! session or the engine facade (`program`), calling into it (`entry`)
//! and lli's debug dumps (`dump`). Static constructors, destructors and
//! the exit handlers of jitted code are the library's (initialize,
//! deinitialize).
//! The exit status is the program's `main` return value; any error prints
//! one `jitcore-run: error: ...` line and exits with status 1. It uses only
//! the library's public Rust API.

mod dump;
mod entry;
mod options;
mod program;

use jitcore::DiskCacheStatistics;
use jitcore::Error;
use jitcore::Statistics;
use options::Options;

/// A message on one line: LLVM's diagnostics come with the source line and
/// a caret under it, which are dropped; other lines are joined with "; ".
pub fn one_line(message: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut after_diagnostic = false;
    for line in message.lines() {
        let t = line.trim();
        if t.is_empty() || t.chars().all(|c| matches!(c, '^' | '~' | ' ')) {
            continue;
        }
        if after_diagnostic {
            // The source line a diagnostic quotes.
            after_diagnostic = false;
            continue;
        }
        after_diagnostic = t.contains(": error: ") || t.contains(": warning: ");
        kept.push(t);
    }
    if kept.is_empty() {
        return message.trim().to_string();
    }
    kept.join("; ")
}

fn print_stats(s: &Statistics, disk: Option<&DiskCacheStatistics>) {
    eprintln!("jitcore-run: statistics:");
    let rows = [
        ("modules compiled", s.modules_compiled),
        ("functions compiled", s.functions_compiled),
        ("objects loaded", s.objects_loaded),
        ("object bytes emitted", s.object_bytes_emitted),
        ("cache hits", s.cache_hits),
        ("cache misses", s.cache_misses),
        ("cache entries rejected", s.cache_rejected),
        ("materialization failures", s.materialization_failures),
        ("code bytes live", s.code_bytes_live),
    ];
    for (what, n) in rows {
        eprintln!("  {what:<28}{n}");
    }
    if let Some(d) = disk {
        let rows = [
            ("disk cache hits", d.hits),
            ("disk cache misses", d.misses),
            ("disk cache writes", d.writes),
            ("disk cache corrupt dropped", d.corrupt_dropped),
            ("disk cache evictions", d.evictions),
            ("disk cache entries", d.entries),
            ("disk cache bytes on disk", d.bytes_on_disk),
            ("disk cache I/O errors", d.io_errors),
        ];
        for (what, n) in rows {
            eprintln!("  {what:<28}{n}");
        }
    }
}

/// Runs jitcore-run with `args` (without the program name) and returns the
/// process's exit status: main's return value, or 1 after printing one
/// `jitcore-run: error: ...` line. Never panics.
fn main() {
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let status = run(&args);
    // exit(), not a return: the C library flushes the program's output and
    // runs the exit handlers it registered while the JIT is still loaded.
    // SAFETY: exit is always safe to call; nothing here runs after it.
    unsafe { libc::exit(status) }
}

/// Runs jitcore-run with `args` (without the program name); the exit status.
fn run<S: AsRef<str>>(args: &[S]) -> i32 {
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<i32, Error> {
        let o = Options::parse(args)?;
        for w in o.warnings() {
            eprintln!("jitcore-run: warning: {w}");
        }
        if o.help {
            print!("{}", options::USAGE);
            return Ok(0);
        }
        if o.version {
            println!("jitcore-run {} (LLVM {})", env!("CARGO_PKG_VERSION"), jitcore::llvm_version());
            return Ok(0);
        }
        let out = program::run(&o)?;
        if o.stats {
            dump::flush_c_stdout();
            print_stats(&out.stats, out.disk.as_ref());
        }
        Ok(out.status)
    }));
    let error = match outcome {
        Ok(Ok(status)) => {
            flush_stdout();
            return status;
        }
        Ok(Err(e)) => e,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Error::internal(format!("internal error (a bug in jitcore-run): {what}"))
        }
    };
    flush_stdout();
    eprintln!("jitcore-run: error: {}", one_line(&error.message));
    1
}

/// Flushes Rust's and the C library's stdout (the process ends with
/// `exit`, which flushes only the C library's).
fn flush_stdout() {
    let _ = std::io::Write::flush(&mut std::io::stdout());
    dump::flush_c_stdout();
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn diagnostics_fit_on_one_line() {
        let m = "x.ll:2:1: error: expected type\ndefine i32 @f( {\n^\n";
        assert_eq!(one_line(m), "x.ll:2:1: error: expected type");
        assert_eq!(one_line("a\n\nb"), "a; b");
    }
}
