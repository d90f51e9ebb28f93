//! Builds every C test program in tests-c/ with the `cc` crate's compiler
//! (strict warnings), links it against the libjitcore.so cargo just built,
//! and runs it. Set JITCORE_VALGRIND=1 to run each under valgrind's leak
//! checker (definite leaks and memory errors fail the test).

use std::path::{Path, PathBuf};
use std::process::Command;

/// target/<profile>, where cargo put libjitcore.so (with the SONAME link
/// `libjitcore.so.0` that programs linked to it load).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// `cargo test` builds the rlib for integration tests, not necessarily the
/// cdylib C programs link to: build it (same profile; instant when current)
/// and add the SONAME link.
fn ensure_shared_library() {
    let dir = lib_dir();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--lib", "--manifest-path"]).arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    if let Some(target_dir) = dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target_dir);
    }
    let status = cmd.status().expect("cannot run cargo to build libjitcore.so");
    assert!(status.success(), "building libjitcore.so failed");
    assert!(dir.join("libjitcore.so").exists(), "no libjitcore.so in {}", dir.display());
    let link = dir.join("libjitcore.so.0");
    if std::fs::symlink_metadata(&link).is_err() {
        let _ = std::os::unix::fs::symlink("libjitcore.so", &link);
    }
}

fn compiler() -> cc::Tool {
    let target = if cfg!(target_arch = "x86_64") { "x86_64-unknown-linux-gnu" } else { "aarch64-unknown-linux-gnu" };
    cc::Build::new()
        .cargo_metadata(false)
        .target(target)
        .host(target)
        .opt_level(1)
        .debug(true)
        .out_dir(std::env::temp_dir())
        .get_compiler()
}

/// Compiles `src` into an executable in `out_dir`.
pub fn build_c_program(src: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = out_dir.join(src.file_stem().unwrap());
    let mut cmd = compiler().to_command();
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-pthread"])
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(root.join("tests-c"))
        .arg(src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(lib_dir())
        .arg(format!("-Wl,-rpath,{}", lib_dir().display()))
        .arg("-ljitcore");
    let name = src.file_name().unwrap().to_string_lossy();
    if name.starts_with("test_llvm_") {
        cmd.args([
            "-I/usr/lib/llvm-22/include",
            "-L/usr/lib/llvm-22/lib",
            "-Wl,-rpath,/usr/lib/llvm-22/lib",
            "-lLLVM-22",
        ]);
    }
    let out = cmd.output().map_err(|e| format!("cannot run the C compiler: {e}"))?;
    if !out.status.success() {
        return Err(format!("{name} does not compile:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(exe)
}

#[test]
fn c_test_programs_pass() {
    ensure_shared_library();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = lib_dir().join("c-tests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(root.join("tests-c"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("test_") && n.ends_with(".c")
        })
        .collect();
    sources.sort();
    assert!(!sources.is_empty(), "no C tests found in tests-c/");
    let valgrind = std::env::var("JITCORE_VALGRIND").is_ok_and(|v| v == "1");
    let data = root.join("tests-c/data");

    let results: Vec<(String, Result<String, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = sources
            .iter()
            .map(|src| {
                let out_dir = &out_dir;
                let data = &data;
                s.spawn(move || {
                    let name = src.file_name().unwrap().to_string_lossy().into_owned();
                    let run = || -> Result<String, String> {
                        let exe = build_c_program(src, out_dir)?;
                        let mut cmd = if valgrind {
                            let mut c = Command::new("valgrind");
                            c.args([
                                "--leak-check=full",
                                "--errors-for-leak-kinds=definite",
                                "--show-leak-kinds=definite",
                                "--error-exitcode=99",
                                "--quiet",
                            ])
                            .arg(&exe);
                            c
                        } else {
                            Command::new(&exe)
                        };
                        let out = cmd.arg(data).output().map_err(|e| format!("cannot run {name}: {e}"))?;
                        let text =
                            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
                        if out.status.success() {
                            Ok(text)
                        } else {
                            Err(format!("{name} failed ({}):\n{text}", out.status))
                        }
                    };
                    let result = run();
                    (name, result)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut failures = Vec::new();
    for (name, r) in &results {
        match r {
            Ok(text) => println!("PASS {name}: {}", text.lines().last().unwrap_or("")),
            Err(e) => {
                println!("FAIL {name}");
                failures.push(e.clone());
            }
        }
    }
    assert!(failures.is_empty(), "{} C test program(s) failed:\n{}", failures.len(), failures.join("\n"));
}
