package jitcore

/*
#include <jitcore.h>
*/
import "C"

// TargetMachine describes the host machine (triple, CPU, features) at an
// opt level. Engines copy what they need from it, so it may be closed
// right after NewEngine. Safe for concurrent use.
type TargetMachine struct {
	guard
	ptr    C.JitcoreTargetMachineRef
	triple string
}

// NewHostTargetMachine describes the host at opt level opt
// (JitcoreCreateHostTargetMachine).
func NewHostTargetMachine(opt OptLevel) (*TargetMachine, error) {
	var tm C.JitcoreTargetMachineRef
	if err := takeError(C.JitcoreCreateHostTargetMachine(&tm, C.JitcoreOptLevel(opt))); err != nil {
		return nil, err
	}
	return &TargetMachine{ptr: tm, triple: C.GoString(C.JitcoreTargetMachineGetTriple(tm))}, nil
}

// use read-locks tm if it is open; the caller unlocks tm.mu.
func (tm *TargetMachine) use() error {
	if tm == nil {
		return closedError("TargetMachine")
	}
	return tm.enter("TargetMachine")
}

// Triple is the target triple ("x86_64-pc-linux-gnu"); "" once closed.
func (tm *TargetMachine) Triple() string {
	if tm.use() != nil {
		return ""
	}
	defer tm.mu.RUnlock()
	return tm.triple
}

// Close disposes of the target machine. Closing twice is harmless.
func (tm *TargetMachine) Close() error {
	if tm != nil {
		tm.close(func() {
			C.JitcoreDisposeTargetMachine(tm.ptr)
			tm.ptr = nil
		})
	}
	return nil
}

// TargetData is an engine's data layout (Engine.TargetData), valid while
// the engine is open.
type TargetData struct{ e *Engine }

// PointerSize is the size of a pointer in bytes (0 once the engine is closed).
func (td *TargetData) PointerSize() uint {
	if td == nil || td.e.use() != nil {
		return 0
	}
	defer td.e.mu.RUnlock()
	return uint(C.JitcoreTargetDataGetPointerSize(C.JitcoreEngineGetTargetData(td.e.ptr)))
}

// ABISize is the ABI size in bytes of irType, an IR type written as text
// ("i32", "{i64, [2 x i64]}").
func (td *TargetData) ABISize(irType string) (uint64, error) {
	return td.query(irType, false)
}

// ABIAlignment is the ABI alignment in bytes of irType.
func (td *TargetData) ABIAlignment(irType string) (uint64, error) {
	return td.query(irType, true)
}

func (td *TargetData) query(irType string, align bool) (uint64, error) {
	if td == nil {
		return 0, closedError("TargetData")
	}
	if err := td.e.use(); err != nil {
		return 0, err
	}
	defer td.e.mu.RUnlock()
	t, free := cstr(irType)
	defer free()
	var r C.uint64_t
	d := C.JitcoreEngineGetTargetData(td.e.ptr)
	var e C.JitcoreErrorRef
	if align {
		e = C.JitcoreTargetDataGetABIAlignment(d, &r, t)
	} else {
		e = C.JitcoreTargetDataGetABISize(d, &r, t)
	}
	if err := takeError(e); err != nil {
		return 0, err
	}
	return uint64(r), nil
}
