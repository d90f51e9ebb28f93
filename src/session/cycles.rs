//! Link-order cycles: dylibs whose link orders reach each other (main links
//! libFoo, libFoo links main), so their code may call each other's
//! functions in a circle. ORC links such code because the linker waits only
//! for the *addresses* of what it references; LLVM-C's lookups wait for
//! symbols to be *ready* (linked), so the link-order generator could not
//! answer from a dylib of the cycle without waiting for code that waits for
//! it. Inside a cycle it therefore answers from what jitcore recorded of
//! each dylib's members (`exports.rs`), without waiting:
//!
//! - a function of another dylib of the cycle gets a stub under its name
//!   (`LLVMOrcLazyReexports`), whose first call looks the function up and
//!   patches the stub: one indirect jump per call;
//! - a variable gets a link alias (`SessionEnv::define_link_aliases`): the
//!   linker that needs it waits for it as for any definition, the generator
//!   does not (ORC runs one lookup at a time through a generator), and the
//!   alias looks the variable up and stands at its address once it is ready.
//!   That wait ends unless the variable's module itself waits, through
//!   references that are not calls, for the module asking: a cycle of data
//!   references, which cannot link without ORC's resolved-state lookups. It
//!   is found here, before anything waits, and refused with `UNSUPPORTED`;
//! - what is ready at once (a lazily added module's stub, an absolute
//!   symbol), defined outside the cycle, or unknown to the records is looked
//!   up as before (`linkorder.rs`): no wait there can come back.
//!
//! A stub is linked when a host's lookup needs it (`link_stub_targets`), so
//! eager code still links all it calls before the lookup returns, and fails
//! the lookup when some of it cannot link.
//!
//! Outside a cycle nothing changes: aliases stand at the addresses found, no
//! stub is in the way.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::dylib::Dylib;
use super::env::SessionEnv;
use super::exports::{Exports, Kind};
use crate::error::Error;
use crate::llvm::orc::SymbolName;
use crate::module::OwnerId;

/// How the generator answers names its link order defines.
#[derive(Default)]
struct Plan {
    /// Looked up as outside a cycle.
    ask: Vec<SymbolName>,
    /// Functions of a dylib of the cycle, by dylib: stubs.
    stubs: Vec<(Arc<Dylib>, Vec<SymbolName>)>,
    /// Variables of a dylib of the cycle, by dylib: link aliases.
    aliases: Vec<(Arc<Dylib>, Vec<SymbolName>)>,
    /// Variables a cycle of data references makes unlinkable.
    refused: Vec<(SymbolName, Error)>,
}

fn push(to: &mut Vec<(Arc<Dylib>, Vec<SymbolName>)>, dylib: &Arc<Dylib>, name: SymbolName) {
    match to.iter_mut().find(|(d, _)| Arc::ptr_eq(d, dylib)) {
        Some((_, names)) => names.push(name),
        None => to.push((dylib.clone(), vec![name])),
    }
}

/// Answers, for `dylib`'s linker, the `names` its link order defines inside
/// a link-order cycle (see the module doc) and returns the others, which the
/// caller looks up in the link order.
pub fn answer_now(env: &SessionEnv, dylib: &Arc<Dylib>, names: Vec<SymbolName>) -> Vec<SymbolName> {
    let mut plan = plan(env, dylib, names);
    for (source, names) in std::mem::take(&mut plan.stubs) {
        if !env.define_stubs(dylib, &source, &names) {
            // No lazy stubs on this host: looked up, as outside a cycle.
            plan.ask.extend(names);
        }
    }
    for (source, names) in &plan.aliases {
        env.define_link_aliases(dylib, source, names);
    }
    for (name, error) in plan.refused {
        // Left undefined, the name fails the link that needs it; this is why.
        env.log.report_unresolved(error, vec![name.as_str()]);
    }
    plan.ask
}

