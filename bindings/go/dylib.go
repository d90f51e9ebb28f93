package jitcore

/*
#include <jitcore.h>
#include <stdlib.h>
#include "trampolines.h"
*/
import "C"

import (
	"runtime/cgo"
	"sort"
	"unsafe"
)

// Dylib is a JITDylib: a symbol namespace like a shared library, owned by
// its Session (it has no Close; it is unusable once the session is
// closed). A lookup from a dylib searches its own definitions, then its
// symbol sources, then its link order.
type Dylib struct {
	s    *Session
	ptr  C.JitcoreDylibRef
	name string
}

// of checks that d is a dylib of s.
func (d *Dylib) of(s *Session) error {
	if d == nil {
		return closedError("Dylib")
	}
	if d.s != s {
		return newError(CodeInvalidArgument, "dylib '%s' belongs to another session", d.name)
	}
	return nil
}

// Name is the dylib's name ("main" for the main dylib).
func (d *Dylib) Name() string {
	if d == nil {
		return ""
	}
	return d.name
}

// Session is the session d belongs to.
func (d *Dylib) Session() *Session {
	if d == nil {
		return nil
	}
	return d.s
}

// Lookup is d.Session().Lookup(d, name).
func (d *Dylib) Lookup(name string) (uint64, error) {
	if d == nil {
		return 0, closedError("Dylib")
	}
	return d.s.Lookup(d, name)
}

// use read-locks d's session if it is open; the caller unlocks d.s.mu.
func (d *Dylib) use() error {
	if d == nil {
		return closedError("Dylib")
	}
	if err := d.s.use(); err != nil {
		return closedError("Dylib (its session is closed)")
	}
	return nil
}

// withTracker runs f with rt's C handle (NULL for nil: the dylib's default
// tracker) and d's session read-locked, in the binding's lock order
// (tracker, session, module).
func (d *Dylib) withTracker(rt *ResourceTracker, f func(C.JitcoreResourceTrackerRef) error) error {
	var crt C.JitcoreResourceTrackerRef
	if rt != nil {
		if err := rt.use(); err != nil {
			return err
		}
		defer rt.mu.RUnlock()
		if rt.d != d {
			return newError(CodeInvalidArgument, "the resource tracker belongs to dylib '%s', not '%s'", rt.d.name, d.Name())
		}
		crt = rt.ptr
	}
	if err := d.use(); err != nil {
		return err
	}
	defer d.s.mu.RUnlock()
	return f(crt)
}

// SetLinkOrder sets the dylibs d links against, searched in order after its
// own definitions (not transitively).
func (d *Dylib) SetLinkOrder(order ...*Dylib) error {
	if err := d.use(); err != nil {
		return err
	}
	defer d.s.mu.RUnlock()
	refs := make([]C.JitcoreDylibRef, len(order)+1) // never empty, so &refs[0] exists
	for i, o := range order {
		if err := o.of(d.s); err != nil {
			return err
		}
		refs[i] = o.ptr
	}
	return takeError(C.JitcoreDylibSetLinkOrder(d.ptr, &refs[0], C.size_t(len(order))))
}

// AddModule gives m to the session, in d under rt (nil: d's default
// tracker); it compiles on the first lookup of one of its symbols (or
// function by function with LazyByDefault). On error the caller still owns
// m.
func (d *Dylib) AddModule(m *Module, rt *ResourceTracker) error { return d.addModule(m, rt, false) }

// AddModuleLazy adds m as AddModule does, compiled one function at a time,
// each when first called (a lookup returns its stub).
func (d *Dylib) AddModuleLazy(m *Module, rt *ResourceTracker) error { return d.addModule(m, rt, true) }

func (d *Dylib) addModule(m *Module, rt *ResourceTracker, lazy bool) error {
	return d.withTracker(rt, func(crt C.JitcoreResourceTrackerRef) error {
		return m.handOver(func(cm C.JitcoreModuleRef) (*Engine, error) {
			if lazy {
				return nil, takeError(C.JitcoreDylibAddModuleLazy(d.ptr, cm, crt))
			}
			return nil, takeError(C.JitcoreDylibAddModule(d.ptr, cm, crt))
		})
	})
}

