//! `jitcore-run`, the lli-compatible runner, run as a process on small IR
//! files: exit status, argv and envp, constructors, exit handlers and
//! destructors in lli's order, entry functions, extra modules and objects,
//! JITDylibs, the object cache, and one clean error line for every failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RUNNER: &str = env!("CARGO_BIN_EXE_jitcore-run");
const KINDS: [&str; 3] = ["mcjit", "orc", "orc-lazy"];

/// A directory of its own for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jitcore-run-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn run(args: &[&str]) -> Output {
    run_cmd(Command::new(RUNNER).args(args))
}

/// Runs the command, killing it (and failing the test) if it hangs.
fn run_cmd(cmd: &mut Command) -> Output {
    use std::process::Stdio;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("jitcore-run starts");
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("jitcore-run {:?} did not finish within 60 s", cmd.get_args().collect::<Vec<_>>());
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The run failed cleanly: status 1 (not a signal), and stderr is exactly
/// one `jitcore-run: error: ...` line, which is returned.
fn one_error_line(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "status {:?}, stderr: {}", o.status, stderr(o));
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {err:?}");
    assert!(lines[0].starts_with("jitcore-run: error: "), "{err:?}");
    lines[0].to_string()
}

const RETURNS_42: &str = "define i32 @main() {\n  ret i32 42\n}\n";

#[test]
fn exit_status_is_mains_return_value() {
    let dir = scratch("status");
    let f = write(&dir, "r.ll", RETURNS_42);
    for kind in KINDS {
        let o = run(&[&format!("-jit-kind={kind}"), &f]);
        assert_eq!(o.status.code(), Some(42), "{kind}: {}", stderr(&o));
    }
    // The default JIT is orc, and options take one or two dashes, = or a space.
    assert_eq!(run(&[&f]).status.code(), Some(42));
    assert_eq!(run(&["--jit-kind", "orc-lazy", "--O1", &f]).status.code(), Some(42));
}

const PRINT_ARGS: &str = r#"
@fmt = private constant [13 x i8] c"%d %s %s %s\0A\00"
declare i32 @printf(ptr, ...)
declare i64 @strlen(ptr)
define i32 @main(i32 %argc, ptr %argv, ptr %envp) {
  %a0 = load ptr, ptr %argv
  %p1 = getelementptr ptr, ptr %argv, i64 1
  %a1 = load ptr, ptr %p1
  %p2 = getelementptr ptr, ptr %argv, i64 2
  %a2 = load ptr, ptr %p2
  call i32 (ptr, ...) @printf(ptr @fmt, i32 %argc, ptr %a0, ptr %a1, ptr %a2)
  %e0 = load ptr, ptr %envp
  %n = call i64 @strlen(ptr %e0)
  %r = trunc i64 %n to i32
  %has_env = icmp ugt i32 %r, 0
  %s = select i1 %has_env, i32 7, i32 8
  ret i32 %s
}
"#;

#[test]
fn argv_and_envp_reach_main() {
    let dir = scratch("argv");
    let f = write(&dir, "args.ll", PRINT_ARGS);
    for kind in KINDS {
        // Arguments after the input file belong to the program, dashes or not.
        let o =
            run_cmd(Command::new(RUNNER).args([&format!("-jit-kind={kind}"), &f, "-x", "two words"]).env("JR", "1"));
        assert_eq!(o.status.code(), Some(7), "{kind}: {}", stderr(&o));
        assert_eq!(stdout(&o), format!("3 {f} -x two words\n"), "{kind}");
    }
    let o = run(&["-fake-argv0=prog", &f, "a", "b"]);
    assert_eq!(stdout(&o), "3 prog a b\n");
}