/// Links the functions that link-order cycle stubs stand for and that the
/// code of `names` (looked up from `dylib`) may call, transitively, until
/// none is left (linking them may make more stubs): a host's lookup thus
/// links everything its symbols' code calls, across cycles too, and fails
/// when some of it cannot link, as eager linking does, rather than leaving
/// the failure to the first call through a stub. Which stubs that code may
/// call is read from jitcore's records (`called_stubs`), so a concurrent
/// lookup's stubs, and their failures, stay its own. This waits for ready
/// symbols on the host's thread, where no generator is held, so it cannot
/// wait for itself.
pub fn link_stub_targets(env: &SessionEnv, dylib: &Dylib, names: &[&str]) -> crate::error::Result<()> {
    loop {
        let pending: Vec<(u64, OwnerId, Arc<Dylib>, SymbolName)> = {
            let mut targets = env.stub_targets.lock().unwrap_or_else(|p| p.into_inner());
            if targets.is_empty() {
                return Ok(());
            }
            // Stubs that were dropped (their target removed, their dylib's
            // link order changed) are nobody's to link any more.
            targets.retain(|t| {
                env.dylib_by_id(t.caller).is_some_and(|d| d.has_alias(&t.name.as_str(), t.source.id()))
            });
            targets.iter().map(|t| (t.seq, t.caller, t.source.clone(), t.name.clone())).collect()
        };
        let reachable = called_stubs(env, dylib, names);
        let due: Vec<&(u64, OwnerId, Arc<Dylib>, SymbolName)> = pending
            .iter()
            .filter(|(_, caller, source, name)| reachable.contains(&(*caller, source.id(), name.as_str())))
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let mut by_source: Vec<(Arc<Dylib>, Vec<SymbolName>, Vec<u64>)> = Vec::new();
        for (seq, _, source, name) in due {
            match by_source.iter_mut().find(|(d, _, _)| Arc::ptr_eq(d, source)) {
                Some((_, names, seqs)) => {
                    names.push(name.clone());
                    seqs.push(*seq);
                }
                None => by_source.push((source.clone(), vec![name.clone()], vec![*seq])),
            }
        }
        for (source, names, seqs) in by_source {
            env.jit().lookup(crate::llvm::orc::LookupKind::DLSym, &[(source.jd(), true)], &names)?;
            env.stub_targets.lock().unwrap_or_else(|p| p.into_inner()).retain(|t| !seqs.contains(&t.seq));
        }
    }
}

/// The stubs (caller dylib, source dylib, name) that the code of `names`,
/// looked up from `dylib`, may call through, as far as jitcore's records
/// tell: the members defining them, what those use, what that is bound to
/// (the dylib's own definitions, or its link order's), and so on; lazily
/// added functions are not followed (they link when called).
fn called_stubs(env: &SessionEnv, dylib: &Dylib, names: &[&str]) -> HashSet<(OwnerId, OwnerId, String)> {
    let mut records = Records { env, by_id: HashMap::new() };
    let all: Vec<Arc<Dylib>> = env.dylibs.read().unwrap_or_else(|p| p.into_inner()).clone();
    let by_id = |id: OwnerId| all.iter().find(|d| d.id() == id).cloned();
    let mut cycles: HashMap<OwnerId, Vec<OwnerId>> = HashMap::new();
    let mut out = HashSet::new();
    let mut seen: HashSet<Node> = HashSet::new();
    let mut queue: VecDeque<Node> = VecDeque::new();
    let Some(start) = by_id(dylib.id()) else { return out };
    // Queues the members `name` is bound to from `from`: its own
    // definitions, else its link order's; returns where and what they are.
    let mut visit = |records: &mut Records<'_>, queue: &mut VecDeque<Node>, from: &Arc<Dylib>, name: &str| {
        let own = records.of(from).defs(name).to_vec();
        let (at, defs) = if !own.is_empty() {
            (from.clone(), own.iter().map(|d| (d.member, d.kind)).collect())
        } else {
            match records.provider(from, name) {
                Some(p) => p,
                None => return None,
            }
        };
        for (m, kind) in &defs {
            if *kind != Kind::Ready && seen.insert((at.id(), *m)) {
                queue.push_back((at.id(), *m));
            }
        }
        Some((at, defs))
    };
    for n in names {
        visit(&mut records, &mut queue, &start, n);
    }
    while let Some((id, m)) = queue.pop_front() {
        let Some(here) = by_id(id) else { continue };
        let refs = records.of(&here).member(m).refs.clone();
        let cycle = cycles.entry(id).or_insert_with(|| cycle_of(&here).iter().map(|d| d.id()).collect()).clone();
        for r in refs {
            let Some((at, defs)) = visit(&mut records, &mut queue, &here, &r) else { continue };
            if at.id() != id && cycle.contains(&at.id()) && defs.iter().any(|(_, k)| *k == Kind::Function) {
                out.insert((id, at.id(), r));
            }
        }
    }
    out
}

