use std::ptr;
use std::time::Instant;

use super::*;
use crate::llvm::ir::{globals, ModuleSymbol};
use crate::llvm::take_message;

fn parse(text: &str) -> IrModule {
    crate::llvm::initialize().unwrap();
    IrModule::parse("split-test", text.as_bytes()).unwrap()
}

fn print(m: &IrModule) -> String {
    // SAFETY: the module is live; the string is LLVM's, disposed by take_message.
    unsafe { take_message(LLVMPrintModuleToString(m.as_raw())) }
}

/// Parses a partition back (which verifies it) and returns it with its
/// defined symbols.
fn reparse(name: &str, bitcode: &[u8]) -> (IrModule, Vec<ModuleSymbol>) {
    let m = IrModule::parse(name, bitcode).unwrap_or_else(|e| panic!("partition {name}: {}", e.message));
    let symbols = m.defined_symbols();
    (m, symbols)
}

/// (is a declaration, visibility is hidden) of function `name` in `m`, if it has one.
fn function(m: &IrModule, name: &str) -> Option<(bool, bool)> {
    let c = crate::llvm::cstring(name);
    // SAFETY: the module is live; we only read properties of the function.
    unsafe {
        let f = LLVMGetNamedFunction(m.as_raw(), c.as_ptr());
        if f.is_null() {
            return None;
        }
        Some((LLVMIsDeclaration(f) != 0, LLVMGetVisibility(f) == LLVMVisibility::LLVMHiddenVisibility))
    }
}

fn names(symbols: &[ModuleSymbol]) -> Vec<String> {
    let mut v: Vec<String> = symbols.iter().map(|s| s.name.clone()).collect();
    v.sort();
    v
}

fn partition<'a>(split: &'a Split, name: &str) -> &'a FunctionPartition {
    split.functions.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no partition for {name}"))
}

const MIXED: &str = r#"
@counter = global i64 0
@.str = private unnamed_addr constant [6 x i8] c"hello\00"
@table = global [3 x ptr] [ptr @even, ptr @odd, ptr @helper]
@0 = internal global i32 7

define internal i64 @helper(i64 %x) {
  %p = getelementptr i8, ptr @.str, i64 %x
  %c = load i8, ptr %p
  %z = zext i8 %c to i64
  %a = load i32, ptr @0
  %b = sext i32 %a to i64
  %r = add i64 %z, %b
  ret i64 %r
}

define i1 @even(i64 %n) {
entry:
  %z = icmp eq i64 %n, 0
  br i1 %z, label %yes, label %no
yes:
  ret i1 true
no:
  %m = sub i64 %n, 1
  %r = call i1 @odd(i64 %m)
  ret i1 %r
}

define i1 @odd(i64 %n) {
entry:
  %z = icmp eq i64 %n, 0
  br i1 %z, label %yes, label %no
yes:
  ret i1 false
no:
  %m = sub i64 %n, 1
  %r = call i1 @even(i64 %m)
  ret i1 %r
}

define i64 @fact(i64 %n) {
entry:
  %c = load i64, ptr @counter
  %c1 = add i64 %c, 1
  store i64 %c1, ptr @counter
  %z = icmp sle i64 %n, 1
  br i1 %z, label %base, label %rec
base:
  %h = call i64 @helper(i64 0)
  ret i64 %h
rec:
  %m = sub i64 %n, 1
  %r = call i64 @fact(i64 %m)
  %p = mul i64 %n, %r
  ret i64 %p
}

define linkonce_odr i64 @inl(i64 %x) {
  ret i64 %x
}

define hidden ptr @self() {
  ret ptr @self
}

define i64 @user() personality ptr @pers {
entry:
  %f = load ptr, ptr @table
  %v = invoke i64 @inl(i64 3) to label %ok unwind label %bad
ok:
  ret i64 %v
bad:
  %lp = landingpad { ptr, i32 } cleanup
  resume { ptr, i32 } %lp
}

declare i32 @pers(...)
declare i64 @unused_external(i64)
"#;