/// Constructors (two priorities), an `atexit` and a `__cxa_atexit` handler
/// registered by a constructor, and a destructor.
const STRUCTORS: &str = r#"
@__dso_handle = external global i8
@llvm.global_ctors = appending global [2 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 200, ptr @late, ptr null }, { i32, ptr, ptr } { i32 100, ptr @early, ptr null }]
@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 0, ptr @dtor, ptr null }]
@s1 = private constant [6 x i8] c"early\00"
@s2 = private constant [5 x i8] c"late\00"
@s3 = private constant [5 x i8] c"main\00"
@s4 = private constant [7 x i8] c"atexit\00"
@s5 = private constant [12 x i8] c"cxa_atexit \00"
@s6 = private constant [5 x i8] c"dtor\00"
declare i32 @puts(ptr)
declare i32 @printf(ptr, ...)
declare i32 @atexit(ptr)
declare i32 @__cxa_atexit(ptr, ptr, ptr)
define internal void @early() {
  call i32 @puts(ptr @s1)
  ret void
}
define void @late() {
  call i32 @puts(ptr @s2)
  call i32 @__cxa_atexit(ptr @cxa_handler, ptr @s5, ptr @__dso_handle)
  call i32 @atexit(ptr @atexit_handler)
  ret void
}
define void @atexit_handler() {
  call i32 @puts(ptr @s4)
  ret void
}
define void @cxa_handler(ptr %arg) {
  call i32 (ptr, ...) @printf(ptr %arg)
  call i32 @puts(ptr %arg)
  ret void
}
define void @dtor() {
  call i32 @puts(ptr @s6)
  ret void
}
"#;

const MAIN_PUTS: &str = r#"
@s = private constant [5 x i8] c"main\00"
declare i32 @puts(ptr)
define i32 @main() {
  call i32 @puts(ptr @s)
  ret i32 0
}
"#;

#[test]
fn constructors_main_exit_handlers_destructors_in_order() {
    let dir = scratch("structors");
    let s = write(&dir, "structors.ll", STRUCTORS);
    let m = write(&dir, "main.ll", MAIN_PUTS);
    let session_order = "early\nlate\nmain\natexit\ncxa_atexit cxa_atexit \ndtor\n";
    for kind in ["orc", "orc-lazy"] {
        let o = run(&[&format!("-jit-kind={kind}"), "-extra-module", &s, &m]);
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", stderr(&o));
        assert_eq!(stdout(&o), session_order, "{kind}");
        // The same with the structors in a JITDylib of their own.
        let o = run(&[&format!("-jit-kind={kind}"), "-jd", "extra", "-extra-module", &s, "-jd", "main", &m]);
        assert_eq!(o.status.code(), Some(0), "{kind} -jd: {}", stderr(&o));
        assert_eq!(stdout(&o), session_order, "{kind} -jd");
    }
    // MCJIT runs the destructors, then exit's handlers.
    let o = run(&["-jit-kind=mcjit", "-extra-module", &s, &m]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "early\nlate\nmain\ndtor\natexit\ncxa_atexit cxa_atexit \n");
}

#[test]
fn entry_function_and_extra_modules() {
    let dir = scratch("entry");
    let lib = write(&dir, "lib.ll", "define i32 @twice(i32 %x) {\n  %r = mul i32 %x, 2\n  ret i32 %r\n}\n");
    let prog = write(
        &dir,
        "prog.ll",
        "declare i32 @twice(i32)\ndefine i32 @start() {\n  %r = call i32 @twice(i32 21)\n  ret i32 %r\n}\n",
    );
    for kind in KINDS {
        let o = run(&[&format!("-jit-kind={kind}"), "-entry-function=start", &format!("-extra-module={lib}"), &prog]);
        assert_eq!(o.status.code(), Some(42), "{kind}: {}", stderr(&o));
    }
    // Without -entry-function the runner looks for main.
    let e = one_error_line(&run(&[&format!("-extra-module={lib}"), &prog]));
    assert!(e.contains("'main'") && e.contains("not found"), "{e}");
}

