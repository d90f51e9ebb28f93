//! Debug-info trimming: the compile units' module-wide lists stay with the
//! globals partition only.

use std::ptr;

use llvm_sys::core::*;
use llvm_sys::debuginfo::{LLVMGetMetadataKind, LLVMMetadataKind};
use llvm_sys::prelude::*;

/// Empties the module-wide lists of each debug-info compile unit: enums,
/// retained types, global variables, imported entities and macros. A
/// function partition needs none of them (what its code uses is reachable
/// from its DISubprogram), and they would be copied into every clone and
/// emitted into every partition's object. The globals partition, made before
/// this, keeps them.
///
/// # Safety
/// `m` must be a live module we hold exclusively, and no other module may
/// share its compile units (clones of it made earlier have their own).
pub(super) unsafe fn trim_compile_units(m: LLVMModuleRef) {
    let name = c"llvm.dbg.cu";
    let count = LLVMGetNamedMetadataNumOperands(m, name.as_ptr()) as usize;
    if count == 0 {
        return;
    }
    let mut units = vec![ptr::null_mut(); count];
    LLVMGetNamedMetadataOperands(m, name.as_ptr(), units.as_mut_ptr());
    for unit in units {
        if unit.is_null()
            || !matches!(
                LLVMGetMetadataKind(LLVMValueAsMetadata(unit)),
                LLVMMetadataKind::LLVMDICompileUnitMetadataKind
            )
        {
            continue;
        }
        // Operands 4..=8 of a DICompileUnit: enums, retained types, globals,
        // imported entities, macros. They become absent (NULL), as in a unit
        // that never had them: an empty macro list would still make DwarfDebug
        // refer to a macro section it then does not emit.
        // SAFETY (null argument): see `llvm_asserts_on_null_setters`.
        let operands = LLVMGetMDNodeNumOperands(unit);
        for i in 4..operands.min(9) {
            LLVMReplaceMDNodeOperandWith(unit, i, ptr::null_mut());
        }
    }
}
