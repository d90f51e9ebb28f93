//! The one panic guard of the crate.
//!
//! Every exported function, every callback LLVM calls and every compile job
//! runs inside [`catch`]: a panic becomes a value the caller turns into an
//! error (or a failed materialization), and never unwinds into C or LLVM.
//! A library must not write on its host's stderr either, so the process's
//! panic hook is wrapped once: a panic inside a guard is silent (it is
//! reported as an error instead); any other panic (in a Rust program that
//! links the crate) goes to the hook that was installed before.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// How many guards are active on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if DEPTH.with(|d| d.get()) == 0 {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, catching a panic (without printing it) as `Err` with its message.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    install_quiet_hook();
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
    DEPTH.with(|d| d.set(d.get().saturating_add(1)));
    let _depth = Depth;
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_message(&*p))
}

/// Runs `f`, returning `default` if it panics (silently, as [`catch`]).
pub fn catch_or<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch(f).unwrap_or(default)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_a_message() {
        assert_eq!(catch(|| 7), Ok(7));
        let e = catch(|| -> u32 { panic!("boom {}", 1) }).unwrap_err();
        assert_eq!(e, "boom 1");
        let e = catch(|| Vec::<u64>::with_capacity(usize::MAX / 2).len()).unwrap_err();
        assert!(e.contains("capacity overflow"), "{e}");
        // The depth is restored after a panic.
        assert_eq!(DEPTH.with(|d| d.get()), 0);
    }
}