#[test]
fn splits_a_mixed_module() {
    let mut ir = parse(MIXED);
    let split = split(&mut ir, "t1").unwrap().expect("splittable");

    let mut got: Vec<&str> = split.functions.iter().map(|p| p.name.as_str()).collect();
    got.sort();
    assert_eq!(got, ["even", "fact", "helper.jitcore.t1", "inl", "odd", "self", "user"]);
    for p in &split.functions {
        assert_eq!(p.body, format!("{}.jitcore.body", p.name));
        let (m, symbols) = reparse(&p.name, &p.bitcode);
        assert_eq!(names(&symbols), std::slice::from_ref(&p.body), "partition {} defines only its body", p.name);
        assert!(!symbols[0].exported, "bodies are hidden");
        assert_eq!(symbols[0].weak, p.weak);
        // Nothing else is defined; the stub name, if present, is a declaration.
        if let Some((decl, hidden)) = function(&m, &p.name) {
            assert!(decl, "{} must be declared, not defined, next to its body", p.name);
            assert_eq!(hidden, !p.exported);
        }
    }
    let flags = |n: &str| {
        let p = partition(&split, n);
        (p.exported, p.weak)
    };
    assert_eq!(flags("even"), (true, false));
    assert_eq!(flags("helper.jitcore.t1"), (false, false));
    assert_eq!(flags("inl"), (true, true));
    assert_eq!(flags("self"), (false, false));

    // Recursion and self-reference go through the stub.
    let (fact, _) = reparse("fact", &partition(&split, "fact").bitcode);
    assert_eq!(function(&fact, "fact"), Some((true, false)));
    assert_eq!(function(&fact, "helper.jitcore.t1"), Some((true, true)));
    let text = print(&fact);
    assert!(text.contains("call i64 @fact("), "{text}");
    assert!(text.contains("@counter = external global i64"), "{text}");
    assert!(!text.contains("unused_external"), "unused declarations are collected: {text}");
    assert!(!text.contains("@even"), "{text}");
    let (selfp, _) = reparse("self", &partition(&split, "self").bitcode);
    assert!(print(&selfp).contains("ret ptr @self"));
    assert_eq!(function(&selfp, "self"), Some((true, true)));
    // Mutual recursion: each side declares the other.
    let (even, _) = reparse("even", &partition(&split, "even").bitcode);
    assert_eq!(function(&even, "odd"), Some((true, false)));
    assert_eq!(function(&even, "even"), None, "no stub declaration without a use");
    // The helper reads the promoted string and the promoted unnamed global.
    let (helper, _) = reparse("helper", &partition(&split, "helper.jitcore.t1").bitcode);
    let text = print(&helper);
    assert!(text.contains("@.str.jitcore.t1 = external hidden"), "{text}");
    assert!(text.contains("@anon.0.jitcore.t1 = external hidden"), "{text}");
    // A declaration keeps no personality; the body keeps its own.
    let (user, _) = reparse("user", &partition(&split, "user").bitcode);
    let text = print(&user);
    assert!(text.contains("personality ptr @pers"), "{text}");
    assert!(text.contains("declare i64 @inl(i64)"), "{text}");

    let (globals, symbols) = reparse("globals", split.globals.as_ref().expect("globals"));
    assert_eq!(names(&symbols), [".str.jitcore.t1", "anon.0.jitcore.t1", "counter", "table"]);
    let by_name = |n: &str| symbols.iter().find(|s| s.name == n).unwrap().clone();
    assert!(!by_name(".str.jitcore.t1").exported);
    assert!(by_name("counter").exported);
    let text = print(&globals);
    assert!(text.contains("[ptr @even, ptr @odd, ptr @helper.jitcore.t1]"), "{text}");
    assert_eq!(function(&globals, "helper.jitcore.t1"), Some((true, true)));
}