/// The dylibs of `dylib`'s link-order cycle, `dylib` included; empty when
/// it is in none.
fn cycle_of(dylib: &Arc<Dylib>) -> Vec<Arc<Dylib>> {
    let reached = reach(dylib);
    if !reached.iter().any(|d| Arc::ptr_eq(d, dylib)) {
        return Vec::new();
    }
    reached.into_iter().filter(|d| reach(d).iter().any(|x| Arc::ptr_eq(x, dylib))).collect()
}

/// The dylibs reachable from `from` through link orders (`from` itself only
/// if a cycle leads back to it).
fn reach(from: &Arc<Dylib>) -> Vec<Arc<Dylib>> {
    let mut seen: Vec<Arc<Dylib>> = Vec::new();
    let mut queue: VecDeque<Arc<Dylib>> = from.link_order().into();
    while let Some(d) = queue.pop_front() {
        if seen.iter().any(|s| Arc::ptr_eq(s, &d)) {
            continue;
        }
        queue.extend(d.link_order());
        seen.push(d);
    }
    seen
}

/// The dylib that exports a name, with its definitions (member, kind).
type Provider = (Arc<Dylib>, Vec<(usize, Kind)>);

/// The recorded exports of the dylibs a plan looks at, each read once.
struct Records<'a> {
    env: &'a SessionEnv,
    by_id: HashMap<OwnerId, Arc<Exports>>,
}

impl Records<'_> {
    fn of(&mut self, dylib: &Dylib) -> Arc<Exports> {
        let env = self.env;
        self.by_id
            .entry(dylib.id())
            .or_insert_with(|| {
                dylib.exports(|| env.live_groups().into_iter().filter(|g| g.dylib == dylib.id()).collect())
            })
            .clone()
    }

    /// The first dylib of `dylib`'s link order that exports `name`, as the
    /// linker binds it, with its kinds of definition.
    fn provider(&mut self, dylib: &Dylib, name: &str) -> Option<Provider> {
        dylib.link_order().into_iter().find_map(|t| {
            let defs: Vec<(usize, Kind)> = self.of(&t).exported(name).iter().map(|d| (d.member, d.kind)).collect();
            (!defs.is_empty()).then_some((t, defs))
        })
    }
}

fn plan(env: &SessionEnv, dylib: &Arc<Dylib>, names: Vec<SymbolName>) -> Plan {
    let cycle = cycle_of(dylib);
    if cycle.is_empty() {
        return Plan { ask: names, ..Plan::default() };
    }
    let in_cycle = |d: &Arc<Dylib>| cycle.iter().any(|c| Arc::ptr_eq(c, d));
    let mut records = Records { env, by_id: HashMap::new() };
    let mut plan = Plan::default();
    for name in names {
        let text = name.as_str();
        let Some((source, defs)) = records.provider(dylib, &text).filter(|(d, _)| in_cycle(d)) else {
            plan.ask.push(name);
            continue;
        };
        if defs.iter().any(|(_, k)| *k == Kind::Function) {
            push(&mut plan.stubs, &source, name);
        } else if defs.iter().any(|(_, k)| *k == Kind::Data) {
            match data_cycle(&mut records, dylib, &cycle, &source, &text) {
                Some(why) => plan.refused.push((name, why)),
                None => push(&mut plan.aliases, &source, name),
            }
        } else {
            plan.ask.push(name);
        }
    }
    plan
}

