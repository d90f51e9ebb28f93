//! Engine semantics through the crate's Rust API.

use jitcore::TargetSpec;
use jitcore::{Engine, JitcoreErrorCode as Code, Module};

const SUM: &str = "define i32 @sum(i32 %a, i32 %b) {\n  %r = add i32 %a, %b\n  ret i32 %r\n}\n";

fn engine() -> Engine {
    jitcore::initialize().unwrap();
    Engine::new(TargetSpec::host(2)).unwrap()
}

fn call2(addr: u64, a: i32, b: i32) -> i32 {
    // SAFETY: the address is a jitted function of this type, defined by the IR above.
    let f: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(addr as usize) };
    f(a, b)
}

#[test]
fn runs_code() {
    let ee = engine();
    ee.add_module(&Module::from_ir("sum", SUM.as_bytes()).unwrap()).unwrap();
    assert_eq!(call2(ee.lookup("sum").unwrap(), 2, -5), -3);
}

#[test]
fn duplicate_definition_names_symbol() {
    let ee = engine();
    ee.add_module(&Module::from_ir("a", SUM.as_bytes()).unwrap()).unwrap();
    let e = ee.add_module(&Module::from_ir("b", SUM.as_bytes()).unwrap()).unwrap_err();
    assert_eq!(e.code, Code::JITCORE_ERROR_DUPLICATE_DEFINITION, "{e:?}");
    assert!(e.message.contains("sum"), "{e:?}");
}

#[test]
fn remove_and_readd() {
    let ee = engine();
    let m = Module::from_ir("sum", SUM.as_bytes()).unwrap();
    ee.add_module(&m).unwrap();
    assert_eq!(ee.add_module(&m).unwrap_err().code, Code::JITCORE_ERROR_MODULE_ALREADY_ADDED);
    ee.lookup("sum").unwrap();
    ee.remove_module(&m).unwrap();
    assert_eq!(ee.remove_module(&m).unwrap_err().code, Code::JITCORE_ERROR_MODULE_NOT_FOUND);
    assert_eq!(ee.lookup("sum").unwrap_err().code, Code::JITCORE_ERROR_SYMBOL_NOT_FOUND);
    ee.add_module(&m).unwrap();
    assert_eq!(call2(ee.lookup("sum").unwrap(), 40, 2), 42);
}

#[test]
fn missing_symbol_and_unresolved_external() {
    let ee = engine();
    let e = ee.lookup("nothing_here").unwrap_err();
    assert_eq!(e.code, Code::JITCORE_ERROR_SYMBOL_NOT_FOUND, "{e:?}");
    assert!(e.message.contains("nothing_here"), "{e:?}");
    let ir = "declare i32 @missing_ext(i32)\ndefine i32 @user(i32 %x) {\n %r = call i32 @missing_ext(i32 %x)\n ret i32 %r\n}\n";
    ee.add_module(&Module::from_ir("needs_ext", ir.as_bytes()).unwrap()).unwrap();
    let e = ee.lookup("user").unwrap_err();
    assert_eq!(e.code, Code::JITCORE_ERROR_UNRESOLVED_SYMBOL, "{e:?}");
    assert!(e.message.contains("missing_ext") && e.message.contains("needs_ext"), "{e:?}");
    // Still usable, and the module recovers once the symbol exists.
    ee.add_module(&Module::from_ir("sum", SUM.as_bytes()).unwrap()).unwrap();
    assert_eq!(call2(ee.lookup("sum").unwrap(), 1, 2), 3);
    let again = ee.lookup("user").unwrap_err();
    assert_eq!(again.code, Code::JITCORE_ERROR_UNRESOLVED_SYMBOL, "{again:?}");
    let provider = "define i32 @missing_ext(i32 %x) {\n %r = mul i32 %x, 2\n ret i32 %r\n}\n";
    ee.add_module(&Module::from_ir("provider", provider.as_bytes()).unwrap()).unwrap();
    // SAFETY: the address is a jitted function of this type, defined by the IR above.
    let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(ee.lookup("user").unwrap() as usize) };
    assert_eq!(f(21), 42);
}

#[test]
fn host_symbols_resolve() {
    let ee = engine();
    let ir = "declare i64 @strlen(ptr)\n@s = private constant [6 x i8] c\"hello\\00\"\ndefine i64 @len() {\n %r = call i64 @strlen(ptr @s)\n ret i64 %r\n}\n";
    ee.add_module(&Module::from_ir("libc", ir.as_bytes()).unwrap()).unwrap();
    // SAFETY: the address is a jitted function of this type, defined by the IR above.
    let f: extern "C" fn() -> i64 = unsafe { std::mem::transmute(ee.lookup("len").unwrap() as usize) };
    assert_eq!(f(), 5);
}