#[test]
fn aliases_ifuncs_and_local_blockaddresses() {
    let mut ir = parse(
        r#"
@g = global i32 1
@ga = alias i32, ptr @g
@fa = alias void (), ptr @target
@ifn = ifunc void (), ptr @resolver
@labels = internal constant [2 x ptr] [ptr blockaddress(@interp, %a), ptr blockaddress(@interp, %b)]

define void @target() {
  ret void
}

define ptr @resolver() {
  ret ptr @target
}

define i32 @interp(i64 %i) {
entry:
  %p = getelementptr [2 x ptr], ptr @labels, i64 0, i64 %i
  %t = load ptr, ptr %p
  indirectbr ptr %t, [label %a, label %b]
a:
  ret i32 1
b:
  ret i32 2
}

define i32 @goto(i1 %c) {
entry:
  %t = select i1 %c, ptr blockaddress(@goto, %x), ptr blockaddress(@goto, %y)
  indirectbr ptr %t, [label %x, label %y]
x:
  %r = call i32 @goto(i1 false)
  ret i32 %r
y:
  ret i32 2
}

define i32 @user() {
  call void @fa()
  call void @ifn()
  %v = load i32, ptr @ga
  %w = call i32 @interp(i64 1)
  %s = add i32 %v, %w
  ret i32 %s
}
"#,
    );
    let split = split(&mut ir, "t2").unwrap().expect("splittable");
    let mut got: Vec<&str> = split.functions.iter().map(|p| p.name.as_str()).collect();
    got.sort();
    assert_eq!(got, ["goto", "user"]);
    let (_, symbols) = reparse("globals", split.globals.as_ref().unwrap());
    assert_eq!(names(&symbols), ["fa", "g", "ga", "ifn", "interp", "labels.jitcore.t2", "resolver", "target"]);
    for p in &split.functions {
        let (m, symbols) = reparse(&p.name, &p.bitcode);
        assert_eq!(names(&symbols), std::slice::from_ref(&p.body));
        if p.name == "user" {
            let text = print(&m);
            assert!(text.contains("declare void @fa()"), "{text}");
            assert!(text.contains("declare void @ifn()"), "{text}");
            assert!(text.contains("@ga = external global i32"), "{text}");
            assert!(text.contains("declare i32 @interp(i64)"), "{text}");
        }
        if p.name == "goto" {
            let text = print(&m);
            assert!(text.contains("blockaddress(@goto.jitcore.body, %"), "{text}");
            assert!(text.contains("call i32 @goto(i1 false)"), "{text}");
        }
    }
}

/// `clang -g -O0` output for:
/// ```c
/// int counter = 3;
/// static const char *names[] = {"a", "b"};
/// enum color { RED, GREEN };
/// static int helper(int x) { return x + counter; }
/// int twice(int x) { enum color c = GREEN; return helper(x) * 2 + c + names[x & 1][0]; }
/// int fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }
/// ```
const DEBUG_INFO: &str = r#"source_filename = "small.c"
target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

@counter = dso_local global i32 3, align 4, !dbg !0
@names = internal global [2 x ptr] [ptr @.str, ptr @.str.1], align 16, !dbg !19
@.str = private unnamed_addr constant [2 x i8] c"a\00", align 1, !dbg !11
@.str.1 = private unnamed_addr constant [2 x i8] c"b\00", align 1, !dbg !17

; Function Attrs: noinline nounwind optnone uwtable
define dso_local i32 @twice(i32 noundef %0) #0 !dbg !32 {
  %2 = alloca i32, align 4
  %3 = alloca i32, align 4
  store i32 %0, ptr %2, align 4
    #dbg_declare(ptr %2, !36, !DIExpression(), !37)
    #dbg_declare(ptr %3, !38, !DIExpression(), !39)
  store i32 1, ptr %3, align 4, !dbg !39
  %4 = load i32, ptr %2, align 4, !dbg !40
  %5 = call i32 @helper(i32 noundef %4), !dbg !41
  %6 = mul nsw i32 %5, 2, !dbg !42
  %7 = load i32, ptr %3, align 4, !dbg !43
  %8 = add i32 %6, %7, !dbg !44
  %9 = load i32, ptr %2, align 4, !dbg !45
  %10 = and i32 %9, 1, !dbg !46
  %11 = sext i32 %10 to i64, !dbg !47
  %12 = getelementptr inbounds [2 x ptr], ptr @names, i64 0, i64 %11, !dbg !47
  %13 = load ptr, ptr %12, align 8, !dbg !47
  %14 = getelementptr inbounds i8, ptr %13, i64 0, !dbg !47
  %15 = load i8, ptr %14, align 1, !dbg !47
  %16 = sext i8 %15 to i32, !dbg !47
  %17 = add i32 %8, %16, !dbg !48
  ret i32 %17, !dbg !49
}

; Function Attrs: noinline nounwind optnone uwtable
define internal i32 @helper(i32 noundef %0) #0 !dbg !50 {
  %2 = alloca i32, align 4
  store i32 %0, ptr %2, align 4
    #dbg_declare(ptr %2, !51, !DIExpression(), !52)
  %3 = load i32, ptr %2, align 4, !dbg !53
  %4 = load i32, ptr @counter, align 4, !dbg !54
  %5 = add nsw i32 %3, %4, !dbg !55
  ret i32 %5, !dbg !56
}

