//! Bytes as the disk-cache entry file of the known module (`f() == 42`).
//! The first byte picks the mode: even, the rest is the file as is; odd,
//! the rest is an object that the harness wraps in a valid header and
//! checksum (so the fuzzer gets past the checksum to the object checks).
//! Then an engine with that disk cache looks `f` up: it must be found, and
//! when it was compiled, or the served object is the genuine one, calling
//! it must give 42.
#![no_main]
use std::ffi::{c_char, CString};
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::*;
use jitcore::testing::disk_entry_header as header;
use jitcore::ffi::{buffer::*, cache::*, dylib::*, engine::*, error::*, module::*, session::*, stats::*, target::*, tracker::*};

struct Fixture {
    cdir: CString,
    key: [u8; 32],
    entry: PathBuf,
    known: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        // Directories of earlier runs that crashed (their process is gone).
        for e in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("jitcore-fuzz-disk-") {
                if !std::path::Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("jitcore-fuzz-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = module(KNOWN_NAME, KNOWN_IR.as_bytes()).unwrap();
        let mut key = [0u8; 32];
        let mut hex = [0 as c_char; 65];
        // SAFETY: live module and target machine; buffers of the documented sizes.
        unsafe {
            assert!(ok(JitcoreModuleGetKey(m, tm(2), key.as_mut_ptr(), hex.as_mut_ptr()), "JitcoreModuleGetKey"));
            JitcoreDisposeModule(m);
        }
        // SAFETY: NUL-terminated by JitcoreModuleGetKey.
        let hex = unsafe { std::ffi::CStr::from_ptr(hex.as_ptr()) }.to_str().unwrap().to_string();
        let known = known_object(2);
        if let Some(out) = std::env::var_os("JITCORE_FUZZ_WRITE_SEEDS") {
            let out = std::path::Path::new(&out);
            let mut genuine = vec![0u8];
            genuine.extend_from_slice(&header(&key, &known));
            genuine.extend_from_slice(&known);
            std::fs::write(out.join("genuine-entry"), genuine).unwrap();
            let mut wrapped = vec![1u8];
            wrapped.extend_from_slice(&known);
            std::fs::write(out.join("wrapped-object"), wrapped).unwrap();
        }
        let cdir = CString::new(dir.to_str().unwrap()).unwrap();
        Fixture { entry: dir.join(format!("{hex}.jco")), cdir, key, known }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    let fx = fixture();
    let header_len = header(&fx.key, b"").len();
    let (file, object): (Vec<u8>, &[u8]) = if mode & 1 == 0 {
        (body.to_vec(), body.get(header_len..).unwrap_or(&[]))
    } else {
        let mut f = header(&fx.key, body).to_vec();
        f.extend_from_slice(body);
        (f, body)
    };
    std::fs::write(&fx.entry, &file).unwrap();
    // SAFETY: live handles, disposed at the end (the engine first).
    unsafe {
        let mut cache = std::ptr::null_mut();
        assert!(ok(JitcoreCreateDiskCache(&mut cache, fx.cdir.as_ptr(), 0), "JitcoreCreateDiskCache"));
        let ee = engine(tm(2));
        JitcoreEngineSetDiskCache(ee, cache);
        let m = module(KNOWN_NAME, KNOWN_IR.as_bytes()).unwrap();
        assert!(ok(JitcoreEngineAddModule(ee, m), "JitcoreEngineAddModule"));
        let addr = lookup_msg(ee, "f");
        let st = stats(ee);
        let addr = addr.unwrap_or_else(|e| panic!("f not found with a bad disk entry: {e} ({st:?})"));
        if st.CacheHits == 0 || object == &fx.known[..] {
            assert_eq!(call_known(addr), 42, "{st:?}");
        }
        JitcoreDisposeEngine(ee);
        JitcoreDisposeObjectCache(cache);
    }
    let _ = std::fs::remove_file(&fx.entry);
});
