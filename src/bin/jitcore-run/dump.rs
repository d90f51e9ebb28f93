//! lli's `-orc-lazy-debug=` dumps.
//!
//! IR dumps see every module and lazy partition just before it is compiled:
//! the runner wraps the session's object cache (which the compile path asks
//! before compiling anything) in [`DumpingCache`]. Lazy partitions are shown
//! under lli's name for them, `<module>.submodule`. Output goes through the C
//! library's `stdout`, so it interleaves with the program's own `printf`s in
//! the order things happened, as lli's does.
//!
//! The GDB JIT interface dumps read `__jit_debug_descriptor`, which libLLVM
//! exports, at the points the runner calls [`DebugDescriptor::poll`].

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::options::Dump;
use jitcore::{CacheContext, ObjectCache};
use jitcore::Module;
use jitcore::LAZY_BODY_SUFFIX as BODY_SUFFIX;

/// Writes `text` to the C library's `stdout`.
pub fn c_stdout(text: &str) {
    let c = CString::new(text.replace('\0', "\\0")).expect("NUL bytes were replaced");
    // SAFETY: printf with a "%s" format and a NUL-terminated string.
    unsafe { libc::printf(c"%s".as_ptr(), c.as_ptr()) };
}

/// Flushes the C library's `stdout` (before writing to stderr, so the order
/// of the two is kept when they go to one file).
pub fn flush_c_stdout() {
    // SAFETY: fflush(NULL) flushes every output stream; always valid.
    unsafe { libc::fflush(std::ptr::null_mut()) };
}

/// An object cache that shows each module before it is compiled, then
/// defers to the real cache, if any.
pub struct DumpingCache {
    dump: Dump,
    inner: Option<Arc<dyn ObjectCache>>,
    /// Names of the modules the runner added (their partitions are named
    /// `<name>#<function>` by jitcore's splitter).
    added: Vec<String>,
}

impl DumpingCache {
    pub fn new(dump: Dump, inner: Option<Arc<dyn ObjectCache>>, added: Vec<String>) -> DumpingCache {
        DumpingCache { dump, inner, added }
    }

    /// The name lli would give `module`: a lazy partition of module `m` is `m.submodule`.
    fn display_name(&self, module: &Module) -> String {
        let name = module.name();
        for added in &self.added {
            if name.len() > added.len() && name.starts_with(added.as_str()) && name[added.len()..].starts_with('#') {
                return format!("{added}.submodule");
            }
        }
        name.to_string()
    }

    fn show(&self, module: &Module) {
        match self.dump {
            Dump::FuncsToStdout => {
                let mut line = String::from("[ ");
                for f in module.function_definitions().unwrap_or_default() {
                    line.push_str(f.strip_suffix(BODY_SUFFIX).unwrap_or(&f));
                    line.push(' ');
                }
                line.push_str("]\n");
                c_stdout(&line);
            }
            Dump::ModsToStdout => {
                c_stdout(&format!("----- Module Start -----\n{}----- Module End -----\n", self.ir_text(module)));
            }
            Dump::ModsToDisk => {
                let path = format!("{}.ll", self.display_name(module));
                if let Err(e) = std::fs::write(&path, self.ir_text(module)) {
                    flush_c_stdout();
                    eprintln!("jitcore-run: warning: cannot write '{path}': {e}");
                }
            }
            Dump::None | Dump::DebugDescriptor | Dump::DebugObjects => {}
        }
    }

    /// The module's IR, under its display name.
    fn ir_text(&self, module: &Module) -> String {
        let text = module.ir_text().unwrap_or_else(|e| format!("; {}\n", e.message));
        let shown = self.display_name(module);
        if shown == module.name() {
            return text;
        }
        let quoted = format!("'{}'", module.name());
        match text.split_once('\n') {
            Some((first, rest)) if first.starts_with("; ModuleID = ") => {
                format!("{}\n{rest}", first.replace(&quoted, &format!("'{shown}'")))
            }
            _ => text,
        }
    }
}

impl ObjectCache for DumpingCache {
    fn lookup(&self, module: &Arc<Module>, cx: &CacheContext<'_>) -> Option<Vec<u8>> {
        self.show(module);
        self.inner.as_ref()?.lookup(module, cx)
    }

    fn store(&self, module: &Arc<Module>, object: &[u8], cx: &CacheContext<'_>) {
        if let Some(inner) = &self.inner {
            inner.store(module, object, cx)
        }
    }
}

/// GDB's JIT interface, `struct jit_code_entry`.
#[repr(C)]
struct JitCodeEntry {
    next_entry: *mut JitCodeEntry,
    prev_entry: *mut JitCodeEntry,
    symfile_addr: *const c_char,
    symfile_size: u64,
}

/// GDB's JIT interface, `struct jit_descriptor`.
#[repr(C)]
struct JitDescriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut JitCodeEntry,
    first_entry: *mut JitCodeEntry,
}

/// Follows `__jit_debug_descriptor` and reports entries as they appear.
pub struct DebugDescriptor {
    descriptor: *const JitDescriptor,
    latest: *mut JitCodeEntry,
    objects: bool,
}

impl DebugDescriptor {
    /// Starts watching; for `jit-debug-descriptor` prints the first entry
    /// (normally none yet), as lli does at startup.
    pub fn start(dump: Dump) -> Option<DebugDescriptor> {
        if !matches!(dump, Dump::DebugDescriptor | Dump::DebugObjects) {
            return None;
        }
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__jit_debug_descriptor".as_ptr()) };
        let d = DebugDescriptor {
            descriptor: p as *const JitDescriptor,
            latest: std::ptr::null_mut(),
            objects: dump == Dump::DebugObjects,
        };
        if !d.objects {
            let first = if p.is_null() {
                0
            } else {
                // SAFETY: libLLVM's __jit_debug_descriptor is a live jit_descriptor.
                unsafe { (*d.descriptor).first_entry as usize }
            };
            eprintln!("jit_debug_descriptor 0x{first:016x}");
        }
        Some(d)
    }

    /// Reports the entries registered since the last call.
    pub fn poll(&mut self) {
        if self.descriptor.is_null() {
            return;
        }
        loop {
            // SAFETY: entries form a linked list that the JIT only appends to
            // while it links; the runner polls between lookups, when no
            // registration is in progress.
            let next = unsafe {
                if self.latest.is_null() {
                    (*self.descriptor).first_entry
                } else {
                    (*self.latest).next_entry
                }
            };
            if next.is_null() {
                break;
            }
            if self.objects {
                // SAFETY: an entry's symfile is `symfile_size` readable bytes.
                let bytes = unsafe {
                    std::slice::from_raw_parts((*next).symfile_addr.cast::<u8>(), (*next).symfile_size as usize)
                };
                // SAFETY: fwrite of a live byte slice to the C library's stdout.
                unsafe {
                    libc::fwrite(bytes.as_ptr() as *const c_void, 1, bytes.len(), stdout_file());
                }
            } else {
                eprintln!("jit_debug_descriptor 0x{:016x}", next as usize);
            }
            self.latest = next;
        }
    }
}

/// The C library's `stdout` stream.
fn stdout_file() -> *mut libc::FILE {
    extern "C" {
        static mut stdout: *mut libc::FILE;
    }
    // SAFETY: glibc's `stdout` is initialized before main and never changes here.
    unsafe { stdout }
}