/// A member of a dylib, as a node of the wait graph.
type Node = (OwnerId, usize);

/// Whether making `dylib` wait for variable `name` of `source` would wait
/// forever: whether the module defining it (transitively) waits, through
/// references the linker cannot answer without waiting (variables of the
/// cycle, definitions of the same dylib), for a module of `dylib` that uses
/// `name`. The refusal, naming the chain, if so.
fn data_cycle(
    records: &mut Records<'_>,
    dylib: &Arc<Dylib>,
    cycle: &[Arc<Dylib>],
    source: &Arc<Dylib>,
    name: &str,
) -> Option<Error> {
    let by_id = |id: OwnerId| cycle.iter().find(|d| d.id() == id).cloned();
    let mut parent: HashMap<Node, (Node, String)> = HashMap::new();
    let mut seen: HashSet<Node> = HashSet::new();
    let mut queue: VecDeque<Node> = VecDeque::new();
    for d in records.of(source).exported(name) {
        if d.kind != Kind::Ready && seen.insert((source.id(), d.member)) {
            queue.push_back((source.id(), d.member));
        }
    }
    let starts: HashSet<Node> = queue.iter().copied().collect();
    while let Some(node) = queue.pop_front() {
        let Some(here) = by_id(node.0) else { continue };
        let exports = records.of(&here);
        let refs = exports.member(node.1).refs.clone();
        if node.0 == dylib.id() && refs.iter().any(|r| r == name) {
            return Some(refusal(records, dylib, source, name, node, &parent, &starts, cycle));
        }
        for r in refs {
            let mut next: Vec<Node> = Vec::new();
            let own = exports.defs(&r);
            if !own.is_empty() {
                // The dylib's own definition: waited for, whatever it is.
                next.extend(own.iter().filter(|d| d.kind != Kind::Ready).map(|d| (node.0, d.member)));
            } else if let Some((t, defs)) = records.provider(&here, &r) {
                // Through the link order, inside the cycle, only variables
                // are waited for (functions get stubs).
                if cycle.iter().any(|c| Arc::ptr_eq(c, &t)) {
                    next.extend(defs.iter().filter(|(_, k)| *k == Kind::Data).map(|(m, _)| (t.id(), *m)));
                }
            }
            for n in next {
                if n != node && seen.insert(n) {
                    parent.insert(n, (node, r.clone()));
                    queue.push_back(n);
                }
            }
        }
    }
    None
}