#[test]
fn ctors_and_dtors_run_in_priority_order() {
    let ee = engine();
    let ir = r#"
@log = global [8 x i8] zeroinitializer
@n = global i32 0
@llvm.global_ctors = appending global [2 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 200, ptr @second, ptr null }, { i32, ptr, ptr } { i32 100, ptr @first, ptr null }]
@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 100, ptr @fini, ptr null }]
define internal void @put(i8 %c) {
  %i = load i32, ptr @n
  %p = getelementptr [8 x i8], ptr @log, i32 0, i32 %i
  store i8 %c, ptr %p
  %j = add i32 %i, 1
  store i32 %j, ptr @n
  ret void
}
define internal void @first() { call void @put(i8 65) ret void }
define internal void @second() { call void @put(i8 66) ret void }
define internal void @fini() { call void @put(i8 90) ret void }
"#;
    ee.add_module(&Module::from_ir("ctors", ir.as_bytes()).unwrap()).unwrap();
    ee.run_static_constructors().unwrap();
    ee.run_static_destructors().unwrap();
    let log = ee.lookup("log").unwrap() as *const u8;
    // SAFETY: the address is the jitted 3-byte array @log of the IR above.
    let got = unsafe { std::slice::from_raw_parts(log, 3) };
    assert_eq!(got, b"ABZ");
}

#[test]
fn global_mapping_and_objects() {
    let ee = engine();
    extern "C" fn host_twice(x: i32) -> i32 {
        x * 2
    }
    ee.add_global_mapping("host_twice", host_twice as *const () as usize as u64).unwrap();
    let ir =
        "declare i32 @host_twice(i32)\ndefine i32 @g(i32 %x) {\n %r = call i32 @host_twice(i32 %x)\n ret i32 %r\n}\n";
    ee.add_module(&Module::from_ir("g", ir.as_bytes()).unwrap()).unwrap();
    // SAFETY: the address is a jitted function of this type, defined by the IR above.
    let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(ee.lookup("g").unwrap() as usize) };
    assert_eq!(f(5), 10);
    let e = ee.add_object(b"garbage garbage garbage", "junk.o").unwrap_err();
    assert_eq!(e.code, Code::JITCORE_ERROR_INVALID_OBJECT, "{e:?}");
    assert!(e.message.contains("junk.o"));
}

#[test]
fn cxx_runtime_symbols_resolve() {
    // C++ code references __dso_handle and registers destructors with
    // __cxa_atexit; LLJIT's platform support provides both.
    let ee = engine();
    let ir = "@__dso_handle = external hidden global i8\ndeclare i32 @__cxa_atexit(ptr, ptr, ptr)\n\
              define void @h(ptr %p) { ret void }\n\
              define i32 @reg() {\n %r = call i32 @__cxa_atexit(ptr @h, ptr null, ptr @__dso_handle)\n ret i32 %r\n}\n";
    ee.add_module(&Module::from_ir("cxx", ir.as_bytes()).unwrap()).unwrap();
    // SAFETY: the address is a jitted function of this type, defined by the IR above.
    let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(ee.lookup("reg").unwrap() as usize) };
    assert_eq!(f(), 0);
}

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

#[test]
fn add_remove_cycles_do_not_grow() {
    let ee = engine();
    let cycle = |i: usize| {
        let ir = format!("define i32 @f{i}(i32 %x) {{\n %r = add i32 %x, {i}\n ret i32 %r\n}}\n");
        let m = Module::from_ir(&format!("m{i}"), ir.as_bytes()).unwrap();
        ee.add_module(&m).unwrap();
        // SAFETY: the address is a jitted function of this type, defined by the IR above.
        let f: extern "C" fn(i32) -> i32 =
            unsafe { std::mem::transmute(ee.lookup(&format!("f{i}")).unwrap() as usize) };
        assert_eq!(f(1), 1 + i as i32);
        ee.remove_module(&m).unwrap();
    };
    for i in 0..500 {
        cycle(i);
    }
    let before = resident_kib();
    for i in 500..3000 {
        cycle(i);
    }
    let after = resident_kib();
    println!("resident memory: {before} KiB after 500 cycles, {after} KiB after 3000");
    // Generous bound: a leak of the code, IR or symbols of each module would
    // be well over 2 KiB per cycle (5 MiB over 2500 cycles).
    assert!(after < before + 5 * 1024, "grew from {before} KiB to {after} KiB");
}

#[test]
fn concurrent_first_lookups_compile_once() {
    for round in 0..20 {
        let ee = engine();
        ee.add_module(&Module::from_ir("sum", SUM.as_bytes()).unwrap()).unwrap();
        let barrier = std::sync::Barrier::new(4);
        let addrs: Vec<u64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        ee.lookup("sum").unwrap()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(addrs.iter().all(|a| *a == addrs[0]), "round {round}: {addrs:?}");
        assert_eq!(call2(addrs[0], 20, 22), 42);
        assert_eq!(ee.statistics().modules_compiled, 1, "round {round}");
    }
}
