//! jitcore: a JIT library for C hosts on LLVM 22.
//!
//! Layers (see `architecture.md`): `ffi` (the C ABI), `engine` (the
//! llvmlite-style facade), `session` (LLJIT, JITDylibs, the materialization
//! unit), `compile`, `cache`, `module`, `target`, and `llvm` (RAII owners of
//! llvm-sys objects).
#![allow(non_snake_case, non_camel_case_types, clippy::missing_safety_doc)]

pub mod cache;
pub mod compile;
pub mod engine;
pub mod error;
pub mod ffi;
mod guard;
pub mod llvm;
pub mod module;
pub mod platform;
pub mod report;
pub mod run;
pub mod session;
pub mod target;

pub use engine::Engine;
pub use error::{Error, JitcoreErrorCode, Result};
pub use module::Module;
