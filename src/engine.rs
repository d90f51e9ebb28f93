//! The llvmlite-style execution engine: a thin facade over a session, its
//! main JITDylib and a registry of the modules added to it.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::cache::ObjectCache;
use crate::compile::pipeline::IrPipeline;
use crate::error::{Error, Result};
use crate::llvm::target_machine::{TargetData, TargetSpec};
use crate::module::{Module, OwnerId};
use crate::session::stats::Statistics;
use crate::session::tracker::Group;
use crate::session::{Session, SessionConfig};
use crate::target::TargetDataInfo;

struct Added {
    module: Arc<Module>,
    group: Arc<Group>,
    /// Whether the object cache was asked for this module, which defines
    /// no symbols (see `load_symbolless_modules`).
    cache_asked: bool,
}

#[derive(Default)]
struct State {
    modules: Vec<Added>,
}

/// An execution engine. Every method may be called from several threads at once.
pub struct Engine {
    id: OwnerId,
    state: Mutex<State>,
    session: Session,
    target_data: Arc<TargetDataInfo>,
}

impl Engine {
    pub fn new(spec: TargetSpec) -> Result<Engine> {
        // A cached object stands for its module entirely, as in llvmlite's MCJIT.
        let config = SessionConfig { cached_object_stands_for_module: true, ..SessionConfig::default() };
        let session = Session::new(spec, config)?;
        // From the session's layout string (making a target machine for it
        // cost as much as compiling a small module).
        let target_data = Arc::new(TargetDataInfo::new(TargetData::from_layout(session.data_layout())));
        Ok(Engine { id: crate::module::new_owner_id(), state: Mutex::new(State::default()), session, target_data })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn target_data(&self) -> &Arc<TargetDataInfo> {
        &self.target_data
    }

    pub fn statistics(&self) -> Statistics {
        self.session.statistics()
    }

    pub fn set_cache(&self, cache: Option<Arc<dyn ObjectCache>>) {
        self.session.set_cache(cache);
    }

    /// Sets the IR pipeline of modules compiled from now on (see
    /// `Session::set_ir_pipeline`).
    pub fn set_ir_pipeline(&self, pipeline: IrPipeline) -> Result<()> {
        self.session.set_ir_pipeline(pipeline)
    }

    /// The modules added, in the order they were added.
    pub fn modules(&self) -> Vec<Arc<Module>> {
        self.state().modules.iter().map(|a| a.module.clone()).collect()
    }

    /// Adds `module`; it compiles when something looks up one of its symbols
    /// or at `finalize`.
    pub fn add_module(&self, module: &Arc<Module>) -> Result<()> {
        module.claim(self.id)?;
        let mut state = self.state();
        let main = self.session.main_dylib();
        let group = self.session.new_group(main);
        match self.session.add_module(main, module, &group, false) {
            Ok(()) => {
                state.modules.push(Added { module: module.clone(), group, cache_asked: false });
                Ok(())
            }
            Err(e) => {
                module.release();
                Err(e)
            }
        }
    }

    /// Removes `module`, freeing its code and data; the host owns it again.
    pub fn remove_module(&self, module: &Arc<Module>) -> Result<()> {
        let mut state = self.state();
        let pos = state.modules.iter().position(|a| Arc::ptr_eq(&a.module, module)).ok_or_else(|| {
            Error::module_not_found(format!("module '{}' is not added to this engine", module.name()))
        })?;
        let added = state.modules.remove(pos);
        if let Err(e) = self.session.remove_group(&added.group) {
            // Its code may still be loaded: the engine keeps the module (it
            // is freed with the engine) instead of handing it back.
            state.modules.insert(pos, added);
            return Err(e.context(format!(
                "removing module '{}' (it stays added to the engine, which frees it when disposed of)",
                module.name()
            )));
        }
        module.release();
        Ok(())
    }

    /// Compiles every module not compiled yet, all in one lookup (so a
    /// session with compile threads compiles them in parallel). On failure
    /// every module is tried on its own and the first failure is returned
    /// (naming the module); the other modules are still compiled.
    pub fn finalize(&self) -> Result<()> {
        self.load_symbolless_modules();
        let modules: Vec<Arc<Module>> = self.modules();
        let first_symbol =
            |m: &Arc<Module>| m.symbols().iter().find(|s| !s.weak).or(m.symbols().first()).map(|s| s.name.clone());
        let names: Vec<String> = modules.iter().filter_map(first_symbol).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        if refs.is_empty() || self.session.lookup(self.session.main_dylib(), &refs).is_ok() {
            return Ok(());
        }
        let mut first_error = None;
        for m in &modules {
            let Some(name) = first_symbol(m) else { continue };
            // A module another thread removed meanwhile is not this call's failure.
            match self.lookup(&name) {
                Err(e) if self.is_added(m) => {
                    first_error.get_or_insert(e);
                }
                _ => {}
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// A module that defines no symbols is never materialized by a lookup,
    /// yet an object cache entry may stand for it (numba loads cached code
    /// as an empty module whose cached object has it all): finalizing asks
    /// the cache for each such module once, as MCJIT does.
    fn load_symbolless_modules(&self) {
        let todo: Vec<(Arc<Module>, Arc<Group>)> = self
            .state()
            .modules
            .iter_mut()
            .filter(|a| !a.cache_asked && a.module.symbols().is_empty())
            .map(|a| {
                a.cache_asked = true;
                (a.module.clone(), a.group.clone())
            })
            .collect();
        for (module, group) in todo {
            self.session.load_cached_object(self.session.main_dylib(), &module, &group);
        }
    }

    fn is_added(&self, module: &Arc<Module>) -> bool {
        self.state().modules.iter().any(|a| Arc::ptr_eq(&a.module, module))
    }

    /// The address a lookup of `name` found since the engine last changed
    /// (see `Session::known_address`): `None` means ask [`lookup`](Self::lookup).
    #[inline]
    pub fn known_address(&self, name: &[u8]) -> Option<u64> {
        self.session.known_address(self.session.main_dylib(), name)
    }

    /// The address of `name`, compiling whatever it needs first.
    pub fn lookup(&self, name: &str) -> Result<u64> {
        let address = self.session.lookup_one(self.session.main_dylib(), name)?;
        if address == 0 {
            // A symbol of a module whose cached object stood for it without
            // defining it: missing, as the object is all there is of it.
            if let Some(added) = self.state().modules.iter().find(|a| a.group.is_absent(name)) {
                return Err(Error::symbol_not_found(format!(
                    "symbol '{name}' not found: the object the object cache gave for module '{}' stands for \
                     the module and does not define it",
                    added.module.name()
                )));
            }
        }
        Ok(address)
    }

    /// Adds a relocatable object file's bytes; `name` appears in messages.
    pub fn add_object(&self, bytes: &[u8], name: &str) -> Result<()> {
        let main = self.session.main_dylib();
        self.session.add_object(main, bytes, name, main.default_group())
    }

    /// Makes `name` resolve to `address` (llvmlite's add_global_mapping).
    pub fn add_global_mapping(&self, name: &str, address: u64) -> Result<()> {
        self.session.define_absolute(self.session.main_dylib(), &[(name.to_string(), address)])
    }

    /// Runs the constructors of every module whose constructors have not run
    /// yet: lowest priority number first, then in the order modules were
    /// added. One that fails (its module cannot be linked yet) stays due,
    /// with those after it, for the next call. The session's mechanism
    /// (`session/init.rs`): the engine's modules are its main dylib's.
    pub fn run_static_constructors(&self) -> Result<()> {
        self.session.initialize(self.session.main_dylib())
    }

    /// Runs the destructors of every module whose destructors have not run
    /// yet: highest priority number first, then later-added modules first;
    /// then the exit handlers (`atexit`, `__cxa_atexit`) the engine's code
    /// registered, last registered first.
    pub fn run_static_destructors(&self) -> Result<()> {
        self.session.run_static_destructors(self.session.main_dylib())
    }

    pub fn id(&self) -> OwnerId {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed tracker removal leaves the module with the engine: its
    /// code may still be loaded, so the host does not get it back.
    #[test]
    fn a_failed_removal_keeps_the_module() {
        let engine = Engine::new(TargetSpec::host(0)).unwrap();
        let m = Module::from_ir("keep", b"define i32 @seven() { ret i32 7 }\n").unwrap();
        engine.add_module(&m).unwrap();
        assert_ne!(engine.lookup("seven").unwrap(), 0);
        crate::llvm::orc::fault::FAIL_REMOVE.with(|f| f.set(true));
        let e = engine.remove_module(&m).unwrap_err();
        assert!(e.message.contains("stays added"), "{}", e.message);
        assert_eq!(m.owner(), engine.id(), "the module is still the engine's");
        assert_eq!(engine.modules().len(), 1);
        // Without the fault, removal works and hands the module back.
        engine.remove_module(&m).unwrap();
        assert_eq!(m.owner(), 0);
        assert!(engine.modules().is_empty());
    }
    /// A cache that keeps each module's object under the module's name and
    /// may stand for the module (as a host's llvmlite-style cache does), or
    /// not (as the content-keyed disk cache).
    struct Kept {
        objects: Mutex<std::collections::HashMap<String, Vec<u8>>>,
        stands_for_module: bool,
    }

    impl ObjectCache for Kept {
        fn lookup(&self, module: &Arc<Module>, _: &crate::cache::CacheContext<'_>) -> Option<Vec<u8>> {
            self.objects.lock().unwrap().get(module.name()).cloned()
        }
        fn store(&self, module: &Arc<Module>, object: &[u8], _: &crate::cache::CacheContext<'_>) {
            self.objects.lock().unwrap().insert(module.name().to_string(), object.to_vec());
        }
        fn may_stand_for_module(&self) -> bool {
            self.stands_for_module
        }
    }

    /// A module whose names are not ASCII (`odd\C3\A9` is "oddé") is served
    /// from a cache like any other, whether its object stands for it or
    /// must define its symbols: the object's names and ORC's are compared
    /// as the same strings.
    #[test]
    fn a_module_with_a_name_that_is_not_ascii_is_served_from_the_cache() {
        let ir = b"define i32 @\"odd\\C3\\A9\"() {\n  ret i32 1\n}\ndefine i32 @plain() {\n  ret i32 7\n}\n";
        for stands_for_module in [true, false] {
            let cache = Arc::new(Kept { objects: Mutex::default(), stands_for_module });
            for run in 0..2 {
                let engine = Engine::new(TargetSpec::host(0)).unwrap();
                engine.set_cache(Some(cache.clone()));
                let m = Module::from_ir("odd", ir).unwrap();
                engine.add_module(&m).unwrap();
                let addr = engine.lookup("plain").unwrap();
                // SAFETY: `plain` is the i32() function defined above, live
                // while the engine is.
                let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(addr as usize) };
                assert_eq!(f(), 7);
                let st = engine.statistics();
                assert_eq!(
                    (st.modules_compiled, st.cache_hits, st.cache_rejected),
                    if run == 0 { (1, 0, 0) } else { (0, 1, 0) },
                    "stands for the module: {stands_for_module}"
                );
            }
        }
    }
    /// README's known limit: a global symbol whose name is not UTF-8 fails
    /// the module's first lookup with LINK (names are kept as strings); an
    /// internal one is fine.
    #[test]
    fn a_global_name_that_is_not_utf8_fails_with_link_an_internal_one_works() {
        let call = "define i32 @main() {\n  %r = call i32 @\"odd\\FF\"()\n  ret i32 %r\n}\n";
        for (linkage, works) in [("internal ", true), ("", false)] {
            let ir = format!("define {linkage}i32 @\"odd\\FF\"() {{\n  ret i32 3\n}}\n{call}");
            let engine = Engine::new(TargetSpec::host(0)).unwrap();
            let m = Module::from_ir("odd", ir.as_bytes()).unwrap();
            engine.add_module(&m).unwrap();
            match engine.lookup("main") {
                Ok(addr) => {
                    assert!(works, "a global non-UTF-8 name linked");
                    // SAFETY: `main` is the i32() function defined above,
                    // live while the engine is.
                    let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(addr as usize) };
                    assert_eq!(f(), 3);
                }
                Err(e) => {
                    assert!(!works, "{}", e.message);
                    assert_eq!(e.code, crate::error::JitcoreErrorCode::JITCORE_ERROR_LINK);
                    assert!(e.message.contains("Missing definitions"), "{}", e.message);
                    // The engine stays usable.
                    let ok = Module::from_ir("fine", b"define i32 @fine() { ret i32 1 }\n").unwrap();
                    engine.add_module(&ok).unwrap();
                    assert_ne!(engine.lookup("fine").unwrap(), 0);
                }
            }
        }
    }
}
