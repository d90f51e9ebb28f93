//! The split done on demand: the prepared module stays in memory, in the
//! split's own context, and a function's partition is made the first time
//! it is asked for (see the module documentation in `mod.rs`).

use std::sync::{Arc, Mutex, MutexGuard};

use llvm_sys::core::LLVMCloneModule;

use super::declarations::{collect_garbage, make_declaration};
use super::parked::Parked;
use super::plan::{Context, Node, Plan};
use crate::error::{Error, Result};
use crate::llvm::ir::ModuleSymbol;

/// How many partitions are copied straight out of a node before the node
/// is bisected. Copying one out costs in proportion to the node's
/// declarations and bodies (parked, not copied: cheap per function);
/// bisecting copies half of the bodies themselves, some ten times dearer
/// per function. A few direct copies from the whole module make a program's
/// first calls cheap; bisecting after that keeps a program that calls every
/// function at O(N log N).
const DIRECT_COPIES: usize = 8;

/// One function definition of a split module, as callers see it.
#[derive(Clone, Debug)]
pub struct FunctionInfo {
    /// The name callers use (the lazy stub will be defined under this name).
    pub name: String,
    /// The name its partition defines the body under: `{name}.jitcore.body`,
    /// hidden visibility.
    pub body: String,
    /// Flags of the original definition as callers see it (exported = not
    /// hidden, weak = linkonce/weak).
    pub exported: bool,
    pub weak: bool,
}

/// The globals partition, as callers see it before it is written.
#[derive(Clone, Debug)]
pub struct GlobalsInfo {
    /// What it defines (what `IrModule::defined_symbols` reports for it).
    pub symbols: Vec<ModuleSymbol>,
    /// What it uses without defining (`IrModule::declarations`).
    pub refs: Vec<String>,
}

/// A module split for lazy compilation, on demand: the partitions are
/// written when first asked for, from any thread (one at a time: they come
/// from one LLVM context, behind a lock). Each partition is the same
/// bitcode whatever order they are asked for in. Dropping it frees the
/// module, its context and every partition not handed out.
pub struct LazySplit {
    pub(super) module_name: String,
    pub(super) functions: Vec<FunctionInfo>,
    pub(super) globals: Option<GlobalsInfo>,
    pub(super) tree: Mutex<Tree>,
}

/// The bisection tree, with the module's IR: nodes are modules holding the
/// bodies of some functions not yet written out (the root holds them all),
/// each with everything their bodies use as declarations.
pub(super) struct Tree {
    pub(super) plan: Plan,
    /// The nodes by slot (`None` once a node has given out all its bodies).
    nodes: Vec<Option<TreeNode>>,
    /// The slot of the node holding each function's body (`GONE` once its
    /// partition is written).
    owner: Vec<usize>,
    /// The partitions written so far.
    bitcode: Vec<Option<Arc<Vec<u8>>>>,
    /// The globals partition until it is written, then its bitcode.
    globals: Option<Node>,
    globals_bitcode: Option<Arc<Vec<u8>>>,
    /// Set while the tree is being changed: still set afterwards, the change
    /// failed halfway (an internal error or a panic) and the tree is not used
    /// any more.
    busy: bool,
    /// How many partitions a node gives out before it is bisected.
    pub(super) direct_copies: usize,
    /// How many times a node was bisected (for tests).
    pub(super) bisections: usize,
    /// Dropped last: every node above is a module in it.
    _ctx: Context,
}

// SAFETY: the tree owns its context and every module in it (nothing outside
// refers to them), and it is only used behind `LazySplit::tree`'s lock, so
// by one thread at a time; LLVM contexts have no thread affinity.
unsafe impl Send for Tree {}

struct TreeNode {
    /// While some: the bodies of all of `parts`, parked (see `copy_out`).
    /// Declared before `node`, so dropping the node puts them back before
    /// the module goes.
    parked: Option<Parked>,
    node: Node,
    /// The functions (indices into `Plan::parts`) whose bodies it holds, in
    /// module order.
    parts: Vec<usize>,
    /// How many partitions it gave out since it was made.
    served: usize,
}

