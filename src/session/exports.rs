//! What a JITDylib's members define and use, as jitcore recorded it when
//! they were added: the link-order generator reads it to answer inside a
//! link-order cycle without waiting (see `cycles.rs`). For each name, which
//! members define it, whether it is exported, and whether it is a function,
//! data, or an address that is ready at once (a lazily added module's stub,
//! an absolute symbol); for each member, the names its code uses.
//!
//! Built from the dylib's groups when asked and kept until the dylib
//! changes (`Dylib::changed`, called after every add and removal).

use std::collections::HashMap;
use std::sync::Arc;

use super::tracker::{Group, LinkFacts};

/// What a definition stands for, as far as waiting for it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A function whose code must be compiled and linked first.
    Function,
    /// Data whose module must be compiled and linked first.
    Data,
    /// Ready as soon as it is asked for (a lazy stub, an absolute symbol).
    Ready,
}

/// One definition of a name.
#[derive(Clone, Copy, Debug)]
pub struct Def {
    /// Which member (index into [`Exports::member`]).
    pub member: usize,
    pub exported: bool,
    pub kind: Kind,
}

/// A member's label for messages and the names its code uses (those that
/// can make its link wait: for a lazy module, its variables' only).
#[derive(Debug)]
pub struct MemberFacts {
    pub label: String,
    pub refs: Vec<String>,
}

/// The definitions and uses of one dylib.
#[derive(Debug, Default)]
pub struct Exports {
    defs: HashMap<String, Vec<Def>>,
    members: Vec<MemberFacts>,
}

impl Exports {
    /// From the members of `groups` (the dylib's) and its absolute symbols.
    pub fn build(groups: &[Arc<Group>], absolutes: &[String]) -> Exports {
        let mut out = Exports::default();
        for group in groups {
            for m in group.state().members.iter() {
                let index = out.members.len();
                let mut defs: Vec<(String, bool, Kind)> = Vec::new();
                let facts = m.facts.as_deref();
                let (label, refs) = if let Some(module) = &m.module {
                    for s in module.symbols() {
                        let kind = match (s.callable, m.lazy.is_some()) {
                            (true, true) => Kind::Ready,
                            (true, false) => Kind::Function,
                            (false, _) => Kind::Data,
                        };
                        defs.push((s.name.clone(), s.exported, kind));
                    }
                    let refs = if m.lazy.is_some() { facts.map(|f| f.refs.clone()).unwrap_or_default() } else { module.declarations() };
                    (format!("module '{}'", module.name()), refs)
                } else if let Some(h) = &m.materializer {
                    for s in h.symbols() {
                        defs.push((s.name, s.exported, if s.callable { Kind::Function } else { Kind::Data }));
                    }
                    // What its code uses is known only once it produced it.
                    (h.name(), Vec::new())
                } else {
                    let f = facts.cloned().unwrap_or_else(|| LinkFacts { label: "an object".into(), ..Default::default() });
                    for n in &m.object_names {
                        let kind = if f.functions.contains(n) { Kind::Function } else { Kind::Data };
                        defs.push((n.clone(), !f.hidden.contains(n), kind));
                    }
                    (f.label, f.refs)
                };
                for (name, exported, kind) in defs {
                    out.defs.entry(name).or_default().push(Def { member: index, exported, kind });
                }
                out.members.push(MemberFacts { label, refs });
            }
        }
        if !absolutes.is_empty() {
            let index = out.members.len();
            for n in absolutes {
                out.defs.entry(n.clone()).or_default().push(Def { member: index, exported: true, kind: Kind::Ready });
            }
            out.members.push(MemberFacts { label: "absolute symbols".to_string(), refs: Vec::new() });
        }
        out
    }

    /// Every definition of `name` (hidden ones too).
    pub fn defs(&self, name: &str) -> &[Def] {
        self.defs.get(name).map_or(&[], Vec::as_slice)
    }

    /// The exported definitions of `name`: what other dylibs can bind to.
    pub fn exported(&self, name: &str) -> Vec<Def> {
        self.defs(name).iter().filter(|d| d.exported).copied().collect()
    }

    pub fn member(&self, index: usize) -> &MemberFacts {
        &self.members[index]
    }
}
