//! For unit tests that change their process (an address-space limit): such
//! a test runs again alone in a child process (this test binary, told which
//! test through the environment), and the parent only checks that it passed.

/// `true` in the child running `test` (go on with the test's body); in the
/// parent, runs `test` in a child, asserts that it passed, and is `false`
/// (return at once). `test` is the test's full path, as `--exact` takes it.
pub fn in_own_process(test: &str) -> bool {
    const CHILD: &str = "JITCORE_TEST_CHILD";
    if std::env::var_os(CHILD).is_some_and(|t| t == test) {
        return true;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(CHILD, test)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "child failed ({}):\n{text}", out.status);
    false
}

/// Limits this process's address space to what it maps now plus `extra`
/// bytes, so a larger allocation fails (or aborts, where it is infallible).
/// Only for a child of [`in_own_process`]: the limit stays.
pub fn limit_address_space(extra: u64) {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    let rl = libc::rlimit { rlim_cur: pages * page + extra, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: setrlimit reads a valid struct; only the calling process is affected.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) }, 0);
}