// AddObjectBuffer adds a relocatable ELF object (copied) to d under rt.
func (d *Dylib) AddObjectBuffer(object []byte, rt *ResourceTracker) error {
	return d.withTracker(rt, func(crt C.JitcoreResourceTrackerRef) error {
		return takeError(C.JitcoreDylibAddObjectBuffer(d.ptr, (*C.uint8_t)(dataPtr(object)), C.size_t(len(object)), crt))
	})
}

// DefineAbsoluteSymbols defines symbols of d at absolute addresses (host
// functions or data), for the life of d; none is defined if one is already.
func (d *Dylib) DefineAbsoluteSymbols(symbols map[string]uint64) error {
	if err := d.use(); err != nil {
		return err
	}
	defer d.s.mu.RUnlock()
	names := make([]string, 0, len(symbols))
	for n := range symbols {
		names = append(names, n)
	}
	sort.Strings(names) // a stable order, so errors name the same symbol each time
	defs := make([]C.JitcoreSymbolDefinition, len(names)+1)
	for i, n := range names {
		defs[i].Name = C.CString(n)
		defs[i].Address = C.uint64_t(symbols[n])
	}
	defer func() {
		for _, def := range defs {
			C.free(unsafe.Pointer(def.Name))
		}
	}()
	return takeError(C.JitcoreDylibDefineAbsoluteSymbols(d.ptr, &defs[0], C.size_t(len(names))))
}

// AddMaterializer makes d define symbols (as exported functions) whose code
// fn produces on the first lookup of any of them (JitcoreDylibAddMaterializer).
// If fn fails, the lookup fails and the next lookup calls fn again; once it
// succeeded it is never called again. onDispose (may be nil) runs once,
// when the materializer's tracker is removed or the session closes (or
// before an error return of this call). fn runs on the looking-up goroutine
// or a compile thread, one call at a time; neither fn nor onDispose may call
// into the session (onDispose may run inside Session.Close or
// ResourceTracker.Remove).
func (d *Dylib) AddMaterializer(symbols []string, fn MaterializeFunc, onDispose func(), rt *ResourceTracker) error {
	if fn == nil || len(symbols) == 0 {
		return newError(CodeInvalidArgument, "AddMaterializer needs a MaterializeFunc and at least one symbol")
	}
	return d.withTracker(rt, func(crt C.JitcoreResourceTrackerRef) error {
		names := make([]*C.char, len(symbols)+1)
		for i, s := range symbols {
			names[i] = C.CString(s)
		}
		defer func() {
			for _, p := range names {
				C.free(unsafe.Pointer(p))
			}
		}()
		// The handle is deleted by the dispose trampoline, which jitcore
		// calls exactly once (also when this call fails).
		h := cgo.NewHandle(&materializerCtx{fn: fn, dispose: onDispose, hub: d.s.hub})
		return takeError(C.jitcore_go_add_materializer(d.ptr, &names[0], C.size_t(len(symbols)), C.uintptr_t(h), crt))
	})
}

// AddProcessSymbols makes the host process's exported symbols that filter
// allows (nil: all) resolvable in d. filter runs during lookups, on any
// thread, possibly several at once; it must not call into the session.
func (d *Dylib) AddProcessSymbols(filter FilterFunc) error {
	if err := d.use(); err != nil {
		return err
	}
	defer d.s.mu.RUnlock()
	h := d.filterHandle(filter)
	return takeError(C.jitcore_go_add_process_symbols(d.ptr, boolInt(filter != nil), C.uintptr_t(h)))
}

// AddLibrarySymbols loads the shared library at path (dlopen) and makes its
// exported symbols that filter allows (nil: all) resolvable in d.
func (d *Dylib) AddLibrarySymbols(path string, filter FilterFunc) error {
	if err := d.use(); err != nil {
		return err
	}
	defer d.s.mu.RUnlock()
	cpath, free := cstr(path)
	defer free()
	h := d.filterHandle(filter)
	return takeError(C.jitcore_go_add_library_symbols(d.ptr, cpath, boolInt(filter != nil), C.uintptr_t(h)))
}