#[test]
fn jitdylibs_link_both_ways_and_hide_hidden_symbols() {
    let dir = scratch("jd");
    let lib =
        write(&dir, "foo.ll", "define i32 @foo() {\n  ret i32 42\n}\ndefine hidden i32 @secret() {\n  ret i32 1\n}\n");
    // main's JITDylib links against -jd libFoo...
    let prog =
        write(&dir, "prog.ll", "declare i32 @foo()\ndefine i32 @main() {\n  %r = call i32 @foo()\n  ret i32 %r\n}\n");
    for kind in ["orc", "orc-lazy"] {
        let o = run(&[&format!("-jit-kind={kind}"), "-jd", "libFoo", "-extra-module", &lib, &prog]);
        assert_eq!(o.status.code(), Some(42), "{kind}: {}", stderr(&o));
    }
    // ... and libFoo against main: a link-order cycle, which links in every
    // kind, with and without compile threads (calls across it go through
    // stubs; before issue 10.4 the eager kinds deadlocked).
    let lib_back = write(
        &dir,
        "back-lib.ll",
        "declare i32 @base()\ndefine i32 @foo_base() {\n  %b = call i32 @base()\n  %r = add i32 %b, 2\n  ret i32 %r\n}\n",
    );
    let calls_back = write(
        &dir,
        "back.ll",
        "declare i32 @foo_base()\ndefine i32 @base() {\n  ret i32 40\n}\n\
         define i32 @main() {\n  %r = call i32 @foo_base()\n  ret i32 %r\n}\n",
    );
    // A variable read across the cycle links too (the functions break it).
    let lib_var = write(
        &dir,
        "var-lib.ll",
        "declare i32 @base()
@lib_val = global i32 30
         define i32 @foo_base() {
  %b = call i32 @base()
  %r = add i32 %b, 2
  ret i32 %r
}
",
    );
    let reads_var = write(
        &dir,
        "var.ll",
        "declare i32 @foo_base()
@lib_val = external global i32
define i32 @base() {
  ret i32 0
}
         define i32 @main() {
  %f = call i32 @foo_base()
  %v = load i32, ptr @lib_val
  %s = add i32 %f, %v
         %r = add i32 %s, 10
  ret i32 %r
}
",
    );
    for kind in ["orc", "orc-lazy"] {
        for threads in ["-compile-threads=0", "-compile-threads=2"] {
            for (lib, prog) in [(&lib_back, &calls_back), (&lib_var, &reads_var)] {
                let o = run(&[&format!("-jit-kind={kind}"), threads, "-jd", "libFoo", "-extra-module", lib, prog]);
                assert_eq!(o.status.code(), Some(42), "{kind} {threads} {prog}: {}", stderr(&o));
            }
        }
    }
    // Variables that each module's code reads of the other, with no call in
    // between: eagerly a cycle of data references, which LLVM-C cannot link
    // (one clear error, never a hang); lazily each function links alone.
    let lib_reads = write(
        &dir,
        "reads-lib.ll",
        "@main_val = external global i32
@lib_val = global i32 2
         define i32 @lib_get() {
  %v = load i32, ptr @main_val
  ret i32 %v
}
",
    );
    let main_reads = write(
        &dir,
        "reads.ll",
        "@lib_val = external global i32
@main_val = global i32 40
declare i32 @lib_get()
         define i32 @main() {
  %v = load i32, ptr @lib_val
  %g = call i32 @lib_get()
  %r = add i32 %v, %g
         ret i32 %r
}
",
    );
    let e = one_error_line(&run(&["-jit-kind=orc", "-jd", "libFoo", "-extra-module", &lib_reads, &main_reads]));
    assert!(e.contains("cycle of data references") && e.contains("lib_val"), "{e}");
    let o = run(&["-jit-kind=orc-lazy", "-jd", "libFoo", "-extra-module", &lib_reads, &main_reads]);
    assert_eq!(o.status.code(), Some(42), "{}", stderr(&o));
    // A hidden definition is not visible from another JITDylib...
    let uses_secret = write(
        &dir,
        "secret.ll",
        "declare i32 @secret()\ndefine i32 @main() {\n  %r = call i32 @secret()\n  ret i32 %r\n}\n",
    );
    let e = one_error_line(&run(&["-jd=libFoo", &format!("-extra-module={lib}"), &uses_secret]));
    assert!(e.contains("secret"), "{e}");
    // ... but is within one.
    let o = run(&[&format!("-extra-module={lib}"), &uses_secret]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

#[test]
fn extra_objects_link() {
    let dir = scratch("objects");
    jitcore::initialize().unwrap();
    let spec = jitcore::TargetSpec::host(2);
    let tm = spec.create().unwrap();
    let m = jitcore::Module::from_ir("seven", b"define i32 @seven() {\n  ret i32 7\n}\n").unwrap();
    let object = jitcore::testing::compile(&m, &spec, &tm, &jitcore::IrPipeline::Default).unwrap();
    let obj = dir.join("seven.o");
    std::fs::write(&obj, object.bytes()).unwrap();
    let prog = write(
        &dir,
        "prog.ll",
        "declare i32 @seven()\ndefine i32 @main() {\n  %r = call i32 @seven()\n  ret i32 %r\n}\n",
    );
    for kind in KINDS {
        let o = run(&[&format!("-jit-kind={kind}"), "-extra-object", obj.to_str().unwrap(), &prog]);
        assert_eq!(o.status.code(), Some(7), "{kind}: {}", stderr(&o));
    }
    let empty = write(&dir, "empty.o", "");
    let e = one_error_line(&run(&["-extra-object", &empty, &prog]));
    assert!(e.contains("empty.o") && e.contains("not recognized as a valid object file"), "{e}");
}

#[test]
fn errors_are_one_line_and_a_clean_exit() {
    let dir = scratch("errors");
    let e = one_error_line(&run(&[dir.join("missing.ll").to_str().unwrap()]));
    assert!(e.contains("missing.ll") && e.contains("cannot read"), "{e}");

    let bad = write(&dir, "bad.ll", "define i32 @main( {\n");
    let e = one_error_line(&run(&[&bad]));
    assert!(e.contains("bad.ll:2:1: error:"), "{e}");

    let nomain = write(&dir, "nomain.ll", "define i32 @f() {\n  ret i32 0\n}\n");
    for kind in KINDS {
        let e = one_error_line(&run(&[&format!("-jit-kind={kind}"), &nomain]));
        assert!(e.contains("'main'"), "{kind}: {e}");
    }

    // An external nothing defines: at the lookup (mcjit, orc) or when the
    // lazily compiled function is first called (orc-lazy).
    let ext = write(
        &dir,
        "ext.ll",
        "declare i32 @no_such_function()\ndefine i32 @main() {\n  %r = call i32 @no_such_function()\n  ret i32 %r\n}\n",
    );
    for kind in KINDS {
        let e = one_error_line(&run(&[&format!("-jit-kind={kind}"), &ext]));
        assert!(e.contains("no_such_function"), "{kind}: {e}");
    }

    for args in [
        vec!["-no-such-flag", nomain.as_str()],
        vec!["-jit-kind=interp", nomain.as_str()],
        vec!["-force-interpreter", nomain.as_str()],
        vec!["-jit-kind=mcjit", "-compile-threads=2", nomain.as_str()],
        vec!["-O9", nomain.as_str()],
        vec!["-extra-module"],
        vec![],
    ] {
        one_error_line(&run(&args));
    }
}

/// Issue 10.3: a lazily compiled function that cannot be compiled ends the
/// run as under `lli -jit-kind=orc-lazy` (the output so far, an error
/// naming the function and the missing symbol, status 1): the call never
/// returns a made-up result (a `double` function used to return its
/// argument, here 3.5, and the program went on).
#[test]
fn a_failed_lazy_call_ends_the_run() {
    let dir = scratch("lazyfail");
    let f = write(
        &dir,
        "fail.ll",
        "@hello = private constant [7 x i8] c\"hello\\0A\\00\"\n\
         @got = private constant [8 x i8] c\"got %f\\0A\\00\"\n\
         declare i32 @printf(ptr, ...)\ndeclare i32 @nowhere(i32)\n\
         define double @bad(double %x) {\n  %i = call i32 @nowhere(i32 1)\n  ret double 1.0\n}\n\
         define i32 @main() {\n  call i32 (ptr, ...) @printf(ptr @hello)\n\
           %r = call double @bad(double 3.5)\n  call i32 (ptr, ...) @printf(ptr @got, double %r)\n  ret i32 0\n}\n",
    );
    for threads in ["0", "2"] {
        let o = run(&["-jit-kind=orc-lazy", &format!("-compile-threads={threads}"), &f]);
        assert_eq!(stdout(&o), "hello\n", "{threads} threads: {}", stderr(&o));
        let e = one_error_line(&o);
        assert!(e.contains("'bad'") && e.contains("nowhere"), "{threads} threads: {e}");
    }
}

#[test]
fn no_process_syms_hides_libc() {
    let dir = scratch("noproc");
    let f = write(
        &dir,
        "puts.ll",
        "@s = private constant [3 x i8] c\"hi\\00\"\ndeclare i32 @puts(ptr)\n\
         define i32 @main() {\n  call i32 @puts(ptr @s)\n  ret i32 0\n}\n",
    );
    let o = run(&[&f]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "hi\n"), "{}", stderr(&o));
    let e = one_error_line(&run(&["-no-process-syms", &f]));
    assert!(e.contains("puts"), "{e}");
}

#[test]
fn object_cache_serves_the_second_run() {
    let dir = scratch("cache");
    let f = write(&dir, "r.ll", RETURNS_42);
    let cache = dir.join("objects");
    let cache_flag = format!("-object-cache-dir={}", cache.display());
    for kind in KINDS {
        let first = run(&[&format!("-jit-kind={kind}"), "-enable-cache-manager", &cache_flag, "--stats", &f]);
        assert_eq!(first.status.code(), Some(42), "{kind}: {}", stderr(&first));
        let second = run(&[&format!("-jit-kind={kind}"), "-enable-cache-manager", &cache_flag, "--stats", &f]);
        assert_eq!(second.status.code(), Some(42), "{kind}: {}", stderr(&second));
        let stats = stderr(&second);
        let compiled = stats.lines().find(|l| l.trim_start().starts_with("modules compiled")).unwrap_or_default();
        assert!(compiled.trim_end().ends_with(" 0"), "{kind}: {stats}");
        assert!(stats.contains("disk cache hits"), "{kind}: {stats}");
    }
}

#[test]
fn orc_lazy_compiles_only_what_runs() {
    let dir = scratch("lazy");
    let f = write(&dir, "two.ll", "define void @unused() {\n  ret void\n}\ndefine i32 @main() {\n  ret i32 0\n}\n");
    let o = run(&["-jit-kind=orc-lazy", "-orc-lazy-debug=funcs-to-stdout", &f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("main") && !stdout(&o).contains("unused"), "{}", stdout(&o));
    let o = run(&["-jit-kind=orc-lazy", "-per-module-lazy", "-orc-lazy-debug=funcs-to-stdout", &f]);
    assert!(stdout(&o).contains("unused"), "{}", stdout(&o));
}

#[test]
fn thread_entries_run_on_their_own_threads() {
    let dir = scratch("threads");
    let f = write(
        &dir,
        "t.ll",
        "@s = private constant [7 x i8] c\"thread\\00\"\ndeclare i32 @puts(ptr)\n\
         define void @side() {\n  call i32 @puts(ptr @s)\n  ret void\n}\ndefine i32 @main() {\n  ret i32 3\n}\n",
    );
    let o = run(&["-jit-kind=orc-lazy", "-compile-threads=2", "-thread-entry", "side", &f]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "thread\n");
}

/// LLJIT's platform modules (which define `__dso_handle`) take jitcore's
/// compile path, so compile threads never share a target machine: a C++
/// global with a destructor runs right every time (it crashed or failed to
/// link about one run in ten under `orc-lazy -compile-threads=2`).
#[test]
fn platform_modules_race_no_compile_thread() {
    let ll = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/global_dtor.ll");
    let ll = ll.to_str().unwrap();
    for kind in ["orc-lazy", "orc"] {
        for i in 0..60 {
            let o = run(&[&format!("-jit-kind={kind}"), "-compile-threads=2", ll]);
            assert_eq!(
                (o.status.code(), stdout(&o).as_str(), stderr(&o).as_str()),
                (Some(0), "ctor\nmain\ndtor\n", ""),
                "run {i} of {kind}"
            );
        }
    }
}

/// `main` returns 1 when IR passes folded `argc * 0` to a constant before
/// codegen (llvm.is.constant), 0 when only code generation ran.
const FOLDED_BY_IR_PASSES: &str = "declare i1 @llvm.is.constant.i32(i32)\n\
    define i32 @main(i32 %argc, ptr %argv) {\n  %v = mul i32 %argc, 0\n\
    \x20 %c = call i1 @llvm.is.constant.i32(i32 %v)\n  %r = zext i1 %c to i32\n  ret i32 %r\n}\n";

#[test]
fn ir_pipeline_is_codegen_only_by_default_as_lli() {
    let dir = scratch("pipeline");
    let f = write(&dir, "fold.ll", FOLDED_BY_IR_PASSES);
    for kind in KINDS {
        let k = format!("-jit-kind={kind}");
        let status = |extra: &[&str]| {
            let mut args = vec![k.as_str()];
            args.extend_from_slice(extra);
            args.push(&f);
            let o = run(&args);
            assert!(stderr(&o).is_empty(), "{kind} {extra:?}: {}", stderr(&o));
            o.status.code()
        };
        assert_eq!(status(&[]), Some(0), "{kind}: no IR passes unless asked for");
        assert_eq!(status(&["-O3"]), Some(0), "{kind}: -O sets codegen's level only");
        assert_eq!(status(&["-jitcore-ir-pipeline=none"]), Some(0), "{kind}");
        assert_eq!(status(&["-jitcore-ir-pipeline=default"]), Some(1), "{kind}: default<O2>");
        assert_eq!(status(&["--jitcore-ir-pipeline", "function(instsimplify)"]), Some(1), "{kind}");
        assert_eq!(status(&["-jitcore-ir-pipeline=globaldce"]), Some(0), "{kind}: only the passes named");
        let e = one_error_line(&run(&[&k, "-jitcore-ir-pipeline=function(nosuchpass)", &f]));
        assert!(e.contains("-jitcore-ir-pipeline") && e.contains("unknown function pass 'nosuchpass'"), "{e}");
    }
    let help = stdout(&run(&["--help"]));
    assert!(help.contains("-jitcore-ir-pipeline=none|default|PASSES"), "{help}");

    // The disk cache keeps pipelines apart: the default pipeline's run
    // compiles again rather than loading the codegen-only object.
    let cache = format!("-object-cache-dir={}", dir.join("objects").display());
    let cached = |extra: &[&str]| {
        let mut args = vec!["-enable-cache-manager", cache.as_str(), "--stats"];
        args.extend_from_slice(extra);
        args.push(&f);
        let o = run(&args);
        let stats = stderr(&o);
        let row = |what: &str| {
            let line = stats.lines().find(|l| l.trim_start().starts_with(what)).unwrap_or_default();
            line.split_whitespace().last().and_then(|n| n.parse::<u64>().ok()).unwrap_or(u64::MAX)
        };
        (o.status.code(), row("modules compiled"), row("cache hits"))
    };
    assert_eq!(cached(&[]), (Some(0), 1, 0));
    assert_eq!(cached(&["-jitcore-ir-pipeline=default"]), (Some(1), 1, 0));
    assert_eq!(cached(&[]), (Some(0), 0, 1));
    assert_eq!(cached(&["-jitcore-ir-pipeline=default"]), (Some(1), 0, 1));
}

#[test]
fn an_unused_object_cache_dir_is_warned_about_once() {
    let dir = scratch("unused-cache-dir");
    let f = write(&dir, "r.ll", RETURNS_42);
    let objects = dir.join("objects");
    let flag = format!("-object-cache-dir={}", objects.display());
    for kind in KINDS {
        // As lli: without -enable-cache-manager the directory is not used.
        let o = run(&[&format!("-jit-kind={kind}"), &flag, &f]);
        assert_eq!(o.status.code(), Some(42), "{kind}: {}", stderr(&o));
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{kind}: one warning line, got {err:?}");
        assert!(lines[0].starts_with("jitcore-run: warning: "), "{err:?}");
        assert!(lines[0].contains(&objects.display().to_string()) && lines[0].contains("-enable-cache-manager"));
        assert!(!objects.exists(), "{kind}: the directory stays unused");
        // With the cache manager it is used, and nothing is said.
        let o = run(&[&format!("-jit-kind={kind}"), "-enable-cache-manager", &flag, &f]);
        assert_eq!((o.status.code(), stderr(&o).as_str()), (Some(42), ""), "{kind}");
        assert!(objects.exists());
        std::fs::remove_dir_all(&objects).unwrap();
    }
}
