//! The committed header must be exactly what cbindgen generates from src/,
//! and must compile on its own as C11 and C++17 with strict warnings.

use std::path::Path;
use std::process::Command;

#[test]
fn committed_header_is_current() {
    let generated = std::fs::read_to_string(Path::new(env!("OUT_DIR")).join("jitcore.h")).unwrap();
    let committed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/jitcore.h")).unwrap();
    if generated != committed {
        panic!(
            "include/jitcore.h is stale: regenerate it with `make header` and commit it\n(generated header is at {}/jitcore.h)",
            env!("OUT_DIR")
        );
    }
}

#[test]
fn header_version_matches_crate() {
    let h = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/jitcore.h")).unwrap();
    for (macro_name, value) in [
        ("JITCORE_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("JITCORE_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("JITCORE_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(h.contains(&format!("#define {macro_name} {value}\n")), "{macro_name} is not {value}");
    }
}

#[test]
fn header_compiles_alone_as_c11_and_cxx17() {
    let dir = std::env::temp_dir().join(format!("jitcore-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("only_header.c");
    std::fs::write(&src, "#include <jitcore.h>\nint jitcore_header_probe(void) { return JITCORE_ERROR_INTERNAL; }\n")
        .unwrap();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    for (compiler, lang, std) in [("cc", "c", "-std=c11"), ("c++", "c++", "-std=c++17")] {
        let out = Command::new(compiler)
            .args([std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-x", lang, "-c"])
            .arg(&src)
            .arg("-I")
            .arg(&include)
            .arg("-o")
            .arg(dir.join(format!("probe-{lang}.o")))
            .output()
            .unwrap();
        assert!(out.status.success(), "{compiler} {std}: {}", String::from_utf8_lossy(&out.stderr));
    }
    std::fs::remove_dir_all(&dir).ok();
}