; Function Attrs: noinline nounwind optnone uwtable
define dso_local i32 @fact(i32 noundef %0) #0 !dbg !57 {
  %2 = alloca i32, align 4
  store i32 %0, ptr %2, align 4
    #dbg_declare(ptr %2, !58, !DIExpression(), !59)
  %3 = load i32, ptr %2, align 4, !dbg !60
  %4 = icmp sle i32 %3, 1, !dbg !61
  br i1 %4, label %5, label %6, !dbg !60

5:                                                ; preds = %1
  br label %12, !dbg !60

6:                                                ; preds = %1
  %7 = load i32, ptr %2, align 4, !dbg !62
  %8 = load i32, ptr %2, align 4, !dbg !63
  %9 = sub nsw i32 %8, 1, !dbg !64
  %10 = call i32 @fact(i32 noundef %9), !dbg !65
  %11 = mul nsw i32 %7, %10, !dbg !66
  br label %12, !dbg !60

12:                                               ; preds = %6, %5
  %13 = phi i32 [ 1, %5 ], [ %11, %6 ], !dbg !60
  ret i32 %13, !dbg !67
}

attributes #0 = { noinline nounwind optnone uwtable "frame-pointer"="all" }

!llvm.dbg.cu = !{!2}
!llvm.module.flags = !{!25, !26, !27, !28, !29, !30, !31}

!0 = !DIGlobalVariableExpression(var: !1, expr: !DIExpression())
!1 = distinct !DIGlobalVariable(name: "counter", scope: !2, file: !3, line: 1, type: !24, isLocal: false, isDefinition: true)
!2 = distinct !DICompileUnit(language: DW_LANG_C11, file: !3, isOptimized: false, runtimeVersion: 0, emissionKind: FullDebug, enums: !4, globals: !10, splitDebugInlining: false, nameTableKind: None)
!3 = !DIFile(filename: "small.c", directory: "/src", checksumkind: CSK_MD5, checksum: "4956370bf70338838e8e383be0db33f0")
!4 = !{!5}
!5 = !DICompositeType(tag: DW_TAG_enumeration_type, name: "color", file: !3, line: 3, baseType: !6, size: 32, elements: !7)
!6 = !DIBasicType(name: "unsigned int", size: 32, encoding: DW_ATE_unsigned)
!7 = !{!8, !9}
!8 = !DIEnumerator(name: "RED", value: 0)
!9 = !DIEnumerator(name: "GREEN", value: 1)
!10 = !{!0, !11, !17, !19}
!11 = !DIGlobalVariableExpression(var: !12, expr: !DIExpression())
!12 = distinct !DIGlobalVariable(scope: null, file: !3, line: 2, type: !13, isLocal: true, isDefinition: true)
!13 = !DICompositeType(tag: DW_TAG_array_type, baseType: !14, size: 16, elements: !15)
!14 = !DIBasicType(name: "char", size: 8, encoding: DW_ATE_signed_char)
!15 = !{!16}
!16 = !DISubrange(count: 2)
!17 = !DIGlobalVariableExpression(var: !18, expr: !DIExpression())
!18 = distinct !DIGlobalVariable(scope: null, file: !3, line: 2, type: !13, isLocal: true, isDefinition: true)
!19 = !DIGlobalVariableExpression(var: !20, expr: !DIExpression())
!20 = distinct !DIGlobalVariable(name: "names", scope: !2, file: !3, line: 2, type: !21, isLocal: true, isDefinition: true)
!21 = !DICompositeType(tag: DW_TAG_array_type, baseType: !22, size: 128, elements: !15)
!22 = !DIDerivedType(tag: DW_TAG_pointer_type, baseType: !23, size: 64)
!23 = !DIDerivedType(tag: DW_TAG_const_type, baseType: !14)
!24 = !DIBasicType(name: "int", size: 32, encoding: DW_ATE_signed)
!25 = !{i32 7, !"Dwarf Version", i32 5}
!26 = !{i32 2, !"Debug Info Version", i32 3}
!27 = !{i32 1, !"wchar_size", i32 4}
!28 = !{i32 8, !"PIC Level", i32 2}
!29 = !{i32 7, !"PIE Level", i32 2}
!30 = !{i32 7, !"uwtable", i32 2}
!31 = !{i32 7, !"frame-pointer", i32 2}
!32 = distinct !DISubprogram(name: "twice", scope: !3, file: !3, line: 5, type: !33, scopeLine: 5, flags: DIFlagPrototyped, spFlags: DISPFlagDefinition, unit: !2, retainedNodes: !35)
!33 = !DISubroutineType(types: !34)
!34 = !{!24, !24}
!35 = !{}
!36 = !DILocalVariable(name: "x", arg: 1, scope: !32, file: !3, line: 5, type: !24)
!37 = !DILocation(line: 5, column: 15, scope: !32)
!38 = !DILocalVariable(name: "c", scope: !32, file: !3, line: 5, type: !5)
!39 = !DILocation(line: 5, column: 31, scope: !32)
!40 = !DILocation(line: 5, column: 56, scope: !32)
!41 = !DILocation(line: 5, column: 49, scope: !32)
!42 = !DILocation(line: 5, column: 59, scope: !32)
!43 = !DILocation(line: 5, column: 65, scope: !32)
!44 = !DILocation(line: 5, column: 63, scope: !32)
!45 = !DILocation(line: 5, column: 75, scope: !32)
!46 = !DILocation(line: 5, column: 77, scope: !32)
!47 = !DILocation(line: 5, column: 69, scope: !32)
!48 = !DILocation(line: 5, column: 67, scope: !32)
!49 = !DILocation(line: 5, column: 42, scope: !32)
!50 = distinct !DISubprogram(name: "helper", scope: !3, file: !3, line: 4, type: !33, scopeLine: 4, flags: DIFlagPrototyped, spFlags: DISPFlagLocalToUnit | DISPFlagDefinition, unit: !2, retainedNodes: !35)
!51 = !DILocalVariable(name: "x", arg: 1, scope: !50, file: !3, line: 4, type: !24)
!52 = !DILocation(line: 4, column: 23, scope: !50)
!53 = !DILocation(line: 4, column: 35, scope: !50)
!54 = !DILocation(line: 4, column: 39, scope: !50)
!55 = !DILocation(line: 4, column: 37, scope: !50)
!56 = !DILocation(line: 4, column: 28, scope: !50)
!57 = distinct !DISubprogram(name: "fact", scope: !3, file: !3, line: 6, type: !33, scopeLine: 6, flags: DIFlagPrototyped, spFlags: DISPFlagDefinition, unit: !2, retainedNodes: !35)
!58 = !DILocalVariable(name: "n", arg: 1, scope: !57, file: !3, line: 6, type: !24)
!59 = !DILocation(line: 6, column: 14, scope: !57)
!60 = !DILocation(line: 6, column: 26, scope: !57)
!61 = !DILocation(line: 6, column: 28, scope: !57)
!62 = !DILocation(line: 6, column: 39, scope: !57)
!63 = !DILocation(line: 6, column: 48, scope: !57)
!64 = !DILocation(line: 6, column: 50, scope: !57)
!65 = !DILocation(line: 6, column: 43, scope: !57)
!66 = !DILocation(line: 6, column: 41, scope: !57)
!67 = !DILocation(line: 6, column: 19, scope: !57)
"#;

