//! Checks that bytes are a relocatable object file for this host before any
//! of them reach the linker: ORC's JITLink trusts its input (a relocation
//! past its section is written out of bounds, a relocation against symbol 0
//! is a NULL dereference), jitcore does not.
//!
//! One validator, `check_object`, stands in front of every way an object
//! reaches the linker: objects a host adds, objects from an object cache
//! (host callbacks or the disk cache), objects a host materializer returns,
//! and the members of static archives. The ELF structures are read with the
//! `object` crate (bounds-checked, fuzzed); what JITLink relies on is then
//! checked here, field by field, with checked arithmetic.

use std::collections::HashMap;
use std::ptr;

use ::object::elf;
use ::object::read::elf::{FileHeader as _, SectionHeader as _, SectionTable, Sym as _, SymbolTable};
use ::object::LittleEndian as LE;
use llvm_sys::object::*;

use super::buffer::MemoryBuffer;
use super::take_message;
use crate::error::{Error, Result};

type Ehdr = elf::FileHeader64<LE>;
type Shdr = elf::SectionHeader64<LE>;

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ET_REL: u16 = 1;

/// The ELF machine number of the host architecture.
fn host_elf_machine() -> Option<u16> {
    if cfg!(target_arch = "x86_64") {
        Some(elf::EM_X86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(elf::EM_AARCH64)
    } else if cfg!(target_arch = "riscv64") {
        Some(elf::EM_RISCV)
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
    /// Global symbols the object uses without defining them.
    pub undefined: Vec<String>,
    /// Those of `defined` that are hidden (not exported from their JITDylib).
    pub hidden: Vec<String>,
    /// Bytes of the sections that are loaded into memory (code and data).
    pub loaded_bytes: u64,
}

/// Validates `buf` (named `name` in messages) as a relocatable ELF object
/// for the host that JITLink can link without trusting it, and lists what
/// it defines. Errors have code `INVALID_OBJECT`. The same buffer can then
/// be handed to the linker, so the bytes are copied once.
pub fn check_object(buf: &MemoryBuffer, name: &str) -> Result<ObjectSummary> {
    let data = buf.bytes();
    let bad = |why: &str| Error::invalid_object(format!("'{name}' is not a usable object file: {why}"));
    check_header(data).map_err(|why| bad(&why))?;
    let summary = validate(data, true).map_err(|why| bad(&why))?;
    let mut msg = ptr::null_mut();
    // SAFETY: buf is live for the call (LLVMCreateBinary does not take it) and
    // the binary, which borrows buf, is disposed before buf is dropped. Only
    // creation is used (LLVM's own parse, as the linker will do it): LLVM-C's
    // symbol accessors call report_fatal_error on malformed input.
    unsafe {
        let bin = LLVMCreateBinary(buf.as_raw(), ptr::null_mut(), &mut msg);
        if bin.is_null() {
            return Err(bad(&take_message(msg)));
        }
        LLVMDisposeBinary(bin);
    }
    Ok(summary)
}

/// Validates every member of the static archive `bytes` (read from `path`)
/// as `check_object` does; a bad member refuses the whole archive with
/// `INVALID_OBJECT` naming the member. Members of a thin archive are read
/// from their files (relative to the archive's directory).
pub fn check_archive(bytes: &[u8], path: &str) -> Result<()> {
    let archive = ::object::read::archive::ArchiveFile::parse(bytes)
        .map_err(|e| Error::invalid_object(format!("'{path}' is not a usable static archive: {e}")))?;
    let dir = std::path::Path::new(path).parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    for (i, member) in archive.members().enumerate() {
        let member = member
            .map_err(|e| Error::invalid_object(format!("'{path}' is not a usable static archive: member {i}: {e}")))?;
        let member_name = String::from_utf8_lossy(member.name()).into_owned();
        let label = format!("{path}({member_name})");
        let thin_copy;
        let data = if member.is_thin() {
            let file = dir.join(&member_name);
            thin_copy = std::fs::read(&file)
                .map_err(|e| Error::io(format!("cannot read member '{}' of '{path}': {e}", file.display())))?;
            &thin_copy[..]
        } else {
            member.data(bytes).map_err(|e| {
                Error::invalid_object(format!("'{path}' is not a usable static archive: member '{member_name}': {e}"))
            })?
        };
        let buf = MemoryBuffer::copy_of(data, &label)?;
        check_object(&buf, &label).map_err(|e| {
            Error::invalid_object(format!("static archive '{path}' has a bad member '{member_name}': {}", e.message))
        })?;
    }
    Ok(())
}

/// What an object LLVM just generated defines: the section headers and the
/// symbol table are read (bounds-checked), without `check_object`'s
/// relocation walk and LLVM parse, which such an object does not need.
pub fn summarize_object(buf: &MemoryBuffer, name: &str) -> Result<ObjectSummary> {
    validate(buf.bytes(), false)
        .map_err(|why| Error::internal(format!("the object compiled from '{name}' cannot be read: {why}")))
}

type Why = std::result::Result<(), String>;

/// The ELF identification and header fields jitcore requires, with the
/// messages hosts (and lli users) know.
fn check_header(data: &[u8]) -> Why {
    // Not an object file at all: said in LLVM's words (what lli and LLVM's
    // object reader print), with the reason.
    if data.get(0..4) != Some(&ELF_MAGIC[..]) {
        let why = if data.is_empty() { "the file is empty" } else { "no ELF magic number" };
        return Err(format!("The file was not recognized as a valid object file ({why})"));
    }
    let h = match data.get(..64) {
        Some(h) => h,
        None => return Err(format!("{} bytes is too short for an ELF header", data.len())),
    };
    if h[4] != 2 || h[5] != 1 {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let e_type = u16::from_le_bytes([h[16], h[17]]);
    if e_type != ET_REL {
        return Err(format!("ELF type {e_type} is not a relocatable object (ET_REL)"));
    }
    let machine = u16::from_le_bytes([h[18], h[19]]);
    if Some(machine) != host_elf_machine() {
        return Err(format!("ELF machine {machine} is not this host's architecture"));
    }
    Ok(())
}

/// How a relocation type patches its target: the bytes written at
/// `r_offset`, and the bytes before it that the linker reads (and may
/// rewrite) when it relaxes the instruction. `None`: a type the linker
/// does not support.
#[derive(Clone, Copy)]
struct Patch {
    size: u64,
    before: u64,
}

fn patch_of(machine: u16, r_type: u32) -> Option<Patch> {
    let p = |size, before| Some(Patch { size, before });
    match machine {
        elf::EM_X86_64 => match r_type {
            elf::R_X86_64_NONE => p(0, 0),
            elf::R_X86_64_8 | elf::R_X86_64_PC8 => p(1, 0),
            elf::R_X86_64_16 | elf::R_X86_64_PC16 => p(2, 0),
            elf::R_X86_64_PC32
            | elf::R_X86_64_PLT32
            | elf::R_X86_64_GOTPCREL
            | elf::R_X86_64_32
            | elf::R_X86_64_32S
            | elf::R_X86_64_TLSGD
            | elf::R_X86_64_GOTTPOFF
            | elf::R_X86_64_TPOFF32
            | elf::R_X86_64_GOTPC32
            | elf::R_X86_64_SIZE32 => p(4, 0),
            // The GOT-load relaxations read the opcode (and REX prefix)
            // in front of the fixup.
            elf::R_X86_64_GOTPCRELX => p(4, 2),
            elf::R_X86_64_REX_GOTPCRELX => p(4, 3),
            R_X86_64_CODE_4_GOTPCRELX | R_X86_64_CODE_4_GOTTPOFF => p(4, 4),
            elf::R_X86_64_64
            | elf::R_X86_64_PC64
            | elf::R_X86_64_GOTOFF64
            | elf::R_X86_64_GOT64
            | elf::R_X86_64_GOTPCREL64
            | elf::R_X86_64_GOTPC64
            | elf::R_X86_64_SIZE64 => p(8, 0),
            _ => None,
        },
        elf::EM_AARCH64 => match r_type {
            elf::R_AARCH64_NONE => p(0, 0),
            elf::R_AARCH64_ABS64 | elf::R_AARCH64_PREL64 => p(8, 0),
            elf::R_AARCH64_ABS16 | elf::R_AARCH64_PREL16 => p(2, 0),
            // Static data and instruction relocations (one 32-bit word each).
            258 | 261 | 263..=313 | 512..=573 => p(4, 0),
            _ => None,
        },
        // Other hosts: no table of types; the fixup must at least start
        // inside its section.
        _ => p(1, 0),
    }
}

const R_X86_64_CODE_4_GOTPCRELX: u32 = 43;
const R_X86_64_CODE_4_GOTTPOFF: u32 = 44;

/// Reads and validates the sections and symbols of a 64-bit little-endian
/// ELF object (and, with `relocations`, every relocation), returning what
/// it defines. The header fields `check_header` reads are assumed checked.
fn validate(data: &[u8], relocations: bool) -> std::result::Result<ObjectSummary, String> {
    let header = Ehdr::parse(data).map_err(|e| format!("bad ELF header: {e}"))?;
    let machine = header.e_machine(LE);
    let sections = header.sections(LE, data).map_err(|e| format!("bad section header table: {e}"))?;
    if sections.is_empty() {
        return Err("no section headers".into());
    }
    let shnum = sections.len();
    let shstrndx = header.shstrndx(LE, data).map_err(|e| format!("bad section-header string table index: {e}"))?;
    match sections.section(::object::SectionIndex(shstrndx as usize)) {
        Ok(s) if s.sh_type(LE) == elf::SHT_STRTAB => {}
        _ => return Err(format!("section-header string table index {shstrndx} does not name a string table")),
    }
    let names = SectionNames { sections: &sections };
    let mut symtab_index = None;
    let mut loaded_bytes = 0u64;
    let mut by_name: HashMap<&[u8], (u64, usize)> = HashMap::new();
    for (index, s) in sections.enumerate().skip(1) {
        let i = index.0;
        let kind = s.sh_type(LE);
        let flags = s.sh_flags(LE);
        let size = s.sh_size(LE);
        let offset = s.sh_offset(LE);
        let name = sections.section_name(LE, s).map_err(|_| {
            format!(
                "the name of section {i} (offset 0x{:x}) lies outside the section-header string table",
                s.sh_name(LE)
            )
        })?;
        if kind != elf::SHT_NOBITS && offset.checked_add(size).is_none_or(|end| end > data.len() as u64) {
            return Err(format!(
                "section '{}' (0x{size:x} bytes at offset 0x{offset:x}) lies outside the file (truncated?)",
                names.get(i)
            ));
        }
        let align = s.sh_addralign(LE);
        if align != 0 && !align.is_power_of_two() {
            return Err(format!("section '{}' has alignment {align}, which is not a power of two", names.get(i)));
        }
        if flags & u64::from(elf::SHF_LINK_ORDER) != 0 && s.sh_link(LE) as usize >= shnum {
            return Err(format!("section '{}' links to section {}, which does not exist", names.get(i), s.sh_link(LE)));
        }
        match kind {
            elf::SHT_SYMTAB => {
                if symtab_index.replace(i).is_some() {
                    return Err("more than one symbol table".into());
                }
                check_linked_strtab(&sections, &names, i, s)?;
            }
            elf::SHT_DYNSYM => return Err("a relocatable object with a dynamic symbol table".into()),
            _ => {}
        }
        if (kind == elf::SHT_X86_64_UNWIND || name == b".eh_frame") && kind != elf::SHT_NOBITS {
            // JITLink parses it (to register the frames) before it links.
            let start = offset as usize;
            check_eh_frame(&data[start..start + size as usize], &names.get(i))?;
        }
        if flags & u64::from(elf::SHF_ALLOC) != 0 {
            // JITLink makes a block only of the section types it knows;
            // symbols in any other section would point at nothing.
            if !loadable_type(kind) {
                return Err(format!(
                    "section '{}' is loaded (SHF_ALLOC) but has type 0x{kind:x}, which the linker does not load",
                    names.get(i)
                ));
            }
            loaded_bytes = loaded_bytes.saturating_add(size);
            // The linker makes one section of each name, with one set of
            // memory permissions.
            let perms = flags & u64::from(elf::SHF_WRITE | elf::SHF_EXECINSTR | elf::SHF_ALLOC);
            if let Some(&(other, j)) = by_name.get(name) {
                if other != perms {
                    return Err(format!(
                        "sections {j} and {i} are both named '{}' but have different flags (0x{other:x} and 0x{perms:x})",
                        names.get(i)
                    ));
                }
            } else {
                by_name.insert(name, (perms, i));
            }
        }
    }
    let mut out = ObjectSummary { loaded_bytes, ..ObjectSummary::default() };
    let Some(symtab_index) = symtab_index else {
        if relocations && sections.iter().any(|s| matches!(s.sh_type(LE), elf::SHT_RELA | elf::SHT_REL)) {
            return Err("relocations but no symbol table".into());
        }
        return Ok(out);
    };
    let symtab_header = sections.section(::object::SectionIndex(symtab_index)).map_err(|e| e.to_string())?;
    let symtab = SymbolTable::<Ehdr>::parse(LE, data, &sections, ::object::SectionIndex(symtab_index), symtab_header)
        .map_err(|e| format!("bad symbol table: {e}"))?;
    check_symbols(&symtab, &sections, &names, &mut out)?;
    if relocations {
        for (index, s) in sections.enumerate().skip(1) {
            if matches!(s.sh_type(LE), elf::SHT_RELA | elf::SHT_REL) {
                check_relocations(data, machine, &sections, &names, index.0, s, symtab_index, &symtab)?;
            }
        }
    }
    Ok(out)
}

/// Section names for messages (the names are checked before use; a bad
/// one reads as its index).
struct SectionNames<'a, 'd> {
    sections: &'a SectionTable<'d, Ehdr>,
}

impl SectionNames<'_, '_> {
    fn get(&self, i: usize) -> String {
        self.sections
            .section(::object::SectionIndex(i))
            .ok()
            .and_then(|s| self.sections.section_name(LE, s).ok())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_else(|| format!("#{i}"))
    }
}

fn check_linked_strtab(sections: &SectionTable<'_, Ehdr>, names: &SectionNames, i: usize, s: &Shdr) -> Why {
    let link = s.sh_link(LE);
    match sections.section(::object::SectionIndex(link as usize)) {
        Ok(t) if t.sh_type(LE) == elf::SHT_STRTAB => Ok(()),
        Ok(_) => {
            Err(format!("the string table of '{}' (section {link}) is not a string table (SHT_STRTAB)", names.get(i)))
        }
        Err(_) => Err(format!("the string table of '{}' is section {link}, which does not exist", names.get(i))),
    }
}

/// Checks the framing of an `.eh_frame` section as JITLink's parser reads
/// it: every CIE and FDE record fits in the section, an FDE's CIE pointer
/// names a CIE before it, and a CIE's fields up to its augmentation data
/// (version, augmentation string, alignment factors, return register,
/// augmentation length) lie inside its record.
fn check_eh_frame(bytes: &[u8], name: &str) -> Why {
    let bad = |at: usize, why: &str| Err(format!("section '{name}': the record at offset 0x{at:x} {why}"));
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    // Reads a LEB128 number's length within `end`.
    let leb = |mut at: usize, end: usize| -> Option<usize> {
        loop {
            let b = *bytes.get(at)?;
            at += 1;
            if at > end {
                return None;
            }
            if b & 0x80 == 0 {
                return Some(at);
            }
        }
    };
    let mut cies = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let Some(len) = u32_at(at) else { return bad(at, "is cut off before its length") };
        if len == 0 {
            // A terminator.
            at += 4;
            continue;
        }
        let (body, len) = if len == u32::MAX {
            let Some(l) = bytes.get(at + 4..at + 12) else { return bad(at, "is cut off before its 64-bit length") };
            (at + 12, u64::from_le_bytes([l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7]]))
        } else {
            (at + 4, u64::from(len))
        };
        let end = match (body as u64).checked_add(len) {
            Some(e) if e <= bytes.len() as u64 && len >= 4 => e as usize,
            _ => return bad(at, &format!("claims 0x{len:x} bytes, more than the section holds")),
        };
        let Some(id) = u32_at(body) else { return bad(at, "is too short for its CIE id") };
        if id == 0 {
            // A CIE: version, augmentation string, code and data alignment,
            // return address register, and (with 'z') augmentation length.
            let version = bytes[body + 4..end].first().copied();
            if !matches!(version, Some(1) | Some(3)) {
                return bad(at, &format!("is a CIE of version {version:?}, not 1 or 3"));
            }
            let aug_start = body + 5;
            let Some(nul) = bytes[aug_start.min(end)..end].iter().position(|&b| b == 0) else {
                return bad(at, "has an augmentation string that does not end inside it");
            };
            let augmentation = &bytes[aug_start..aug_start + nul];
            let mut p = aug_start + nul + 1;
            for _ in 0..2 {
                match leb(p, end) {
                    Some(q) => p = q,
                    None => return bad(at, "is cut off in its alignment factors"),
                }
            }
            p = if version == Some(1) { p + 1 } else { leb(p, end).unwrap_or(end + 1) };
            if p > end {
                return bad(at, "is cut off at its return address register");
            }
            if augmentation.first() == Some(&b'z') && leb(p, end).is_none() {
                return bad(at, "is cut off in its augmentation data");
            }
            cies.push(at);
        } else {
            // An FDE: the CIE it points back to, then its PC begin and range.
            let cie = (body as u64).checked_sub(u64::from(id));
            if !cie.is_some_and(|c| cies.contains(&(c as usize))) {
                return bad(at, &format!("is an FDE whose CIE pointer 0x{id:x} names no CIE before it"));
            }
            if end - body < 12 {
                return bad(at, "is an FDE too short for its address range");
            }
        }
        at = end;
    }
    Ok(())
}

/// Section types JITLink turns into blocks when they are allocated.
fn loadable_type(kind: u32) -> bool {
    matches!(
        kind,
        elf::SHT_PROGBITS
            | elf::SHT_NOBITS
            | elf::SHT_NOTE
            | elf::SHT_INIT_ARRAY
            | elf::SHT_FINI_ARRAY
            | elf::SHT_PREINIT_ARRAY
            | elf::SHT_X86_64_UNWIND
    )
}

/// Whether the linker loads section `sec` (it makes a block of it).
fn loaded_section(sections: &SectionTable<'_, Ehdr>, sec: usize) -> bool {
    sections
        .section(::object::SectionIndex(sec))
        .is_ok_and(|s| s.sh_flags(LE) & u64::from(elf::SHF_ALLOC) != 0 && loadable_type(s.sh_type(LE)))
}

fn check_symbols(
    symtab: &SymbolTable<'_, Ehdr>,
    sections: &SectionTable<'_, Ehdr>,
    names: &SectionNames,
    out: &mut ObjectSummary,
) -> Why {
    let symtab_size = sections.section(symtab.section()).map(|s| s.sh_size(LE)).unwrap_or(0);
    let entsize = sections.section(symtab.section()).map(|s| s.sh_entsize(LE)).unwrap_or(0);
    if entsize != 24 || symtab_size % 24 != 0 {
        return Err(format!("symbol table entry size {entsize} (table 0x{symtab_size:x} bytes) is not 24"));
    }
    let strings = symtab.strings();
    let strtab = names.get(symtab.string_section().0);
    let strtab_size = sections.section(symtab.string_section()).map(|s| s.sh_size(LE)).unwrap_or(0);
    let shnum = sections.len();
    // The linker reads entry 0 like any other (its name included): it must
    // be the null symbol.
    if let Some((_, null)) = symtab.enumerate().next() {
        let zero = null.st_name(LE) == 0
            && null.st_value(LE) == 0
            && null.st_size(LE) == 0
            && null.st_info() == 0
            && null.st_other() == 0
            && null.st_shndx(LE) == elf::SHN_UNDEF;
        if !zero {
            return Err("symbol 0 is not the null symbol (all its fields must be zero)".into());
        }
    }
    for (index, sym) in symtab.enumerate().skip(1) {
        let i = index.0;
        let name = strings.get(sym.st_name(LE)).map_err(|()| {
            format!(
                "the name of symbol {i} (offset 0x{:x}) lies outside its string table '{strtab}' (0x{strtab_size:x} bytes)",
                sym.st_name(LE)
            )
        })?;
        let shndx = sym.st_shndx(LE);
        let section = match shndx {
            elf::SHN_UNDEF => None,
            elf::SHN_ABS => None,
            elf::SHN_COMMON => {
                let align = sym.st_value(LE);
                if !align.is_power_of_two() {
                    return Err(format!("common symbol {i} has alignment {align}, which is not a power of two"));
                }
                None
            }
            elf::SHN_XINDEX => match symtab.shndx(LE, index) {
                Some(x) if x != 0 => Some(x as usize),
                _ => return Err(format!("symbol {i} has an extended section index but no SHT_SYMTAB_SHNDX entry")),
            },
            n if n < elf::SHN_LORESERVE => Some(usize::from(n)),
            n => return Err(format!("symbol {i} names special section index 0x{n:x}, which the linker does not know")),
        };
        if let Some(sec) = section {
            if sec >= shnum {
                return Err(format!("symbol {i} names section {sec}, which does not exist ({shnum} sections)"));
            }
            let s = sections.section(::object::SectionIndex(sec)).map_err(|e| e.to_string())?;
            let kind = sym.st_type();
            if !loaded_section(sections, sec) && !matches!(kind, elf::STT_SECTION | elf::STT_FILE) {
                return Err(format!(
                    "symbol {i} is defined in section '{}', which the linker does not load",
                    names.get(sec)
                ));
            }
            if s.sh_flags(LE) & u64::from(elf::SHF_ALLOC) != 0 {
                let size = s.sh_size(LE);
                let value = sym.st_value(LE);
                if value.checked_add(sym.st_size(LE)).is_none_or(|end| end > size) {
                    return Err(format!(
                        "symbol {i} (0x{:x} bytes at 0x{value:x}) lies outside section '{}' (0x{size:x} bytes)",
                        sym.st_size(LE),
                        names.get(sec)
                    ));
                }
            }
        }
        let bind = sym.st_bind();
        if !matches!(bind, elf::STB_GLOBAL | elf::STB_WEAK | elf::STB_GNU_UNIQUE) {
            continue;
        }
        if shndx == elf::SHN_UNDEF {
            if !name.is_empty() {
                out.undefined.push(String::from_utf8_lossy(name).into_owned());
            }
            continue;
        }
        if !name.is_empty() {
            let name = String::from_utf8_lossy(name).into_owned();
            if sym.st_type() == elf::STT_FUNC {
                out.functions.push((name.clone(), sym.st_size(LE)));
            }
            if matches!(sym.st_other() & 3, elf::STV_HIDDEN | elf::STV_INTERNAL) {
                out.hidden.push(name.clone());
            }
            out.defined.push(name);
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn check_relocations(
    data: &[u8],
    machine: u16,
    sections: &SectionTable<'_, Ehdr>,
    names: &SectionNames,
    i: usize,
    s: &Shdr,
    symtab_index: usize,
    symtab: &SymbolTable<'_, Ehdr>,
) -> Why {
    let nsyms = symtab.len();
    let rel_name = names.get(i);
    let link = s.sh_link(LE) as usize;
    if link != symtab_index {
        return Err(format!(
            "relocation section '{rel_name}' links to section {link}, not to the symbol table (section {symtab_index})"
        ));
    }
    let target_index = s.sh_info(LE) as usize;
    let target = match sections.section(::object::SectionIndex(target_index)) {
        Ok(t) => t,
        Err(_) => {
            return Err(format!(
                "relocation section '{rel_name}' applies to section {target_index}, which does not exist"
            ))
        }
    };
    let target_name = names.get(target_index);
    let target_size = target.sh_size(LE);
    let is_rela = s.sh_type(LE) == elf::SHT_RELA;
    let entsize: u64 = if is_rela { 24 } else { 16 };
    if s.sh_entsize(LE) != entsize || s.sh_size(LE) % entsize != 0 {
        return Err(format!(
            "relocation section '{rel_name}' has entry size {} (0x{:x} bytes), not {entsize}",
            s.sh_entsize(LE),
            s.sh_size(LE)
        ));
    }
    let entries: Vec<(u64, u32, u32)> = if is_rela {
        let (relas, _) = s.rela(LE, data).map_err(|e| e.to_string())?.unwrap_or((&[], ::object::SectionIndex(0)));
        relas.iter().map(|r| (r.r_offset.get(LE), r.r_sym(LE, false), r.r_type(LE, false))).collect()
    } else {
        let (rels, _) = s.rel(LE, data).map_err(|e| e.to_string())?.unwrap_or((&[], ::object::SectionIndex(0)));
        rels.iter().map(|r| (r.r_offset.get(LE), r.r_sym(LE), r.r_type(LE))).collect()
    };
    if !entries.is_empty() && target.sh_type(LE) == elf::SHT_NOBITS {
        return Err(format!(
            "relocation section '{rel_name}' patches '{target_name}', which has no contents (SHT_NOBITS)"
        ));
    }
    // The linker skips relocations of sections it does not load (debug
    // info may use types it does not know), but they must stay in bounds.
    let loaded = target.sh_flags(LE) & u64::from(elf::SHF_ALLOC) != 0;
    for (j, (offset, sym, r_type)) in entries.into_iter().enumerate() {
        let what = || format!("relocation {j} of section '{rel_name}'");
        let patch = match patch_of(machine, r_type) {
            Some(p) => p,
            None if !loaded => Patch { size: 1, before: 0 },
            None => {
                return Err(format!(
                    "{} has type {r_type}, which the linker does not support for ELF machine {machine}",
                    what()
                ))
            }
        };
        if offset.checked_add(patch.size).is_none_or(|end| end > target_size) {
            return Err(format!(
                "{} patches offset 0x{offset:x}, past the end of '{target_name}' (0x{target_size:x} bytes)",
                what()
            ));
        }
        if offset < patch.before {
            return Err(format!(
                "{} patches offset 0x{offset:x} of '{target_name}', but its type {r_type} needs {} bytes of instruction before it",
                what(),
                patch.before
            ));
        }
        if sym as usize >= nsyms {
            return Err(format!("{} names symbol {sym}, which does not exist ({nsyms} symbols)", what()));
        }
        // JITLink dereferences the symbol of every relocation but R_*_NONE
        // (type 0 on every machine).
        if sym == 0 && r_type != 0 {
            return Err(format!("{} names symbol 0 (the null symbol)", what()));
        }
        // A relocation the linker applies must point at something it
        // loads (or at an external or absolute symbol).
        if loaded && sym != 0 {
            let target_sym = symtab.symbol(::object::SymbolIndex(sym as usize)).map_err(|e| e.to_string())?;
            let shndx = target_sym.st_shndx(LE);
            if shndx != elf::SHN_UNDEF && shndx < elf::SHN_LORESERVE && !loaded_section(sections, usize::from(shndx)) {
                return Err(format!(
                    "{} names symbol {sym}, defined in section '{}', which the linker does not load",
                    what(),
                    names.get(usize::from(shndx))
                ));
            }
        }
    }
    Ok(())
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
        let ir = "@g = global i32 7\n@p = global ptr @g\ndeclare i32 @ext(i32)\n\
                  define i32 @sum(i32 %a, i32 %b) {\n %r = add i32 %a, %b\n %s = call i32 @ext(i32 %r)\n ret i32 %s\n}\n";
        let m = Module::from_ir("obj", ir.as_bytes()).unwrap();
        crate::compile::compile(&m, &spec, &tm, &crate::compile::pipeline::IrPipeline::Default).unwrap().bytes().to_vec()
    }

    fn check(bytes: &[u8], name: &str) -> Result<ObjectSummary> {
        check_object(&MemoryBuffer::copy_of(bytes, name)?, name)
    }

    fn u16_at(d: &[u8], o: usize) -> usize {
        usize::from(u16::from_le_bytes([d[o], d[o + 1]]))
    }
    fn u32_at(d: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(d[o..o + 4].try_into().unwrap())
    }
    fn u64_at(d: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(d[o..o + 8].try_into().unwrap())
    }

    /// Section header offsets (in the file) of the sections of `kind`.
    fn headers_of(d: &[u8], kind: u32) -> Vec<usize> {
        let shoff = u64_at(d, 0x28) as usize;
        (0..u16_at(d, 0x3c)).map(|i| shoff + i * 64).filter(|&h| u32_at(d, h + 4) == kind).collect()
    }

    /// The file offset of the first entry of the first relocation section
    /// patching a loaded section.
    fn first_rela(d: &[u8]) -> (usize, usize) {
        let shoff = u64_at(d, 0x28) as usize;
        for h in headers_of(d, elf::SHT_RELA) {
            let target = shoff + u32_at(d, h + 0x2c) as usize * 64;
            if u64_at(d, target + 8) & u64::from(elf::SHF_ALLOC) != 0 && u64_at(d, h + 0x20) >= 24 {
                return (u64_at(d, h + 0x18) as usize, target);
            }
        }
        panic!("no relocation in the test object");
    }

    fn expect_bad(bytes: &[u8], what: &str) {
        let e = check(bytes, "crafted.o").unwrap_err();
        assert_eq!(e.code, crate::error::JitcoreErrorCode::JITCORE_ERROR_INVALID_OBJECT, "{}", e.message);
        let found = what.split('|').any(|w| e.message.contains(w));
        assert!(e.message.contains("crafted.o") && found, "{}", e.message);
    }

    /// Inputs the fuzzer found that JITLink crashed on or rejected after
    /// jitcore's check had accepted them (fuzz/regressions/).
    #[test]
    fn fuzzer_finds_are_refused() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
        for (file, why) in [
            ("object/jitlink-fixup-segv-f7cd32a398c7", "which the linker does not load"),
            ("object/jitlink-phase2-segv-8efab6bc719e", "has type 0x0, which the linker does not load"),
            ("getbuffer/bad-st-name-link-error-f9c5bb34fba6", "symbol 0 is not the null symbol"),
            ("getbuffer/jitlink-phase2-segv-467d769e1379", "not a power of two"),
            ("getbuffer/symbol-past-block-link-error-b577b782f2c3", "not a power of two"),
            ("getbuffer/eh-frame-stream-too-short-765f377b8f57", "cut off before its length"),
        ] {
            let bytes = std::fs::read(dir.join(file)).unwrap();
            expect_bad(&bytes, why);
        }
    }

    #[test]
    fn lists_defined_globals() {
        let s = check(&real_object(), "obj").unwrap();
        assert!(s.defined.contains(&"sum".to_string()) && s.defined.contains(&"g".to_string()), "{:?}", s.defined);
        assert!(s.functions.iter().any(|(f, size)| f == "sum" && *size > 0), "{:?}", s.functions);
        let buf = MemoryBuffer::copy_of(&real_object(), "obj").unwrap();
        assert_eq!(summarize_object(&buf, "obj").unwrap().defined, s.defined);
    }

    #[test]
    fn relocation_past_its_section() {
        let mut obj = real_object();
        let (rela, target) = first_rela(&obj);
        let size = u64_at(&obj, target + 0x20);
        obj[rela..rela + 8].copy_from_slice(&0x100000u64.to_le_bytes());
        expect_bad(&obj, &format!("patches offset 0x100000, past the end of '.text' (0x{size:x} bytes)"));
        // the last bytes of the section: a 4-byte fixup at size - 2
        obj[rela..rela + 8].copy_from_slice(&(size - 2).to_le_bytes());
        expect_bad(&obj, "past the end");
        // an offset that overflows when the patch size is added
        obj[rela..rela + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        expect_bad(&obj, "past the end");
    }

    #[test]
    fn relocation_symbols_and_types() {
        let obj = real_object();
        let (rela, _) = first_rela(&obj);
        let kind = u32_at(&obj, rela + 8);
        let mut bad = obj.clone();
        bad[rela + 12..rela + 16].copy_from_slice(&0u32.to_le_bytes());
        expect_bad(&bad, "names symbol 0");
        bad[rela + 12..rela + 16].copy_from_slice(&0xffffu32.to_le_bytes());
        expect_bad(&bad, "names symbol 65535, which does not exist");
        let mut bad = obj.clone();
        bad[rela + 8..rela + 12].copy_from_slice(&200u32.to_le_bytes());
        expect_bad(&bad, "has type 200, which the linker does not support");
        // R_*_NONE against symbol 0 is fine
        let mut none = obj.clone();
        none[rela + 8..rela + 16].copy_from_slice(&0u64.to_le_bytes());
        assert!(check(&none, "none").is_ok());
        assert!(kind != 0);
    }

    #[test]
    fn bad_symbols_and_sections() {
        let obj = real_object();
        let symtab = headers_of(&obj, elf::SHT_SYMTAB)[0];
        let syms = u64_at(&obj, symtab + 0x18) as usize;
        // symbol 1 is a local symbol (the file symbol or a section symbol)
        let mut bad = obj.clone();
        bad[syms + 24..syms + 28].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
        expect_bad(&bad, "the name of symbol 1 (offset 0x7fff0000) lies outside its string table");
        let mut bad = obj.clone();
        bad[syms + 24 + 6..syms + 24 + 8].copy_from_slice(&0x4000u16.to_le_bytes());
        expect_bad(&bad, "symbol 1 names section 16384, which does not exist");
        let mut bad = obj.clone();
        bad[syms + 24 + 6..syms + 24 + 8].copy_from_slice(&0xff05u16.to_le_bytes());
        expect_bad(&bad, "special section index 0xff05");
        // a section name past the section-header string table
        let shoff = u64_at(&obj, 0x28) as usize;
        let mut bad = obj.clone();
        bad[shoff + 64..shoff + 68].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
        expect_bad(&bad, "the name of section 1 (offset 0xffffff) lies outside the section-header string table");
        // the symbol table's string table is not a string table
        let mut bad = obj.clone();
        let text =
            (0..u16_at(&obj, 0x3c)).find(|&i| u32_at(&obj, shoff + i * 64 + 4) == elf::SHT_PROGBITS).unwrap() as u32;
        bad[symtab + 0x28..symtab + 0x2c].copy_from_slice(&text.to_le_bytes());
        expect_bad(&bad, "is not a string table (SHT_STRTAB)");
    }

    #[test]
    fn one_name_two_flag_sets() {
        let obj = real_object();
        let shoff = u64_at(&obj, 0x28) as usize;
        let n = u16_at(&obj, 0x3c);
        let alloc: Vec<usize> =
            (1..n).map(|i| shoff + i * 64).filter(|&h| u64_at(&obj, h + 8) & u64::from(elf::SHF_ALLOC) != 0).collect();
        let text = *alloc.iter().find(|&&h| u64_at(&obj, h + 8) & u64::from(elf::SHF_EXECINSTR) != 0).unwrap();
        let data = *alloc.iter().find(|&&h| u64_at(&obj, h + 8) & u64::from(elf::SHF_WRITE) != 0).unwrap();
        let mut bad = obj.clone();
        let name = u32_at(&obj, text).to_le_bytes();
        bad[data..data + 4].copy_from_slice(&name);
        expect_bad(&bad, "are both named '.text' but have different flags");
    }

    #[test]
    fn truncations_and_field_values_never_panic() {
        let obj = real_object();
        for len in (0..obj.len()).step_by(7) {
            assert!(check(&obj[..len], "cut").is_err() || len > 64, "accepted {len} bytes");
        }
        // Set every byte of the file, one at a time, to values that reach
        // every field's interesting cases (XOR alone never makes SHT_NOBITS,
        // a zero index or a small section count): each result is an error
        // or a summary, never a panic.
        let values: Vec<u8> = vec![0, 1, 2, 3, 4, 8, 9, 0x10, 0x40, 0x7f, 0x80, 0xfe, 0xff];
        for i in 0..obj.len() {
            let mut bad = obj.clone();
            bad[i] ^= 0xff;
            let _ = check(&bad, "flipped");
            let _ = summarize_object(&MemoryBuffer::copy_of(&bad, "flipped").unwrap(), "flipped");
            for &v in &values {
                if obj[i] != v {
                    bad[i] = v;
                    let _ = check(&bad, "set");
                }
            }
        }
        let e = check(b"\x7fELF garbage", "junk").unwrap_err();
        assert!(e.message.contains("junk"));
    }

    /// Issue 8.3: the old reader sliced the linked string table and read
    /// `d[e + 4]` without bounds checks, so these panicked (INTERNAL at the
    /// C API) instead of failing with INVALID_OBJECT.
    #[test]
    fn issue_8_3_string_table_and_cut_symbols() {
        let obj = real_object();
        let symtab = headers_of(&obj, elf::SHT_SYMTAB)[0];
        let strtab = u32_at(&obj, symtab + 0x28) as usize;
        let shoff = u64_at(&obj, 0x28) as usize;
        let sh = shoff + strtab * 64;
        // a SHT_NOBITS "string table" whose offset is outside the file
        let mut bad = obj.clone();
        bad[sh + 4..sh + 8].copy_from_slice(&elf::SHT_NOBITS.to_le_bytes());
        bad[sh + 0x18..sh + 0x20].copy_from_slice(&0xffff_ffffu64.to_le_bytes());
        expect_bad(&bad, "not name a string table|is not a string table (SHT_STRTAB)");
        // a symbol table of 28 bytes ending at the end of the file: the
        // second entry is cut short
        let mut bad = obj.clone();
        let at = (bad.len() - 28) as u64;
        bad[symtab + 0x18..symtab + 0x20].copy_from_slice(&at.to_le_bytes());
        bad[symtab + 0x20..symtab + 0x28].copy_from_slice(&28u64.to_le_bytes());
        expect_bad(&bad, "symbol table");
    }
}
