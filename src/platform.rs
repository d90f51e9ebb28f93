//! Facts about the host process that the JIT depends on.

use crate::error::{Error, Result};

/// Maps a page writable, writes a return instruction, makes it executable
/// and calls it: what the JIT's memory manager will need to do.
pub fn check_jit_execution() -> Result<()> {
    // SAFETY: a private anonymous mapping we own; it is unmapped on every path.
    unsafe {
        let size = libc::sysconf(libc::_SC_PAGESIZE).max(4096) as usize;
        let page = libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if page == libc::MAP_FAILED {
            return Err(Error::jit_execution_denied(format!(
                "mmap of a read-write page failed: {}",
                std::io::Error::last_os_error()
            )));
        }
        let ret: &[u8] = if cfg!(target_arch = "x86_64") {
            &[0xc3]
        } else if cfg!(target_arch = "aarch64") {
            &[0xc0, 0x03, 0x5f, 0xd6]
        } else {
            &[]
        };
        std::ptr::copy_nonoverlapping(ret.as_ptr(), page.cast::<u8>(), ret.len());
        if libc::mprotect(page, size, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            let err = std::io::Error::last_os_error();
            libc::munmap(page, size);
            return Err(Error::jit_execution_denied(format!(
                "mprotect(PROT_READ|PROT_EXEC) of jitted memory was refused: {err}"
            )));
        }
        if !ret.is_empty() {
            // SAFETY: the page holds a lone return instruction and is executable.
            let f: extern "C" fn() = std::mem::transmute(page);
            f();
        }
        libc::munmap(page, size);
    }
    Ok(())
}

/// How long an isolated check may take before the child is killed.
const ISOLATED_TIMEOUT_MS: i32 = 60_000;

/// Runs `check` in a forked child process and returns its verdict, so that
/// a crash inside it (a signal) ends the child, not this process. The child
/// only runs `check` and leaves with `_exit`; its address space may grow by
/// at most `memory_budget` bytes past what it inherited (0: no cap), so an
/// input that makes the check allocate without bound fails in the child.
/// A crash is reported as `crashed(how)` ("signal 11"; "exit status 1" for
/// a child that a crash handler, such as a sanitizer's, ended instead).
///
/// The child of a multithreaded process can only use what `fork` left
/// consistent: glibc's allocator is fork-safe, and LLVM's parser takes no
/// lock another thread could hold for long; a child that hangs anyway is
/// killed after a minute (an `INTERNAL` error).
pub fn run_isolated(
    memory_budget: u64,
    check: impl FnOnce() -> Result<()>,
    crashed: impl FnOnce(String) -> Error,
) -> Result<()> {
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors pipe writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::internal(format!("cannot make a pipe: {}", std::io::Error::last_os_error())));
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    // SAFETY: fork has no preconditions; the child only runs `check` and
    // leaves with _exit (no atexit handlers, no unwinding into the host).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        // SAFETY: both descriptors are ours.
        unsafe {
            libc::close(read_fd);
            libc::close(write_fd);
        }
        return Err(Error::internal(format!("cannot fork a child for an isolated check: {e}")));
    }
    if pid == 0 {
        // SAFETY: in the child: limit memory, run the check, report and leave.
        unsafe {
            libc::close(read_fd);
            if memory_budget > 0 {
                if let Some(now) = address_space_bytes() {
                    let cap = now.saturating_add(memory_budget);
                    let lim = libc::rlimit { rlim_cur: cap, rlim_max: cap };
                    libc::setrlimit(libc::RLIMIT_AS, &lim);
                }
            }
            let verdict = match crate::guard::catch(check) {
                Ok(Ok(())) => Vec::new(),
                Ok(Err(e)) => {
                    let mut v = (e.code as u32).to_le_bytes().to_vec();
                    v.extend_from_slice(e.message.as_bytes());
                    v
                }
                Err(p) => {
                    let mut v = (crate::error::JitcoreErrorCode::JITCORE_ERROR_INTERNAL as u32).to_le_bytes().to_vec();
                    v.extend_from_slice(format!("jitcore panicked: {p}").as_bytes());
                    v
                }
            };
            let mut off = 0;
            while off < verdict.len() {
                let n = libc::write(write_fd, verdict[off..].as_ptr().cast(), verdict.len() - off);
                if n <= 0 {
                    break;
                }
                off += n as usize;
            }
            libc::_exit(0);
        }
    }
    // SAFETY: the parent's copy of the write end is ours to close.
    unsafe { libc::close(write_fd) };
    let mut verdict = Vec::new();
    let mut timed_out = false;
    loop {
        let mut pfd = libc::pollfd { fd: read_fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: pfd is a valid pollfd for the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, ISOLATED_TIMEOUT_MS) };
        if ready == 0 {
            timed_out = true;
            break;
        }
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        let mut chunk = [0u8; 4096];
        // SAFETY: chunk is writable for its length.
        let n = unsafe { libc::read(read_fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n <= 0 {
            break;
        }
        verdict.extend_from_slice(&chunk[..n as usize]);
    }
    let mut status = 0;
    // SAFETY: pid is our child; the descriptor is ours.
    unsafe {
        libc::close(read_fd);
        if timed_out {
            libc::kill(pid, libc::SIGKILL);
        }
        while libc::waitpid(pid, &mut status, 0) < 0
            && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {}
    }
    if timed_out {
        return Err(Error::internal("an isolated check did not finish within a minute and was killed"));
    }
    if libc::WIFSIGNALED(status) {
        return Err(crashed(format!("signal {}", libc::WTERMSIG(status))));
    }
    // The child leaves with status 0 once it wrote its verdict; any other
    // end means the check did not finish.
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(crashed(format!("exit status {}", libc::WEXITSTATUS(status))));
    }
    if verdict.is_empty() {
        return Ok(());
    }
    let code = verdict
        .get(..4)
        .and_then(|b| crate::error::JitcoreErrorCode::from_u32(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .unwrap_or(crate::error::JitcoreErrorCode::JITCORE_ERROR_INTERNAL);
    let message = String::from_utf8_lossy(verdict.get(4..).unwrap_or_default()).into_owned();
    Err(Error { code, message })
}

/// This process's address-space size in bytes (from /proc/self/statm).
fn address_space_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    pages.checked_mul(page)
}

/// Gives the free memory of malloc's arenas back to the system (glibc's
/// `malloc_trim`; nothing elsewhere).
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}