const GONE: usize = usize::MAX;

impl Tree {
    /// The tree of a prepared module: `root` (made the root of the bisection
    /// by `Plan::function_tree_root`) holds the bodies of all of `plan`'s
    /// parts; `globals` is the globals partition, if any.
    pub(super) fn new(ctx: Context, plan: Plan, root: Node, globals: Option<Node>) -> Tree {
        let n = plan.parts.len();
        let nodes =
            if n == 0 { Vec::new() } else { vec![Some(TreeNode { parked: None, node: root, parts: (0..n).collect(), served: 0 })] };
        Tree {
            plan,
            nodes,
            owner: vec![0; n],
            bitcode: vec![None; n],
            globals,
            globals_bitcode: None,
            busy: false,
            direct_copies: DIRECT_COPIES,
            bisections: 0,
            _ctx: ctx,
        }
    }

    /// Runs a change of the tree, refused once a change failed halfway.
    fn change<T>(&mut self, f: impl FnOnce(&mut Tree) -> Result<T>) -> Result<T> {
        if self.busy {
            return Err(Error::internal(format!(
                "splitting module '{}': an earlier step of its split failed halfway",
                self.plan.module_name
            )));
        }
        self.busy = true;
        let out = f(self)?;
        self.busy = false;
        Ok(out)
    }

    /// The partition of function `i`, written now if it was not.
    fn function(&mut self, i: usize) -> Result<Arc<Vec<u8>>> {
        if let Some(b) = &self.bitcode[i] {
            return Ok(b.clone());
        }
        let b = Arc::new(self.change(|t| t.copy_out(i))?);
        self.bitcode[i] = Some(b.clone());
        Ok(b)
    }

    /// The globals partition, written now if it was not.
    fn globals(&mut self) -> Result<Option<Arc<Vec<u8>>>> {
        if self.globals_bitcode.is_none() {
            let Some(node) = self.globals.take() else { return Ok(None) };
            let b = self.change(|t| t.plan.finish(&node, "<globals>"))?;
            self.globals_bitcode = Some(Arc::new(b));
        }
        Ok(self.globals_bitcode.clone())
    }

    /// Writes the partition of function `i` and drops its body from the
    /// tree. The node holding it is bisected first if it gave out its share
    /// already (the halves in memory, unsplit until asked); the partition is
    /// then copied from the node with every other body parked (so the copy
    /// has only this one), whatever node that is: a partition is the same
    /// whichever node it comes from (a copy holds what the body uses, from a
    /// module prepared once, in the module's order). The other bodies stay
    /// parked for the node's next copy, which puts back only its own: each
    /// copy after a node's first costs its body and the declarations, not
    /// every body of the node (parking walks every instruction).
    fn copy_out(&mut self, i: usize) -> Result<Vec<u8>> {
        let mut slot = self.owner[i];
        loop {
            let Some(node) = self.nodes.get(slot).and_then(Option::as_ref) else {
                return Err(Error::internal(format!(
                    "splitting module '{}': the body of '{}' went missing",
                    self.plan.module_name, self.plan.parts[i].name
                )));
            };
            if node.served < self.direct_copies || node.parts.len() < 2 {
                break;
            }
            slot = self.bisect(slot, i)?;
        }
        let plan = &self.plan;
        let Some(node) = self.nodes[slot].as_mut() else { unreachable!("checked above") };
        // SAFETY: the node is a live module of this tree, held exclusively.
        let f = unsafe { plan.lookup(node.node.0, &plan.parts[i].ir_name)? };
        // SAFETY: the node is a live module of this tree, which we hold
        // exclusively (behind the lock). While the other bodies are parked
        // the node is only cloned, and this body is made a declaration
        // (its blocks were put back, and its uses are its own); the copy is
        // a new module in the same context, dropped before it (a `Node` of
        // this call or the leaf's).
        let copy = unsafe {
            match node.parked.as_mut() {
                Some(parked) => {
                    if !parked.unpark(f) {
                        return Err(Error::internal(format!(
                            "splitting module '{}': the body of '{}' was not parked",
                            plan.module_name, plan.parts[i].name
                        )));
                    }
                }
                None => {
                    let others: Vec<usize> = node.parts.iter().copied().filter(|&p| p != i).collect();
                    node.parked =
                        Some(Parked::park(node.node.0, &others, |m, p| plan.lookup(m, &plan.parts[p].ir_name))?);
                }
            }
            let copy = Node(LLVMCloneModule(node.node.0));
            collect_garbage(copy.0);
            copy
        };
        let bitcode = plan.leaf(copy, &plan.parts[i])?;
        // SAFETY: as above; the body's uses are its own (other bodies refer
        // to the function, not to its blocks: see `eager_functions`).
        unsafe { make_declaration(f) };
        node.parts.retain(|&p| p != i);
        node.served += 1;
        self.owner[i] = GONE;
        if node.parts.is_empty() {
            self.nodes[slot] = None;
        }
        Ok(bitcode)
    }

