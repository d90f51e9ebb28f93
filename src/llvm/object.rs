//! Checks that bytes are a relocatable object file for this host before any
//! of them reach the linker: ORC trusts its input, jitcore does not.

use std::ptr;

use llvm_sys::object::*;

use super::buffer::MemoryBuffer;
use super::take_message;
use crate::error::{Error, Result};

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ET_REL: u16 = 1;

/// The ELF machine number of the host architecture.
fn host_elf_machine() -> Option<u16> {
    if cfg!(target_arch = "x86_64") {
        Some(62)
    } else if cfg!(target_arch = "aarch64") {
        Some(183)
    } else if cfg!(target_arch = "riscv64") {
        Some(243)
    } else {
        None
    }
}

/// What a checked object file defines.
#[derive(Debug, Default)]
pub struct ObjectSummary {
    /// Global (non-local) symbols the object defines.
    pub defined: Vec<String>,
    /// Global function symbols with their sizes (for profiler maps).
    pub functions: Vec<(String, u64)>,
    /// Bytes of the sections that are loaded into memory (code and data).
    pub loaded_bytes: u64,
}

/// Validates `buf` (named `name` in messages) as a relocatable ELF object
/// for the host, fully parsed by LLVM's object reader, and lists what it
/// defines. Errors have code `INVALID_OBJECT`. The same buffer can then be
/// handed to the linker, so the bytes are copied once.
pub fn check_object(buf: &MemoryBuffer, name: &str) -> Result<ObjectSummary> {
    let data = buf.bytes();
    let bad = |why: &str| Error::invalid_object(format!("'{name}' is not a usable object file: {why}"));
    // Not an object file at all: said in LLVM's words (what lli and LLVM's
    // object reader print), with the reason.
    if data.len() < 4 || &data[0..4] != ELF_MAGIC {
        let why = if data.is_empty() { "the file is empty".to_string() } else { "no ELF magic number".to_string() };
        return Err(bad(&format!("The file was not recognized as a valid object file ({why})")));
    }
    if data.len() < 64 {
        return Err(bad(&format!("{} bytes is too short for an ELF header", data.len())));
    }
    if data[4] != 2 || data[5] != 1 {
        return Err(bad("not a 64-bit little-endian ELF file"));
    }
    let e_type = u16::from_le_bytes([data[16], data[17]]);
    if e_type != ET_REL {
        return Err(bad(&format!("ELF type {e_type} is not a relocatable object (ET_REL)")));
    }
    let machine = u16::from_le_bytes([data[18], data[19]]);
    if Some(machine) != host_elf_machine() {
        return Err(bad(&format!("ELF machine {machine} is not this host's architecture")));
    }
    let mut msg = ptr::null_mut();
    // SAFETY: buf is live for the call (LLVMCreateBinary does not take it) and
    // the binary, which borrows buf, is disposed before buf is dropped. Only
    // creation is used: LLVM-C's symbol accessors call report_fatal_error on
    // malformed input, so the symbol table is read by `read_symbols` instead.
    unsafe {
        let bin = LLVMCreateBinary(buf.as_raw(), ptr::null_mut(), &mut msg);
        if bin.is_null() {
            return Err(bad(&take_message(msg)));
        }
        LLVMDisposeBinary(bin);
    }
    read_symbols(data).map_err(|why| bad(&why))
}

/// What an object LLVM just generated defines: only the symbol table is
/// read (bounds-checked), without `check_object`'s full parse, which such
/// an object does not need.
pub fn summarize_object(buf: &MemoryBuffer, name: &str) -> Result<ObjectSummary> {
    read_symbols(buf.bytes())
        .map_err(|why| Error::internal(format!("the object compiled from '{name}' cannot be read: {why}")))
}

fn u16_at(d: &[u8], off: usize) -> std::result::Result<u16, String> {
    d.get(off..off + 2).map(|b| u16::from_le_bytes([b[0], b[1]])).ok_or_else(|| "truncated".to_string())
}

