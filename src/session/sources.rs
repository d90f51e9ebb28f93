//! Symbol sources a JITDylib can draw on when its own definitions miss:
//! the host process, a shared library, a static archive (each one of LLVM's
//! definition generators, `llvm/generator.rs`).

use std::path::PathBuf;

use crate::error::{Error, Result};
pub use crate::llvm::generator::Filter;
use crate::llvm::generator::{existing_file, Generator};
use crate::llvm::orc::ObjectLayer;

/// A source of symbols for a JITDylib (see `Session::add_source`).
pub enum SymbolSource {
    /// The host process's exported symbols (libc, the host's own exports),
    /// those `filter` allows.
    Process { filter: Option<Filter> },
    /// The exported symbols of the shared library at `path` (loaded when
    /// added), those `filter` allows.
    Library { path: PathBuf, filter: Option<Filter> },
    /// The members of the static archive at `path`: a member is linked in
    /// (for the life of the JITDylib) when it defines a name the linker
    /// misses. Every member is validated when the archive is added; a bad
    /// one refuses the archive with `INVALID_OBJECT` naming the member.
    Archive { path: PathBuf },
}

impl SymbolSource {
    pub(crate) fn generator(self, layer: ObjectLayer) -> Result<Generator> {
        match self {
            SymbolSource::Process { filter } => Generator::process(filter),
            SymbolSource::Library { path, filter } => {
                existing_file(&path, "shared library")?;
                Generator::library(&path, filter)
            }
            SymbolSource::Archive { path } => {
                existing_file(&path, "static archive")?;
                let shown = path.display().to_string();
                let bytes = std::fs::read(&path).map_err(|e| Error::io(format!("cannot read '{shown}': {e}")))?;
                let head = bytes.get(..8).unwrap_or_default();
                if head != b"!<arch>\n" && head != b"!<thin>\n" {
                    return Err(Error::invalid_object(format!(
                        "'{shown}' is not a static archive (no '!<arch>' magic)"
                    )));
                }
                // Every member passes the one object validator now: the
                // archive generator hands members to the linker later.
                crate::llvm::object::check_archive(&bytes, &shown)?;
                drop(bytes);
                Generator::archive(layer, &path)
            }
        }
    }
}
