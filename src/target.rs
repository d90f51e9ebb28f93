//! Target machines and target data as hosts see them.

use crate::error::{Error, Result};
use crate::llvm::ir::IrType;
use crate::llvm::target_machine::{TargetData, TargetSpec};

/// A host-facing target machine: the description engines copy from.
pub struct TargetMachine {
    pub spec: TargetSpec,
    c_triple: std::ffi::CString,
}

impl TargetMachine {
    /// The host machine at `opt_level` (0..=3); checks that LLVM can make a
    /// target machine for it.
    pub fn host(opt_level: u32) -> Result<TargetMachine> {
        crate::llvm::initialize()?;
        if opt_level > 3 {
            return Err(Error::invalid_argument(format!("opt level {opt_level} is not 0, 1, 2 or 3")));
        }
        let spec = TargetSpec::host(opt_level);
        spec.create()?;
        let c_triple = crate::llvm::cstring(&spec.triple);
        Ok(TargetMachine { spec, c_triple })
    }

    /// The triple as a C string, valid while `self` lives.
    pub fn c_triple(&self) -> &std::ffi::CStr {
        &self.c_triple
    }
}

/// Size and alignment queries on a target's data layout.
/// Shared by threads as plain values: every query makes a `TargetData` of
/// its own (LLVM fills a data layout's struct-layout cache lazily, without
/// a lock, so one `TargetData` must not be queried from two threads).
pub struct TargetDataInfo {
    pointer_size: u32,
    layout: String,
}

impl TargetDataInfo {
    pub fn new(td: TargetData) -> TargetDataInfo {
        TargetDataInfo { pointer_size: td.pointer_size(), layout: td.layout_string() }
    }

    /// Runs `f` with the parsed type and a target data made for this query.
    /// LLVM caches struct layouts by type address inside a TargetData, and
    /// each query parses its type in a scratch context that is freed after:
    /// a long-lived TargetData could see a new type at a freed type's address
    /// and answer with the old layout. A fresh TargetData per query cannot.
    fn query(&self, ir_type: &str, f: impl FnOnce(&TargetData, &IrType) -> u64) -> Result<u64> {
        let td = TargetData::from_layout(&self.layout);
        Ok(f(&td, &IrType::parse(ir_type)?))
    }

    pub fn pointer_size(&self) -> u32 {
        self.pointer_size
    }

    pub fn layout_string(&self) -> &str {
        &self.layout
    }

    /// ABI size in bytes of the IR type written as `ir_type` (`{i64, [2 x i64]}`).
    pub fn abi_size(&self, ir_type: &str) -> Result<u64> {
        self.query(ir_type, |td, ty| td.abi_size(ty))
    }

    /// ABI alignment in bytes of the IR type written as `ir_type`.
    pub fn abi_alignment(&self, ir_type: &str) -> Result<u64> {
        self.query(ir_type, |td, ty| td.abi_alignment(ty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_host_types() {
        let tm = TargetMachine::host(2).unwrap();
        let td = TargetDataInfo::new(tm.spec.create().unwrap().data_layout());
        assert_eq!(td.pointer_size(), 8);
        assert_eq!(td.abi_size("i32").unwrap(), 4);
        assert_eq!(td.abi_alignment("i32").unwrap(), 4);
        assert_eq!(td.abi_size("i8").unwrap(), 1);
        assert_eq!(td.abi_size("{i64, [2 x i64]}").unwrap(), 24);
        let e = td.abi_size("not a type").unwrap_err();
        assert!(e.message.contains("not a type"), "{}", e.message);
        assert!(td.abi_size("void").is_err());
        // Struct layouts must not leak between queries (LLVM caches them by
        // type address, and scratch types are freed after each query).
        for _ in 0..50 {
            assert_eq!(td.abi_size("{i8, i32}").unwrap(), 8);
            assert_eq!(td.abi_size("{i8, double, i16}").unwrap(), 24);
            assert_eq!(td.abi_alignment("{i8, double, i16}").unwrap(), 8);
            assert_eq!(td.abi_size("<{i8, i32}>").unwrap(), 5);
        }
    }
}
