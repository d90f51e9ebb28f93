//! `jitcore-run`'s command line, parsed the way LLVM's `cl` parser reads
//! `lli`'s: one or two dashes, `-name=value` or `-name value`, boolean flags
//! with an optional `=true|false`, `-O0`..`-O3`, then the input file, after
//! which every argument (dashes or not) belongs to the program.

use jitcore::{CodeModel, IrPipeline, RelocModel};

use jitcore::{Error, Result};

/// Which of lli's JITs to behave as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitKind {
    /// The execution engine facade (`Engine`), compiled up front.
    Mcjit,
    /// A session; modules compile whole on first lookup.
    Orc,
    /// A session; functions compile on first call.
    OrcLazy,
}

/// lli's `-orc-lazy-debug=` dumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dump {
    None,
    /// `[ f g ]` per module or partition compiled, to stdout.
    FuncsToStdout,
    /// The IR of each module or partition compiled, to stdout.
    ModsToStdout,
    /// The IR of each module or partition compiled, to `<module>.ll`.
    ModsToDisk,
    /// `jit_debug_descriptor 0x...` lines for GDB's JIT interface, to stderr.
    DebugDescriptor,
    /// The debug objects registered with GDB's JIT interface, to stdout.
    DebugObjects,
}

/// Where an `-extra-module` or `-extra-archive` goes: `None` is the main JITDylib.
pub type DylibName = Option<String>;

/// Everything the command line asks for.
#[derive(Clone, Debug)]
pub struct Options {
    pub jit_kind: JitKind,
    /// Codegen's level, and `default<On>`'s with `-jitcore-ir-pipeline=default`.
    pub opt_level: u32,
    /// What runs on IR before codegen: nothing unless
    /// `-jitcore-ir-pipeline` says otherwise (as lli).
    pub ir_pipeline: IrPipeline,
    /// The IR file (`-` for stdin).
    pub input: String,
    /// The program's arguments after `argv[0]`.
    pub program_args: Vec<String>,
    pub fake_argv0: Option<String>,
    pub entry_function: String,
    pub extra_modules: Vec<(DylibName, String)>,
    pub extra_objects: Vec<String>,
    pub extra_archives: Vec<(DylibName, String)>,
    /// Every `-jd` name, in order (each is created once, even unused).
    pub dylibs: Vec<String>,
    pub dlopen: Vec<String>,
    pub compile_threads: usize,
    pub thread_entries: Vec<String>,
    pub per_module_lazy: bool,
    pub disable_lazy_compilation: bool,
    pub no_process_syms: bool,
    pub reloc: Option<RelocModel>,
    pub code_model: Option<CodeModel>,
    pub cpu: Option<String>,
    pub features: Vec<String>,
    pub dump: Dump,
    pub enable_cache_manager: bool,
    pub object_cache_dir: Option<String>,
    /// jitcore's own `--stats`: compile and cache figures to stderr.
    pub stats: bool,
    pub help: bool,
    pub version: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            jit_kind: JitKind::Orc,
            opt_level: 2,
            ir_pipeline: IrPipeline::None,
            input: String::new(),
            program_args: Vec::new(),
            fake_argv0: None,
            entry_function: "main".to_string(),
            extra_modules: Vec::new(),
            extra_objects: Vec::new(),
            extra_archives: Vec::new(),
            dylibs: Vec::new(),
            dlopen: Vec::new(),
            compile_threads: 0,
            thread_entries: Vec::new(),
            per_module_lazy: false,
            disable_lazy_compilation: false,
            no_process_syms: false,
            reloc: None,
            code_model: None,
            cpu: None,
            features: Vec::new(),
            dump: Dump::None,
            enable_cache_manager: false,
            object_cache_dir: None,
            stats: false,
            help: false,
            version: false,
        }
    }
}

/// lli and LLVM codegen flags that take no value and do not change what the
/// program computes: accepted and ignored.
const IGNORED_FLAGS: &[&str] =
    &["disable-core-files", "time-passes", "function-sections", "data-sections", "unique-section-names", "emulated-tls"];

