//! What each added module has left to run: which of its static
//! constructors and destructors have run, and whether it was initialized
//! (see `init.rs`, which runs them). One record per module added, kept
//! with its member of a resource tracker group, so it goes when the
//! module is removed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

use crate::module::Module;

/// Session-wide order of addition (records of one session compare by it).
static NEXT_SEQ: AtomicU64 = AtomicU64::new(1);

#[derive(Default)]
struct Progress {
    ctors_run: Vec<bool>,
    dtors_run: Vec<bool>,
    initialized: bool,
}

/// One module's constructors and destructors.
pub struct ModuleInit {
    /// When it was added, relative to the session's other modules.
    pub seq: u64,
    /// The symbol to look up to run `ctors()[i]`: the function, or for a
    /// lazily added module its body (so the lookup compiles it, and a
    /// failure is the lookup's error, not a failed lazy call).
    ctor_names: Vec<String>,
    dtor_names: Vec<String>,
    progress: Mutex<Progress>,
}

impl ModuleInit {
    /// The record of `module`, whose structor `f` is run by looking up
    /// `lookup_name(f)`.
    pub fn new(module: &Module, lookup_name: impl Fn(&str) -> String) -> Arc<ModuleInit> {
        let names = |list: &[crate::llvm::ir::Structor]| list.iter().map(|s| lookup_name(&s.function)).collect();
        Arc::new(ModuleInit {
            seq: NEXT_SEQ.fetch_add(1, Ordering::Relaxed),
            ctor_names: names(module.ctors()),
            dtor_names: names(module.dtors()),
            progress: Mutex::new(Progress {
                ctors_run: vec![false; module.ctors().len()],
                dtors_run: vec![false; module.dtors().len()],
                initialized: false,
            }),
        })
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What to look up to run constructor (or destructor) `i`.
    pub fn lookup_name(&self, dtor: bool, i: usize) -> &str {
        if dtor {
            &self.dtor_names[i]
        } else {
            &self.ctor_names[i]
        }
    }

    /// Whether constructor (or destructor) `i` has run.
    pub fn has_run(&self, dtor: bool, i: usize) -> bool {
        let p = self.progress();
        if dtor {
            p.dtors_run[i]
        } else {
            p.ctors_run[i]
        }
    }

    /// Marks constructor (or destructor) `i` as run, right before it is
    /// called; false if it already was (it must not be called again). A
    /// constructor's module counts as initialized from then on.
    pub fn claim(&self, dtor: bool, i: usize) -> bool {
        let mut p = self.progress();
        let slot = if dtor { &mut p.dtors_run[i] } else { &mut p.ctors_run[i] };
        let first = !*slot;
        *slot = true;
        if !dtor {
            p.initialized = true;
        }
        first
    }

    /// Whether constructors remain to run.
    pub fn ctors_pending(&self) -> bool {
        self.progress().ctors_run.iter().any(|r| !r)
    }

    /// Marks the module initialized (an initialization covered it and it
    /// has no constructor left to run).
    pub fn set_initialized(&self) {
        self.progress().initialized = true;
    }

    /// Whether an initialization covered the module: its destructors are
    /// due at deinitialization.
    pub fn initialized(&self) -> bool {
        self.progress().initialized
    }
}

/// Lets one thread at a time run a session's initializers and finalizers,
/// so concurrent initializations run each constructor once and each
/// returns after they ran. The thread inside may enter again (a
/// constructor that initializes a dylib itself).
#[derive(Default)]
pub struct Turnstile {
    holder: Mutex<Option<(ThreadId, usize)>>,
    free: Condvar,
}

/// The turnstile held; released on drop.
pub struct Turn<'a>(&'a Turnstile);

impl Turnstile {
    pub fn enter(&self) -> Turn<'_> {
        let me = std::thread::current().id();
        let mut h = self.holder.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match &mut *h {
                None => {
                    *h = Some((me, 1));
                    break;
                }
                Some((t, depth)) if *t == me => {
                    *depth += 1;
                    break;
                }
                Some(_) => h = self.free.wait(h).unwrap_or_else(|p| p.into_inner()),
            }
        }
        Turn(self)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut h = self.0.holder.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, depth)) = &mut *h {
            *depth -= 1;
            if *depth == 0 {
                *h = None;
                self.0.free.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_once_and_initializes() {
        let ir = "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 1, ptr @c, ptr null }]\n\
                  define void @c() { ret void }\n";
        let m = Module::from_ir("c", ir.as_bytes()).unwrap();
        let r = ModuleInit::new(&m, |f| format!("{f}.body"));
        assert_eq!(r.lookup_name(false, 0), "c.body");
        assert!(r.ctors_pending() && !r.initialized() && !r.has_run(false, 0));
        assert!(r.claim(false, 0));
        assert!(!r.claim(false, 0));
        assert!(!r.ctors_pending() && r.initialized());
    }

    #[test]
    fn the_turnstile_is_reentrant_and_exclusive() {
        let t = Arc::new(Turnstile::default());
        let outer = t.enter();
        let inner = t.enter();
        let other = {
            let t = t.clone();
            std::thread::spawn(move || drop(t.enter()))
        };
        drop(inner);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!other.is_finished(), "another thread waits while the first is inside");
        drop(outer);
        other.join().unwrap();
    }
}
