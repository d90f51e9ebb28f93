//! Loading the program and running it: on a session (`-jit-kind=orc`,
//! `orc-lazy`), the way lli's LLJIT path does, or on the engine facade
//! (`-jit-kind=mcjit`), the way lli's MCJIT path does.

use std::ffi::CString;
use std::sync::Arc;

use super::dump::{DebugDescriptor, DumpingCache};
use super::entry;
use super::options::{Dump, JitKind, Options};
use jitcore::{DiskCache, DiskCacheStatistics};
use jitcore::ObjectCache;
use jitcore::Engine;
use jitcore::{Error, Result};
use jitcore::TargetSpec;
use jitcore::Module;
use jitcore::Dylib;
use jitcore::SymbolSource;
use jitcore::Statistics;
use jitcore::{Session, SessionConfig};

/// Reads a file (`-` is stdin).
fn read_input(path: &str, what: &str) -> Result<Vec<u8>> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| Error::io(format!("cannot read {what} from stdin: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| Error::io(format!("cannot read {what} '{path}': {e}")))
}

fn load_module(path: &str) -> Result<Arc<Module>> {
    let name = if path == "-" { "<stdin>" } else { path };
    Module::from_ir(name, &read_input(path, "IR file")?)
}

/// The host target with the command line's code generation options.
fn target_spec(o: &Options) -> TargetSpec {
    let mut spec = TargetSpec::host(o.opt_level);
    if let Some(r) = o.reloc {
        spec.reloc = r;
    }
    if let Some(c) = o.code_model {
        spec.code_model = c;
    }
    if let Some(cpu) = &o.cpu {
        spec.cpu = cpu.clone();
    }
    for f in &o.features {
        if !spec.features.is_empty() {
            spec.features.push(',');
        }
        spec.features.push_str(f);
    }
    spec
}

/// `-dlopen`: loads each library into the process for good, with its
/// symbols global, so the process's symbol source finds them (lli's
/// `LoadLibraryPermanently`).
fn load_dylibs(o: &Options) -> Result<()> {
    for lib in &o.dlopen {
        let c = CString::new(lib.as_str()).map_err(|_| Error::invalid_argument("library path contains a NUL byte"))?;
        // SAFETY: dlopen with a NUL-terminated path; the handle is kept
        // open for the life of the process on purpose.
        let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        if handle.is_null() {
            // SAFETY: dlerror returns NULL or a message valid until the next dl* call.
            let why = unsafe {
                let e = libc::dlerror();
                if e.is_null() {
                    String::from("unknown error")
                } else {
                    std::ffi::CStr::from_ptr(e).to_string_lossy().into_owned()
                }
            };
            return Err(Error::io(format!("cannot load library '{lib}': {why}")));
        }
    }
    Ok(())
}

/// The cache to attach, and the disk cache in it.
type Caches = (Option<Arc<dyn ObjectCache>>, Option<Arc<DiskCache>>);

/// The object caches the command line asks for: jitcore's disk cache for
/// lli's `-enable-cache-manager` (in `-object-cache-dir`, default: the
/// current directory, as lli), wrapped in the IR dumper when
/// `-orc-lazy-debug` dumps modules. Returns what to attach and the disk
/// cache (for `--stats`).
fn object_cache(o: &Options, added: Vec<String>) -> Result<Caches> {
    let disk = if o.enable_cache_manager {
        let dir = std::path::PathBuf::from(o.object_cache_dir.as_deref().filter(|d| !d.is_empty()).unwrap_or("."));
        Some(DiskCache::open(&dir, 0)?)
    } else {
        None
    };
    let as_cache = disk.clone().map(|d| d as Arc<dyn ObjectCache>);
    let attached: Option<Arc<dyn ObjectCache>> = match o.dump {
        Dump::FuncsToStdout | Dump::ModsToStdout | Dump::ModsToDisk => {
            Some(Arc::new(DumpingCache::new(o.dump, as_cache, added)))
        }
        _ => as_cache,
    };
    Ok((attached, disk))
}

/// What a run leaves for `--stats`.
pub struct Outcome {
    pub status: i32,
    pub stats: Statistics,
    pub disk: Option<DiskCacheStatistics>,
}

/// Runs the program the options name and returns main's result. The JIT
/// is never freed: the program's exit handlers may still call into it.
pub fn run(o: &Options) -> Result<Outcome> {
    load_dylibs(o)?;
    match o.jit_kind {
        JitKind::Mcjit => run_engine(o),
        JitKind::Orc | JitKind::OrcLazy => run_session(o),
    }
}

/// The program's JITDylib with `-no-process-syms` (the session's main
/// JITDylib always resolves the process's symbols).
pub const NO_PROCESS_SYMS_DYLIB: &str = "main.no-process-syms";

fn run_session(o: &Options) -> Result<Outcome> {
    let main_module = load_module(&o.input)?;
    let mut watcher = DebugDescriptor::start(o.dump);
    let config = SessionConfig {
        compile_threads: o.compile_threads,
        lazy_by_default: false,
        debugger: watcher.is_some(),
        perf: false,
        cached_object_stands_for_module: false,
    };
    let session: &'static Session = Box::leak(Box::new(Session::new(target_spec(o), config)?));
    session.set_ir_pipeline(o.ir_pipeline.clone()).map_err(|e| e.context("-jitcore-ir-pipeline"))?;
    session.set_error_reporter(Some(std::sync::Arc::new(|code, text: &str| {
        entry::report_warning(code, text);
    })));
    session.set_lazy_failure_handler(Some(std::sync::Arc::new(entry::lazy_call_failed)));
    let mut names = vec![main_module.name().to_string()];
    names.extend(o.extra_modules.iter().map(|(_, p)| p.clone()));
    let (cache, disk) = object_cache(o, names)?;
    session.set_cache(cache);

    // The program's JITDylib, which `-jd main` also names: the session's
    // main one, which resolves the process's symbols, or with
    // -no-process-syms one of its own that does not.
    // (Dylibs the session creates use LLJIT's platform support, exit
    // handlers included, as main does.)
    let prepare = |d: &Arc<Dylib>| -> Result<()> {
        if !o.no_process_syms {
            session.add_source(d, SymbolSource::Process { filter: None })?;
        }
        Ok(())
    };
    let program = if o.no_process_syms {
        let d = session.create_dylib(NO_PROCESS_SYMS_DYLIB)?;
        prepare(&d)?;
        d
    } else {
        session.main_dylib().clone()
    };

    let lazy = o.jit_kind == JitKind::OrcLazy && !o.per_module_lazy && !o.disable_lazy_compilation;
    let add = |d: &Arc<Dylib>, m: Arc<Module>| -> Result<()> {
        session
            .add_module(d, &m, d.default_group(), lazy)
            .map_err(|e| e.context(format!("cannot add '{}'", m.name())))
    };
    add(&program, main_module)?;

    // -jd: each named JITDylib links against main and main against it, as in lli.
    let mut dylibs: Vec<(String, Arc<Dylib>)> = Vec::new();
    for name in &o.dylibs {
        let d = match session.dylib_by_name(name) {
            Some(d) => d,
            None => {
                let d = session.create_dylib(name)?;
                prepare(&d)?;
                session.set_link_order(&d, std::slice::from_ref(&program))?;
                d
            }
        };
        let mut order = program.link_order();
        order.push(d.clone());
        session.set_link_order(&program, &order)?;
        dylibs.push((name.clone(), d));
    }
    let dylib_for = |jd: &Option<String>| -> Arc<Dylib> {
        match jd {
            None => program.clone(),
            Some(n) => dylibs.iter().find(|(name, _)| name == n).map(|(_, d)| d.clone()).unwrap_or(program.clone()),
        }
    };
    for (jd, path) in &o.extra_modules {
        add(&dylib_for(jd), load_module(path)?)?;
    }
    for (jd, path) in &o.extra_archives {
        session.add_source(&dylib_for(jd), SymbolSource::Archive { path: path.into() })?;
    }
    for path in &o.extra_objects {
        let bytes = read_input(path, "object file")?;
        session.add_object(&program, &bytes, path, program.default_group())?;
    }

    // Static constructors of the program's JITDylib and of those it links
    // (the -jd ones), as lli's LLJIT initializes main; at the end the exit
    // handlers, then the static destructors, as LLJIT deinitializes it.
    entry::as_program(|| session.initialize(&program))?;
    let finished = program.clone();
    entry::on_finish(move || {
        if let Err(e) = session.deinitialize(&finished) {
            super::dump::flush_c_stdout();
            eprintln!("jitcore-run: error: {}", super::one_line(&e.message));
        }
    });

    let threads: Vec<_> = o
        .thread_entries
        .iter()
        // SAFETY: lli's contract for -thread-entry: a `void()` function.
        .map(|name| session.lookup(&program, &[name]).map(|a| unsafe { entry::spawn_void(a[0]) }))
        .collect::<Result<_>>()?;
    let main_addr = session.lookup(&program, &[&o.entry_function])?[0];
    if let Some(w) = watcher.as_mut() {
        w.poll();
    }
    // SAFETY: the entry function is main-like, as lli requires of it.
    let status = unsafe { entry::call_main(main_addr, &o.argv0(), &o.program_args)? };
    for t in threads {
        let _ = t.join();
    }
    entry::finish();
    if let Some(w) = watcher.as_mut() {
        w.poll();
    }
    Ok(Outcome { status, stats: session.statistics(), disk: disk.map(|d| d.statistics()) })
}

fn run_engine(o: &Options) -> Result<Outcome> {
    let main_module = load_module(&o.input)?;
    let engine: &'static Engine = Box::leak(Box::new(Engine::new(target_spec(o))?));
    engine.set_ir_pipeline(o.ir_pipeline.clone()).map_err(|e| e.context("-jitcore-ir-pipeline"))?;
    let session = engine.session();
    session.set_error_reporter(Some(std::sync::Arc::new(entry::report_error)));
    let mut names = vec![main_module.name().to_string()];
    names.extend(o.extra_modules.iter().map(|(_, p)| p.clone()));
    let (cache, disk) = object_cache(o, names)?;
    engine.set_cache(cache);
    engine.add_module(&main_module).map_err(|e| e.context(format!("cannot add '{}'", main_module.name())))?;
    // MCJIT has no JITDylibs: every module goes to the one engine.
    for (_, path) in &o.extra_modules {
        let m = load_module(path)?;
        engine.add_module(&m).map_err(|e| e.context(format!("cannot add '{path}'")))?;
    }
    for path in &o.extra_objects {
        engine.add_object(&read_input(path, "object file")?, path)?;
    }
    for (_, path) in &o.extra_archives {
        session.add_source(session.main_dylib(), SymbolSource::Archive { path: path.into() })?;
    }
    // MCJIT compiles everything before it runs anything.
    engine.finalize()?;
    entry::on_finish(move || {
        // As lli's MCJIT path: static destructors, then exit's handlers.
        if let Err(e) = entry_structors(engine, true) {
            super::dump::flush_c_stdout();
            eprintln!("jitcore-run: error: {}", super::one_line(&e.message));
        }
    });
    entry_structors(engine, false)?;
    let main_addr = engine.lookup(&o.entry_function)?;
    // SAFETY: the entry function is main-like, as lli requires of it.
    let status = unsafe { entry::call_main(main_addr, &o.argv0(), &o.program_args)? };
    entry::finish();
    Ok(Outcome { status, stats: engine.statistics(), disk: disk.map(|d| d.statistics()) })
}

/// Runs the engine's static constructors (or destructors); they are the
/// program's code, so a failure while they run ends the process.
fn entry_structors(engine: &Engine, dtors: bool) -> Result<()> {
    entry::as_program(|| if dtors { engine.run_static_destructors() } else { engine.run_static_constructors() })
}
