//! Optimize (the IR pipeline an engine or session chose, `pipeline.rs`)
//! and codegen: a module in, a relocatable object out.
//!
//! This is the only place IR becomes machine code. The materialization unit
//! calls it when the object cache has nothing for a module.

pub mod pipeline;
pub mod pool;

use crate::error::{Error, Result};
use crate::llvm::buffer::MemoryBuffer;
use crate::llvm::target_machine::{TargetMachine, TargetSpec};
use crate::module::Module;
use pipeline::IrPipeline;

/// Compiles `module` for `spec` with the machine `tm` (made from `spec`),
/// running `pipeline` before codegen at `spec`'s opt level. The IR compiled
/// is the module's own, taken from it ([`Module::take_ir`]: no copy is made,
/// and the module rebuilds its IR if something needs it again).
pub fn compile(
    module: &Module,
    spec: &TargetSpec,
    tm: &TargetMachine,
    pipeline: &IrPipeline,
) -> Result<MemoryBuffer> {
    let mut ir = module.take_ir()?;
    tm.set_target_of(&mut ir, &spec.triple);
    ir.keep_linkonce_definitions();
    ir.lower_thread_locals().map_err(|msg| Error::unsupported(format!("module '{}': {msg}", module.name())))?;

    // The default pipeline at O0 changes nothing in most modules: skipped
    // there (llvm/o0.rs), as raw LLJIT runs no passes at O0.
    let no_op = *pipeline == IrPipeline::Default && spec.opt_level == 0 && ir.default_o0_is_a_no_op();
    if let Some(passes) = pipeline.passes(spec.opt_level).filter(|_| !no_op) {
        crate::llvm::codegen::run_passes(&mut ir, &passes, tm).map_err(|msg| {
            Error::compile(format!("optimizing module '{}' with '{passes}' failed: {msg}", module.name()))
        })?;
    }
    crate::llvm::codegen::emit_object(&mut ir, tm)
        .map_err(|msg| Error::compile(format!("code generation for module '{}' failed: {msg}", module.name())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llvm::ir::IrModule;

    fn object(ir: &str, pipeline: &IrPipeline) -> Vec<u8> {
        crate::llvm::initialize().unwrap();
        let spec = TargetSpec::host(0);
        let tm = spec.create().unwrap();
        let m = Module::from_ir("o0", ir.as_bytes()).unwrap();
        compile(&m, &spec, &tm, pipeline).unwrap().bytes().to_vec()
    }

    const PLAIN: [&str; 3] = [
        "define i32 @f(i32 %x) { %r = add i32 %x, 1\n ret i32 %r }\n",
        "@g = global [4 x i64] [i64 1, i64 2, i64 3, i64 4]\n@p = constant ptr @g\n\
         declare i32 @printf(ptr, ...)\n@s = private constant [3 x i8] c\"%d\\00\"\n\
         define i64 @sum(i64 %n) {\nentry:\n  br label %loop\nloop:\n  %i = phi i64 [0, %entry], [%i1, %loop]\n\
           %a = phi i64 [0, %entry], [%a1, %loop]\n  %q = getelementptr [4 x i64], ptr @g, i64 0, i64 %i\n\
           %v = load i64, ptr %q\n  %a1 = add i64 %a, %v\n  %i1 = add i64 %i, 1\n  %d = icmp eq i64 %i1, %n\n\
           br i1 %d, label %out, label %loop\nout:\n  %c = call i32 (ptr, ...) @printf(ptr @s, i64 %a1)\n  ret i64 %a1\n}\n",
        "define linkonce_odr i32 @inl(i32 %x) { ret i32 %x }\n\
         define i32 @sw(i32 %x) {\n  switch i32 %x, label %d [ i32 1, label %a\n i32 2, label %b ]\n\
         a:\n  ret i32 10\nb:\n  %r = call i32 @inl(i32 %x)\n  ret i32 %r\nd:\n  ret i32 0\n}\n",
    ];

    /// IR passes and code generation can add named types and metadata
    /// kinds to a module's context that its source does not show (a
    /// coroutine frame type, shadow-stack GC's types), so a context they
    /// ran in never serves another module (`llvm/context.rs`).
    #[test]
    fn a_context_that_compiled_is_not_recycled() {
        crate::llvm::initialize().unwrap();
        let tm = TargetSpec::host(2).create().unwrap();
        let mut ir = IrModule::parse("plain", PLAIN[0].as_bytes()).unwrap();
        assert!(ir.context_is_recycled(), "plain small text is");
        crate::llvm::codegen::run_passes(&mut ir, "default<O2>", &tm).unwrap();
        assert!(!ir.context_is_recycled());
        let mut ir = IrModule::parse("plain", PLAIN[0].as_bytes()).unwrap();
        crate::llvm::codegen::emit_object(&mut ir, &tm).unwrap();
        assert!(!ir.context_is_recycled());
    }

    /// What the skip rests on: for modules none of whose functions is marked
    /// for a pass of `default<O0>`, the pipeline changes nothing, so the
    /// object is the one the pipeline would give (same bytes).
    #[test]
    fn default_o0_is_skipped_only_where_it_changes_nothing() {
        for ir in PLAIN {
            let m = IrModule::parse("plain", ir.as_bytes()).unwrap();
            assert!(m.default_o0_is_a_no_op(), "{ir}");
            let skipped = object(ir, &IrPipeline::Default);
            let run = object(ir, &IrPipeline::Custom("default<O0>".into()));
            assert_eq!(skipped, run, "{ir}");
        }
        for ir in [
            "define internal i32 @g() alwaysinline { ret i32 1 }\ndefine i32 @f() { %r = call i32 @g()\n ret i32 %r }\n",
            "define i32 @g() { ret i32 1 }\ndefine i32 @f() { %r = call i32 @g() alwaysinline\n ret i32 %r }\n",
            "declare token @llvm.coro.id(i32, ptr, ptr, ptr)\ndefine void @f() { ret void }\n",
            "define void @f() \"instrument-function-entry\"=\"__cyg_profile_func_enter\" { ret void }\n",
            "define void @f() sanitize_alloc_token { ret void }\n",
        ] {
            let m = IrModule::parse("marked", ir.as_bytes()).unwrap();
            assert!(!m.default_o0_is_a_no_op(), "{ir}");
        }
        // The marked ones still get the pipeline: alwaysinline is inlined.
        let ir = "define internal i32 @g() alwaysinline { ret i32 1 }\n\
                  define i32 @f() { %r = call i32 @g()\n ret i32 %r }\n";
        assert_ne!(object(ir, &IrPipeline::Default), object(ir, &IrPipeline::None));
    }
}
