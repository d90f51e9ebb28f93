//! Profiler support: a perf map (`/tmp/perf-<pid>.map`), one line per jitted
//! function, `START SIZE name` in hex, which `perf report` reads to name
//! samples in JIT code.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::llvm::orc::{ExecutionSession, JitDylib, LookupKind, SymbolName};

/// The process's perf map, shared by every session that enables perf.
pub struct PerfMap {
    file: &'static Mutex<File>,
}

static MAP: once_cell::sync::OnceCell<Mutex<File>> = once_cell::sync::OnceCell::new();

/// Where perf looks for this process's map.
pub fn map_path() -> String {
    format!("/tmp/perf-{}.map", std::process::id())
}

impl PerfMap {
    pub fn open() -> Result<PerfMap> {
        let file = MAP.get_or_try_init(|| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(map_path())
                .map(Mutex::new)
                .map_err(|e| Error::io(format!("cannot open perf map '{}': {e}", map_path())))
        })?;
        Ok(PerfMap { file })
    }

    fn write(&self, lines: &str) {
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // A profiler aid: a failed write must not fail the JIT.
        let _ = f.write_all(lines.as_bytes());
        let _ = f.flush();
    }

    /// Once `functions` (name, size) of `jd` are linked, writes their lines.
    pub fn record_when_linked(&self, es: ExecutionSession, jd: JitDylib, functions: Vec<(SymbolName, u64)>) {
        if functions.is_empty() {
            return;
        }
        let names: Vec<SymbolName> = functions.iter().map(|(n, _)| n.clone()).collect();
        let file = self.file;
        // The lookup only waits for symbols this unit is emitting.
        {
            es.lookup_async(LookupKind::DLSym, &[(jd, false)], &names, true, move |r| {
                let Ok(found) = r else { return };
                let mut lines = String::new();
                for f in found {
                    if let Some((_, size)) = functions.iter().find(|(n, _)| *n == f.name) {
                        let name = f.name.as_str();
                        let shown = name.strip_suffix(crate::llvm::split::BODY_SUFFIX).unwrap_or(&name).to_string();
                        lines.push_str(&format!("{:x} {:x} {}\n", f.address, size.max(&1), shown));
                    }
                }
                PerfMap { file }.write(&lines);
            });
        }
    }
}
