// Package testhost gives the binding's tests host functions with C ABI
// addresses to register as absolute symbols: a C function, and a Go
// function exported with //export (which jitted code calls back into Go
// through). Test files cannot use cgo themselves, hence this package.
package testhost

/*
#include <stdint.h>
int64_t testhost_triple(int64_t x) { return 3 * x; }
double testhost_half(double x) { return x / 2; }
extern int64_t testhostGoAdd(int64_t a, int64_t b);
*/
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// TripleAddr is the address of int64_t testhost_triple(int64_t x) (3x), a C
// function.
func TripleAddr() uint64 { return uint64(uintptr(unsafe.Pointer(C.testhost_triple))) }

// HalfAddr is the address of double testhost_half(double x) (x/2).
func HalfAddr() uint64 { return uint64(uintptr(unsafe.Pointer(C.testhost_half))) }

// GoAddAddr is the C address of GoAdd's export: int64_t testhostGoAdd(int64_t,
// int64_t), a Go function.
func GoAddAddr() uint64 { return uint64(uintptr(unsafe.Pointer(C.testhostGoAdd))) }

var goAddCalls atomic.Int64

// GoAddCalls is how many times jitted code called GoAdd.
func GoAddCalls() int64 { return goAddCalls.Load() }
