package jitcore

/*
#include <stdint.h>
#include "trampolines.h"
*/
import "C"

// Calling jitted code. Go cannot call a C function pointer, so these go
// through small C trampolines (trampolines.c) that cast the address to the
// function type and call it, as a C host would. The signature is the
// caller's promise: the address must be a function of exactly that type,
// and its code must stay loaded during the call (not removed, its engine or
// session not closed). Go's int and int64 are LLVM's i64 (C's int64_t),
// int32 is i32 (C's int), float64 is double. At most 6 arguments.

// MaxCallArgs is the most arguments Call* and Func pass.
const MaxCallArgs = 6

func checkCall(addr uint64, n int) error {
	if addr == 0 {
		return newError(CodeInvalidArgument, "call of a function at address 0")
	}
	if n > MaxCallArgs {
		return newError(CodeUnsupported, "call with %d arguments: the binding passes at most %d", n, MaxCallArgs)
	}
	return nil
}

// CallInt64 calls the function at addr as int64_t f(int64_t...) with args.
func CallInt64(addr uint64, args ...int64) (int64, error) {
	if err := checkCall(addr, len(args)); err != nil {
		return 0, err
	}
	return callI64(addr, args), nil
}

// CallInt32 calls the function at addr as int32_t f(int32_t...) with args.
func CallInt32(addr uint64, args ...int32) (int32, error) {
	if err := checkCall(addr, len(args)); err != nil {
		return 0, err
	}
	return callI32(addr, args), nil
}

// CallFloat64 calls the function at addr as double f(double...) with args.
func CallFloat64(addr uint64, args ...float64) (float64, error) {
	if err := checkCall(addr, len(args)); err != nil {
		return 0, err
	}
	return callF64(addr, args), nil
}

// CallVoid calls the function at addr as void f(int64_t...) with args.
func CallVoid(addr uint64, args ...int64) error {
	if err := checkCall(addr, len(args)); err != nil {
		return err
	}
	var a [MaxCallArgs]C.int64_t
	for i, v := range args {
		a[i] = C.int64_t(v)
	}
	C.jitcore_go_call_void(C.uint64_t(addr), C.int(len(args)), &a[0])
	return nil
}

func callI64(addr uint64, args []int64) int64 {
	var a [MaxCallArgs]C.int64_t
	for i, v := range args {
		a[i] = C.int64_t(v)
	}
	return int64(C.jitcore_go_call_i64(C.uint64_t(addr), C.int(len(args)), &a[0]))
}

func callI32(addr uint64, args []int32) int32 {
	var a [MaxCallArgs]C.int32_t
	for i, v := range args {
		a[i] = C.int32_t(v)
	}
	return int32(C.jitcore_go_call_i32(C.uint64_t(addr), C.int(len(args)), &a[0]))
}

func callF64(addr uint64, args []float64) float64 {
	var a [MaxCallArgs]C.double
	for i, v := range args {
		a[i] = C.double(v)
	}
	return float64(C.jitcore_go_call_f64(C.uint64_t(addr), C.int(len(args)), &a[0]))
}

// Func makes the function at addr a Go func of type F, one of:
//
//	func()                        func(int64)
//	func() int                    func() int64        func() int32
//	func(int) int                 func(int, int) int
//	func(int64) int64             func(int64, int64) int64   func(int64, int64, int64) int64
//	func(int32) int32             func(int32, int32) int32
//	func() float64                func(float64) float64      func(float64, float64) float64
//
// (Go's int is i64.) Another F is an *Error with CodeUnsupported; use
// CallInt64 and friends for up to 6 arguments of one type.
func Func[F any](addr uint64) (F, error) {
	var zero F
	if err := checkCall(addr, 0); err != nil {
		return zero, err
	}
	var f any
	switch any(zero).(type) {
	case func():
		f = func() { C.jitcore_go_call_void(C.uint64_t(addr), 0, nil) }
	case func(int64):
		f = func(a int64) {
			v := C.int64_t(a)
			C.jitcore_go_call_void(C.uint64_t(addr), 1, &v)
		}
	case func() int:
		f = func() int { return int(callI64(addr, nil)) }
	case func() int64:
		f = func() int64 { return callI64(addr, nil) }
	case func() int32:
		f = func() int32 { return callI32(addr, nil) }
	case func(int) int:
		f = func(a int) int { return int(callI64(addr, []int64{int64(a)})) }
	case func(int, int) int:
		f = func(a, b int) int { return int(callI64(addr, []int64{int64(a), int64(b)})) }
	case func(int64) int64:
		f = func(a int64) int64 { return callI64(addr, []int64{a}) }
	case func(int64, int64) int64:
		f = func(a, b int64) int64 { return callI64(addr, []int64{a, b}) }
	case func(int64, int64, int64) int64:
		f = func(a, b, c int64) int64 { return callI64(addr, []int64{a, b, c}) }
	case func(int32) int32:
		f = func(a int32) int32 { return callI32(addr, []int32{a}) }
	case func(int32, int32) int32:
		f = func(a, b int32) int32 { return callI32(addr, []int32{a, b}) }
	case func() float64:
		f = func() float64 { return callF64(addr, nil) }
	case func(float64) float64:
		f = func(a float64) float64 { return callF64(addr, []float64{a}) }
	case func(float64, float64) float64:
		f = func(a, b float64) float64 { return callF64(addr, []float64{a, b}) }
	default:
		return zero, newError(CodeUnsupported, "Func: no trampoline for %T", zero)
	}
	return f.(F), nil
}
