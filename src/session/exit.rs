//! The exit handlers jitted code registers (`atexit(f)`,
//! `__cxa_atexit(f, arg, dso)`), recorded by the session instead of the C
//! library: each with the dylib and the token of the module whose code
//! registered it (see `llvm/exit.rs`). Deinitialization runs them, last
//! registered first, each once; removing a module's code drops its
//! handlers unrun (their code is gone); disposing of the session drops
//! them all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::error::Result;
use crate::llvm::exit::Token;
use crate::module::OwnerId;

/// A registered handler: `function(arg)`.
struct Handler {
    seq: u64,
    dylib: OwnerId,
    /// The token of the module whose code registered it.
    token: Arc<str>,
    function: usize,
    arg: usize,
}

/// A session's exit handlers and the tokens they come through.
#[derive(Default)]
pub struct ExitHandlers {
    next: AtomicU64,
    handlers: Mutex<Vec<Handler>>,
    /// Each dylib's tokens by name, defined there for the dylib's life
    /// (a module added again after its removal uses its token again).
    tokens: Mutex<HashMap<(OwnerId, String), Arc<Token>>>,
}

impl ExitHandlers {
    fn handlers(&self) -> MutexGuard<'_, Vec<Handler>> {
        self.handlers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes sure token `name` of dylib `dylib` exists: the first time,
    /// makes it and calls `define` with its address (to define the symbol;
    /// on error nothing is kept). Serialized, so the symbol is defined
    /// before any caller returns.
    pub fn ensure_token(
        self: &Arc<Self>,
        dylib: OwnerId,
        name: &str,
        define: impl FnOnce(u64) -> Result<()>,
    ) -> Result<()> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let key = (dylib, name.to_string());
        if tokens.contains_key(&key) {
            return Ok(());
        }
        let me: Weak<ExitHandlers> = Arc::downgrade(self);
        let tag: Arc<str> = Arc::from(name);
        let token = Token::new(Box::new(move |function, arg| {
            if let Some(me) = me.upgrade() {
                me.record(dylib, tag.clone(), function, arg);
            }
        }));
        define(token.address())?;
        tokens.insert(key, token);
        Ok(())
    }

    fn record(&self, dylib: OwnerId, token: Arc<str>, function: usize, arg: usize) {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        self.handlers().push(Handler { seq, dylib, token, function, arg });
    }

    /// Takes out the handler of one of `dylibs` registered last (to run it).
    pub fn take_latest(&self, dylibs: &[OwnerId]) -> Option<(usize, usize)> {
        let mut handlers = self.handlers();
        let (at, _) =
            handlers.iter().enumerate().filter(|(_, h)| dylibs.contains(&h.dylib)).max_by_key(|(_, h)| h.seq)?;
        let h = handlers.remove(at);
        Some((h.function, h.arg))
    }

    /// Drops, without running them, the handlers registered through
    /// `tokens` of `dylib` (the code of their modules is being removed).
    pub fn forget(&self, dylib: OwnerId, tokens: &[String]) {
        if tokens.is_empty() {
            return;
        }
        self.handlers().retain(|h| h.dylib != dylib || !tokens.iter().any(|t| **t == *h.token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llvm::exit::register_exit_handler;
    use std::ffi::c_void;

    #[test]
    fn latest_first_once_and_forgotten_with_their_code() {
        let exits = Arc::new(ExitHandlers::default());
        let mut addr = HashMap::new();
        for name in ["a", "b"] {
            exits
                .ensure_token(1, name, |a| {
                    addr.insert(name, a);
                    Ok(())
                })
                .unwrap();
        }
        // A second ensure does not make (or define) another token.
        exits.ensure_token(1, "a", |_| panic!("defined twice")).unwrap();
        let reg = |f: usize, token: &str| {
            let t = addr[token] as *const c_void;
            assert_eq!(register_exit_handler(f as *const c_void, std::ptr::null_mut(), t), 0);
        };
        reg(10, "a");
        reg(11, "b");
        reg(12, "a");
        assert_eq!(exits.take_latest(&[2]), None, "another dylib's");
        assert_eq!(exits.take_latest(&[1]), Some((12, 0)));
        exits.forget(1, &["b".to_string()]);
        assert_eq!(exits.take_latest(&[1]), Some((10, 0)));
        assert_eq!(exits.take_latest(&[1]), None);
    }
}