// filterHandle makes the Ctx of filter, kept until the session closes (0
// for nil). jitcore may keep a filter even of a call that failed, so the
// handle is kept in every case.
func (d *Dylib) filterHandle(filter FilterFunc) cgo.Handle {
	if filter == nil {
		return 0
	}
	h := cgo.NewHandle(&filterCtx{fn: filter, hub: d.s.hub})
	d.s.keep(h)
	return h
}

// AddArchive makes the static archive at path a symbol source of d: a
// member defining a symbol d's code needs is linked in, as a static linker
// would (a host lookup does not pull members in).
func (d *Dylib) AddArchive(path string) error {
	if err := d.use(); err != nil {
		return err
	}
	defer d.s.mu.RUnlock()
	cpath, free := cstr(path)
	defer free()
	return takeError(C.JitcoreDylibAddArchive(d.ptr, cpath))
}

// Initialize runs the static constructors due in d and in the dylibs of its
// link order, transitively (JitcoreDylibInitialize): those of the modules
// added since the last initialization, lowest priority first, each once, on
// the calling goroutine. A constructor that cannot be compiled fails it
// (naming the constructor); it and those after it run on a later call.
func (d *Dylib) Initialize() error {
	if err := d.use(); err != nil {
		return err
	}
	defer d.s.mu.RUnlock()
	return takeError(C.JitcoreDylibInitialize(d.ptr))
}

// Deinitialize runs, for d and its link order, transitively, the exit
// handlers jitted code registered (atexit, __cxa_atexit: they never reach
// the C library), last first, then the static destructors of the modules
// an initialization covered (JitcoreDylibDeinitialize). Each runs once;
// removing a tracker or closing the session runs none of them.
func (d *Dylib) Deinitialize() error {
	if err := d.use(); err != nil {
		return err
	}
	defer d.s.mu.RUnlock()
	return takeError(C.JitcoreDylibDeinitialize(d.ptr))
}

// CreateResourceTracker creates a tracker for d: what is added under it is
// removed as one by its Remove.
func (d *Dylib) CreateResourceTracker() (*ResourceTracker, error) {
	if err := d.use(); err != nil {
		return nil, err
	}
	defer d.s.mu.RUnlock()
	rt := C.JitcoreDylibCreateResourceTracker(d.ptr)
	if rt == nil {
		return nil, newError(CodeInvalidArgument, "could not create a resource tracker for dylib '%s'", d.name)
	}
	return &ResourceTracker{ptr: rt, d: d}, nil
}

// ResourceTracker is a handle on what was added to a dylib under it,
// removable as one. Close the handle when done (what was not removed stays
// loaded, under the dylib's default tracker).
type ResourceTracker struct {
	guard
	ptr C.JitcoreResourceTrackerRef
	d   *Dylib
}

func (rt *ResourceTracker) use() error {
	if rt == nil {
		return closedError("ResourceTracker")
	}
	return rt.enter("ResourceTracker")
}

// Dylib is the dylib the tracker belongs to.
func (rt *ResourceTracker) Dylib() *Dylib {
	if rt == nil {
		return nil
	}
	return rt.d
}

// Remove removes everything added under rt: its code and data are freed
// (nothing may run in them), its symbols are no longer found, its modules
// are disposed of. Adding to rt afterwards fails.
func (rt *ResourceTracker) Remove() error {
	if err := rt.use(); err != nil {
		return err
	}
	defer rt.mu.RUnlock()
	if err := rt.d.use(); err != nil {
		return err
	}
	defer rt.d.s.mu.RUnlock()
	return takeError(C.JitcoreResourceTrackerRemove(rt.ptr))
}

// Close disposes of the tracker handle. Closing twice is harmless.
func (rt *ResourceTracker) Close() error {
	if rt != nil {
		rt.close(func() {
			// Not while the session is being disposed of (the header forbids
			// the race); after that, disposing of the handle is still right.
			rt.d.s.mu.RLock()
			C.JitcoreDisposeResourceTracker(rt.ptr)
			rt.d.s.mu.RUnlock()
			rt.ptr = nil
		})
	}
	return nil
}
