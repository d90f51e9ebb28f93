//! Generates the C header with cbindgen (into OUT_DIR; a test compares it
//! with the committed include/jitcore.h) and gives the shared library its SONAME.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let patch = env::var("CARGO_PKG_VERSION_PATCH").unwrap();

    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libjitcore.so.{major}");

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n#define JITCORE_VERSION_MAJOR {major}\n#define JITCORE_VERSION_MINOR {minor}\n#define JITCORE_VERSION_PATCH {patch}\n{}",
        config.after_includes.clone().unwrap_or_default()
    ));
    match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(bindings) => {
            bindings.write_to_file(out.join("jitcore.h"));
        }
        Err(e) => panic!("cbindgen failed: {e}"),
    }
}
