//! The built-in disk object cache: one file per compiled module, named by
//! the module's content key (see `key.rs`), shared safely by every thread
//! and process that uses the same directory.
//!
//! # Entries
//!
//! `<dir>/<64 hex digits of the key>.jco`, little-endian:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 8  | magic `\x89JITOBJ\n` |
//! | 8  | 4  | cache-format version ([`CACHE_FORMAT_VERSION`]) |
//! | 12 | 4  | header length (88) |
//! | 16 | 32 | the key |
//! | 48 | 8  | object length in bytes (never 0) |
//! | 56 | 32 | checksum: BLAKE3 of bytes 0..56 followed by the object |
//! | 88 | n  | the object (relocatable ELF, as the compiler made it) |
//!
//! An entry is served only if every field checks out: the magic, version
//! and header length, the length against the file's size and against
//! [`MAX_OBJECT`], the checksum, and the key against the one looked up.
//! An entry file of at most 64 KiB (a small module's) is read in one call
//! and its header checked first. Of a larger file the header is read and
//! checked first, so a file whose header is wrong (however big, sparse or
//! not) costs one 88-byte read; only then is exactly the stated length
//! read, into a fallibly allocated buffer. Anything else (truncated, a
//! flipped bit anywhere, a file that is not an entry, an entry stored under
//! another key's name, an empty file) is deleted, counted, reported through
//! the error log as a `CACHE` error, and the module is compiled.
//!
//! # Writing
//!
//! An entry is written to a temporary file in the same directory
//! (`.<key>.<pid>-<n>.jco-tmp`), fsync'ed, given the current time, and
//! renamed over `<key>.jco`. Readers so see either no entry, a previous
//! complete one, or the new complete one; a writer that dies leaves only a
//! temporary file, which is never read and is deleted by a later scan once
//! it is an hour old. Two writers of one key both rename a complete entry.
//!
//! # Size cap
//!
//! With a cap, when this process's estimate of the bytes in the directory
//! (the last scan plus what it wrote since) exceeds it, or its last scan
//! is more than 10 s old, a write is followed by a scan of the directory,
//! and the least recently used entries are deleted until the entries fit.
//! (So with several writers the directory can exceed the cap by what the
//! others wrote since this process's last scan, until one of them scans;
//! opening a cache trims the directory too.) A hit sets an entry's modification time to now, so the
//! file times are the LRU order every process sees; no index file exists
//! that writers could disagree on. Files that are not entries are never
//! deleted or counted.
//!
//! # Degrading
//!
//! A directory that cannot be created, read or written, or a full disk,
//! never fails a lookup: the module is compiled, the failure is counted
//! (`IOErrors`), and the first one is reported (`IO`, not fatal) through the
//! error log of the engine or session that was compiling, once per cache.

use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::key::{module_key, to_hex, Key, CACHE_FORMAT_VERSION, KEY_LEN};
use super::{CacheContext, ObjectCache};
use crate::error::{Error, Result};
use crate::llvm::blake3::Blake3;
use crate::module::Module;

/// The first bytes of every entry.
pub(crate) const MAGIC: [u8; 8] = *b"\x89JITOBJ\n";
/// Bytes before the object.
pub(crate) const HEADER_LEN: usize = 88;
const CHECKSUMMED_HEADER: usize = 56;
/// Entries' file name extension.
pub(crate) const ENTRY_SUFFIX: &str = ".jco";
const TEMP_SUFFIX: &str = ".jco-tmp";
/// Temporary files older than this belong to a writer that died.
const STALE_TEMP: Duration = Duration::from_secs(3600);
/// With a cap, the directory is scanned at least this often while writing,
/// so what other processes wrote is seen even when this one writes little.
const RESCAN: Duration = Duration::from_secs(10);

/// Entries up to this many bytes are read in one call (a tiny module's is
/// about 600); larger ones header first (see `read_entry`).
const WHOLE_READ: usize = 64 << 10;
/// No object is this big (compiled modules are kilobytes to megabytes): an
/// entry whose header states more is corrupt and is never read into memory,
/// and a bigger object is not stored.
pub(crate) const MAX_OBJECT: u64 = 1 << 30;

