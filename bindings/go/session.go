package jitcore

/*
#include <jitcore.h>
#include <stdlib.h>
#include "trampolines.h"
*/
import "C"

import (
	"runtime/cgo"
	"sync"
	"unsafe"
)

// SessionOptions are the options of a session (JitcoreSessionOptions).
// Start from DefaultSessionOptions: the zero value is O0, not the default O2.
type SessionOptions struct {
	OptLevel       OptLevel // codegen's and the default IR pipeline's (default O2)
	CompileThreads uint     // 0: compile on the looking-up thread; N: a pool of N threads
	LazyByDefault  bool     // Dylib.AddModule behaves as AddModuleLazy
	EnableDebugger bool     // register jitted code with GDB's JIT interface
	EnablePerf     bool     // write /tmp/perf-<pid>.map
}

// DefaultSessionOptions returns the library's defaults
// (JitcoreSessionOptionsInitSized): O2, no compile threads, eager, no
// debugger or perf support.
func DefaultSessionOptions() SessionOptions {
	var o C.JitcoreSessionOptions
	C.JitcoreSessionOptionsInitSized(&o, C.sizeof_JitcoreSessionOptions)
	return SessionOptions{
		OptLevel:       OptLevel(o.OptLevel),
		CompileThreads: uint(o.CompileThreads),
		LazyByDefault:  o.LazyByDefault != 0,
		EnableDebugger: o.EnableDebugger != 0,
		EnablePerf:     o.EnablePerf != 0,
	}
}

// Session is an ORC session: JITDylibs with link orders, symbol sources,
// materializers, resource trackers, lazy and concurrent compilation. Safe
// for concurrent use (its dylibs and trackers too); Close waits for calls
// in flight and must not run while the session's jitted code runs.
type Session struct {
	owner
	ptr     C.JitcoreSessionRef
	dmu     sync.Mutex
	dylibs  map[C.JitcoreDylibRef]*Dylib
	handles []cgo.Handle // symbol filters: they live until the session is disposed of
}

// NewSession creates a session for the host (nil: DefaultSessionOptions).
// Its main dylib resolves the host process's symbols.
func NewSession(opts *SessionOptions) (*Session, error) {
	var co C.JitcoreSessionOptions
	C.JitcoreSessionOptionsInitSized(&co, C.sizeof_JitcoreSessionOptions)
	if opts != nil {
		co.OptLevel = C.JitcoreOptLevel(opts.OptLevel)
		co.CompileThreads = C.uint(opts.CompileThreads)
		co.LazyByDefault = C.int(boolInt(opts.LazyByDefault))
		co.EnableDebugger = C.int(boolInt(opts.EnableDebugger))
		co.EnablePerf = C.int(boolInt(opts.EnablePerf))
	}
	var s C.JitcoreSessionRef
	if err := takeError(C.JitcoreCreateSessionSized(&s, &co, C.sizeof_JitcoreSessionOptions)); err != nil {
		return nil, err
	}
	return &Session{owner: newOwner("Session"), ptr: s, dylibs: map[C.JitcoreDylibRef]*Dylib{}}, nil
}

// use read-locks s if it is open; the caller unlocks s.mu.
func (s *Session) use() error {
	if s == nil {
		return closedError("Session")
	}
	return s.enter("Session")
}

// Close disposes of the session: its code, modules, dylibs (their handles
// become unusable) and compile threads. It waits for the session's calls in
// flight. Trackers stay to be closed. Closing twice is harmless.
func (s *Session) Close() error {
	if s != nil {
		s.dispose(func() {
			C.JitcoreDisposeSession(s.ptr)
			s.ptr = nil
			s.dmu.Lock()
			for _, h := range s.handles {
				h.Delete()
			}
			s.handles = nil
			s.dmu.Unlock()
		})
	}
	return nil
}

