use jitcore::llvm::target_machine::TargetSpec;
use jitcore::{Engine, Module};
const SUM: &str = "define i32 @sum(i32 %a, i32 %b) {\n  %r = add i32 %a, %b\n  ret i32 %r\n}\n";
#[test]
fn add_then_drop() {
    jitcore::llvm::initialize().unwrap();
    let ee = Engine::new(TargetSpec::host(2)).unwrap();
    ee.add_module(&Module::from_ir("sum", SUM.as_bytes()).unwrap()).unwrap();
    eprintln!("added");
    drop(ee);
    eprintln!("dropped");
}
#[test]
fn add_remove_drop() {
    jitcore::llvm::initialize().unwrap();
    let ee = Engine::new(TargetSpec::host(2)).unwrap();
    let m = Module::from_ir("sum", SUM.as_bytes()).unwrap();
    ee.add_module(&m).unwrap();
    ee.lookup("sum").unwrap();
    ee.remove_module(&m).unwrap();
    eprintln!("removed");
    drop(ee);
    eprintln!("dropped");
}
