//! Symbol sources a JITDylib can draw on when its own definitions miss:
//! the host process, a shared library, a static archive. Each is one of
//! LLVM's definition generators.

use std::ffi::c_void;
use std::path::Path;
use std::ptr;

use llvm_sys::orc2::*;

use crate::error::{Error, JitcoreErrorCode, Result};
use crate::llvm::check;

/// Decides whether a source may provide a name (true: allowed).
pub type Filter = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// A generator not yet attached to a JITDylib.
pub struct Generator {
    raw: LLVMOrcDefinitionGeneratorRef,
}

// SAFETY: a generator not yet attached is owned by this value alone.
unsafe impl Send for Generator {}

/// A filter's home: it must outlive the generator (the session keeps it).
pub struct FilterBox(Box<Filter>);

extern "C" fn call_filter(ctx: *mut c_void, sym: LLVMOrcSymbolStringPoolEntryRef) -> i32 {
    crate::guard::catch(|| {
        // SAFETY: ctx is the Filter in a FilterBox the session keeps until
        // after its LLJIT (and so this generator) is gone; sym is live.
        let f = unsafe { &*ctx.cast::<Filter>() };
        let name = unsafe { std::ffi::CStr::from_ptr(LLVMOrcSymbolStringPoolEntryStr(sym)) };
        i32::from(f(&name.to_string_lossy()))
    })
    .unwrap_or(0)
}

fn filter_args(filter: &Option<FilterBox>) -> (LLVMOrcSymbolPredicate, *mut c_void) {
    match filter {
        Some(FilterBox(b)) => (Some(call_filter), &**b as *const Filter as *mut c_void),
        None => (None, ptr::null_mut()),
    }
}

fn existing_file(path: &Path, what: &str) -> Result<()> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(Error::io(format!("{what} '{shown}' is not a file"))),
        Err(e) => Err(Error::io(format!("cannot open {what} '{shown}': {e}"))),
    }
}

/// A path as the C string LLVM takes (Linux paths are bytes, never NUL).
fn c_path(path: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    std::ffi::CString::new(&bytes[..end]).unwrap_or_default()
}

impl Generator {
    /// The host process's exported symbols (libc, the host's own exports).
    pub fn process(filter: &Option<FilterBox>) -> Result<Generator> {
        let (f, ctx) = filter_args(filter);
        let mut raw = ptr::null_mut();
        // SAFETY: the filter context outlives the generator (see FilterBox).
        let err = unsafe { LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&mut raw, 0, f, ctx) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_INTERNAL)?;
        Ok(Generator { raw })
    }

    /// The exported symbols of the shared library at `path` (loaded now).
    pub fn library(path: &Path, filter: &Option<FilterBox>) -> Result<Generator> {
        existing_file(path, "shared library")?;
        let (f, ctx) = filter_args(filter);
        let c = c_path(path);
        let path = path.display();
        let mut raw = ptr::null_mut();
        // SAFETY: as above; the path is copied.
        let err = unsafe { LLVMOrcCreateDynamicLibrarySearchGeneratorForPath(&mut raw, c.as_ptr(), 0, f, ctx) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_IO).map_err(|e| e.context(format!("loading '{path}'")))?;
        Ok(Generator { raw })
    }

    /// The members of the static archive at `path`: a member is linked in
    /// (into the JITDylib, for its lifetime) when it defines a missing name.
    /// Every member is validated now (`check_archive`); a bad one refuses
    /// the archive with `INVALID_OBJECT` naming the member.
    pub fn archive(object_layer: LLVMOrcObjectLayerRef, path: &Path) -> Result<Generator> {
        existing_file(path, "static archive")?;
        let c = c_path(path);
        let bytes = std::fs::read(path).map_err(|e| Error::io(format!("cannot read '{}': {e}", path.display())))?;
        let path = &path.display().to_string();
        let head = bytes.get(..8).unwrap_or_default();
        if head != b"!<arch>\n" && head != b"!<thin>\n" {
            return Err(Error::invalid_object(format!("'{path}' is not a static archive (no '!<arch>' magic)")));
        }
        // Every member passes the one object validator now: the archive
        // generator hands members to the linker later, unchecked.
        crate::llvm::object::check_archive(&bytes, path)?;
        drop(bytes);
        let mut raw = ptr::null_mut();
        // SAFETY: the object layer lives as long as the session the
        // generator is attached to; the path is copied.
        let err = unsafe { LLVMOrcCreateStaticLibrarySearchGeneratorForPath(&mut raw, object_layer, c.as_ptr()) };
        check(err, JitcoreErrorCode::JITCORE_ERROR_INVALID_OBJECT)
            .map_err(|e| e.context(format!("loading '{path}'")))?;
        Ok(Generator { raw })
    }

    /// Gives the generator to `jd`, which owns it from now on.
    pub fn attach(self, jd: LLVMOrcJITDylibRef) {
        // SAFETY: jd is a live JITDylib (the caller's dylib); it takes the generator.
        unsafe { LLVMOrcJITDylibAddGenerator(jd, self.raw) }
    }
}

impl FilterBox {
    pub fn new(f: Filter) -> FilterBox {
        FilterBox(Box::new(f))
    }
}