/// The `UNSUPPORTED` error for a cycle of data references ending at `last`.
#[allow(clippy::too_many_arguments)]
fn refusal(
    records: &mut Records<'_>,
    dylib: &Dylib,
    source: &Dylib,
    name: &str,
    last: Node,
    parent: &HashMap<Node, (Node, String)>,
    starts: &HashSet<Node>,
    cycle: &[Arc<Dylib>],
) -> Error {
    let label = |records: &mut Records<'_>, (id, m): Node| {
        let d = cycle.iter().find(|d| d.id() == id);
        match d {
            Some(d) => format!("{} of '{}'", records.of(d).member(m).label, d.name()),
            None => "a member".to_string(),
        }
    };
    // From the definition of `name` to the module that uses it, each node
    // with the name it uses of the next.
    let mut chain = vec![(last, String::new())];
    let mut at = last;
    while !starts.contains(&at) {
        let Some((from, via)) = parent.get(&at) else { break };
        chain.push((*from, via.clone()));
        at = *from;
    }
    chain.reverse();
    // Each node with the name by which it waits for the next one.
    let mut steps = Vec::new();
    for (i, (node, via)) in chain.iter().enumerate() {
        let what = label(records, *node);
        let uses = if i + 1 == chain.len() { name } else { via.as_str() };
        steps.push(if i == 0 {
            format!("{what}, which defines it, uses '{uses}'")
        } else {
            format!("defined by {what}, which uses '{uses}'")
        });
    }
    Error::unsupported(format!(
        "JITDylib '{}' cannot link '{name}' of JITDylib '{}': {}; a cycle of data references across link orders \
         cannot be linked through LLVM-C, whose lookups wait for symbols to be ready (calls across a cycle go \
         through stubs, variables cannot); move the variables into a module that uses nothing of the cycle, or add \
         one of these modules lazily",
        dylib.name(),
        source.name(),
        steps.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llvm::target_machine::TargetSpec;
    use crate::module::Module;
    use crate::session::{Session, SessionConfig};

    fn ids(dylibs: &[Arc<Dylib>]) -> Vec<String> {
        let mut v: Vec<String> = dylibs.iter().map(|d| d.name().to_string()).collect();
        v.sort();
        v
    }

    /// A ring A -> B -> C -> A, and D, which links A but nothing links D.
    fn ring() -> (Session, Vec<Arc<Dylib>>) {
        let s = Session::new(TargetSpec::host(0), SessionConfig::default()).unwrap();
        let d: Vec<Arc<Dylib>> = ["A", "B", "C", "D"].iter().map(|n| s.create_dylib(n).unwrap()).collect();
        for (from, to) in [(0, 1), (1, 2), (2, 0), (3, 0)] {
            s.set_link_order(&d[from], std::slice::from_ref(&d[to])).unwrap();
        }
        (s, d)
    }

    #[test]
    fn the_cycle_of_a_dylib_is_what_reaches_it_back() {
        let (_s, d) = ring();
        assert_eq!(ids(&cycle_of(&d[0])), ["A", "B", "C"]);
        assert_eq!(ids(&cycle_of(&d[2])), ["A", "B", "C"]);
        assert!(cycle_of(&d[3]).is_empty(), "D links into the ring, but nothing links back");
    }

    /// Inside a cycle a function of an eagerly added module gets a stub, a
    /// variable a link alias; what is ready at once (a lazily added
    /// function, an absolute symbol) or unknown is looked up; from outside
    /// the cycle everything is.
    #[test]
    fn what_a_plan_answers_without_waiting() {
        let (s, d) = ring();
        let eager = Module::from_ir("b.ll", b"@v = global i32 1\ndefine i32 @f() { ret i32 1 }\n").unwrap();
        s.add_module(&d[1], &eager, d[1].default_group(), false).unwrap();
        let lazy = Module::from_ir("lazy.ll", b"define i32 @g() { ret i32 2 }\n").unwrap();
        s.add_module(&d[1], &lazy, d[1].default_group(), true).unwrap();
        s.define_absolute(&d[1], &[("h".to_string(), 0x1000)]).unwrap();
        let es = s.env().execution_session();
        let names = || ["f", "v", "g", "h", "unknown"].iter().map(|n| es.intern(n)).collect::<Vec<_>>();
        let text = |v: &[SymbolName]| v.iter().map(SymbolName::as_str).collect::<Vec<_>>();
        let p = plan(s.env(), &d[0], names());
        assert_eq!(p.stubs.len(), 1);
        assert_eq!((p.stubs[0].0.name(), text(&p.stubs[0].1)), ("B", vec!["f".to_string()]));
        assert_eq!(p.aliases.len(), 1);
        assert_eq!((p.aliases[0].0.name(), text(&p.aliases[0].1)), ("B", vec!["v".to_string()]));
        assert_eq!(text(&p.ask), ["g", "h", "unknown"]);
        assert!(p.refused.is_empty());
        // D is outside the ring: A's definitions are waited for, as before.
        let p = plan(s.env(), &d[3], names());
        assert!(p.stubs.is_empty() && p.aliases.is_empty());
        assert_eq!(p.ask.len(), 5);
    }
}
