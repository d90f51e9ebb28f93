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
