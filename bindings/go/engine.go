package jitcore

/*
#include <jitcore.h>
#include "trampolines.h"
*/
import "C"

// Engine is an MCJIT-style execution engine on ORC's LLJIT: add modules
// and object files, look up addresses (which compiles what they need),
// remove modules. Safe for concurrent use; Close waits for calls in flight
// and must not run while the engine's jitted code runs.
type Engine struct {
	owner
	ptr C.JitcoreEngineRef
}

// NewEngine creates an engine for the machine tm describes (the engine
// copies it; the caller keeps tm). If m is not nil it is added, as by
// AddModule (JitcoreCreateMCJITCompiler).
func NewEngine(tm *TargetMachine, m *Module) (*Engine, error) {
	if err := tm.use(); err != nil {
		return nil, err
	}
	defer tm.mu.RUnlock()
	create := func(cm C.JitcoreModuleRef) (*Engine, error) {
		var ee C.JitcoreEngineRef
		if err := takeError(C.JitcoreCreateMCJITCompiler(&ee, cm, tm.ptr)); err != nil {
			return nil, err
		}
		return &Engine{owner: newOwner("Engine"), ptr: ee}, nil
	}
	if m == nil {
		return create(nil)
	}
	var e *Engine
	err := m.handOver(func(cm C.JitcoreModuleRef) (*Engine, error) {
		var err error
		e, err = create(cm)
		return e, err
	})
	return e, err
}

// use read-locks e if it is open; the caller unlocks e.mu.
func (e *Engine) use() error {
	if e == nil {
		return closedError("Engine")
	}
	return e.enter("Engine")
}

// Close disposes of the engine, its jitted code and the modules it still
// holds (JitcoreDisposeEngine). Static destructors are not run. It waits for
// the engine's calls in flight. Closing twice is harmless.
func (e *Engine) Close() error {
	if e != nil {
		e.dispose(func() { C.JitcoreDisposeEngine(e.ptr); e.ptr = nil })
	}
	return nil
}

// AddModule gives m to the engine; it compiles when one of its symbols is
// looked up. On error the caller still owns m.
func (e *Engine) AddModule(m *Module) error {
	if err := e.use(); err != nil {
		return err
	}
	defer e.mu.RUnlock()
	return m.handOver(func(cm C.JitcoreModuleRef) (*Engine, error) {
		return e, takeError(C.JitcoreEngineAddModule(e.ptr, cm))
	})
}

