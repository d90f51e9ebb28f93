//! The object cache interface: where the compile path asks for an object
//! before compiling a module, and reports each object it compiled.

pub mod disk;
pub mod key;

use std::sync::Arc;

use crate::compile::pipeline::IrPipeline;
use crate::llvm::target_machine::TargetSpec;
use crate::module::Module;
use crate::report::ErrorLog;

/// What a cache may need besides the module: the machine and opt level the
/// object is (or was) compiled for, the IR pipeline that runs before
/// codegen, and where to report problems that no call can return (the
/// engine's or session's error log).
pub struct CacheContext<'a> {
    pub spec: &'a TargetSpec,
    pub pipeline: &'a IrPipeline,
    pub log: &'a ErrorLog,
}

/// A source and sink of compiled objects, keyed by module.
pub trait ObjectCache: Send + Sync {
    /// An object previously compiled from `module` for `cx.spec` after
    /// `cx.pipeline`, if the cache has one.
    fn lookup(&self, module: &Arc<Module>, cx: &CacheContext<'_>) -> Option<Vec<u8>>;
    /// Records the object just compiled from `module` for `cx.spec` after
    /// `cx.pipeline`.
    fn store(&self, module: &Arc<Module>, object: &[u8], cx: &CacheContext<'_>);

    /// Whether an object this cache gives may stand for its module entirely
    /// (llvmlite's object cache: the host vouches for what it hands back,
    /// on engines that take such objects). A content-keyed cache (the disk
    /// cache) gives the module's own object, so one that does not define
    /// the module's symbols is corrupt: rejected, and the module compiled.
    fn may_stand_for_module(&self) -> bool {
        false
    }
}
