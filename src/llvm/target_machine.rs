//! Owned `LLVMTargetMachineRef` and `LLVMTargetDataRef`.

use std::ptr;

use llvm_sys::target::{LLVMCopyStringRepOfTargetData, LLVMDisposeTargetData, LLVMTargetDataRef};
use llvm_sys::target_machine::*;

use super::{cstring, take_message};
use crate::error::{Error, Result};

/// A relocation model, named as `llc -relocation-model=` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocModel {
    Static,
    Pic,
    DynamicNoPic,
    Ropi,
    Rwpi,
    RopiRwpi,
}

/// A code model, named as `llc -code-model=` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeModel {
    Tiny,
    Small,
    Kernel,
    Medium,
    Large,
}

impl RelocModel {
    /// The model named `name` (`static`, `pic`, `dynamic-no-pic`, `ropi`, `rwpi`, `ropi-rwpi`).
    pub fn from_name(name: &str) -> Option<RelocModel> {
        Some(match name {
            "static" => RelocModel::Static,
            "pic" => RelocModel::Pic,
            "dynamic-no-pic" => RelocModel::DynamicNoPic,
            "ropi" => RelocModel::Ropi,
            "rwpi" => RelocModel::Rwpi,
            "ropi-rwpi" => RelocModel::RopiRwpi,
            _ => return None,
        })
    }

    fn raw(self) -> LLVMRelocMode {
        match self {
            RelocModel::Static => LLVMRelocMode::LLVMRelocStatic,
            RelocModel::Pic => LLVMRelocMode::LLVMRelocPIC,
            RelocModel::DynamicNoPic => LLVMRelocMode::LLVMRelocDynamicNoPic,
            RelocModel::Ropi => LLVMRelocMode::LLVMRelocROPI,
            RelocModel::Rwpi => LLVMRelocMode::LLVMRelocRWPI,
            RelocModel::RopiRwpi => LLVMRelocMode::LLVMRelocROPI_RWPI,
        }
    }

    /// Its LLVM-C enum value (what cache keys hash, so they stay stable).
    pub fn llvm_value(self) -> u32 {
        self.raw() as u32
    }
}

impl CodeModel {
    /// The model named `name` (`tiny`, `small`, `kernel`, `medium`, `large`).
    pub fn from_name(name: &str) -> Option<CodeModel> {
        Some(match name {
            "tiny" => CodeModel::Tiny,
            "small" => CodeModel::Small,
            "kernel" => CodeModel::Kernel,
            "medium" => CodeModel::Medium,
            "large" => CodeModel::Large,
            _ => return None,
        })
    }

    fn raw(self) -> LLVMCodeModel {
        match self {
            CodeModel::Tiny => LLVMCodeModel::LLVMCodeModelTiny,
            CodeModel::Small => LLVMCodeModel::LLVMCodeModelSmall,
            CodeModel::Kernel => LLVMCodeModel::LLVMCodeModelKernel,
            CodeModel::Medium => LLVMCodeModel::LLVMCodeModelMedium,
            CodeModel::Large => LLVMCodeModel::LLVMCodeModelLarge,
        }
    }

    /// Its LLVM-C enum value (what cache keys hash, so they stay stable).
    pub fn llvm_value(self) -> u32 {
        self.raw() as u32
    }
}

/// Everything needed to make a target machine: a plain value that can be
/// copied between engines and threads (a TargetMachine itself cannot be
/// shared by two compiling threads).
#[derive(Clone, Debug, PartialEq)]
pub struct TargetSpec {
    pub triple: String,
    pub cpu: String,
    pub features: String,
    /// 0..=3, drives both the IR pipeline and codegen.
    pub opt_level: u32,
    pub reloc: RelocModel,
    pub code_model: CodeModel,
}

impl TargetSpec {
    /// The host: its normalized triple, CPU name and CPU features, PIC and
    /// the small code model (what JITLink expects on x86-64 and AArch64).
    pub fn host(opt_level: u32) -> TargetSpec {
        // SAFETY: these functions return LLVM-allocated strings we dispose.
        unsafe {
            let raw = LLVMGetDefaultTargetTriple();
            let norm = LLVMNormalizeTargetTriple(raw);
            let triple = take_message(norm);
            take_message(raw);
            TargetSpec {
                triple,
                cpu: take_message(LLVMGetHostCPUName()),
                features: take_message(LLVMGetHostCPUFeatures()),
                opt_level,
                reloc: RelocModel::Pic,
                code_model: CodeModel::Small,
            }
        }
    }

    /// Whether `arch` (the first part of a triple, or an `-march` value)
    /// names this spec's architecture, under any of its usual spellings.
    pub fn same_arch(&self, arch: &str) -> bool {
        let host = self.arch();
        arch == host
            || (host == "x86_64" && matches!(arch, "x86-64" | "amd64"))
            || (host == "aarch64" && arch == "arm64")
    }

    /// The architecture part of the triple (`x86_64`).
    pub fn arch(&self) -> &str {
        self.triple.split('-').next().unwrap_or("")
    }