/// Flags lli accepts that jitcore-run does not implement, with why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("force-interpreter", "jitcore has no interpreter"),
    ("remote-mcjit", "remote execution is not supported"),
    ("mcjit-remote-process", "remote execution is not supported"),
    ("orc-runtime", "the ORC runtime platform is not supported"),
    ("generate", "lli's built-in debug functions are not supported"),
    ("soft-float", "soft-float code generation is not supported"),
    ("float-abi", "float ABI selection is not supported"),
];

/// What kind of value a flag takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arity {
    Bool,
    Value,
}

fn arity(name: &str) -> Option<Arity> {
    const BOOLS: &[&str] = &[
        "per-module-lazy",
        "disable-lazy-compilation",
        "no-process-syms",
        "enable-cache-manager",
        "stats",
        "help",
        "version",
        "force-interpreter",
        "remote-mcjit",
        "soft-float",
        "emulated-tls",
    ];
    const VALUES: &[&str] = &[
        "jit-kind",
        "jit-linker",
        "orc-runtime",
        "compile-threads",
        "thread-entry",
        "jd",
        "dlopen",
        "mtriple",
        "march",
        "mcpu",
        "mattr",
        "entry-function",
        "extra-module",
        "extra-object",
        "extra-archive",
        "object-cache-dir",
        "fake-argv0",
        "lljit-platform",
        "orc-lazy-debug",
        "relocation-model",
        "code-model",
        "generate",
        "mcjit-remote-process",
        "float-abi",
        "jitcore-ir-pipeline",
    ];
    if BOOLS.contains(&name) || IGNORED_FLAGS.contains(&name) {
        Some(Arity::Bool)
    } else if VALUES.contains(&name) {
        Some(Arity::Value)
    } else {
        None
    }
}

fn parse_bool(flag: &str, v: &str) -> Result<bool> {
    match v {
        "" | "true" | "TRUE" | "True" | "1" => Ok(true),
        "false" | "FALSE" | "False" | "0" => Ok(false),
        _ => Err(Error::invalid_argument(format!("'{v}' is not a value for boolean option '-{flag}' (true or false)"))),
    }
}

fn bad_value(flag: &str, v: &str, allowed: &str) -> Error {
    Error::invalid_argument(format!("'{v}' is not a value for option '-{flag}' (one of: {allowed})"))
}