// RemoveModule removes m from the engine, freeing its code (addresses into
// it become invalid); the caller owns m again.
func (e *Engine) RemoveModule(m *Module) error {
	if err := e.use(); err != nil {
		return err
	}
	defer e.mu.RUnlock()
	if m == nil {
		return closedError("Module")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != moduleInEngine || m.engine != e {
		return newError(CodeModuleNotFound, "module '%s' is not added to this engine", m.name)
	}
	if err := takeError(C.JitcoreEngineRemoveModule(e.ptr, m.ptr)); err != nil {
		return err
	}
	m.state, m.engine = moduleOwned, nil
	return nil
}

// FinalizeObject compiles and links every module not compiled yet.
func (e *Engine) FinalizeObject() error {
	if err := e.use(); err != nil {
		return err
	}
	defer e.mu.RUnlock()
	return takeError(C.JitcoreEngineFinalizeObject(e.ptr))
}

// FunctionAddress returns the address of function name, compiling what it
// needs (JitcoreEngineGetFunctionAddress).
func (e *Engine) FunctionAddress(name string) (uint64, error) { return e.lookup(name, false) }

// GlobalValueAddress returns the address of global variable (or function)
// name.
func (e *Engine) GlobalValueAddress(name string) (uint64, error) { return e.lookup(name, true) }

func (e *Engine) lookup(name string, global bool) (uint64, error) {
	if err := e.use(); err != nil {
		return 0, err
	}
	defer e.mu.RUnlock()
	cname, free := cstr(name)
	defer free()
	var addr C.uint64_t
	var ce C.JitcoreErrorRef
	if global {
		ce = C.JitcoreEngineGetGlobalValueAddress(e.ptr, &addr, cname)
	} else {
		ce = C.JitcoreEngineGetFunctionAddress(e.ptr, &addr, cname)
	}
	if err := takeError(ce); err != nil {
		return 0, err
	}
	return uint64(addr), nil
}

// AddObjectFile links the relocatable ELF object file at path.
func (e *Engine) AddObjectFile(path string) error {
	if err := e.use(); err != nil {
		return err
	}
	defer e.mu.RUnlock()
	cpath, free := cstr(path)
	defer free()
	return takeError(C.JitcoreEngineAddObjectFile(e.ptr, cpath))
}

// AddObjectBuffer links a relocatable ELF object held in memory (copied).
func (e *Engine) AddObjectBuffer(object []byte) error {
	if err := e.use(); err != nil {
		return err
	}
	defer e.mu.RUnlock()
	return takeError(C.JitcoreEngineAddObjectBuffer(e.ptr, (*C.uint8_t)(dataPtr(object)), C.size_t(len(object))))
}

// AddGlobalMapping makes symbol name resolve to address for every module of
// the engine (a host function or variable).
func (e *Engine) AddGlobalMapping(name string, address uint64) error {
	if err := e.use(); err != nil {
		return err
	}
	defer e.mu.RUnlock()
	cname, free := cstr(name)
	defer free()
	return takeError(C.JitcoreEngineAddGlobalMapping(e.ptr, cname, C.uint64_t(address)))
}

// RunStaticConstructors runs llvm.global_ctors of the modules whose
// constructors have not run yet.
func (e *Engine) RunStaticConstructors() error {
	if err := e.use(); err != nil {
		return err
	}
	defer e.mu.RUnlock()
	return takeError(C.JitcoreEngineRunStaticConstructors(e.ptr))
}

// RunStaticDestructors runs llvm.global_dtors of the modules whose
// destructors have not run yet.
func (e *Engine) RunStaticDestructors() error {
	if err := e.use(); err != nil {
		return err
	}
	defer e.mu.RUnlock()
	return takeError(C.JitcoreEngineRunStaticDestructors(e.ptr))
}

// TargetData is the engine's data layout, valid while the engine is open.
func (e *Engine) TargetData() *TargetData { return &TargetData{e: e} }

// SetIRPipeline sets what runs on IR before codegen for modules compiled
// from now on (passes is read for PipelineCustom only, and checked now).
func (e *Engine) SetIRPipeline(kind IRPipelineKind, passes string) error {
	if e == nil {
		return closedError("Engine")
	}
	return e.setPipeline(kind, passes, func(k C.JitcoreIRPipelineKind, p *C.char) C.JitcoreErrorRef {
		return C.JitcoreEngineSetIRPipeline(e.ptr, k, p)
	})
}

// SetErrorReporter sets the func that hears of errors no call can return
// (nil removes it). It runs on compile threads too, possibly on several at
// once, and must not call into the engine.
func (e *Engine) SetErrorReporter(r ReporterFunc) error {
	if e == nil {
		return closedError("Engine")
	}
	return e.setReporter(r, func(on C.int, h C.uintptr_t) { C.jitcore_go_engine_set_error_reporter(e.ptr, on, h) })
}

// SetObjectCache installs the host's object cache (both nil removes it):
// getBuffer is asked before each compile, notify told of each object
// compiled. They run on the thread that compiles, possibly several at once,
// and must not call into the engine. It replaces a disk cache.
func (e *Engine) SetObjectCache(notify NotifyFunc, getBuffer GetBufferFunc) error {
	if e == nil {
		return closedError("Engine")
	}
	return e.setCache(notify, getBuffer, func(on C.int, h C.uintptr_t) { C.jitcore_go_engine_set_object_cache(e.ptr, on, h) })
}

// SetDiskCache attaches jitcore's disk cache c (nil removes the engine's
// cache), replacing SetObjectCache's callbacks. The engine keeps c alive:
// c may be closed at once.
func (e *Engine) SetDiskCache(c *DiskCache) error {
	if e == nil {
		return closedError("Engine")
	}
	return e.setDiskCache(c, func(cc C.JitcoreObjectCacheRef) { C.JitcoreEngineSetDiskCache(e.ptr, cc) })
}

// Statistics returns the engine's counters.
func (e *Engine) Statistics() (Statistics, error) {
	if e == nil {
		return Statistics{}, closedError("Engine")
	}
	return e.statistics(func(st *C.JitcoreStatistics) C.JitcoreErrorRef {
		return C.JitcoreEngineGetStatisticsSized(e.ptr, st, C.sizeof_JitcoreStatistics)
	})
}