// dylib returns the one *Dylib for handle d (nil for NULL); s.mu is held.
func (s *Session) dylib(d C.JitcoreDylibRef) *Dylib {
	if d == nil {
		return nil
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if w, ok := s.dylibs[d]; ok {
		return w
	}
	w := &Dylib{s: s, ptr: d, name: C.GoString(C.JitcoreDylibGetName(d))}
	s.dylibs[d] = w
	return w
}

// MainDylib is the session's main dylib ("main"), which also resolves the
// host process's symbols; nil once the session is closed.
func (s *Session) MainDylib() *Dylib {
	if s.use() != nil {
		return nil
	}
	defer s.mu.RUnlock()
	return s.dylib(C.JitcoreSessionGetMainDylib(s.ptr))
}

// CreateDylib creates an empty dylib named name. It sees only its own
// definitions, symbol sources and link order (AddProcessSymbols gives it
// libc).
func (s *Session) CreateDylib(name string) (*Dylib, error) {
	if err := s.use(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	cname, free := cstr(name)
	defer free()
	var d C.JitcoreDylibRef
	if err := takeError(C.JitcoreSessionCreateDylib(s.ptr, &d, cname)); err != nil {
		return nil, err
	}
	return s.dylib(d), nil
}

// DylibByName returns the dylib named name, or nil if there is none.
func (s *Session) DylibByName(name string) *Dylib {
	if s.use() != nil {
		return nil
	}
	defer s.mu.RUnlock()
	cname, free := cstr(name)
	defer free()
	return s.dylib(C.JitcoreSessionGetDylibByName(s.ptr, cname))
}

// Lookup looks name up as a dynamic linker would from d, compiling what it
// needs, and returns its address (JitcoreSessionLookup).
func (s *Session) Lookup(d *Dylib, name string) (uint64, error) {
	if err := s.use(); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	if err := d.of(s); err != nil {
		return 0, err
	}
	cname, free := cstr(name)
	defer free()
	var addr C.uint64_t
	if err := takeError(C.JitcoreSessionLookup(s.ptr, d.ptr, &addr, cname)); err != nil {
		return 0, err
	}
	return uint64(addr), nil
}

// LookupMany looks names up from d at once (their modules compile together,
// in parallel with compile threads) and returns their addresses in order.
func (s *Session) LookupMany(d *Dylib, names ...string) ([]uint64, error) {
	if err := s.use(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	if err := d.of(s); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return []uint64{}, nil
	}
	// A Go array of C strings: it holds no Go pointers, so C may read it.
	arr := make([]*C.char, len(names))
	for i, n := range names {
		arr[i] = C.CString(n)
	}
	defer func() {
		for _, p := range arr {
			C.free(unsafe.Pointer(p))
		}
	}()
	res := make([]C.uint64_t, len(names))
	if err := takeError(C.JitcoreSessionLookupMany(s.ptr, d.ptr, &res[0], &arr[0], C.size_t(len(names)))); err != nil {
		return nil, err
	}
	out := make([]uint64, len(names))
	for i, a := range res {
		out[i] = uint64(a)
	}
	return out, nil
}

// SetIRPipeline sets what runs on IR before codegen for every module
// compiled from now on (passes is read for PipelineCustom only).
func (s *Session) SetIRPipeline(kind IRPipelineKind, passes string) error {
	if s == nil {
		return closedError("Session")
	}
	return s.setPipeline(kind, passes, func(k C.JitcoreIRPipelineKind, p *C.char) C.JitcoreErrorRef {
		return C.JitcoreSessionSetIRPipeline(s.ptr, k, p)
	})
}

// SetErrorReporter sets the func that hears of errors no call can return (a
// lazy compile that failed, a rejected cache entry); nil removes it. It runs
// on any thread, possibly several at once, and must not call into the
// session.
func (s *Session) SetErrorReporter(r ReporterFunc) error {
	if s == nil {
		return closedError("Session")
	}
	return s.setReporter(r, func(on C.int, h C.uintptr_t) { C.jitcore_go_session_set_error_reporter(s.ptr, on, h) })
}

// SetObjectCache installs the host's object cache for every module of every
// dylib (both nil removes it). The funcs run on compile threads and on
// goroutines that look symbols up, possibly several at once, and must not
// call into the session. Partitions of lazy modules and materializers'
// modules are passed too. It replaces a disk cache.
func (s *Session) SetObjectCache(notify NotifyFunc, getBuffer GetBufferFunc) error {
	if s == nil {
		return closedError("Session")
	}
	return s.setCache(notify, getBuffer, func(on C.int, h C.uintptr_t) { C.jitcore_go_session_set_object_cache(s.ptr, on, h) })
}

// SetDiskCache attaches jitcore's disk cache c (nil removes the session's
// cache), replacing SetObjectCache's callbacks. The session keeps c alive.
func (s *Session) SetDiskCache(c *DiskCache) error {
	if s == nil {
		return closedError("Session")
	}
	return s.setDiskCache(c, func(cc C.JitcoreObjectCacheRef) { C.JitcoreSessionSetDiskCache(s.ptr, cc) })
}

// Statistics returns the session's counters, CodeBytesLive included.
func (s *Session) Statistics() (Statistics, error) {
	if s == nil {
		return Statistics{}, closedError("Session")
	}
	return s.statistics(func(st *C.JitcoreStatistics) C.JitcoreErrorRef {
		return C.JitcoreSessionGetStatisticsSized(s.ptr, st, C.sizeof_JitcoreStatistics)
	})
}

// keep registers a handle that must live until the session is disposed of.
func (s *Session) keep(h cgo.Handle) {
	s.dmu.Lock()
	s.handles = append(s.handles, h)
	s.dmu.Unlock()
}