/// Statistics of a disk cache. The counters are this cache handle's, since
/// it was created; `BytesOnDisk` and `Entries` describe the directory now,
/// whoever wrote it. A zeroed struct is valid; fields may be added at the
/// end in later versions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskCacheStatistics {
    /// Lookups answered with a verified entry.
    pub hits: u64,
    /// Lookups that found no usable entry (none, corrupt, or unreadable).
    pub misses: u64,
    /// Entries written.
    pub writes: u64,
    /// Entries that failed verification and were deleted (never loaded).
    pub corrupt_dropped: u64,
    /// Entries deleted to keep the directory under the size cap.
    pub evictions: u64,
    /// Bytes of entries in the directory now.
    pub bytes_on_disk: u64,
    /// Entries in the directory now.
    pub entries: u64,
    /// I/O failures (directory not usable, write failed, disk full); the
    /// first one was reported through the error reporter.
    pub io_errors: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
    corrupt: AtomicU64,
    evictions: AtomicU64,
    io_errors: AtomicU64,
}

/// A directory of compiled objects keyed by content.
pub struct DiskCache {
    dir: PathBuf,
    max_bytes: u64,
    counters: Counters,
    /// Whether the directory exists (made if it did not).
    dir_ready: AtomicBool,
    /// Whether an I/O problem was reported already.
    reported: AtomicBool,
    /// Bytes in the directory as of the last scan, plus what we wrote since.
    approx_bytes: AtomicU64,
    last_scan: Mutex<Instant>,
    next_temp: AtomicU64,
    /// Serializes this process's evictions.
    evicting: Mutex<()>,
}

/// One entry found by a scan.
struct Found {
    path: PathBuf,
    size: u64,
    used: SystemTime,
}

