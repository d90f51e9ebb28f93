//! Parking function bodies: taking them out of their functions for a
//! moment, so a clone or the bitcode of the module leaves them out.

use std::ptr;

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMLinkage;

use super::declarations::strip_declaration;
use crate::error::Result;
use crate::llvm::ir::basic_blocks;

/// Function bodies taken out of their module for a moment, so that a clone
/// (or the bitcode) of the module has them as plain declarations without
/// copying them. Their blocks are unlinked from the function (LLVM keeps an
/// unlinked block and its instructions alive, uses included) and everything a
/// declaration may not have is set aside: personality, prefix and prologue
/// data, metadata attachments, non-external linkage. Dropping the value puts
/// all of it back.
pub(super) struct Parked {
    functions: Vec<ParkedFunction>,
}

struct ParkedFunction {
    f: LLVMValueRef,
    blocks: Vec<LLVMBasicBlockRef>,
    linkage: LLVMLinkage,
    personality: LLVMValueRef,
    prefix: LLVMValueRef,
    prologue: LLVMValueRef,
    metadata: Vec<(u32, LLVMMetadataRef)>,
}

impl Parked {
    /// Parks the bodies of `which` (definitions, found in `m` by `find`).
    ///
    /// # Safety
    /// `m` must be a live module we hold exclusively, alive until the result
    /// is dropped. Until then `m` may only be cloned or written out, or have
    /// the body of a function that is not parked (any more: see
    /// [`Parked::unpark`]) deleted, whose values only that body uses: its
    /// parked functions look unused or bodiless, so deleting declarations
    /// (`collect_garbage`) or parked bodies in it would free values the
    /// parked blocks still use.
    pub(super) unsafe fn park(
        m: LLVMModuleRef,
        which: &[usize],
        find: impl Fn(LLVMModuleRef, usize) -> Result<LLVMValueRef>,
    ) -> Result<Parked> {
        let mut parked = Parked { functions: Vec::with_capacity(which.len()) };
        for &i in which {
            let f = find(m, i)?;
            let blocks = basic_blocks(f);
            let mut metadata = Vec::new();
            let mut count = 0usize;
            let entries = LLVMGlobalCopyAllMetadata(f, &mut count);
            for k in 0..count as u32 {
                metadata.push((
                    LLVMValueMetadataEntriesGetKind(entries, k),
                    LLVMValueMetadataEntriesGetMetadata(entries, k),
                ));
            }
            if !entries.is_null() {
                LLVMDisposeValueMetadataEntries(entries);
            }
            let saved = ParkedFunction {
                f,
                blocks,
                linkage: LLVMGetLinkage(f),
                personality: if LLVMHasPersonalityFn(f) != 0 { LLVMGetPersonalityFn(f) } else { ptr::null_mut() },
                prefix: if LLVMHasPrefixData(f) != 0 { LLVMGetPrefixData(f) } else { ptr::null_mut() },
                prologue: if LLVMHasPrologueData(f) != 0 { LLVMGetPrologueData(f) } else { ptr::null_mut() },
                metadata,
            };
            for &bb in &saved.blocks {
                LLVMRemoveBasicBlockFromParent(bb);
            }
            strip_declaration(f);
            parked.functions.push(saved);
        }
        Ok(parked)
    }

    /// Puts the bodies back (the same as dropping the value).
    pub(super) fn restore(self) {}

    /// Puts the body of `f` back alone (the others stay parked); false if
    /// `f` is not parked here. The lazy split's nodes keep their bodies
    /// parked between partitions and put back only the one they copy
    /// (`tree.rs`), then delete it.
    pub(super) fn unpark(&mut self, f: LLVMValueRef) -> bool {
        match self.functions.iter().position(|p| p.f == f) {
            Some(at) => {
                self.functions.swap_remove(at).put_back();
                true
            }
            None => false,
        }
    }
}

impl ParkedFunction {
    fn put_back(self) {
        // SAFETY: the function and its unlinked blocks are alive: `park`'s
        // contract keeps the module alive and its parked values undeleted
        // until now, and unlinked blocks belong to nobody else. Each block
        // goes back, in order, to the function it came from; the saved
        // constants and metadata are the function's own (non-null ones only
        // are set back).
        unsafe {
            for bb in self.blocks {
                LLVMAppendExistingBasicBlock(self.f, bb);
            }
            LLVMSetLinkage(self.f, self.linkage);
            if !self.personality.is_null() {
                LLVMSetPersonalityFn(self.f, self.personality);
            }
            if !self.prefix.is_null() {
                LLVMSetPrefixData(self.f, self.prefix);
            }
            if !self.prologue.is_null() {
                LLVMSetPrologueData(self.f, self.prologue);
            }
            for (kind, md) in self.metadata {
                LLVMGlobalSetMetadata(self.f, kind, md);
            }
        }
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        for p in self.functions.drain(..) {
            p.put_back();
        }
    }
}