/// Compiles a partition to an object file, as the engine will.
fn codegen(name: &str, m: &IrModule) {
    let tm = crate::llvm::target_machine::TargetSpec::host(0).create().unwrap();
    // SAFETY: module and machine are live; the buffer and message are ours to dispose.
    unsafe {
        let mut buf = ptr::null_mut();
        let mut msg = ptr::null_mut();
        let failed = llvm_sys::target_machine::LLVMTargetMachineEmitToMemoryBuffer(
            tm.as_raw(),
            m.as_raw(),
            llvm_sys::target_machine::LLVMCodeGenFileType::LLVMObjectFile,
            &mut msg,
            &mut buf,
        );
        assert_eq!(failed, 0, "codegen of {name}: {}", take_message(msg));
        LLVMDisposeMemoryBuffer(buf);
    }
}

#[test]
fn debug_info_stays_valid_and_compile_unit_lists_stay_with_the_globals() {
    let mut ir = parse(DEBUG_INFO);
    let split = split(&mut ir, "t8").unwrap().unwrap();
    let mut got: Vec<&str> = split.functions.iter().map(|p| p.name.as_str()).collect();
    got.sort();
    assert_eq!(got, ["fact", "helper.jitcore.t8", "twice"]);
    for p in &split.functions {
        let (m, symbols) = reparse(&p.name, &p.bitcode);
        assert_eq!(names(&symbols), std::slice::from_ref(&p.body));
        let text = print(&m);
        assert!(text.contains("distinct !DICompileUnit"), "{text}");
        assert!(!text.contains("globals:") && !text.contains("enums:"), "{text}");
        assert!(!text.contains("DIGlobalVariable("), "{text}");
        codegen(&p.name, &m);
    }
    let (twice, _) = reparse("twice", &partition(&split, "twice").bitcode);
    let text = print(&twice);
    assert!(text.contains("DILocalVariable(name: \"c\""), "{text}");
    assert!(text.contains("name: \"color\""), "the enum type stays reachable from the variable: {text}");
    let (globals, symbols) = reparse("globals", split.globals.as_ref().unwrap());
    assert_eq!(names(&symbols), [".str.1.jitcore.t8", ".str.jitcore.t8", "counter", "names.jitcore.t8"]);
    let text = print(&globals);
    assert!(text.contains("DIGlobalVariable(name: \"counter\""), "{text}");
    assert!(text.contains("enums:"), "{text}");
    codegen("globals", &globals);
}