impl DiskCache {
    /// A cache in `dir` (created, with its parents, if missing) holding at
    /// most `max_bytes` of entries (0: no cap). A directory that cannot be
    /// created is not an error: the cache then compiles everything and says
    /// so once, on first use. Errors: `INVALID_ARGUMENT` for an empty path.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Arc<DiskCache>> {
        if dir.as_os_str().is_empty() {
            return Err(Error::invalid_argument("the object cache directory must not be empty"));
        }
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let cache = DiskCache {
            dir,
            max_bytes,
            counters: Counters::default(),
            dir_ready: AtomicBool::new(false),
            reported: AtomicBool::new(false),
            approx_bytes: AtomicU64::new(0),
            last_scan: Mutex::new(Instant::now()),
            next_temp: AtomicU64::new(0),
            evicting: Mutex::new(()),
        };
        if cache.make_dir().is_ok() {
            if max_bytes != 0 {
                let (found, _) = cache.scan();
                let total = found.iter().map(|f| f.size).sum();
                cache.approx_bytes.store(total, Relaxed);
                if total > max_bytes {
                    cache.evict();
                }
            } else {
                cache.remove_stale_temps();
            }
        } else {
            Counters::bump(&cache.counters.io_errors);
        }
        Ok(Arc::new(cache))
    }

    /// The directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The path of the entry for `key`.
    pub fn entry_path(&self, key: &Key) -> PathBuf {
        let mut name = to_hex(key);
        name.push_str(ENTRY_SUFFIX);
        self.dir.join(name)
    }

    /// The counters, and what the directory holds now.
    pub fn statistics(&self) -> DiskCacheStatistics {
        let (found, _) = self.scan();
        let c = &self.counters;
        DiskCacheStatistics {
            hits: c.hits.load(Relaxed),
            misses: c.misses.load(Relaxed),
            writes: c.writes.load(Relaxed),
            corrupt_dropped: c.corrupt.load(Relaxed),
            evictions: c.evictions.load(Relaxed),
            bytes_on_disk: found.iter().map(|f| f.size).sum(),
            entries: found.len() as u64,
            io_errors: c.io_errors.load(Relaxed),
        }
    }

    fn make_dir(&self) -> std::io::Result<()> {
        if self.dir_ready.load(Relaxed) {
            return Ok(());
        }
        fs::create_dir_all(&self.dir)?;
        if !fs::metadata(&self.dir)?.is_dir() {
            return Err(std::io::Error::other("it exists and is not a directory"));
        }
        self.dir_ready.store(true, Relaxed);
        Ok(())
    }

    /// Whether the directory is there (making it if needed); reports once if not.
    fn usable_dir(&self, cx: &CacheContext<'_>) -> bool {
        match self.make_dir() {
            Ok(()) => true,
            Err(e) => {
                self.problem(cx, format!("the directory cannot be created: {e}"));
                false
            }
        }
    }

    /// Counts an I/O failure and reports the first one.
    fn problem(&self, cx: &CacheContext<'_>, what: String) {
        Counters::bump(&self.counters.io_errors);
        if !self.reported.swap(true, Relaxed) {
            cx.log.report(
                Error::io(format!(
                    "disk object cache '{}' degraded: {what}. Modules it cannot serve are compiled as usual \
                     (reported once; later I/O failures are only counted in IOErrors)",
                    self.dir.display()
                )),
                false,
            );
        }
    }

    /// Reads and verifies the entry for `key`; `None` is a miss.
    fn read_entry(&self, key: &Key, module: &Module, cx: &CacheContext<'_>) -> Option<Vec<u8>> {
        let path = self.entry_path(key);
        // Non-blocking: something that is not a file (a FIFO) must not hang
        // the lookup; regular files ignore the flag.
        let mut file = match OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // The directory may have been deleted under us.
                if !self.dir.is_dir() {
                    self.dir_ready.store(false, Relaxed);
                }
                return None;
            }
            Err(e) => {
                self.problem(cx, format!("cannot open entry '{}': {e}", path.display()));
                return None;
            }
        };
        let size = match file.metadata() {
            Ok(m) if !m.is_file() => {
                self.drop_corrupt(&path, &file, "it is not a regular file", module, cx);
                return None;
            }
            Ok(m) => m.len(),
            Err(e) => {
                self.problem(cx, format!("cannot read entry '{}': {e}", path.display()));
                return None;
            }
        };
        // An entry of at most WHOLE_READ bytes is read in one call, the
        // header checked from its first bytes. A larger file's header is
        // read first: one whose header does not state exactly the file's
        // length, within the bound, is dropped without reading more than
        // these 88 bytes (a huge or sparse file costs nothing).
        let whole = size <= WHOLE_READ as u64;
        let mut head = [0u8; HEADER_LEN];
        let mut bytes = Vec::new();
        let read = if whole {
            bytes.resize(size as usize, 0);
            read_up_to(&mut file, &mut bytes)
        } else {
            read_up_to(&mut file, &mut head)
        };
        let read = match read {
            Ok(n) => n,
            Err(e) => {
                self.problem(cx, format!("cannot read entry '{}': {e}", path.display()));
                return None;
            }
        };
        let got = read.min(HEADER_LEN);
        if whole {
            head[..got].copy_from_slice(&bytes[..got]);
        }
        let len = match check_header(&head[..got], size) {
            Ok(len) => len,
            Err(why) => {
                self.drop_corrupt(&path, &file, &why, module, cx);
                return None;
            }
        };
        let object = if whole {
            // The header states `size - HEADER_LEN` bytes (checked above).
            if read < bytes.len() {
                self.drop_corrupt(&path, &file, "it was truncated while being read", module, cx);
                return None;
            }
            bytes.drain(..HEADER_LEN);
            bytes
        } else {
            // `len <= MAX_OBJECT` (1 GiB), so it fits in usize; the allocation is
            // fallible all the same (an address-space limit must not abort).
            let mut object = Vec::new();
            if let Err(e) = object.try_reserve_exact(len as usize) {
                self.problem(cx, format!("cannot read entry '{}': no memory for {len} bytes ({e})", path.display()));
                return None;
            }
            object.resize(len as usize, 0);
            match file.read_exact(&mut object) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                    self.drop_corrupt(&path, &file, "it was truncated while being read", module, cx);
                    return None;
                }
                Err(e) => {
                    self.problem(cx, format!("cannot read entry '{}': {e}", path.display()));
                    return None;
                }
            }
            object
        };
        if let Err(why) = check_object(&head, &object, key) {
            self.drop_corrupt(&path, &file, &why, module, cx);
            return None;
        }
        // Most recently used: every process orders evictions by this time.
        let now = SystemTime::now();
        let _ = file.set_times(FileTimes::new().set_accessed(now).set_modified(now));
        Some(object)
    }

    /// Deletes a bad entry (unless another writer already replaced it),
    /// counts and reports it.
    fn drop_corrupt(&self, path: &Path, file: &File, why: &str, module: &Module, cx: &CacheContext<'_>) {
        Counters::bump(&self.counters.corrupt);
        let same = match (file.metadata(), fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        let removed = same && fs::remove_file(path).is_ok();
        cx.log.report(
            Error::cache(format!(
                "object cache entry '{}' for module '{}' is corrupt ({why}): {}, compiling instead",
                path.display(),
                module.name(),
                if removed { "deleted it" } else { "ignored it" }
            )),
            false,
        );
    }

    /// Writes the entry for `key` atomically.
    fn write_entry(&self, key: &Key, object: &[u8], cx: &CacheContext<'_>) {
        let path = self.entry_path(key);
        let n = self.next_temp.fetch_add(1, Relaxed);
        let temp = self.dir.join(format!(".{}.{}-{n}{TEMP_SUFFIX}", to_hex(key), std::process::id()));
        let mut file = match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // The directory went away: make it again, once.
                self.dir_ready.store(false, Relaxed);
                if !self.usable_dir(cx) {
                    return;
                }
                match OpenOptions::new().write(true).create_new(true).open(&temp) {
                    Ok(f) => f,
                    Err(e) => return self.problem(cx, format!("cannot create '{}': {e}", temp.display())),
                }
            }
            Err(e) => return self.problem(cx, format!("cannot create '{}': {e}", temp.display())),
        };
        let header = header(key, object);
        let now = SystemTime::now();
        let written = file
            .write_all(&header)
            .and_then(|_| file.write_all(object))
            .and_then(|_| file.sync_all())
            .and_then(|_| file.set_times(FileTimes::new().set_accessed(now).set_modified(now)));
        drop(file);
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return self.problem(cx, format!("cannot write entry '{}': {e}", temp.display()));
        }
        if let Err(e) = fs::rename(&temp, &path) {
            let _ = fs::remove_file(&temp);
            return self.problem(cx, format!("cannot rename '{}' to '{}': {e}", temp.display(), path.display()));
        }
        Counters::bump(&self.counters.writes);
        let size = (HEADER_LEN + object.len()) as u64;
        let approx = self.approx_bytes.fetch_add(size, Relaxed) + size;
        if self.max_bytes != 0 && (approx > self.max_bytes || self.scanned_long_ago()) {
            self.evict();
        }
    }

    /// The entries in the directory (deleting temporary files of writers
    /// that died), and whether the directory could be read.
    fn scan(&self) -> (Vec<Found>, bool) {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return (Vec::new(), false);
        };
        let now = SystemTime::now();
        let mut found = Vec::new();
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let (entry_file, temp_file) = (is_entry_name(name), is_temp_name(name));
            if !entry_file && !temp_file {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if entry_file {
                found.push(Found { path: entry.path(), size: meta.len(), used });
            } else if now.duration_since(used).is_ok_and(|age| age > STALE_TEMP) {
                let _ = fs::remove_file(entry.path());
            }
        }
        (found, true)
    }

    fn scanned_long_ago(&self) -> bool {
        self.last_scan.lock().unwrap_or_else(|p| p.into_inner()).elapsed() > RESCAN
    }

    /// Deletes temporary files of writers that died (an hour or more ago),
    /// reading only the names of entries.
    fn remove_stale_temps(&self) {
        let Ok(dir) = fs::read_dir(&self.dir) else { return };
        let now = SystemTime::now();
        for entry in dir.flatten() {
            let name = entry.file_name();
            if name.to_str().is_some_and(is_temp_name) {
                let modified = entry.metadata().and_then(|m| m.modified());
                if modified.is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE_TEMP)) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Deletes least recently used entries until the directory fits the cap.
    fn evict(&self) {
        let _one_at_a_time = self.evicting.lock().unwrap_or_else(|p| p.into_inner());
        let (mut found, ok) = self.scan();
        *self.last_scan.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        if !ok {
            return;
        }
        let mut total: u64 = found.iter().map(|f| f.size).sum();
        found.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.path.cmp(&b.path)));
        for f in &found {
            if total <= self.max_bytes {
                break;
            }
            match fs::remove_file(&f.path) {
                Ok(()) => {
                    Counters::bump(&self.counters.evictions);
                    total -= f.size;
                }
                // Another process evicted it first.
                Err(e) if e.kind() == ErrorKind::NotFound => total -= f.size,
                Err(_) => {}
            }
        }
        self.approx_bytes.store(total, Relaxed);
    }
}

