//! JITDylib link order, which LLVM-C cannot set: a definition generator on
//! every jitcore JITDylib answers the linker's misses from the dylibs of its
//! link order, in order, as a dynamic linker would. (It first defines the
//! bodies of lazily compiled functions that a stub's first call looks up,
//! see lazy.rs.)
//!
//! When the linker (a `Static` lookup) misses names in dylib D, the generator
//! takes the lookup over, asks LLJIT's platform dylib (created dylibs only)
//! and D's symbol sources, and then the dylibs of D's
//! link order for those names (a `DLSym` lookup over their exported symbols,
//! in order, names nobody has left out), then defines what it found in D as hidden aliases at the found
//! addresses, under a tracker of their own, and lets the lookup continue.
//! `DLSym` lookups are never answered by this generator, so the search is not
//! transitive (libB's own link order is not searched for D), and the host's
//! lookups, which walk the link order themselves, do not create aliases.
//!
//! Aliases stand for other dylibs' symbols, so they are dropped whenever code
//! is removed anywhere in the session, and when D itself gets a definition of
//! the same name; they are made again on the next link that needs them.
//!
//! Inside a link-order cycle the link order's code is not waited for: its
//! functions get stubs and its variables aliases that wait for them in the
//! linker's place (`cycles.rs`), so code that calls around the cycle links.
//! Step 2 then looks up only what that does not answer.

use std::sync::{Arc, Weak};

use super::cycles;
use super::dylib::Dylib;
use super::env::SessionEnv;
use crate::llvm::generator::{Generator, GeneratorLookup};
use crate::llvm::orc::{Found, JitDylib, LookupKind, SymbolName};

/// Installs the link-order generator on `dylib` (after the one that notes
/// which thread looks up which lazy body, see lazy.rs).
pub fn install(env: &Arc<SessionEnv>, dylib: &Arc<Dylib>) {
    super::lazy::call_notes(dylib.id()).attach(dylib.jd(), env.jit());
    let (weak_env, weak_dylib) = (Arc::downgrade(env), Arc::downgrade(dylib));
    let generator = Generator::custom(Box::new(move |lookup| answer(&weak_env, &weak_dylib, lookup)));
    generator.attach(dylib.jd(), env.jit());
}

fn answer(env: &Weak<SessionEnv>, dylib: &Weak<Dylib>, mut lookup: GeneratorLookup) {
    let (Some(env), Some(dylib)) = (env.upgrade(), dylib.upgrade()) else { return };
    // A stub's first call looks its body up: defined here, not searched for
    // (so is a body jitcore itself looks up, e.g. a lazy module's
    // constructor that an initialization runs).
    lookup.names = env.define_lazy_bodies(&dylib, std::mem::take(&mut lookup.names));
    if lookup.kind != LookupKind::Static || lookup.names.is_empty() {
        return;
    }
    // Step 1 searches LLJIT's platform dylib (whose exit-handler functions
    // must win over libc's, as in main's link order) and the dylib's own
    // symbol sources; step 2 its link order.
    let first: Vec<(JitDylib, bool)> =
        dylib.platform().map(|p| (p, true)).into_iter().chain(dylib.sources().map(|s| (s.jd(), false))).collect();
    let link: Vec<(JitDylib, bool)> = dylib.link_order().iter().map(|d| (d.jd(), true)).collect();
    if first.is_empty() && link.is_empty() {
        return;
    }
    // Take the lookup over; it continues when the sources and the link
    // order answered (a continuation dropped on any path fails it).
    let continuation = lookup.take_over();
    let names = std::mem::take(&mut lookup.names);
    let all = names.clone();
    let es = env.execution_session();
    let link_ids: Vec<crate::module::OwnerId> = dylib.link_order().iter().map(|d| d.id()).collect();
    let (weak_env, weak_dylib) = (Arc::downgrade(&env), Arc::downgrade(&dylib));
    drop((env, dylib));
    // The unit whose link this is (the generator runs on its thread).
    let unit = crate::report::current_unit();
    let weak_log = weak_env.clone();
    // Step 2: the link order, for what the sources did not have.
    let ask_link_order = move |permanent: Vec<Found>| {
        let rest: Vec<SymbolName> = names.into_iter().filter(|n| !permanent.iter().any(|f| f.name == *n)).collect();
        // Inside a link-order cycle, what the link order's code defines is
        // answered at once, without waiting for that code (cycles.rs).
        let rest = match (weak_env.upgrade(), weak_dylib.upgrade()) {
            (Some(env), Some(dylib)) if !rest.is_empty() && !link.is_empty() => {
                cycles::answer_now(&env, &dylib, rest)
            }
            _ => rest,
        };
        // What the platform and the sources gave lives as long as the
        // dylib; what the link order gave stands for code of those dylibs.
        let finish = move |permanent: Vec<Found>, linked: Vec<Found>| {
            if let (Some(env), Some(dylib)) = (weak_env.upgrade(), weak_dylib.upgrade()) {
                if !permanent.is_empty() {
                    env.define_aliases(&dylib, permanent, Vec::new());
                }
                if !linked.is_empty() {
                    env.define_aliases(&dylib, linked, link_ids);
                }
            }
            // A lookup error here (a dependency that failed to
            // materialize) surfaces when the continued lookup misses.
            continuation.resume();
        };
        if rest.is_empty() || link.is_empty() {
            return finish(permanent, Vec::new());
        }
        es.lookup_async(LookupKind::DLSym, &link, &rest, true, move |r| {
            // What failed there fails this link: say so, for the reset.
            if let (Err(e), Some(env)) = (&r, weak_log.upgrade()) {
                env.log.report_dependency(unit, e.clone());
            }
            finish(permanent, r.unwrap_or_default())
        })
    };
    // Step 1: a static lookup, so static archives (which only answer the
    // linker) pull members in; neither the platform dylib nor the sources
    // dylib has a generator of jitcore's, so this cannot recurse.
    if first.is_empty() {
        return ask_link_order(Vec::new());
    }
    es.lookup_async(LookupKind::Static, &first, &all, true, move |r| ask_link_order(r.unwrap_or_default()))
}
