package jitcore

// The Go side of callbacks. jitcore calls the C trampolines of
// trampolines.c with a void *Ctx that is a runtime/cgo Handle; they call the
// exported functions below, which find the Go value behind the handle.
//
// Every exported function recovers panics: none crosses into C. A panic is
// reported to the engine's or session's error reporter as CodeInternal (or,
// with no reporter, printed to stderr); where the callback can return an
// error (materializers) the panic becomes that error.
//
// These functions run on whichever thread jitcore calls from (a goroutine
// that looks symbols up, a compile thread), possibly several at once: the
// hub's funcs are read under a read lock, and user funcs must be safe for
// concurrent calls.

/*
#include <jitcore.h>
#include <stdint.h>
*/
import "C"

import (
	"fmt"
	"os"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// NotifyFunc is told of each object compiled for module m (object is a
// copy, the caller's to keep). See JitcoreObjectCacheNotifyFunction.
type NotifyFunc func(m *CacheModule, object []byte)

// GetBufferFunc is asked for module m's object before it is compiled:
// return nil to compile, or the bytes of the object to use instead (they
// are copied). See JitcoreObjectCacheGetBufferFunction.
type GetBufferFunc func(m *CacheModule) []byte

// ReporterFunc hears of errors no call can return (a rejected cache entry,
// a lazy compile that failed, a panic in a callback of this binding).
type ReporterFunc func(code ErrorCode, message string)

// FilterFunc decides whether a symbol source may provide name.
type FilterFunc func(name string) bool

// MaterializeFunc produces code defining symbols (a subset of a
// materializer's symbols, those asked for first): return a module (the
// caller's own; its ownership passes to the session), or the bytes of a
// relocatable object, or an error, which the lookup fails with (an *Error
// keeps its code; any other error becomes CodeCompile).
type MaterializeFunc func(symbols []string) (*Module, []byte, error)

// hub holds the callbacks of one engine or session; a cgo.Handle on it is
// the Ctx of their C callbacks, deleted when the engine or session closes
// (after jitcore promised not to call them any more).
type hub struct {
	mu        sync.RWMutex
	notify    NotifyFunc
	getBuffer GetBufferFunc
	reporter  ReporterFunc
}

func (h *hub) cache() (NotifyFunc, GetBufferFunc) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.notify, h.getBuffer
}

// reportPanic tells the reporter (or stderr) of a panic recovered in a
// callback of kind what.
func (h *hub) reportPanic(what string, p any) {
	msg := fmt.Sprintf("panic in the Go %s callback (recovered by the binding): %v", what, p)
	var r ReporterFunc
	if h != nil {
		h.mu.RLock()
		r = h.reporter
		h.mu.RUnlock()
	}
	if r != nil {
		func() {
			defer func() { _ = recover() }()
			r(CodeInternal, msg)
		}()
		return
	}
	fmt.Fprintln(os.Stderr, "jitcore:", msg)
}

func hubOf(h C.uintptr_t) *hub {
	v, _ := cgo.Handle(h).Value().(*hub)
	return v
}

//export jitcoreGoNotify
func jitcoreGoNotify(h C.uintptr_t, m C.JitcoreModuleRef, obj *C.uint8_t, n C.size_t) {
	var hb *hub
	defer func() {
		if p := recover(); p != nil {
			hb.reportPanic("object cache notify", p)
		}
	}()
	hb = hubOf(h)
	notify, _ := hb.cache()
	if notify == nil {
		return
	}
	cm := &CacheModule{ptr: m}
	defer cm.done.set()
	notify(cm, C.GoBytes(unsafe.Pointer(obj), C.int(n)))
}