#[test]
fn odd_linkages_and_names() {
    let mut ir = parse(
        r#"
@tls = thread_local global i32 0
@0 = internal global i32 5

define available_externally i32 @ae() {
  ret i32 1
}

define internal i32 @1() {
  %v = load i32, ptr @0
  ret i32 %v
}

define weak i32 @w() {
  ret i32 2
}

define protected i32 @prot() {
  ret i32 3
}

define i32 @"\01raw"() {
  ret i32 4
}

define i32 @pre() prefix i32 123 {
  ret i32 5
}

define i32 @user() {
  %a = call i32 @ae()
  %b = call i32 @1()
  %c = call i32 @w()
  %d = call i32 @prot()
  %e = call i32 @"\01raw"()
  %f = call i32 @pre()
  %g = load i32, ptr @tls
  %s1 = add i32 %a, %b
  %s2 = add i32 %s1, %c
  %s3 = add i32 %s2, %d
  %s4 = add i32 %s3, %e
  %s5 = add i32 %s4, %f
  %s6 = add i32 %s5, %g
  ret i32 %s6
}
"#,
    );
    let split = split(&mut ir, "t9").unwrap().unwrap();
    let mut got: Vec<String> = split.functions.iter().map(|p| p.name.clone()).collect();
    got.sort();
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(!got.contains(&"ae".to_string()), "available_externally is no definition: {got:?}");
    let anon = got.iter().find(|n| n.starts_with("anon.")).expect("the unnamed function got a name");
    assert!(anon.ends_with(".jitcore.t9"), "{anon}");
    let flags = |n: &str| {
        let p = partition(&split, n);
        (p.exported, p.weak)
    };
    assert_eq!(flags("w"), (true, true));
    assert_eq!(flags("prot"), (true, false));
    assert_eq!(flags(anon), (false, false));
    for p in &split.functions {
        let (m, symbols) = reparse(&p.name, &p.bitcode);
        assert_eq!(names(&symbols), std::slice::from_ref(&p.body), "{}", p.name);
        assert_eq!(symbols[0].weak, p.weak);
        codegen(&p.name, &m);
    }
    assert_eq!(partition(&split, "raw").body, "raw.jitcore.body");
    let (pre, _) = reparse("pre", &partition(&split, "pre").bitcode);
    assert!(print(&pre).contains("prefix i32 123"));
    let (user, _) = reparse("user", &partition(&split, "user").bitcode);
    let text = print(&user);
    assert!(text.contains("declare i32 @pre()\n"), "no prefix data on a declaration: {text}");
    assert!(text.contains("declare i32 @ae()"), "{text}");
    assert!(text.contains("declare i32 @w()"), "{text}");
    assert!(text.contains("@tls = external thread_local global i32"), "{text}");
    let (globals, symbols) = reparse("globals", split.globals.as_ref().unwrap());
    assert_eq!(symbols.len(), 2, "{symbols:?}");
    codegen("globals", &globals);
}

#[test]
fn refuses_blockaddress_used_by_another_function() {
    let text = r#"
define void @f() {
entry:
  br label %l
l:
  ret void
}

define ptr @g() {
  ret ptr blockaddress(@f, %l)
}
"#;
    let mut ir = parse(text);
    let before = print(&ir);
    let copy = IrModule::parse("split-test", &ir.bitcode()).unwrap();
    let copy_before = print(&copy);
    let refused = split_lazily(copy, "t3").unwrap().err().map(|(ir, why)| (print(&ir) == copy_before, why));
    assert_eq!(refused, Some((true, "a blockaddress of one function is used by another function")));
    assert!(split(&mut ir, "t3").unwrap().is_none());
    assert_eq!(print(&ir), before, "a refused module is left as it was");
}

