//! JITDylib link order, which LLVM-C cannot set: a definition generator on
//! every jitcore JITDylib answers the linker's misses from the dylibs of its
//! link order, in order, as a dynamic linker would.
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

use std::ffi::c_void;
use std::sync::{Arc, Weak};

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::*;

use super::dylib::Dylib;
use super::SessionEnv;
use crate::llvm::orc::{lookup_async, Found, LookupKind, SymbolName};

/// What a generator needs: its dylib and the session environment.
pub struct LinkOrderGenerator {
    pub env: Weak<SessionEnv>,
    pub dylib: Weak<Dylib>,
}

/// Installs the generator on `dylib`.
pub fn install(env: &Arc<SessionEnv>, dylib: &Arc<Dylib>) {
    let ctx = Box::into_raw(Box::new(LinkOrderGenerator { env: Arc::downgrade(env), dylib: Arc::downgrade(dylib) }));
    // SAFETY: the JITDylib is live and takes the generator, which owns ctx
    // and frees it through `dispose` when the JITDylib goes away.
    unsafe {
        let g = LLVMOrcCreateCustomCAPIDefinitionGenerator(try_to_generate, ctx.cast(), dispose);
        LLVMOrcJITDylibAddGenerator(dylib.as_raw(), g);
    }
}

extern "C" fn dispose(ctx: *mut c_void) {
    // SAFETY: ctx is the Box made in `install`; ORC disposes it once.
    drop(unsafe { Box::from_raw(ctx.cast::<LinkOrderGenerator>()) });
}

#[allow(clippy::too_many_arguments)]
extern "C" fn try_to_generate(
    _gen: LLVMOrcDefinitionGeneratorRef,
    ctx: *mut c_void,
    state: *mut LLVMOrcLookupStateRef,
    kind: LLVMOrcLookupKind,
    _jd: LLVMOrcJITDylibRef,
    _flags: LLVMOrcJITDylibLookupFlags,
    set: LLVMOrcCLookupSet,
    n: usize,
) -> LLVMErrorRef {
    let _ = crate::guard::catch(|| {
        if kind != LLVMOrcLookupKind::LLVMOrcLookupKindStatic {
            return;
        }
        // SAFETY: ctx is the generator's Box, alive while the JITDylib is.
        let g = unsafe { &*ctx.cast::<LinkOrderGenerator>() };
        let (Some(env), Some(dylib)) = (g.env.upgrade(), g.dylib.upgrade()) else { return };
        // Step 1 searches LLJIT's platform dylib (whose exit-handler
        // functions must win over libc's, as in main's link order) and the
        // dylib's own symbol sources; step 2 its link order.
        let first: Vec<(usize, bool)> = dylib
            .platform()
            .map(|p| (p as usize, true))
            .into_iter()
            .chain(dylib.sources().map(|s| (s.as_raw() as usize, false)))
            .collect();
        let link: Vec<usize> = dylib.link_order().iter().map(|d| d.as_raw() as usize).collect();
        if first.is_empty() && link.is_empty() {
            return;
        }
        // SAFETY: ORC passes n live set elements for the call; we retain
        // the names we keep.
        let names: Vec<SymbolName> = (0..n).map(|i| unsafe { SymbolName::retain((*set.add(i)).Name) }).collect();
        // Take the lookup over; it continues when the sources and the link
        // order answered.
        // SAFETY: state is the live lookup state ORC hands us; setting it
        // to NULL is how a generator takes ownership of it.
        let ls = unsafe { std::mem::replace(&mut *state, std::ptr::null_mut()) } as usize;
        let es = env.execution_session() as usize;
        // Step 2: the link order, for what the sources did not have.
        let ask_link_order = move |mut found: Vec<Found>| {
            let rest: Vec<SymbolName> =
                names.into_iter().filter(|n| !found.iter().any(|f| f.name.as_raw() == n.as_raw())).collect();
            let finish = move |found: Vec<Found>| {
                if !found.is_empty() {
                    env.define_aliases(&dylib, found);
                }
                // A lookup error here (a dependency that failed to
                // materialize) surfaces when the continued lookup misses.
                // SAFETY: ls is the lookup state we took, continued once.
                unsafe { LLVMOrcLookupStateContinueLookup(ls as LLVMOrcLookupStateRef, std::ptr::null_mut()) };
            };
            if rest.is_empty() || link.is_empty() {
                return finish(found);
            }
            let order: Vec<(LLVMOrcJITDylibRef, bool)> =
                link.iter().map(|&jd| (jd as LLVMOrcJITDylibRef, true)).collect();
            // SAFETY: the session and the dylibs of the order are live (the
            // session outlives every lookup it runs).
            unsafe {
                lookup_async(es as _, LookupKind::DLSym, &order, &rest, true, move |r| {
                    found.extend(r.unwrap_or_default());
                    finish(found)
                })
            }
        };
        // Step 1: a static lookup, so static archives (which only answer
        // the linker) pull members in; neither the platform dylib nor the
        // sources dylib has a generator of jitcore's, so this cannot recurse.
        if first.is_empty() {
            return ask_link_order(Vec::new());
        }
        let order: Vec<(LLVMOrcJITDylibRef, bool)> =
            first.iter().map(|&(jd, exported_only)| (jd as LLVMOrcJITDylibRef, exported_only)).collect();
        // SAFETY: ORC's set is live for this call; the session and the
        // dylibs of the order are live.
        unsafe {
            let all: Vec<SymbolName> = (0..n).map(|i| SymbolName::retain((*set.add(i)).Name)).collect();
            lookup_async(es as _, LookupKind::Static, &order, &all, true, move |r| {
                ask_link_order(r.unwrap_or_default())
            })
        }
    });
    std::ptr::null_mut()
}
