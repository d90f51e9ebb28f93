package jitcore_test

import (
	"testing"

	"jitcore"
)

const callsIR = `
@last = global i64 0
define i64 @i64_0() { ret i64 -7 }
define i64 @i64_6(i64 %a, i64 %b, i64 %c, i64 %d, i64 %e, i64 %f) {
  %1 = mul i64 %a, 100000
  %2 = mul i64 %b, 10000
  %3 = mul i64 %c, 1000
  %4 = mul i64 %d, 100
  %5 = mul i64 %e, 10
  %s1 = add i64 %1, %2
  %s2 = add i64 %s1, %3
  %s3 = add i64 %s2, %4
  %s4 = add i64 %s3, %5
  %s5 = add i64 %s4, %f
  ret i64 %s5
}
define i64 @i64_3(i64 %a, i64 %b, i64 %c) {
  %1 = sub i64 %a, %b
  %2 = sub i64 %1, %c
  ret i64 %2
}
define i64 @neg(i64 %a) {
  %r = sub i64 0, %a
  ret i64 %r
}
define i64 @i64_2(i64 %a, i64 %b) {
  %r = add i64 %a, %b
  ret i64 %r
}
define i32 @i32_2(i32 %a, i32 %b) {
  %r = sub i32 %a, %b
  ret i32 %r
}
define i32 @i32_0() { ret i32 -1 }
define i32 @i32_1(i32 %a) {
  %r = mul i32 %a, 3
  ret i32 %r
}
define double @f64_0() { ret double 1.5 }
define double @f64_2(double %a, double %b) {
  %r = fdiv double %a, %b
  ret double %r
}
define double @f64_6(double %a, double %b, double %c, double %d, double %e, double %f) {
  %1 = fadd double %a, %b
  %2 = fadd double %1, %c
  %3 = fadd double %2, %d
  %4 = fadd double %3, %e
  %5 = fadd double %4, %f
  ret double %5
}
define void @set_last(i64 %v) {
  store i64 %v, ptr @last
  ret void
}
define void @bump() {
  %v = load i64, ptr @last
  %n = add i64 %v, 1
  store i64 %n, ptr @last
  ret void
}
define void @set_last2(i64 %a, i64 %b) {
  %s = add i64 %a, %b
  store i64 %s, ptr @last
  ret void
}
define i64 @get_last() {
  %v = load i64, ptr @last
  ret i64 %v
}
`

// Every trampoline: Call* with 0 to 6 arguments, and each Func signature.
func TestCalls(t *testing.T) {
	s := newSession(t, nil)
	d := s.MainDylib()
	must(t, d.AddModule(parse(t, "calls", callsIR), nil))
	addr := func(name string) uint64 {
		a, err := d.Lookup(name)
		must(t, err)
		return a
	}
	if r, err := jitcore.CallInt64(addr("i64_0")); err != nil || r != -7 {
		t.Errorf("i64_0() = %d, %v", r, err)
	}
	if r, _ := jitcore.CallInt64(addr("i64_6"), 1, 2, 3, 4, 5, 6); r != 123456 {
		t.Errorf("i64_6(1..6) = %d", r)
	}
	if r, _ := jitcore.CallInt32(addr("i32_2"), 5, 7); r != -2 {
		t.Errorf("i32_2(5, 7) = %d", r)
	}
	if r, _ := jitcore.CallInt32(addr("i32_0")); r != -1 {
		t.Errorf("i32_0() = %d", r)
	}
	if r, _ := jitcore.CallFloat64(addr("f64_6"), 1, 2, 3, 4, 5, 6.5); r != 21.5 {
		t.Errorf("f64_6 = %g", r)
	}
	if r, _ := jitcore.CallFloat64(addr("f64_0")); r != 1.5 {
		t.Errorf("f64_0 = %g", r)
	}
	must(t, jitcore.CallVoid(addr("set_last"), 99))
	if r, _ := jitcore.CallInt64(addr("get_last")); r != 99 {
		t.Errorf("after CallVoid set_last(99): %d", r)
	}
	must(t, jitcore.CallVoid(addr("set_last2"), 40, 2))
	if r, _ := jitcore.CallInt64(addr("get_last")); r != 42 {
		t.Errorf("after CallVoid set_last2(40, 2): %d", r)
	}
	if err := jitcore.CallVoid(0); err == nil {
		t.Error("CallVoid(0) did not refuse")
	}

	f0, err := jitcore.Func[func()](addr("bump"))
	must(t, err)
	f0()
	fSet, err := jitcore.Func[func(int64)](addr("set_last"))
	must(t, err)
	getInt, err := jitcore.Func[func() int](addr("get_last"))
	must(t, err)
	getI64, err := jitcore.Func[func() int64](addr("get_last"))
	must(t, err)
	if getInt() != 43 || getI64() != 43 {
		t.Errorf("after bump: %d", getI64())
	}
	fSet(-5)
	if getI64() != -5 {
		t.Errorf("after Func set_last(-5): %d", getI64())
	}
	i32_0, _ := jitcore.Func[func() int32](addr("i32_0"))
	i32_1, _ := jitcore.Func[func(int32) int32](addr("i32_1"))
	i32_2, _ := jitcore.Func[func(int32, int32) int32](addr("i32_2"))
	if i32_0() != -1 || i32_1(-4) != -12 || i32_2(1, 10) != -9 {
		t.Error("int32 Funcs")
	}
	intSub3, _ := jitcore.Func[func(int64, int64, int64) int64](addr("i64_3"))
	intNeg, _ := jitcore.Func[func(int) int](addr("neg"))
	intAdd, _ := jitcore.Func[func(int, int) int](addr("i64_2"))
	i64Neg, _ := jitcore.Func[func(int64) int64](addr("neg"))
	if intSub3(10, 3, 2) != 5 || intNeg(8) != -8 || i64Neg(-3) != 3 || intAdd(20, 22) != 42 {
		t.Error("int and int64 Funcs")
	}
	f64_0, _ := jitcore.Func[func() float64](addr("f64_0"))
	f64_2, _ := jitcore.Func[func(float64, float64) float64](addr("f64_2"))
	if f64_0() != 1.5 || f64_2(1, 4) != 0.25 {
		t.Error("float64 Funcs")
	}
}