fn host_arch() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else if cfg!(target_arch = "aarch64") {
        "aarch64"
    } else {
        std::env::consts::ARCH
    }
}

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Options> {
        let mut o = Options::default();
        let mut current_jd: DylibName = None;
        let mut have_input = false;
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_ref();
            i += 1;
            if have_input {
                o.program_args.push(arg.to_string());
                continue;
            }
            if arg == "--" {
                let mut rest = args[i..].iter().map(|a| a.as_ref().to_string());
                if let Some(input) = rest.next() {
                    o.input = input;
                    have_input = true;
                }
                o.program_args.extend(rest);
                break;
            }
            if arg.len() < 2 || !arg.starts_with('-') {
                o.input = arg.to_string();
                have_input = true;
                continue;
            }
            let body = arg.strip_prefix("--").unwrap_or(&arg[1..]);
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            // -O<digit> (cl::Prefix), also -O=<digit> and -O <digit>.
            if let Some(level) = name.strip_prefix('O') {
                let v = if !level.is_empty() {
                    level.to_string()
                } else if let Some(v) = inline {
                    v.to_string()
                } else if i < args.len() {
                    i += 1;
                    args[i - 1].as_ref().to_string()
                } else {
                    return Err(Error::invalid_argument("option '-O' needs a value (0, 1, 2 or 3)"));
                };
                o.opt_level = match v.as_str() {
                    "0" => 0,
                    "1" => 1,
                    "2" => 2,
                    "3" => 3,
                    _ => return Err(Error::invalid_argument(format!("invalid optimization level '-O{v}' (0..3)"))),
                };
                continue;
            }
            let Some(kind) = arity(name) else {
                return Err(Error::invalid_argument(format!(
                    "unknown option '{arg}' (jitcore-run accepts a subset of lli's options; see --help)"
                )));
            };
            let value = match kind {
                Arity::Bool => inline.unwrap_or("").to_string(),
                Arity::Value => match inline {
                    Some(v) => v.to_string(),
                    None if i < args.len() => {
                        i += 1;
                        args[i - 1].as_ref().to_string()
                    }
                    None => return Err(Error::invalid_argument(format!("option '-{name}' needs a value"))),
                },
            };
            if let Some((_, why)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
                if kind == Arity::Value || parse_bool(name, &value)? {
                    return Err(Error::unsupported(format!("option '-{name}' is not supported: {why}")));
                }
                continue;
            }
            o.apply(name, kind, value, &mut current_jd)?;
        }
        if !have_input && !o.help && !o.version {
            return Err(Error::invalid_argument(
                "no input file (usage: jitcore-run [options] <file.ll|file.bc> [args...])",
            ));
        }
        o.check()?;
        Ok(o)
    }

    fn apply(&mut self, name: &str, kind: Arity, v: String, current_jd: &mut DylibName) -> Result<()> {
        if kind == Arity::Bool {
            let on = parse_bool(name, &v)?;
            match name {
                "per-module-lazy" => self.per_module_lazy = on,
                "disable-lazy-compilation" => self.disable_lazy_compilation = on,
                "no-process-syms" => self.no_process_syms = on,
                "enable-cache-manager" => self.enable_cache_manager = on,
                "stats" => self.stats = on,
                "help" => self.help = on,
                "version" => self.version = on,
                _ => {} // IGNORED_FLAGS
            }
            return Ok(());
        }
        match name {
            "jit-kind" => {
                self.jit_kind = match v.as_str() {
                    "mcjit" => JitKind::Mcjit,
                    "orc" => JitKind::Orc,
                    "orc-lazy" => JitKind::OrcLazy,
                    _ => return Err(bad_value(name, &v, "mcjit, orc, orc-lazy")),
                }
            }
            // jitcore always links with JITLink; both spellings are accepted.
            "jit-linker" => {
                if !matches!(v.as_str(), "default" | "jitlink" | "rtdyld") {
                    return Err(bad_value(name, &v, "default, jitlink, rtdyld"));
                }
            }
            "compile-threads" => {
                self.compile_threads = v.parse().map_err(|_| bad_value(name, &v, "a number of threads"))?;
            }
            "thread-entry" => self.thread_entries.push(v),
            "jd" => {
                *current_jd = if v == "main" { None } else { Some(v.clone()) };
                if v != "main" && !self.dylibs.contains(&v) {
                    self.dylibs.push(v);
                }
            }
            "dlopen" => self.dlopen.push(v),
            "mtriple" | "march" => {
                let arch = v.split('-').next().unwrap_or("");
                if !jitcore::TargetSpec::host(0).same_arch(arch) {
                    return Err(Error::unsupported(format!(
                        "option '-{name}={v}': jitcore-run only runs code for this host ({})",
                        host_arch()
                    )));
                }
            }
            "mcpu" => self.cpu = Some(v),
            "mattr" => self.features.extend(v.split(',').filter(|f| !f.is_empty()).map(str::to_string)),
            "entry-function" => self.entry_function = v,
            "extra-module" => self.extra_modules.push((current_jd.clone(), v)),
            "extra-object" => self.extra_objects.push(v),
            "extra-archive" => self.extra_archives.push((current_jd.clone(), v)),
            "object-cache-dir" => self.object_cache_dir = Some(v),
            "fake-argv0" => self.fake_argv0 = Some(v),
            // Checked by LLVM when the engine or session takes it.
            "jitcore-ir-pipeline" => {
                self.ir_pipeline = match v.as_str() {
                    "none" => IrPipeline::None,
                    "default" => IrPipeline::Default,
                    _ => IrPipeline::Custom(v),
                }
            }
            // jitcore's sessions always run static initializers and exit
            // handlers of jitted code themselves (the library's
            // initialize/deinitialize): the generic platform and no
            // platform behave alike.
            "lljit-platform" => match v.as_str() {
                "DetectHost" | "Auto" | "GenericIR" | "Inactive" => {}
                "ORC" | "ExecutorNative" => {
                    return Err(Error::unsupported(format!(
                        "option '-lljit-platform={v}' is not supported: it needs the ORC runtime"
                    )))
                }
                _ => return Err(bad_value(name, &v, "DetectHost, GenericIR, Inactive")),
            },
            "orc-lazy-debug" => {
                self.dump = match v.as_str() {
                    "no-dump" => Dump::None,
                    "funcs-to-stdout" => Dump::FuncsToStdout,
                    "mods-to-stdout" => Dump::ModsToStdout,
                    "mods-to-disk" => Dump::ModsToDisk,
                    "jit-debug-descriptor" => Dump::DebugDescriptor,
                    "jit-debug-objects" => Dump::DebugObjects,
                    _ => {
                        return Err(bad_value(
                            name,
                            &v,
                            "no-dump, funcs-to-stdout, mods-to-stdout, mods-to-disk, jit-debug-descriptor, \
                             jit-debug-objects",
                        ))
                    }
                }
            }
            "relocation-model" => {
                self.reloc = Some(
                    RelocModel::from_name(&v)
                        .ok_or_else(|| bad_value(name, &v, "static, pic, dynamic-no-pic, ropi, rwpi, ropi-rwpi"))?,
                )
            }
            "code-model" => {
                self.code_model = Some(
                    CodeModel::from_name(&v)
                        .ok_or_else(|| bad_value(name, &v, "tiny, small, kernel, medium, large"))?,
                )
            }
            _ => unreachable!("every value option is handled above: {name}"),
        }
        Ok(())
    }

    /// lli's rules on which options go together.
    fn check(&self) -> Result<()> {
        if self.jit_kind == JitKind::Mcjit {
            let orc_only = [
                ("-compile-threads", self.compile_threads != 0),
                ("-thread-entry", !self.thread_entries.is_empty()),
                ("-per-module-lazy", self.per_module_lazy),
            ];
            if let Some((flag, _)) = orc_only.iter().find(|(_, used)| *used) {
                return Err(Error::invalid_argument(format!("{flag} requires -jit-kind=orc-lazy")));
            }
        }
        // As lli, -object-cache-dir without -enable-cache-manager is
        // ignored (`warnings` says so).
        Ok(())
    }

    /// What the command line asks for that has no effect, one line each.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(dir), false) = (&self.object_cache_dir, self.enable_cache_manager) {
            out.push(format!(
                "-object-cache-dir={dir} is unused: the object cache is on only with -enable-cache-manager (as in lli)"
            ));
        }
        out
    }

    /// `argv[0]` for the program: `-fake-argv0`, else the input file (for
    /// mcjit without a `.bc` suffix, as lli does).
    pub fn argv0(&self) -> String {
        if let Some(f) = &self.fake_argv0 {
            return f.clone();
        }
        if self.jit_kind == JitKind::Mcjit {
            if let Some(stem) = self.input.strip_suffix(".bc") {
                return stem.to_string();
            }
        }
        self.input.clone()
    }
}