//export jitcoreGoGetBuffer
func jitcoreGoGetBuffer(h C.uintptr_t, m C.JitcoreModuleRef) (buf C.JitcoreObjectBufferRef) {
	var hb *hub
	defer func() {
		if p := recover(); p != nil {
			hb.reportPanic("object cache getbuffer", p)
			buf = nil // compile normally
		}
	}()
	hb = hubOf(h)
	_, get := hb.cache()
	if get == nil {
		return nil
	}
	cm := &CacheModule{ptr: m}
	defer cm.done.set()
	obj := get(cm)
	if obj == nil {
		return nil
	}
	return C.JitcoreCreateObjectBufferCopy((*C.uint8_t)(dataPtr(obj)), C.size_t(len(obj)))
}

//export jitcoreGoReport
func jitcoreGoReport(h C.uintptr_t, code C.int, msg *C.char) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "jitcore: panic in the Go error reporter (recovered by the binding): %v\n", p)
		}
	}()
	hb := hubOf(h)
	hb.mu.RLock()
	r := hb.reporter
	hb.mu.RUnlock()
	if r != nil {
		r(ErrorCode(code), C.GoString(msg))
	}
}

// filterCtx is the Ctx of a symbol filter.
type filterCtx struct {
	fn  FilterFunc
	hub *hub
}

//export jitcoreGoFilter
func jitcoreGoFilter(h C.uintptr_t, name *C.char) (allow C.int) {
	var f *filterCtx
	defer func() {
		if p := recover(); p != nil {
			if f != nil {
				f.hub.reportPanic("symbol filter", p)
			}
			allow = 0
		}
	}()
	f = cgo.Handle(h).Value().(*filterCtx)
	if f.fn(C.GoString(name)) {
		return 1
	}
	return 0
}

// materializerCtx is the Ctx of a materializer; its handle is deleted by
// the dispose callback, jitcore's promise that it is never used again.
type materializerCtx struct {
	fn      MaterializeFunc
	dispose func()
	hub     *hub
}

//export jitcoreGoMaterialize
func jitcoreGoMaterialize(h C.uintptr_t, syms **C.char, n C.size_t, modOut *C.JitcoreModuleRef,
	objOut *C.JitcoreObjectBufferRef) (cerr C.JitcoreErrorRef) {
	defer func() {
		if p := recover(); p != nil {
			cerr = makeCError(fmt.Errorf("panic in the Go materializer (recovered by the binding): %v", p), CodeInternal)
		}
	}()
	mc := cgo.Handle(h).Value().(*materializerCtx)
	names := make([]string, int(n))
	for i, s := range unsafe.Slice(syms, int(n)) {
		names[i] = C.GoString(s)
	}
	mod, obj, err := mc.fn(names)
	if err != nil {
		return makeCError(err, CodeCompile)
	}
	switch {
	case mod != nil && obj != nil:
		return makeCError(newError(CodeInvalidArgument, "the materializer returned both a module and an object"), 0)
	case mod != nil:
		err := mod.handOver(func(cm C.JitcoreModuleRef) (*Engine, error) {
			*modOut = cm // jitcore owns it from here
			return nil, nil
		})
		if err != nil {
			return makeCError(err, 0)
		}
	case obj != nil:
		b := C.JitcoreCreateObjectBufferCopy((*C.uint8_t)(dataPtr(obj)), C.size_t(len(obj)))
		if b == nil {
			return makeCError(newError(CodeInternal, "could not copy the materializer's object"), 0)
		}
		*objOut = b
	default:
		return makeCError(newError(CodeInvalidArgument, "the materializer returned neither a module nor an object"), 0)
	}
	return nil
}

//export jitcoreGoMaterializerDispose
func jitcoreGoMaterializerDispose(h C.uintptr_t) {
	handle := cgo.Handle(h)
	var mc *materializerCtx
	defer func() {
		if p := recover(); p != nil {
			var hb *hub
			if mc != nil {
				hb = mc.hub
			}
			hb.reportPanic("materializer dispose", p)
		}
	}()
	mc, _ = handle.Value().(*materializerCtx)
	handle.Delete()
	if mc != nil && mc.dispose != nil {
		mc.dispose()
	}
}
