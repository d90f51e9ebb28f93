//! Initializers and finalizers: what ORC's `LLJIT::initialize` and
//! `deinitialize` give C++ users, for the engine, the session and
//! jitcore-run alike.
//!
//! Initializing a dylib runs the static constructors (`llvm.global_ctors`,
//! which `Module::prepare` took out of every module) of the modules added
//! to it and to the dylibs of its link order, transitively, that have not
//! run yet: lowest priority number first, then in the order the modules
//! were added (see `structor_order`). Each constructor is looked up (which
//! compiles its module; for a lazily added module, its body) and marked as
//! run right before it is called, so a constructor whose module cannot be
//! linked yet fails the call and stays due, with every one after it, for
//! the next initialization.
//!
//! Deinitializing runs, for the same dylibs, the exit handlers their code
//! registered (`session/exit.rs`; last registered first, as `exit` runs
//! them), then those LLJIT's platform captured (code jitcore does not
//! route: objects, archive members), then the destructors
//! (`llvm.global_dtors`) of the modules an initialization covered, in the
//! reverse of the constructors' order: the order of the C library's `exit`
//! (handlers, then `.fini_array`) and of LLJIT's `deinitialize`.
//!
//! The engine's `run_static_destructors` keeps llvmlite's (and MCJIT's)
//! order on the same records: the destructors of every module whose
//! destructors have not run, then the exit handlers.
//!
//! One thread at a time runs any of these (the session's turnstile), so
//! concurrent calls run each function once, and each returns after the
//! functions due when it was called have run.

use std::sync::Arc;

use super::dylib::Dylib;
use super::structors::ModuleInit;
use super::Session;
use crate::error::Result;
use crate::llvm::exit::{call_handler, call_void};
use crate::module::{structor_order, Module, OwnerId};

/// LLJIT's per-dylib function that runs the exit handlers its platform captured.
const LLJIT_RUN_ATEXITS: &str = "__lljit_run_atexits";

/// A module of the dylibs being initialized or deinitialized.
struct Candidate {
    init: Arc<ModuleInit>,
    module: Arc<Module>,
    dylib: Arc<Dylib>,
}

/// One constructor or destructor to run: `index` in its module's list.
struct Due<'a> {
    of: &'a Candidate,
    index: usize,
}

impl Due<'_> {
    fn lookup_name(&self, dtor: bool) -> &str {
        self.of.init.lookup_name(dtor, self.index)
    }

    fn describe(&self, dtor: bool) -> String {
        let (what, list) =
            if dtor { ("destructor", self.of.module.dtors()) } else { ("constructor", self.of.module.ctors()) };
        format!("cannot run {what} '{}' of module '{}'", list[self.index].function, self.of.module.name())
    }
}

impl Session {
    /// Runs the constructors due in `dylib` and, transitively, its link
    /// order (see the module doc).
    pub fn initialize(&self, dylib: &Arc<Dylib>) -> Result<()> {
        let _turn = self.initializing.enter();
        let candidates = self.candidates(&self.init_set(dylib));
        for c in &candidates {
            if !c.init.ctors_pending() {
                c.init.set_initialized();
            }
        }
        self.run_due(&due(&candidates, false, |_| true), false)
    }

    /// Runs, for `dylib` and, transitively, its link order, the exit
    /// handlers jitted code registered, then the destructors of the modules
    /// an initialization covered (see the module doc). The first failure
    /// is returned; a destructor that failed stays due with those after it.
    pub fn deinitialize(&self, dylib: &Arc<Dylib>) -> Result<()> {
        let _turn = self.initializing.enter();
        let set = self.init_set(dylib);
        let handlers = self.run_exit_handlers(&set);
        let candidates = self.candidates(&set);
        let dtors = self.run_due(&due(&candidates, true, |c| c.init.initialized()), true);
        handlers.and(dtors)
    }

    /// llvmlite's `run_static_destructors` for the engine: the destructors
    /// of every module of `dylib` (and its link order) whose destructors
    /// have not run, initialized or not, then the exit handlers, as
    /// MCJIT's hosts see them (static destructors, then `exit`).
    pub fn run_static_destructors(&self, dylib: &Arc<Dylib>) -> Result<()> {
        let _turn = self.initializing.enter();
        let set = self.init_set(dylib);
        let candidates = self.candidates(&set);
        let dtors = self.run_due(&due(&candidates, true, |_| true), true);
        let handlers = self.run_exit_handlers(&set);
        dtors.and(handlers)
    }