    /// Makes a new target machine for this spec (initializing LLVM's native
    /// target first, if nothing did yet).
    pub fn create(&self) -> Result<TargetMachine> {
        super::initialize()?;
        let triple = cstring(&self.triple);
        let cpu = cstring(&self.cpu);
        let features = cstring(&self.features);
        let level = match self.opt_level {
            0 => LLVMCodeGenOptLevel::LLVMCodeGenLevelNone,
            1 => LLVMCodeGenOptLevel::LLVMCodeGenLevelLess,
            2 => LLVMCodeGenOptLevel::LLVMCodeGenLevelDefault,
            _ => LLVMCodeGenOptLevel::LLVMCodeGenLevelAggressive,
        };
        // SAFETY: all strings are live for the calls; LLVM copies them. A
        // NULL target means the triple is unknown, reported as an error.
        unsafe {
            let mut target = ptr::null_mut();
            let mut msg = ptr::null_mut();
            if LLVMGetTargetFromTriple(triple.as_ptr(), &mut target, &mut msg) != 0 {
                return Err(Error::unsupported(format!(
                    "no LLVM target for triple '{}': {}",
                    self.triple,
                    take_message(msg)
                )));
            }
            let tm = LLVMCreateTargetMachine(
                target,
                triple.as_ptr(),
                cpu.as_ptr(),
                features.as_ptr(),
                level,
                self.reloc.raw(),
                self.code_model.raw(),
            );
            if tm.is_null() {
                return Err(Error::unsupported(format!(
                    "cannot create a target machine for '{}' (cpu '{}')",
                    self.triple, self.cpu
                )));
            }
            Ok(TargetMachine(tm))
        }
    }
}

/// Owns an `LLVMTargetMachineRef`.
pub struct TargetMachine(LLVMTargetMachineRef);

// SAFETY: a TargetMachine is owned by one value and used by one thread at a
// time (compile jobs take one out of a pool); LLVM target machines have no
// thread affinity.
unsafe impl Send for TargetMachine {}

impl TargetMachine {
    pub fn as_raw(&self) -> LLVMTargetMachineRef {
        self.0
    }

    /// Gives up ownership (to an LLVM function that consumes it).
    pub fn into_raw(self) -> LLVMTargetMachineRef {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    /// Gives `ir` the triple `triple` and this machine's data layout (copied
    /// as it is, not parsed from its text again): what it is compiled for.
    pub fn set_target_of(&self, ir: &mut super::ir::IrModule, triple: &str) {
        ir.set_triple(triple);
        let dl = self.data_layout();
        // SAFETY: the module is live and ours (&mut); LLVM copies the layout.
        unsafe { llvm_sys::target::LLVMSetModuleDataLayout(ir.as_raw(), dl.as_raw()) };
    }

    /// The target's data layout.
    pub fn data_layout(&self) -> TargetData {
        // SAFETY: the machine is live; the returned data layout is ours.
        TargetData(unsafe { LLVMCreateTargetDataLayout(self.0) })
    }
}

impl Drop for TargetMachine {
    fn drop(&mut self) {
        // SAFETY: owned and disposed once.
        unsafe { LLVMDisposeTargetMachine(self.0) }
    }
}

/// Owns an `LLVMTargetDataRef`.
pub struct TargetData(LLVMTargetDataRef);

// SAFETY: a TargetData is owned by this value alone and LLVM's data layouts
// have no thread affinity. It is deliberately not Sync: LLVM fills the
// layout's struct-layout cache lazily, without a lock, so queries from two
// threads at once would race (see `TargetDataInfo`).
unsafe impl Send for TargetData {}

impl TargetData {
    /// Target data for a layout string (`e-m:e-...`).
    pub fn from_layout(layout: &str) -> TargetData {
        let c = cstring(layout);
        // SAFETY: LLVM copies the string; the result is ours to dispose.
        TargetData(unsafe { llvm_sys::target::LLVMCreateTargetData(c.as_ptr()) })
    }

    pub fn as_raw(&self) -> LLVMTargetDataRef {
        self.0
    }

    /// The layout string (`e-m:e-p270:32:32-...`).
    pub fn layout_string(&self) -> String {
        // SAFETY: returns an LLVM-allocated string we dispose.
        unsafe { take_message(LLVMCopyStringRepOfTargetData(self.0)) }
    }

    /// ABI size in bytes of `ty` (whose size was checked to fit when parsed).
    pub fn abi_size(&self, ty: &super::ir::IrType) -> u64 {
        // SAFETY: both are live; LLVM only reads the type and the layout.
        unsafe { llvm_sys::target::LLVMABISizeOfType(self.0, ty.as_raw()) }
    }

    /// ABI alignment in bytes of `ty`.
    pub fn abi_alignment(&self, ty: &super::ir::IrType) -> u64 {
        // SAFETY: as in abi_size.
        unsafe { llvm_sys::target::LLVMABIAlignmentOfType(self.0, ty.as_raw()) as u64 }
    }

    pub fn pointer_size(&self) -> u32 {
        // SAFETY: read-only query on live target data.
        unsafe { llvm_sys::target::LLVMPointerSize(self.0) }
    }
}

impl Drop for TargetData {
    fn drop(&mut self) {
        // SAFETY: owned and disposed once.
        unsafe { LLVMDisposeTargetData(self.0) }
    }
}
