//! Generates the C header with cbindgen (into OUT_DIR; a test compares it
//! with the committed include/jitcore.h) and gives the shared library its SONAME.
//!
//! cbindgen writes every constant, then every type, then every function. The
//! header is meant to be read by concept, so its output is regrouped here:
//! the opaque handles first (any section may name any handle), then one
//! section per concept, in the order of `SECTIONS`. An item belongs to the
//! section of the file that defines it; a section's introduction is the `//!`
//! comment of its first file. Within a section, cbindgen's order is kept
//! (constants, types in dependency order, functions in source order).

use std::collections::HashMap;
use std::env;
use std::path::{Path, PathBuf};

/// The header's sections, in order: a title, and the files whose items it
/// declares (the first is the `src/ffi/` file of that concept).
const SECTIONS: &[(&str, &[&str])] = &[
    ("Errors", &["src/ffi/error.rs", "src/error.rs"]),
    ("Modules", &["src/ffi/module.rs"]),
    ("Targets", &["src/ffi/target.rs"]),
    ("Engine", &["src/ffi/engine.rs"]),
    ("Session", &["src/ffi/session.rs"]),
    ("Dylibs", &["src/ffi/dylib.rs"]),
    ("Resource trackers", &["src/ffi/tracker.rs"]),
    ("Caches", &["src/ffi/cache.rs", "src/ffi/buffer.rs"]),
    ("Statistics", &["src/ffi/stats.rs"]),
    ("Version", &["src/ffi/version.rs"]),
];

/// The introduction of the handles block that precedes the sections.
const HANDLES: &str = "Every object the API hands out is an opaque pointer typedef,
declared here together (as llvm-c/Types.h does) so that any section may
name any of them. Each section below says who owns its handles, how to
dispose of them, and which functions may be called from several threads.";

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let patch = env::var("CARGO_PKG_VERSION_PATCH").unwrap();

    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    // The SONAME changes whenever the ABI may: on a major bump, and in 0.x
    // on a minor bump (0.1 and 0.2 are incompatible).
    let soname = if major == "0" { format!("libjitcore.so.0.{minor}") } else { format!("libjitcore.so.{major}") };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    llvm_assertions();

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let after_includes = format!(
        "\n#define JITCORE_VERSION_MAJOR {major}\n#define JITCORE_VERSION_MINOR {minor}\n#define JITCORE_VERSION_PATCH {patch}\n{}",
        config.after_includes.clone().unwrap_or_default()
    );
    config.after_includes = Some(after_includes.clone());
    let bindings = match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(bindings) => bindings,
        Err(e) => panic!("cbindgen failed: {e}"),
    };
    let mut raw = Vec::new();
    bindings.write(&mut raw);
    let raw = String::from_utf8(raw).expect("cbindgen writes UTF-8");
    let header = by_concept(&crate_dir, &raw, &after_includes);
    std::fs::write(out.join("jitcore.h"), header).expect("write jitcore.h");
}

/// Sets cfg `jitcore_llvm_assertions` when the LLVM we build against has
/// assertions (`llvm-config --assertion-mode` prints ON; llvm-config is the one
/// under `$LLVM_SYS_221_PREFIX`, default /usr/lib/llvm-22). LLVM-C then aborts
/// on the NULL arguments the lazy split passes to its setters, so the split
/// refuses every module (see `llvm_asserts_on_null_setters` in
/// src/llvm/split/refusal.rs). When llvm-config cannot tell, assertions are
/// assumed: wrongly assuming them only costs the laziness (modules are
/// compiled whole), wrongly assuming none would abort the host process.
fn llvm_assertions() {
    println!("cargo:rustc-check-cfg=cfg(jitcore_llvm_assertions)");
    println!("cargo:rerun-if-env-changed=LLVM_SYS_221_PREFIX");
    let prefix = env::var("LLVM_SYS_221_PREFIX").unwrap_or_else(|_| "/usr/lib/llvm-22".to_string());
    let llvm_config = Path::new(&prefix).join("bin").join("llvm-config");
    let mode = std::process::Command::new(&llvm_config)
        .arg("--assertion-mode")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
    let assertions = match mode.as_deref() {
        Some("OFF") => false,
        Some("ON") => true,
        _ => {
            println!(
                "cargo:warning={} --assertion-mode did not say ON or OFF: assuming an LLVM with assertions, so lazily added modules are not split",
                llvm_config.display()
            );
            true
        }
    };
    if assertions {
        println!("cargo:rustc-cfg=jitcore_llvm_assertions");
    }
}

/// One declaration of cbindgen's output, with its doc comment.
struct Block {
    name: String,
    text: String,
}

/// Splits declarations separated by blank lines (blank lines inside
/// comments belong to the comment).
fn blocks(region: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut in_comment = false;
    for line in region.lines() {
        if line.trim().is_empty() && !in_comment {
            if !cur.is_empty() {
                out.push(block(&cur));
                cur.clear();
            }
            continue;
        }
        let t = line.trim_start();
        if t.starts_with("/*") {
            in_comment = !t.contains("*/");
        } else if in_comment && t.contains("*/") {
            in_comment = false;
        }
        cur.push(line);
    }
    if !cur.is_empty() {
        out.push(block(&cur));
    }
    out
}