    /// `dylib`, then its link order, then theirs, each dylib once.
    fn init_set(&self, dylib: &Arc<Dylib>) -> Vec<Arc<Dylib>> {
        let mut set = vec![dylib.clone()];
        let mut next = 0;
        while next < set.len() {
            for d in set[next].link_order() {
                if !set.iter().any(|s| Arc::ptr_eq(s, &d)) {
                    set.push(d);
                }
            }
            next += 1;
        }
        set
    }

    /// The modules added to the dylibs of `set` and not removed, in the
    /// order they were added.
    fn candidates(&self, set: &[Arc<Dylib>]) -> Vec<Candidate> {
        let mut out = Vec::new();
        for group in self.env.live_groups() {
            let Some(dylib) = set.iter().find(|d| d.id() == group.dylib) else { continue };
            for member in group.state().members.iter() {
                if let (Some(init), Some(module)) = (&member.init, &member.module) {
                    out.push(Candidate { init: init.clone(), module: module.clone(), dylib: dylib.clone() });
                }
            }
        }
        out.sort_by_key(|c| c.init.seq);
        out
    }

    /// Looks each of `due` up and calls it, in order, each at most once.
    fn run_due(&self, due: &[Due<'_>], dtors: bool) -> Result<()> {
        let together = if due.len() > 1 { self.resolve_together(due, dtors) } else { None };
        for (k, d) in due.iter().enumerate() {
            let address = match &together {
                Some(addresses) => addresses[k],
                None => {
                    self.lookup_any(&d.of.dylib, &[d.lookup_name(dtors)]).map_err(|e| e.context(d.describe(dtors)))?[0]
                }
            };
            // A constructor may have initialized a dylib itself (on this
            // thread): what it ran is not run again.
            if d.of.init.claim(dtors, d.index) {
                call_void(address);
            }
        }
        Ok(())
    }

    /// The addresses of all of `due`, one lookup per dylib (so compile
    /// threads compile their modules in parallel); `None` if a lookup
    /// fails (then each is looked up on its own, in order, to run those
    /// before the one that fails).
    fn resolve_together(&self, due: &[Due<'_>], dtors: bool) -> Option<Vec<u64>> {
        let mut addresses = vec![0; due.len()];
        let mut done = vec![false; due.len()];
        for k in 0..due.len() {
            if done[k] {
                continue;
            }
            let dylib = &due[k].of.dylib;
            let mine: Vec<usize> = (k..due.len()).filter(|j| Arc::ptr_eq(&due[*j].of.dylib, dylib)).collect();
            let mut names: Vec<&str> = Vec::new();
            for j in &mine {
                let n = due[*j].lookup_name(dtors);
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            let found = self.lookup_any(dylib, &names).ok()?;
            for j in mine {
                let at = names.iter().position(|n| *n == due[j].lookup_name(dtors))?;
                addresses[j] = found[at];
                done[j] = true;
            }
        }
        Some(addresses)
    }

    /// Runs the exit handlers registered by the code of the dylibs in
    /// `set`, last registered first (and those they register meanwhile),
    /// then each dylib's handlers that LLJIT's platform captured.
    fn run_exit_handlers(&self, set: &[Arc<Dylib>]) -> Result<()> {
        let ids: Vec<OwnerId> = set.iter().map(|d| d.id()).collect();
        while let Some((function, arg)) = self.env.exits.take_latest(&ids) {
            call_handler(function, arg);
        }
        let mut first = Ok(());
        for d in set {
            match self.lookup_any(d, &[LLJIT_RUN_ATEXITS]) {
                Ok(address) => call_void(address[0]),
                Err(e) => {
                    if first.is_ok() {
                        first = Err(e.context(format!("cannot run the exit handlers of JITDylib '{}'", d.name())));
                    }
                }
            }
        }
        first
    }
}

/// The constructors (or destructors) of the candidates `keep` accepts that
/// have not run, in the order to run them.
fn due(candidates: &[Candidate], dtors: bool, keep: impl Fn(&Candidate) -> bool) -> Vec<Due<'_>> {
    let kept = candidates.iter().filter(|c| keep(c)).map(|c| (&*c.module, c));
    structor_order(kept, dtors)
        .into_iter()
        .filter(|(c, i)| !c.init.has_run(dtors, *i))
        .map(|(of, index)| Due { of, index })
        .collect()
}