impl Counters {
    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }
}

impl ObjectCache for DiskCache {
    fn lookup(&self, module: &Arc<Module>, cx: &CacheContext<'_>) -> Option<Vec<u8>> {
        let found = if self.usable_dir(cx) {
            self.read_entry(&module_key(module, cx.spec, cx.pipeline), module, cx)
        } else {
            None
        };
        Counters::bump(if found.is_some() { &self.counters.hits } else { &self.counters.misses });
        found
    }

    fn store(&self, module: &Arc<Module>, object: &[u8], cx: &CacheContext<'_>) {
        if object.is_empty() || object.len() as u64 > MAX_OBJECT || !self.usable_dir(cx) {
            return;
        }
        self.write_entry(&module_key(module, cx.spec, cx.pipeline), object, cx);
    }
}

/// `<64 lowercase hex digits>.jco`.
fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(ENTRY_SUFFIX)
        .is_some_and(|h| h.len() == 2 * KEY_LEN && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// `.<key>.<pid>-<n>.jco-tmp`.
fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

fn checksum(header: &[u8], object: &[u8]) -> Key {
    Blake3::new().update(&header[..CHECKSUMMED_HEADER]).update(object).finish()
}

/// The header of the entry of `object` under `key`.
pub fn header(key: &Key, object: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&CACHE_FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    h[16..48].copy_from_slice(key);
    h[48..56].copy_from_slice(&(object.len() as u64).to_le_bytes());
    let sum = checksum(&h, object);
    h[56..88].copy_from_slice(&sum);
    h
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// Reads into `buf` until it is full or the file ends; the bytes read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Checks the header of an entry file of `file_len` bytes (`head` is the
/// file's first `min(file_len, HEADER_LEN)` bytes): magic, version, header
/// length, and the stated object length against the file's size and
/// [`MAX_OBJECT`]. Returns the object's length; the error says what is wrong.
pub fn check_header(head: &[u8], file_len: u64) -> std::result::Result<u64, String> {
    if file_len == 0 {
        return Err("the file is empty".into());
    }
    if file_len < HEADER_LEN as u64 || head.len() < HEADER_LEN {
        return Err(format!("{file_len} bytes, shorter than the {HEADER_LEN}-byte header"));
    }
    if head[0..8] != MAGIC {
        return Err("not a jitcore cache entry (bad magic)".into());
    }
    let version = u32_at(head, 8);
    if version != CACHE_FORMAT_VERSION {
        return Err(format!("format version {version}, expected {CACHE_FORMAT_VERSION}"));
    }
    let header_len = u32_at(head, 12);
    if header_len as usize != HEADER_LEN {
        return Err(format!("header length {header_len}, expected {HEADER_LEN}"));
    }
    let len = u64::from_le_bytes(head[48..56].try_into().expect("8 bytes"));
    let have = file_len - HEADER_LEN as u64;
    if len != have {
        return Err(format!("the header says {len} bytes of object, the file has {have} (truncated or extended)"));
    }
    if len == 0 {
        return Err("the object is empty".into());
    }
    if len > MAX_OBJECT {
        return Err(format!("the header says {len} bytes of object, more than the largest object ({MAX_OBJECT})"));
    }
    Ok(len)
}

/// Checks an entry's object against its (already checked) header and the
/// key it was looked up by: the checksum, then the key.
pub fn check_object(head: &[u8; HEADER_LEN], object: &[u8], key: &Key) -> std::result::Result<(), String> {
    if checksum(head, object)[..] != head[56..88] {
        return Err("checksum mismatch".into());
    }
    if head[16..48] != key[..] {
        return Err(format!("it holds the entry of key {}", to_hex(&head[16..48])));
    }
    Ok(())
}

/// Checks a whole entry file against the key it was looked up by; the
/// error says what is wrong with it.
#[cfg(test)]
fn verify(bytes: &[u8], key: &Key) -> std::result::Result<(), String> {
    let head = &bytes[..bytes.len().min(HEADER_LEN)];
    check_header(head, bytes.len() as u64)?;
    let head: &[u8; HEADER_LEN] = head.try_into().expect("a checked header is whole");
    check_object(head, &bytes[HEADER_LEN..], key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::pipeline::IrPipeline;
    use crate::llvm::target_machine::TargetSpec;
    use crate::report::ErrorLog;

    const SUM: &str = "define i32 @sum(i32 %a, i32 %b) {\n  %r = add i32 %a, %b\n  ret i32 %r\n}\n";

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "jitcore-disk-{tag}-{}-{}",
            std::process::id(),
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos()
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn entry(key: &Key, object: &[u8]) -> Vec<u8> {
        let mut v = header(key, object).to_vec();
        v.extend_from_slice(object);
        v
    }

    #[test]
    fn verify_accepts_good_entries_and_names_every_defect() {
        let key = [7u8; 32];
        let good = entry(&key, b"\x7fELF and then some object bytes");
        assert_eq!(verify(&good, &key), Ok(()));
        assert!(verify(&[], &key).unwrap_err().contains("empty"));
        assert!(verify(&good[..40], &key).unwrap_err().contains("shorter"));
        assert!(verify(&good[..good.len() - 1], &key).unwrap_err().contains("truncated"));
        assert!(verify(&entry(&key, b""), &key).unwrap_err().contains("empty"));
        assert!(verify(&entry(&[8u8; 32], b"obj"), &key).unwrap_err().contains("entry of key 0808"));
        assert!(verify(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".repeat(10).as_slice(), &key)
            .unwrap_err()
            .contains("magic"));
        // every single bit flip anywhere is caught
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                assert!(verify(&bad, &key).is_err(), "flip of bit {bit} of byte {i} went unnoticed");
            }
        }
    }

    #[test]
    fn entry_names() {
        assert!(is_entry_name(&format!("{}.jco", "a".repeat(64))));
        assert!(!is_entry_name(&format!("{}.jco", "A".repeat(64))));
        assert!(!is_entry_name(&format!("{}.jco", "a".repeat(63))));
        assert!(!is_entry_name("notes.txt"));
        assert!(!is_entry_name(&format!(".{}.1-0.jco-tmp", "a".repeat(64))));
    }

    #[test]
    fn store_then_lookup_then_corrupt() {
        let dir = temp_dir("roundtrip");
        let cache = DiskCache::open(&dir.join("nested/deeper"), 0).unwrap();
        let spec = TargetSpec::host(2);
        let log = ErrorLog::default();
        let cx = CacheContext { spec: &spec, pipeline: &IrPipeline::Default, log: &log };
        let m = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        assert_eq!(cache.lookup(&m, &cx), None);
        cache.store(&m, b"pretend object", &cx);
        assert_eq!(cache.lookup(&m, &cx).as_deref(), Some(&b"pretend object"[..]));
        let st = cache.statistics();
        assert_eq!((st.hits, st.misses, st.writes, st.entries), (1, 1, 1, 1));
        assert_eq!(st.bytes_on_disk, (HEADER_LEN + 14) as u64);
        // another opt level is another key
        let spec3 = TargetSpec::host(3);
        assert_eq!(cache.lookup(&m, &CacheContext { spec: &spec3, pipeline: &IrPipeline::Default, log: &log }), None);
        // and so is another IR pipeline
        assert_eq!(cache.lookup(&m, &CacheContext { spec: &spec, pipeline: &IrPipeline::None, log: &log }), None);
        // flip the last byte: dropped, counted, reported
        let path = cache.entry_path(&module_key(&m, &spec, &IrPipeline::Default));
        let mut bytes = fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 0x40;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(cache.lookup(&m, &cx), None);
        assert!(!path.exists());
        assert_eq!(cache.statistics().corrupt_dropped, 1);
        let reported = log.since(0);
        assert!(reported.is_empty(), "corruption is not fatal");
        // no temporary files are left behind
        let names: Vec<String> =
            fs::read_dir(cache.dir()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert!(names.is_empty(), "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A sparse file of 3.5 GiB as the entry: before the header was read
    /// first, each lookup read it whole (17-28 s, 3.6 GiB of memory) and
    /// aborted the process under an address-space limit. Now it is dropped
    /// as corrupt after one 88-byte read. The cases run in a child process
    /// (this test binary again) whose address space is limited to what it
    /// uses plus 256 MiB, so any large allocation would abort it.
    #[test]
    fn huge_sparse_entries_are_dropped_without_being_read() {
        if !crate::test_child::in_own_process("cache::disk::tests::huge_sparse_entries_are_dropped_without_being_read") {
            return;
        }
        let dir = temp_dir("sparse");
        let cache = DiskCache::open(&dir, 0).unwrap();
        let spec = TargetSpec::host(2);
        let log = ErrorLog::default();
        let cx = CacheContext { spec: &spec, pipeline: &IrPipeline::Default, log: &log };
        let m = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        let key = module_key(&m, &spec, &IrPipeline::Default);
        let path = cache.entry_path(&key);
        const HUGE: u64 = 7 << 29; // 3.5 GiB
        let object = b"\x7fELF pretend object".to_vec();
        // (the file's first bytes, the length it is extended to)
        let mut claims_all = header(&key, &object);
        claims_all[48..56].copy_from_slice(&(HUGE - HEADER_LEN as u64).to_le_bytes());
        let mut claims_max = header(&key, &object);
        claims_max[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
        let cases: Vec<(Vec<u8>, u64, &str)> = vec![
            (entry(&key, &object), HUGE, "truncated or extended"),
            (claims_all.to_vec(), HUGE, "more than the largest object"),
            (claims_max.to_vec(), (HEADER_LEN + object.len()) as u64, "truncated or extended"),
            (Vec::new(), HUGE, "bad magic"),
        ];
        crate::test_child::limit_address_space(256 << 20);
        // The limit bites: reading such a file whole (the old way, with
        // `Vec::with_capacity(size)`) would have aborted this process.
        // (black_box: an allocation nothing uses may be optimized away, and
        // then it cannot fail.)
        let mut probe = Vec::<u8>::new();
        let reserved = probe.try_reserve_exact(HUGE as usize);
        std::hint::black_box(&mut probe);
        assert!(reserved.is_err(), "RLIMIT_AS is in force");
        drop(probe);
        for (i, (bytes, len, why)) in cases.iter().enumerate() {
            fs::write(&path, bytes).unwrap();
            File::options().write(true).open(&path).unwrap().set_len(*len).unwrap();
            let mut head = [0u8; HEADER_LEN];
            File::open(&path).unwrap().read_exact(&mut head).unwrap();
            let said = check_header(&head, *len).unwrap_err();
            assert!(said.contains(why), "case {i}: {said}");
            let start = Instant::now();
            assert_eq!(cache.lookup(&m, &cx), None, "case {i}");
            assert!(start.elapsed() < Duration::from_secs(2), "case {i} took {:?}", start.elapsed());
            assert!(!path.exists(), "case {i}: the entry is deleted");
            assert_eq!(cache.statistics().corrupt_dropped, i as u64 + 1, "case {i}: counted");
        }
        // and a good entry is still served under the limit
        cache.store(&m, &object, &cx);
        assert_eq!(cache.lookup(&m, &cx).as_deref(), Some(&object[..]));
        let st = cache.statistics();
        assert_eq!((st.hits, st.misses, st.corrupt_dropped), (1, cases.len() as u64, cases.len() as u64));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn eviction_keeps_the_most_recently_used() {
        let dir = temp_dir("evict");
        let spec = TargetSpec::host(2);
        let log = ErrorLog::default();
        let cx = CacheContext { spec: &spec, pipeline: &IrPipeline::Default, log: &log };
        let object = vec![0x5au8; 1000];
        let size = (HEADER_LEN + object.len()) as u64;
        let cache = DiskCache::open(&dir, 3 * size + size / 2).unwrap();
        let modules: Vec<_> = (0..6)
            .map(|i| {
                Module::from_ir(
                    &format!("m{i}"),
                    SUM.replace("add", ["add", "sub", "mul", "and", "or", "xor"][i]).as_bytes(),
                )
                .unwrap()
            })
            .collect();
        for m in &modules[..3] {
            cache.store(m, &object, &cx);
        }
        assert_eq!(cache.statistics().entries, 3);
        // use the oldest: it becomes the newest
        assert!(cache.lookup(&modules[0], &cx).is_some());
        cache.store(&modules[3], &object, &cx);
        let st = cache.statistics();
        assert_eq!((st.entries, st.evictions), (3, 1));
        assert!(st.bytes_on_disk <= cache.max_bytes());
        assert!(cache.lookup(&modules[1], &cx).is_none(), "the least recently used entry goes first");
        for m in [&modules[0], &modules[2], &modules[3]] {
            assert!(cache.lookup(m, &cx).is_some());
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn engines_take_it_as_their_cache() {
        let dir = temp_dir("engine");
        let cache = DiskCache::open(&dir, 0).unwrap();
        for run in 0..2 {
            let engine = crate::Engine::new(TargetSpec::host(2)).unwrap();
            engine.set_cache(Some(cache.clone()));
            let module = Module::from_ir("sum", SUM.as_bytes()).unwrap();
            engine.add_module(&module).unwrap();
            let addr = engine.lookup("sum").unwrap();
            // Compiled or served, the module holds no IR any more (it is
            // rebuilt from its source if asked for).
            assert!(!module.holds_ir());
            // SAFETY: `sum` is the i32(i32, i32) function defined above, live
            // while the engine is.
            let f: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(addr as usize) };
            assert_eq!(f(40, 2), 42);
            let st = engine.statistics();
            assert_eq!((st.modules_compiled, st.cache_hits), if run == 0 { (1, 0) } else { (0, 1) });
        }
        let st = cache.statistics();
        assert_eq!((st.hits, st.misses, st.writes, st.entries), (1, 1, 1, 1));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_temporary_files_are_removed() {
        let dir = temp_dir("stale");
        fs::create_dir_all(&dir).unwrap();
        let old = dir.join(format!(".{}.1-0{TEMP_SUFFIX}", "a".repeat(64)));
        let fresh = dir.join(format!(".{}.2-0{TEMP_SUFFIX}", "b".repeat(64)));
        let other = dir.join(".hidden-notes");
        for p in [&old, &fresh, &other] {
            fs::write(p, b"partial").unwrap();
        }
        let long_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
        File::options().write(true).open(&old).unwrap().set_modified(long_ago).unwrap();
        File::options().write(true).open(&other).unwrap().set_modified(long_ago).unwrap();
        let cache = DiskCache::open(&dir, 0).unwrap();
        assert!(!old.exists() && fresh.exists() && other.exists());
        assert_eq!(cache.statistics().entries, 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unusable_directory_degrades_and_reports_once() {
        let cache = DiskCache::open(Path::new("/dev/null/jitcore-cache"), 0).unwrap();
        let spec = TargetSpec::host(2);
        let log = ErrorLog::default();
        let cx = CacheContext { spec: &spec, pipeline: &IrPipeline::Default, log: &log };
        let m = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        for _ in 0..3 {
            assert_eq!(cache.lookup(&m, &cx), None);
            cache.store(&m, b"object", &cx);
        }
        let st = cache.statistics();
        assert_eq!((st.hits, st.misses, st.writes, st.entries), (0, 3, 0, 0));
        assert!(st.io_errors >= 3);
        assert_eq!(log.mark(), 1, "one report");
        assert!(DiskCache::open(Path::new(""), 0).is_err());
    }
}