fn u32_at(d: &[u8], off: usize) -> std::result::Result<u32, String> {
    d.get(off..off + 4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
        .ok_or_else(|| "truncated".to_string())
}

fn u64_at(d: &[u8], off: usize) -> std::result::Result<u64, String> {
    d.get(off..off + 8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or_else(|| "truncated".to_string())
}

struct Section {
    kind: u32,
    flags: u64,
    offset: usize,
    size: usize,
    link: u32,
    entsize: usize,
}

const SHT_SYMTAB: u32 = 2;
const SHT_NOBITS: u32 = 8;
const SHF_ALLOC: u64 = 2;
const STT_FUNC: u8 = 2;

/// Reads the section headers and the symbol table of an ELF64 LE file with
/// every offset bounds-checked, returning the defined global symbols.
fn read_symbols(d: &[u8]) -> std::result::Result<ObjectSummary, String> {
    let shoff = u64_at(d, 0x28)? as usize;
    let shentsize = u16_at(d, 0x3a)? as usize;
    let shnum = u16_at(d, 0x3c)? as usize;
    if shnum == 0 {
        return Err("no section headers".into());
    }
    if shentsize < 64 {
        return Err(format!("section header size {shentsize} is too small"));
    }
    let table_end = shnum.checked_mul(shentsize).and_then(|n| n.checked_add(shoff));
    if table_end.is_none_or(|end| end > d.len()) {
        return Err("section header table lies outside the file (truncated?)".into());
    }
    let mut sections = Vec::with_capacity(shnum);
    for i in 0..shnum {
        let h = shoff + i * shentsize;
        let s = Section {
            kind: u32_at(d, h + 4)?,
            flags: u64_at(d, h + 8)?,
            offset: u64_at(d, h + 0x18)? as usize,
            size: u64_at(d, h + 0x20)? as usize,
            link: u32_at(d, h + 0x28)?,
            entsize: u64_at(d, h + 0x38)? as usize,
        };
        if s.kind != SHT_NOBITS && s.offset.checked_add(s.size).is_none_or(|end| end > d.len()) {
            return Err(format!("section {i} lies outside the file (truncated?)"));
        }
        sections.push(s);
    }
    let mut out = ObjectSummary::default();
    out.loaded_bytes = sections.iter().filter(|s| s.flags & SHF_ALLOC != 0).map(|s| s.size as u64).sum();
    for symtab in sections.iter().filter(|s| s.kind == SHT_SYMTAB) {
        if symtab.entsize != 24 {
            return Err(format!("symbol table entry size {} is not 24", symtab.entsize));
        }
        let strtab = sections.get(symtab.link as usize).ok_or("symbol table names no string table")?;
        let strings = &d[strtab.offset..strtab.offset + strtab.size];
        for e in (symtab.offset..symtab.offset + symtab.size).step_by(24).skip(1) {
            let name_off = u32_at(d, e)? as usize;
            let info = d[e + 4];
            let shndx = u16_at(d, e + 6)?;
            if shndx != 0 && shndx < 0xff00 && shndx as usize >= sections.len() {
                return Err(format!("a symbol names section {shndx}, which does not exist"));
            }
            let bind = info >> 4;
            if shndx == 0 || !matches!(bind, 1 | 2 | 10) {
                continue;
            }
            let rest = strings.get(name_off..).ok_or("a symbol name lies outside the string table")?;
            let len = rest.iter().position(|&b| b == 0).ok_or("a symbol name is not terminated")?;
            if len > 0 {
                let name = String::from_utf8_lossy(&rest[..len]).into_owned();
                if info & 0xf == STT_FUNC {
                    out.functions.push((name.clone(), u64_at(d, e + 16)?));
                }
                out.defined.push(name);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llvm::target_machine::TargetSpec;
    use crate::module::Module;

    fn real_object() -> Vec<u8> {
        crate::llvm::initialize().unwrap();
        let spec = TargetSpec::host(1);
        let tm = spec.create().unwrap();
        let ir = "@g = global i32 7\ndefine i32 @sum(i32 %a, i32 %b) {\n %r = add i32 %a, %b\n ret i32 %r\n}\n";
        let m = Module::from_ir("obj", ir.as_bytes()).unwrap();
        let dl = tm.data_layout().layout_string();
        crate::compile::compile(&m, &spec, &tm, &dl).unwrap().bytes().to_vec()
    }

    fn check(bytes: &[u8], name: &str) -> Result<ObjectSummary> {
        check_object(&MemoryBuffer::copy_of(bytes, name)?, name)
    }

    #[test]
    fn lists_defined_globals() {
        let s = check(&real_object(), "obj").unwrap();
        assert!(s.defined.contains(&"sum".to_string()) && s.defined.contains(&"g".to_string()), "{:?}", s.defined);
    }

    #[test]
    fn truncations_and_flips_never_panic() {
        let obj = real_object();
        for len in (0..obj.len()).step_by(7) {
            assert!(check(&obj[..len], "cut").is_err() || len > 64, "accepted {len} bytes");
        }
        // Flip every byte of the header and section table, one at a time:
        // each result is either an error or a summary, never a panic/abort.
        for i in 0..obj.len() {
            let mut bad = obj.clone();
            bad[i] ^= 0xff;
            let _ = check(&bad, "flipped");
        }
        let e = check(b"\x7fELF garbage", "junk").unwrap_err();
        assert!(e.message.contains("junk"));
    }
}