/// The name a declaration declares: a macro, a type, a function.
fn block(lines: &[&str]) -> Block {
    let mut start = 0;
    if lines[0].trim_start().starts_with("/*") {
        while !lines[start].contains("*/") {
            start += 1;
        }
        start += 1;
    }
    let decl = &lines[start..];
    let first = decl.first().copied().unwrap_or_else(|| panic!("a comment without a declaration: {lines:?}"));
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let name = if let Some(rest) = first.strip_prefix("#define ") {
        ident(rest)
    } else if let Some(i) = first.find("(*") {
        ident(&first[i + 2..])
    } else if first.starts_with("typedef") {
        let last = decl.last().unwrap().trim_end_matches(';');
        last.rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap().to_string()
    } else {
        let before = &first[..first.find('(').unwrap_or_else(|| panic!("unexpected declaration {first:?}"))];
        before.rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap().to_string()
    };
    Block { name, text: lines.join("\n") }
}

/// Where each name is defined: (section index, byte offset in the section's files).
fn definitions(crate_dir: &Path) -> HashMap<String, (usize, usize)> {
    let mut defs = HashMap::new();
    for (i, (_, files)) in SECTIONS.iter().enumerate() {
        let mut offset = 0;
        for f in files.iter() {
            let text = std::fs::read_to_string(crate_dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            for line in text.lines() {
                let mut t = line.trim_start();
                for p in ["pub(crate) ", "pub ", "unsafe ", "extern \"C\" "] {
                    t = t.strip_prefix(p).unwrap_or(t);
                }
                for kw in ["fn ", "type ", "struct ", "enum ", "const "] {
                    if let Some(rest) = t.strip_prefix(kw) {
                        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        defs.entry(name).or_insert((i, offset));
                    }
                }
                offset += line.len() + 1;
            }
        }
    }
    defs
}

/// The `//!` comment of a file, as plain lines.
fn module_doc(crate_dir: &Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(crate_dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    text.lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| l.trim_start_matches("//!").trim_start_matches(' ').to_string())
        .collect()
}

fn banner(title: &str, doc: &[String]) -> String {
    let rule = "=".repeat(74);
    let mut s = format!("/* {rule}\n * {title}\n *\n");
    for l in doc {
        s += &if l.is_empty() { " *\n".to_string() } else { format!(" * {l}\n") };
    }
    s + &format!(" * {rule} */\n")
}

/// Regroups cbindgen's output (`raw`) by concept.
fn by_concept(crate_dir: &Path, raw: &str, after_includes: &str) -> String {
    const OPEN: &str = "#ifdef __cplusplus\nextern \"C\" {\n#endif // __cplusplus\n";
    const CLOSE: &str = "#ifdef __cplusplus\n}  // extern \"C\"\n#endif  // __cplusplus\n";
    let split = |s: &'static str, at: &str| -> (usize, usize) {
        let i = raw.find(at).unwrap_or_else(|| panic!("cbindgen output has no {s}"));
        (i, i + at.len())
    };
    let (_, types_start) = split("after_includes", after_includes);
    let (types_end, fns_start) = split("extern \"C\" opening", OPEN);
    let (fns_end, trailer_start) = split("extern \"C\" closing", CLOSE);
    let items = blocks(&raw[types_start..types_end]).into_iter().chain(blocks(&raw[fns_start..fns_end]));

    let defs = definitions(crate_dir);
    let mut handles = Vec::new();
    let mut sections: Vec<Vec<Block>> = SECTIONS.iter().map(|_| Vec::new()).collect();
    for b in items {
        let &(section, offset) = defs.get(&b.name).unwrap_or_else(|| {
            panic!("{} is declared in the header but defined in none of the files of SECTIONS in build.rs", b.name)
        });
        if b.text.lines().any(|l| l.starts_with("typedef struct JitcoreOpaque")) {
            handles.push(((section, offset), b));
        } else {
            sections[section].push(b);
        }
    }
    handles.sort_by_key(|(k, _)| *k);

    let mut out = String::from(&raw[..types_start]);
    out += "\n";
    out += OPEN;
    out += "\n";
    out += &banner("Handles", &HANDLES.lines().map(String::from).collect::<Vec<_>>());
    for (_, b) in &handles {
        out += &format!("\n{}\n", b.text);
    }
    for (i, ((title, files), blocks)) in SECTIONS.iter().zip(&sections).enumerate() {
        out += "\n";
        out += &banner(&format!("{}. {title}", i + 1), &module_doc(crate_dir, files[0]));
        for b in blocks {
            out += &format!("\n{}\n", b.text);
        }
    }
    out += "\n";
    out += CLOSE;
    // cbindgen puts the trailer (cbindgen.toml: the size-passing macros)
    // after the include guard's #endif: keep it inside the guard.
    let tail = &raw[trailer_start..];
    const GUARD_END: &str = "#endif  /* JITCORE_H */\n";
    match tail.find(GUARD_END) {
        Some(i) => {
            out += &tail[..i];
            out += tail[i + GUARD_END.len()..].trim_start_matches('\n');
            out += "\n";
            out += GUARD_END;
        }
        None => out += tail,
    }
    out
}
