; Test data for tests-c/test_ir_parsing.c: read from the data directory
; (argv[1]), parsed as text, and assembled to bitcode with llvm-as.
@scale_factor = global i64 3

define i64 @gcd(i64 %a, i64 %b) {
entry:
  %bz = icmp eq i64 %b, 0
  br i1 %bz, label %done, label %step
step:
  %r = urem i64 %a, %b
  %g = call i64 @gcd(i64 %b, i64 %r)
  ret i64 %g
done:
  ret i64 %a
}

define i64 @scaled(i64 %x) {
  %f = load i64, ptr @scale_factor
  %r = mul i64 %x, %f
  ret i64 %r
}
