package jitcore

/*
#include <jitcore.h>
*/
import "C"

import (
	"encoding/hex"
	"sync"
	"unsafe"
)

type moduleState int

const (
	moduleOwned     moduleState = iota // the caller's: Close disposes of it
	moduleInEngine                     // an engine's, until RemoveModule (or the engine closes)
	moduleInSession                    // a session's, for good (its tracker removes it)
	moduleClosed                       // disposed of
)

// Module is parsed, verified LLVM IR in a context of its own. The caller
// owns it until it adds it to an engine (which gives it back with
// RemoveModule) or to a dylib (for good: the session frees it). Close
// disposes of a module the caller owns and does nothing otherwise, so
// "defer m.Close()" is always right. A Module is used by one goroutine at a
// time until it is added (the binding serializes its own calls).
type Module struct {
	mu     sync.Mutex
	ptr    C.JitcoreModuleRef
	name   string
	state  moduleState
	engine *Engine
}

// ParseIR parses data (textual IR or bitcode, detected) into a module named
// name (JitcoreCreateModuleFromIR). Bad IR is an *Error with CodeInvalidIR
// naming the module, line and column.
func ParseIR(name string, data []byte) (*Module, error) {
	return parse(name, data, false)
}

// ParseIRString is ParseIR for IR text in a string.
func ParseIRString(name, ir string) (*Module, error) { return parse(name, []byte(ir), false) }

// ParseUntrustedIR parses data as ParseIR does, first in a forked child
// process, so bitcode that crashes LLVM's reader ends the child and not this
// process (JitcoreCreateModuleFromUntrustedIR).
func ParseUntrustedIR(name string, data []byte) (*Module, error) {
	return parse(name, data, true)
}

// NewModuleFromLLVMModule copies llvmModule, an LLVMModuleRef a host built
// with LLVM-C against the same libLLVM-22 (for example through another Go
// binding of LLVM: pass its C module pointer), into a new jitcore module
// (JitcoreCreateModuleFromLLVMModule). The host keeps llvmModule; nothing
// else may use it, or its LLVM context, during the call.
func NewModuleFromLLVMModule(llvmModule unsafe.Pointer) (*Module, error) {
	var m C.JitcoreModuleRef
	if err := takeError(C.JitcoreCreateModuleFromLLVMModule(&m, (*C.struct_LLVMOpaqueModule)(llvmModule))); err != nil {
		return nil, err
	}
	return &Module{ptr: m, name: C.GoString(C.JitcoreModuleGetName(m))}, nil
}

func parse(name string, data []byte, untrusted bool) (*Module, error) {
	cname, free := cstr(name)
	defer free()
	var m C.JitcoreModuleRef
	var e C.JitcoreErrorRef
	if untrusted {
		e = C.JitcoreCreateModuleFromUntrustedIR(&m, cname, (*C.char)(dataPtr(data)), C.size_t(len(data)))
	} else {
		e = C.JitcoreCreateModuleFromIR(&m, cname, (*C.char)(dataPtr(data)), C.size_t(len(data)))
	}
	if err := takeError(e); err != nil {
		return nil, err
	}
	return &Module{ptr: m, name: C.GoString(C.JitcoreModuleGetName(m))}, nil
}

// Name is the module's name (kept by the binding, so it stays readable
// after the module was added, removed or closed).
func (m *Module) Name() string {
	if m == nil {
		return ""
	}
	return m.name
}

// take checks, with m.mu held, that the caller owns m and may hand it over.
func (m *Module) take() error {
	switch m.state {
	case moduleOwned:
		return nil
	case moduleInEngine:
		if m.engine.closed.isClosed() {
			return newError(CodeInvalidArgument, "module '%s' was freed with the engine that owned it", m.name)
		}
		return newError(CodeModuleAlreadyAdded, "module '%s' is already added to an engine", m.name)
	case moduleInSession:
		return newError(CodeModuleAlreadyAdded, "module '%s' was added to a dylib: its session owns it", m.name)
	}
	return closedError("Module")
}

// handOver gives m away: with m locked, it checks that the caller owns m,
// calls give with its handle and, if that succeeds, records the new owner:
// the engine give returns, or (nil) a session, for good; the binding then
// forgets the handle, so that it can never name a later module.
func (m *Module) handOver(give func(C.JitcoreModuleRef) (*Engine, error)) error {
	if m == nil {
		return closedError("Module")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.take(); err != nil {
		return err
	}
	e, err := give(m.ptr)
	if err != nil {
		return err
	}
	if e != nil {
		m.state, m.engine = moduleInEngine, e
	} else {
		m.ptr, m.state = nil, moduleInSession
	}
	return nil
}

// Key returns the module's content key for tm under the default IR
// pipeline (JitcoreModuleGetKey): 32 bytes and their 64-digit hex form. It
// is for a module the caller owns; inside object cache callbacks use
// CacheModule.Key.
func (m *Module) Key(tm *TargetMachine) ([KeySize]byte, string, error) {
	return m.KeyForPipeline(tm, PipelineDefault, "")
}

// KeyForPipeline returns the module's key for tm after the IR pipeline kind
// and passes name (JitcoreModuleGetKeyForPipeline).
func (m *Module) KeyForPipeline(tm *TargetMachine, kind IRPipelineKind, passes string) ([KeySize]byte, string, error) {
	var key [KeySize]byte
	if m == nil {
		return key, "", closedError("Module")
	}
	if err := tm.use(); err != nil {
		return key, "", err
	}
	defer tm.mu.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.take(); err != nil {
		return key, "", err
	}
	var cpasses *C.char
	if kind == PipelineCustom {
		p, free := cstr(passes)
		defer free()
		cpasses = p
	}
	err := takeError(C.JitcoreModuleGetKeyForPipeline(m.ptr, tm.ptr, C.JitcoreIRPipelineKind(kind), cpasses,
		(*C.uint8_t)(&key[0]), nil))
	if err != nil {
		return key, "", err
	}
	return key, hex.EncodeToString(key[:]), nil
}

// Close disposes of the module if the caller owns it; a module an engine or
// a session owns is theirs, and Close does nothing then. Closing twice is
// harmless.
func (m *Module) Close() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state == moduleOwned {
		C.JitcoreDisposeModule(m.ptr)
		m.ptr = nil
		m.state = moduleClosed
	}
	return nil
}

// CacheModule is the module an object cache callback is called for. It is
// valid only during the call: afterwards its methods return errors.
type CacheModule struct {
	ptr  C.JitcoreModuleRef
	done closedFlag
}

// Name is the module's name ("<module>#<function>" for partitions of lazily
// added modules).
func (cm *CacheModule) Name() string {
	if cm == nil || cm.done.isClosed() {
		return ""
	}
	return C.GoString(C.JitcoreModuleGetName(cm.ptr))
}

// Key returns the module's key for the engine's or session's own target and
// IR pipeline (JitcoreModuleGetKey with a NULL target machine, as the
// header allows inside cache callbacks): the key its disk cache would use.
func (cm *CacheModule) Key() ([KeySize]byte, string, error) {
	var key [KeySize]byte
	var hx [C.JITCORE_MODULE_KEY_HEX_SIZE]C.char
	if cm == nil || cm.done.isClosed() {
		return key, "", closedError("CacheModule (it is valid only during its callback)")
	}
	if err := takeError(C.JitcoreModuleGetKey(cm.ptr, nil, (*C.uint8_t)(&key[0]), &hx[0])); err != nil {
		return key, "", err
	}
	return key, C.GoString(&hx[0]), nil
}