/// The `--help` text.
pub const USAGE: &str = "\
usage: jitcore-run [options] <input.ll|input.bc|-> [program arguments...]

Runs the program's `main` (argc, argv, envp) with jitcore, as lli does; the
exit status is main's return value. Options (one or two dashes, `=` or a space):
  -jit-kind=mcjit|orc|orc-lazy   engine facade / session, eager / session, lazy (default orc)
  -O0 .. -O3                     code generation's optimization level (default -O2)
  -jitcore-ir-pipeline=none|default|PASSES
                                 IR passes before codegen: none (the default: codegen
                                 only, as lli), default (LLVM's default<On> at the -O
                                 level), or a pipeline in `opt -passes=` syntax
  -entry-function=NAME           call NAME instead of main
  -extra-module=FILE             add another IR module (repeatable; goes to the current -jd)
  -extra-object=FILE             add a relocatable object file (repeatable)
  -extra-archive=FILE            link members of a static archive on demand (current -jd)
  -jd=NAME                       following -extra-module/-extra-archive go to JITDylib NAME
                                 (NAME and the program's JITDylib link each other, as in lli)
  -dlopen=LIB                    load a shared library; its symbols become process symbols
  -no-process-syms               do not resolve the host process's symbols
  -compile-threads=N             compile on N threads (orc, orc-lazy)
  -thread-entry=NAME             also run NAME on a thread of its own (orc, orc-lazy)
  -per-module-lazy               orc-lazy: compile whole modules on first call
  -disable-lazy-compilation      orc-lazy: compile whole modules up front
  -relocation-model=pic|static|...  -code-model=small|large|...  -mcpu=CPU  -mattr=+a,-b
  -lljit-platform=DetectHost|GenericIR|Inactive
  -jit-linker=default|jitlink|rtdyld    accepted; jitcore always links with JITLink
  -orc-lazy-debug=funcs-to-stdout|mods-to-stdout|mods-to-disk|jit-debug-descriptor|jit-debug-objects
  -enable-cache-manager -object-cache-dir=DIR   cache compiled objects on disk
  -fake-argv0=NAME               argv[0] for the program
  --stats                        jitcore's compile and cache statistics to stderr
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_and_positionals() {
        let o = Options::parse(&[
            "--jit-kind",
            "orc-lazy",
            "-O1",
            "-extra-module=a.ll",
            "-jd",
            "lib",
            "--extra-module",
            "b.ll",
            "-jd=main",
            "-extra-module=c.ll",
            "-disable-lazy-compilation=false",
            "prog.ll",
            "-x",
            "y",
        ])
        .unwrap();
        assert_eq!(o.jit_kind, JitKind::OrcLazy);
        assert_eq!(o.opt_level, 1);
        assert_eq!(
            o.extra_modules,
            vec![(None, "a.ll".into()), (Some("lib".into()), "b.ll".into()), (None, "c.ll".into())]
        );
        assert!(!o.disable_lazy_compilation);
        assert_eq!(o.input, "prog.ll");
        assert_eq!(o.program_args, vec!["-x", "y"]);
    }

    #[test]
    fn ir_pipeline_and_warnings() {
        let o = Options::parse(&["x.ll"]).unwrap();
        assert_eq!(o.ir_pipeline, IrPipeline::None, "codegen only by default, as lli");
        assert!(o.warnings().is_empty());
        let o = Options::parse(&["-jitcore-ir-pipeline=default", "x.ll"]).unwrap();
        assert_eq!(o.ir_pipeline, IrPipeline::Default);
        let o = Options::parse(&["--jitcore-ir-pipeline", "function(instcombine)", "x.ll"]).unwrap();
        assert_eq!(o.ir_pipeline, IrPipeline::Custom("function(instcombine)".into()));
        let o = Options::parse(&["-jitcore-ir-pipeline=none", "-object-cache-dir=/tmp/c", "x.ll"]).unwrap();
        assert_eq!(o.ir_pipeline, IrPipeline::None);
        assert_eq!(o.warnings().len(), 1);
        assert!(o.warnings()[0].contains("/tmp/c") && o.warnings()[0].contains("-enable-cache-manager"));
        let o = Options::parse(&["-enable-cache-manager", "-object-cache-dir=/tmp/c", "x.ll"]).unwrap();
        assert!(o.warnings().is_empty());
    }

    #[test]
    fn errors() {
        assert!(Options::parse(&["-bogus", "x.ll"]).unwrap_err().message.contains("unknown option '-bogus'"));
        assert!(Options::parse(&["-force-interpreter", "x.ll"]).is_err());
        assert!(Options::parse(&["-force-interpreter=false", "x.ll"]).is_ok());
        assert!(Options::parse(&["-O7", "x.ll"]).is_err());
        assert!(Options::parse(&["-jit-kind=mcjit", "-compile-threads=2", "x.ll"]).is_err());
        assert!(Options::parse::<&str>(&[]).is_err());
        assert!(Options::parse(&["-extra-module"]).is_err());
    }
}
