// Package jitcore is the Go binding of libjitcore, a JIT library on LLVM 22
// with a C ABI (jitcore.h). It wraps every function of the C API a host
// needs, in Go's idiom:
//
//   - handles are Go values with a Close method (TargetMachine, Module,
//     Engine, Session, ResourceTracker, DiskCache); a Dylib belongs to its
//     Session. Using a closed handle returns an error that wraps ErrClosed;
//     it never crashes;
//   - errors are *Error values carrying jitcore's stable Code and its
//     Message (use errors.As, or errors.Is with an ErrorCode);
//   - callbacks (object cache, error reporter, symbol filters,
//     materializers) are Go funcs: the package holds them through
//     runtime/cgo handles and calls them from its own C trampolines, on
//     whichever thread jitcore calls (compile threads included), so users
//     write no C. A panic in a callback is recovered at the C boundary;
//   - jitted functions of common signatures are called with CallInt64,
//     CallInt32, CallFloat64, CallVoid or made into Go funcs with Func.
//
// Build against an installed jitcore through pkg-config:
//
//	PKG_CONFIG_PATH=<prefix>/lib/pkgconfig CGO_LDFLAGS=-Wl,-rpath,<prefix>/lib go build
//
// The header jitcore.h is the contract: each wrapper's comment says what
// the C function does in brief, and the header says the rest (ownership,
// errors, threads).
package jitcore

/*
#cgo pkg-config: jitcore
#include <jitcore.h>
#include <stdlib.h>
#include "trampolines.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// Version returns the library's version numbers (those of the libjitcore
// the program runs with).
func Version() (major, minor, patch uint) {
	var ma, mi, pa C.uint
	C.JitcoreGetVersion(&ma, &mi, &pa)
	return uint(ma), uint(mi), uint(pa)
}

// VersionString returns the library's version as "MAJOR.MINOR.PATCH".
func VersionString() string { return C.GoString(C.JitcoreGetVersionString()) }

// HeaderVersion returns the version of the jitcore.h the binding was
// compiled against (JITCORE_VERSION_*); in 0.x it must share MAJOR.MINOR
// with Version.
func HeaderVersion() (major, minor, patch uint) {
	return uint(C.JITCORE_VERSION_MAJOR), uint(C.JITCORE_VERSION_MINOR), uint(C.JITCORE_VERSION_PATCH)
}

// CheckJITExecution reports whether this process may map executable
// memory, as every engine and session needs (nil: it may; otherwise an
// *Error with CodeJITExecutionDenied naming the refused system call).
func CheckJITExecution() error { return takeError(C.JitcoreCheckJITExecution()) }

// OptLevel is an optimization level: code generation's, and the default IR
// pipeline's (default<On>).
type OptLevel int

// Optimization levels (JITCORE_OPT_LEVEL_*).
const (
	O0 OptLevel = C.JITCORE_OPT_LEVEL_O0
	O1 OptLevel = C.JITCORE_OPT_LEVEL_O1
	O2 OptLevel = C.JITCORE_OPT_LEVEL_O2
	O3 OptLevel = C.JITCORE_OPT_LEVEL_O3
)

// IRPipelineKind says what runs on IR before code generation
// (Engine.SetIRPipeline, Session.SetIRPipeline).
type IRPipelineKind int

// IR pipelines (JITCORE_IR_PIPELINE_*).
const (
	// PipelineDefault is LLVM's default<On> at the opt level (the default).
	PipelineDefault IRPipelineKind = C.JITCORE_IR_PIPELINE_DEFAULT
	// PipelineNone runs no IR passes: codegen only, for IR already optimized.
	PipelineNone IRPipelineKind = C.JITCORE_IR_PIPELINE_NONE
	// PipelineCustom runs the passes of a string in opt -passes= syntax.
	PipelineCustom IRPipelineKind = C.JITCORE_IR_PIPELINE_CUSTOM
)

// KeySize is the size of a module key in bytes (JITCORE_MODULE_KEY_SIZE).
const KeySize = C.JITCORE_MODULE_KEY_SIZE

// cstr is a C copy of s, freed by the returned func.
func cstr(s string) (*C.char, func()) {
	p := C.CString(s)
	return p, func() { C.free(unsafe.Pointer(p)) }
}

// emptyBytes gives an empty slice a valid address to pass to C.
var emptyBytes [1]byte

// dataPtr is a pointer to b's first byte, for the duration of a C call
// that reads (and copies) it; an empty b gets a valid address, with length 0.
func dataPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return unsafe.Pointer(&emptyBytes[0])
	}
	return unsafe.Pointer(&b[0])
}

// closedFlag is set once, when a handle is closed.
type closedFlag struct{ v atomic.Bool }

func (f *closedFlag) isClosed() bool { return f.v.Load() }
func (f *closedFlag) set()           { f.v.Store(true) }

// guard is what every handle with a Close method shares: calls hold a read
// lock, so Close (the write lock) waits for the calls in flight, and a call
// after Close gets an error wrapping ErrClosed instead of a dead C handle.
type guard struct {
	mu     sync.RWMutex
	closed closedFlag
}

// enter read-locks g if it is open; the caller unlocks with g.mu.RUnlock.
// what names the handle's type in the error.
func (g *guard) enter(what string) error {
	g.mu.RLock()
	if g.closed.isClosed() {
		g.mu.RUnlock()
		return closedError(what)
	}
	return nil
}

// close runs dispose once, when no call is in flight.
func (g *guard) close(dispose func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed.isClosed() {
		g.closed.set()
		dispose()
	}
}
