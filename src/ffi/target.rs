//! Targets: a `JitcoreTargetMachineRef` describes the machine to generate
//! code for (the host's triple, CPU and CPU features, an opt level); the
//! caller owns it, and engines copy what they need from it. A
//! `JitcoreTargetDataRef` is an engine's data layout (sizes and alignments
//! of IR types), borrowed from the engine. A `JitcoreIRPipelineKind` says
//! what runs on IR before code generation.

use std::ffi::{c_char, c_uint};

use super::error::JitcoreErrorRef;
use super::{boundary, boundary_or, non_null, str_arg, write_out};
use crate::compile::pipeline::IrPipeline;
use crate::error::{Error, Result};
use crate::target::{TargetDataInfo, TargetMachine};

/// Optimization levels: codegen follows it, and so does the default IR
/// pipeline (`default<On>`, see `JitcoreIRPipelineKind`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitcoreOptLevel {
    JITCORE_OPT_LEVEL_O0 = 0,
    JITCORE_OPT_LEVEL_O1 = 1,
    JITCORE_OPT_LEVEL_O2 = 2,
    JITCORE_OPT_LEVEL_O3 = 3,
}

/// How a `JitcoreOptLevel` argument arrives: C may pass any `unsigned`
/// value in an enum, so it is read as a number and checked (spelled
/// `JitcoreOptLevel` in the header).
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct JitcoreOptLevelArg(pub c_uint);

impl JitcoreOptLevelArg {
    pub(crate) fn level(self) -> Result<u32> {
        if self.0 <= 3 {
            Ok(self.0)
        } else {
            Err(Error::invalid_argument(format!("{} is not a JitcoreOptLevel (0..3)", self.0)))
        }
    }
}

/// What an engine or session runs on a module's IR before code generation
/// (`JitcoreEngineSetIRPipeline`, `JitcoreSessionSetIRPipeline`). Code
/// generation itself always runs at the opt level.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitcoreIRPipelineKind {
    /// The default: LLVM's `default<On>` pipeline at the opt level `n`,
    /// right for IR nobody optimized yet (what a front end emits). At O0
    /// it is not run on a module it would not change (none of its
    /// functions is marked `alwaysinline`, for coroutines, entry/exit
    /// instrumentation or alloc tokens): the object is the same.
    JITCORE_IR_PIPELINE_DEFAULT = 0,
    /// No IR passes: codegen only, at the opt level, as llvmlite's MCJIT and
    /// `lli` do. Right for a host that already ran its own passes.
    JITCORE_IR_PIPELINE_NONE = 1,
    /// The passes of a pipeline string in `opt -passes=` syntax, for
    /// example `"function(instcombine,simplifycfg),globaldce"`.
    JITCORE_IR_PIPELINE_CUSTOM = 2,
}

/// How a `JitcoreIRPipelineKind` argument arrives: read as a number and
/// checked, as `JitcoreOptLevelArg` (spelled `JitcoreIRPipelineKind` in
/// the header).
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct JitcoreIRPipelineKindArg(pub c_uint);

impl JitcoreIRPipelineKindArg {
    /// The pipeline `self` and `passes` name (`passes` is read only for
    /// CUSTOM); not yet checked by LLVM (see `IrPipeline::check`).
    ///
    /// # Safety
    /// `passes` must be NULL or a NUL-terminated string.
    pub(crate) unsafe fn pipeline(self, passes: *const c_char) -> Result<IrPipeline> {
        match self.0 {
            0 => Ok(IrPipeline::Default),
            1 => Ok(IrPipeline::None),
            2 => {
                if passes.is_null() {
                    return Err(Error::invalid_argument("a JITCORE_IR_PIPELINE_CUSTOM pipeline needs Passes"));
                }
                // SAFETY: non-NULL, NUL-terminated (contract).
                Ok(IrPipeline::Custom(unsafe { str_arg(passes, "Passes")? }.to_string()))
            }
            n => Err(Error::invalid_argument(format!("{n} is not a JitcoreIRPipelineKind (0..2)"))),
        }
    }
}

/// A target machine description (`JitcoreTargetMachineRef`).
pub struct JitcoreOpaqueTargetMachine {
    pub(crate) tm: TargetMachine,
}

/// A description of the machine to generate code for.
pub type JitcoreTargetMachineRef = *mut JitcoreOpaqueTargetMachine;

/// Target data of an engine (`JitcoreTargetDataRef`).
pub struct JitcoreOpaqueTargetData {
    pub(crate) td: std::sync::Arc<TargetDataInfo>,
}