#[test]
fn refuses_module_asm() {
    let mut ir = parse("module asm \".globl foo\"\ndefine void @f() {\n  ret void\n}\n");
    assert!(split(&mut ir, "t4").unwrap().is_none());
}

#[test]
fn modules_without_globals_or_functions() {
    let mut ir = parse("define void @f() {\n  ret void\n}\ndefine internal void @g() {\n  ret void\n}\n");
    let split = split(&mut ir, "t5").unwrap().unwrap();
    assert!(split.globals.is_none());
    assert_eq!(split.functions.len(), 2);

    let mut ir = parse("@g = global i32 1\ndeclare void @f()\n");
    let split = super::split(&mut ir, "t5").unwrap().unwrap();
    assert!(split.functions.is_empty());
    let (_, symbols) = reparse("globals", split.globals.as_ref().unwrap());
    assert_eq!(names(&symbols), ["g"]);
}

/// `n` functions; each reads its own global and calls the next two.
pub(super) fn chain_module(n: usize) -> String {
    let mut s = String::with_capacity(n * 400);
    for i in 0..n {
        s.push_str(&format!("@v{i} = global i64 {i}\n"));
    }
    for i in 0..n {
        let (a, b) = ((i + 1) % n, (i + 2) % n);
        s.push_str(&format!(
            "define i64 @f{i}(i64 %x) {{
entry:
  %g = load i64, ptr @v{i}
  %c = icmp sgt i64 %x, 0
  br i1 %c, label %rec, label %done
rec:
  %y = sub i64 %x, 1
  %a = call i64 @f{a}(i64 %y)
  %b = call i64 @f{b}(i64 %y)
  %s = add i64 %a, %b
  %t = add i64 %s, %g
  ret i64 %t
done:
  ret i64 %g
}}
"
        ));
    }
    s
}

#[test]
fn large_split_with_aliases_and_eager_functions() {
    let n = 256;
    let mut text = chain_module(n);
    text.push_str(&format!(
        r#"
@ga = alias i64, ptr @v7
@fa = alias i64 (i64), ptr @f{last}
@labels = internal constant [1 x ptr] [ptr blockaddress(@interp, %a)]
@ifn = ifunc i64 (i64), ptr @resolver

define ptr @resolver() {{
  ret ptr @f3
}}

define i64 @interp() {{
entry:
  %t = load ptr, ptr @labels
  indirectbr ptr %t, [label %a]
a:
  ret i64 1
}}

define i64 @user(i64 %x) {{
  %a = call i64 @fa(i64 %x)
  %b = call i64 @ifn(i64 %a)
  %c = load i64, ptr @ga
  %d = call i64 @interp()
  %s = add i64 %b, %c
  %t = add i64 %s, %d
  ret i64 %t
}}
"#,
        last = n - 1
    ));
    let mut ir = parse(&text);
    let split = split(&mut ir, "t7").unwrap().unwrap();
    assert_eq!(split.functions.len(), n, "f0..f{} and user; f{} is an alias target", n - 1, n - 1);
    assert!(split.functions.iter().all(|p| p.name != format!("f{}", n - 1)));
    assert_eq!(split.functions.last().unwrap().name, "user");
    let (_, symbols) = reparse("globals", split.globals.as_ref().unwrap());
    for name in ["fa", "ga", "ifn", "interp", "resolver", &format!("f{}", n - 1), "labels.jitcore.t7"] {
        assert!(symbols.iter().any(|s| s.name == name), "globals partition defines {name}");
    }
    for p in &split.functions {
        let (_, symbols) = reparse(&p.name, &p.bitcode);
        assert_eq!(names(&symbols), std::slice::from_ref(&p.body));
    }
}

#[test]
fn splits_3000_functions() {
    let n = 3000;
    let mut ir = parse(&chain_module(n));
    let start = Instant::now();
    let split = split(&mut ir, "t6").unwrap().unwrap();
    let elapsed = start.elapsed();
    eprintln!(
        "split of {n} functions: {elapsed:?} ({} build)",
        if cfg!(debug_assertions) { "debug, leaves verified" } else { "release" }
    );
    assert_eq!(split.functions.len(), n);
    let (_, symbols) = reparse("globals", split.globals.as_ref().unwrap());
    assert_eq!(symbols.len(), n);
    // Leaves stay small: a body, its global and its two callees.
    let largest = split.functions.iter().map(|p| p.bitcode.len()).max().unwrap();
    assert!(largest < 4096, "largest partition has {largest} bytes of bitcode");
    for p in split.functions.iter().step_by(97) {
        let (m, symbols) = reparse(&p.name, &p.bitcode);
        assert_eq!(names(&symbols), std::slice::from_ref(&p.body));
        // SAFETY: the module is live; we only count its values.
        let (fns, vars) = unsafe { (functions(m.as_raw()).len(), globals(m.as_raw()).len()) };
        assert!(fns <= 3 && vars == 1, "{}: {fns} functions, {vars} variables", p.name);
    }
}

