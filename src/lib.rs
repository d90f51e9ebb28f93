//! jitcore: a JIT library for C hosts on LLVM 22.
//!
//! Layers (see `architecture.md`): `ffi` (the C ABI), `engine` (the
//! llvmlite-style facade), `session` (LLJIT, JITDylibs, the materialization
//! unit), `compile`, `cache`, `module`, `target`, and `llvm` (RAII owners of
//! llvm-sys objects). Every layer is internal: the C ABI (`include/jitcore.h`)
//! is the product, and the Rust API is the small facade re-exported here
//! (what `jitcore-run` is built on).
#![allow(non_snake_case, non_camel_case_types, clippy::missing_safety_doc)]

pub(crate) mod cache;
pub(crate) mod compile;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod fasthash;
/// The C ABI, documented by `include/jitcore.h` (generated from it). Public
/// for the fuzz targets, which call it from Rust; hosts use the header.
#[doc(hidden)]
pub mod ffi;
mod guard;
pub(crate) mod llvm;
pub(crate) mod module;
pub(crate) mod platform;
pub(crate) mod report;
pub(crate) mod session;
pub(crate) mod target;
pub(crate) mod tls;
#[cfg(test)]
mod test_child;

// The engine: llvmlite's ExecutionEngine.
pub use engine::Engine;
// The session: LLJIT, its JITDylibs, their symbol sources and trackers.
pub use session::dylib::Dylib;
/// What a call of a lazily compiled function that cannot be compiled does.
pub use session::lazy_failure::LazyFailureHandler;
pub use session::sources::SymbolSource;
pub use session::stats::Statistics;
pub use session::tracker::Group as Tracker;
pub use session::{Session, SessionConfig};
// Modules.
pub use module::Module;
/// The suffix of the hidden symbol behind a lazy function's stub.
pub use session::lazy::BODY_SUFFIX as LAZY_BODY_SUFFIX;
// Object caches: the trait, and the built-in disk cache.
pub use cache::disk::{DiskCache, DiskCacheStatistics};
pub use cache::{CacheContext, ObjectCache};
// Targets, and what runs on IR before codegen.
pub use compile::pipeline::IrPipeline;
pub use llvm::target_machine::{CodeModel, RelocModel, TargetSpec};
pub use llvm::{initialize, llvm_version};
// Errors.
pub use error::{Error, JitcoreErrorCode, Result};

/// What the fuzz targets and integration tests need beyond the facade:
/// not a stable API.
#[doc(hidden)]
pub mod testing {
    pub use crate::cache::disk::header as disk_entry_header;
    pub use crate::cache::key::module_key;
    pub use crate::compile::compile;
    pub use crate::llvm::target_machine::TargetMachine;
}