    /// Bisects the node in `slot`: a copy takes the first half of its
    /// bodies (the second parked while it is made), the node keeps the
    /// second. Returns the slot of the half holding function `i`.
    fn bisect(&mut self, slot: usize, i: usize) -> Result<usize> {
        let plan = &self.plan;
        let Some(node) = self.nodes[slot].as_mut() else { unreachable!("the caller checked") };
        // The node's bodies back first: the bisection parks its own half.
        drop(node.parked.take());
        let (first, second) = node.parts.split_at(node.parts.len() / 2);
        let (first, second) = (first.to_vec(), second.to_vec());
        // SAFETY: the node is a live module of this tree, which we hold
        // exclusively. The second half is parked only while the node is
        // cloned (the copy, a new module in the tree's context, holds the
        // first half's bodies); then the node drops the first half.
        let other = unsafe {
            let parked = Parked::park(node.node.0, &second, |m, p| plan.lookup(m, &plan.parts[p].ir_name))?;
            let other = Node(LLVMCloneModule(node.node.0));
            parked.restore();
            collect_garbage(other.0);
            plan.keep_only(&node.node, &first)?;
            other
        };
        node.parts = second;
        node.served = 0;
        let new_slot = self.nodes.len();
        for &p in &first {
            self.owner[p] = new_slot;
        }
        let holds_i = first.contains(&i);
        self.nodes.push(Some(TreeNode { parked: None, node: other, parts: first, served: 0 }));
        self.bisections += 1;
        Ok(if holds_i { new_slot } else { slot })
    }
}

#[cfg(test)]
impl Tree {
    /// How many partitions were written.
    pub(super) fn written(&self) -> usize {
        self.bitcode.iter().filter(|b| b.is_some()).count()
    }
}

impl LazySplit {
    fn tree(&self) -> MutexGuard<'_, Tree> {
        // A panic while the tree changed leaves `busy` set: it is not used.
        self.tree.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The functions that get partitions of their own, in module order.
    pub fn functions(&self) -> &[FunctionInfo] {
        &self.functions
    }

    /// The globals partition (None if the module defines no global
    /// variable, alias or ifunc and no function must stay next to them).
    pub fn globals(&self) -> Option<&GlobalsInfo> {
        self.globals.as_ref()
    }

    /// The partition of function `index` (of [`LazySplit::functions`]) as
    /// bitcode, written on the first call.
    pub fn function_bitcode(&self, index: usize) -> Result<Arc<Vec<u8>>> {
        if index >= self.functions.len() {
            return Err(Error::internal(format!("module '{}' has no partition {index}", self.module_name)));
        }
        self.tree().function(index)
    }

    /// The globals partition as bitcode (None without one), written on the
    /// first call.
    pub fn globals_bitcode(&self) -> Result<Option<Arc<Vec<u8>>>> {
        self.tree().globals()
    }
}