/// The data layout of an engine's target: sizes and alignments of IR types.
pub type JitcoreTargetDataRef = *mut JitcoreOpaqueTargetData;

/// Creates a description of the host machine (its triple, CPU and CPU
/// features; position-independent code, small code model) at `OptLevel`.
/// On success the caller owns `*Result` (dispose with
/// `JitcoreDisposeTargetMachine`). Errors: `INVALID_ARGUMENT` for NULL or an
/// opt level outside 0..3; `UNSUPPORTED` if LLVM has no target for the host.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn JitcoreCreateHostTargetMachine(
    Result: *mut JitcoreTargetMachineRef,
    OptLevel: JitcoreOptLevelArg,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(Result, "Result")?;
        let tm = TargetMachine::host(OptLevel.level()?)?;
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, Box::into_raw(Box::new(JitcoreOpaqueTargetMachine { tm }))) };
        Ok(())
    })
}

/// Disposes of a target machine. Engines made from it keep their own copy.
/// NULL is ignored. Must not race any other use of `TM` (its triple string
/// dies with it).
#[no_mangle]
pub unsafe extern "C" fn JitcoreDisposeTargetMachine(TM: JitcoreTargetMachineRef) {
    boundary_or((), || {
        if !TM.is_null() {
            // SAFETY: TM came from JitcoreCreateHostTargetMachine and is disposed once.
            drop(unsafe { Box::from_raw(TM) });
        }
    })
}

/// The target triple of `TM` (`x86_64-pc-linux-gnu`): borrowed, valid until
/// `TM` is disposed of. NULL for NULL. Thread-safe; must not race the
/// disposal of `TM`.
#[no_mangle]
pub unsafe extern "C" fn JitcoreTargetMachineGetTriple(TM: JitcoreTargetMachineRef) -> *const c_char {
    boundary_or(std::ptr::null(), || {
        if TM.is_null() {
            return std::ptr::null();
        }
        // SAFETY: TM is a live target machine; the spec's triple lives as long.
        unsafe { (*TM).tm.c_triple().as_ptr() }
    })
}

/// The size of a pointer in bytes (8 on 64-bit hosts); 0 for NULL.
/// Thread-safe; must not race the disposal of the engine `TD` belongs to.
#[no_mangle]
pub unsafe extern "C" fn JitcoreTargetDataGetPointerSize(TD: JitcoreTargetDataRef) -> c_uint {
    boundary_or(0, || {
        if TD.is_null() {
            return 0;
        }
        // SAFETY: TD is borrowed from a live engine.
        unsafe { (*TD).td.pointer_size() }
    })
}

/// Writes the ABI size in bytes of `IRType`, an LLVM IR type written as
/// text (`"i32"`, `"{i64, [2 x i64]}"`, `"<4 x float>"`, `"ptr"`).
/// Errors: `INVALID_ARGUMENT` for NULL, or naming a string that is not a
/// sized IR type (`*Result` is then untouched). Thread-safe (each query
/// parses its type in a context of its own); must not race the disposal of
/// the engine `TD` belongs to.
#[no_mangle]
pub unsafe extern "C" fn JitcoreTargetDataGetABISize(
    TD: JitcoreTargetDataRef,
    Result: *mut u64,
    IRType: *const c_char,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(TD, "TD")?;
        non_null(Result, "Result")?;
        // SAFETY: TD is borrowed from a live engine; IRType is NUL-terminated.
        let size = unsafe { (*TD).td.abi_size(str_arg(IRType, "IRType")?)? };
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, size) };
        Ok(())
    })
}

/// Writes the ABI alignment in bytes of `IRType` (see
/// `JitcoreTargetDataGetABISize`). Same errors. Thread-safe; must not race
/// the disposal of the engine `TD` belongs to.
#[no_mangle]
pub unsafe extern "C" fn JitcoreTargetDataGetABIAlignment(
    TD: JitcoreTargetDataRef,
    Result: *mut u64,
    IRType: *const c_char,
) -> JitcoreErrorRef {
    boundary(|| {
        non_null(TD, "TD")?;
        non_null(Result, "Result")?;
        // SAFETY: as in JitcoreTargetDataGetABISize.
        let align = unsafe { (*TD).td.abi_alignment(str_arg(IRType, "IRType")?)? };
        // SAFETY: Result was checked non-NULL.
        unsafe { write_out(Result, align) };
        Ok(())
    })
}