/// Every partition of `text` (functions, then the globals partition), the
/// functions asked for in `order`, with nodes bisected after `direct`
/// partitions copied straight out; and how many bisections it took.
fn partitions_in_order(text: &str, order: &[usize], direct: usize) -> (Vec<Vec<u8>>, usize) {
    let lazy = split_lazily(parse(text), "t10").unwrap().ok().expect("splittable");
    lazy.tree.lock().unwrap().direct_copies = direct;
    let split = lazy.write_all(Some(order)).unwrap().unwrap();
    let bisections = lazy.tree.lock().unwrap().bisections;
    let mut out: Vec<Vec<u8>> = split.functions.into_iter().map(|p| p.bitcode).collect();
    out.extend(split.globals);
    (out, bisections)
}

/// On-demand splitting gives every partition the same bitcode whatever
/// order functions are called in and whatever node it is copied from (so
/// a warm disk cache serves them in every session): straight from the
/// whole module, or after any number of bisections.
#[test]
fn partitions_do_not_depend_on_the_order_of_calls() {
    let mut chain = chain_module(150);
    chain.push_str("@ga = alias i64, ptr @v7\n");
    for text in [MIXED, DEBUG_INFO, chain.as_str()] {
        let n = split_lazily(parse(text), "t10").unwrap().ok().unwrap().functions().len();
        let in_order: Vec<usize> = (0..n).collect();
        let reversed: Vec<usize> = (0..n).rev().collect();
        // A fixed shuffle (multiplication by a unit modulo a prime above n).
        let p = 157usize;
        let shuffled: Vec<usize> = (0..p).map(|i| (i * 61 + 17) % p).filter(|&i| i < n).collect();
        assert_eq!(shuffled.len(), n);
        let (reference, _) = partitions_in_order(text, &in_order, usize::MAX);
        for (order, direct) in [(&in_order, 8), (&reversed, 0), (&shuffled, 1), (&shuffled, 8), (&reversed, usize::MAX)]
        {
            let (got, bisections) = partitions_in_order(text, order, direct);
            if direct == 0 && n > 2 {
                assert!(bisections > 0, "direct 0 bisects");
            }
            assert_eq!(got.len(), reference.len());
            for (i, (a, b)) in got.iter().zip(&reference).enumerate() {
                assert!(a == b, "partition {i} of {n} differs (direct {direct}, first asked {:?})", &order[..3.min(n)]);
            }
        }
    }
}

/// The partitions a caller does not ask for are never written, and asking
/// twice gives the same bytes (one copy, shared).
#[test]
fn partitions_are_written_on_demand_once() {
    let lazy = split_lazily(parse(&chain_module(40)), "t11").unwrap().ok().unwrap();
    let a = lazy.function_bitcode(17).unwrap();
    let b = lazy.function_bitcode(17).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let tree = lazy.tree.lock().unwrap();
    assert_eq!(tree.written(), 1);
    assert_eq!(tree.bisections, 0);
    drop(tree);
    assert!(lazy.function_bitcode(40).is_err(), "no such partition");
    let (_, symbols) = reparse("f17", &a);
    assert_eq!(names(&symbols), ["f17.jitcore.body"]);
    assert_eq!(lazy.globals().unwrap().symbols.len(), 40);
}

/// Partitions asked for from several threads at once come out whole and
/// the same as asked for one by one.
#[test]
fn partitions_from_several_threads() {
    let text = chain_module(120);
    let (reference, _) = partitions_in_order(&text, &(0..120).collect::<Vec<_>>(), 8);
    let lazy = split_lazily(parse(&text), "t10").unwrap().ok().unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let lazy = &lazy;
            let reference = &reference;
            s.spawn(move || {
                for k in 0..120 {
                    let i = (k * 7 + t * 31) % 120;
                    assert_eq!(*lazy.function_bitcode(i).unwrap(), reference[i], "partition {i}");
                }
            });
        }
    });
}
