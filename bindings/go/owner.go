package jitcore

/*
#include <jitcore.h>
*/
import "C"

import "runtime/cgo"

// owner is what Engine and Session share: the guard, the hub of their
// callbacks and its cgo handle (the Ctx of every callback they install,
// deleted only after the C object is disposed of, when jitcore promised not
// to call them any more). The C call that differs is passed in.
type owner struct {
	guard
	what string
	hub  *hub
	hubH cgo.Handle
}

func newOwner(what string) owner {
	h := &hub{}
	return owner{what: what, hub: h, hubH: cgo.NewHandle(h)}
}

func (o *owner) setReporter(r ReporterFunc, set func(on C.int, h C.uintptr_t)) error {
	if err := o.enter(o.what); err != nil {
		return err
	}
	defer o.mu.RUnlock()
	o.hub.mu.Lock()
	o.hub.reporter = r
	o.hub.mu.Unlock()
	set(boolInt(r != nil), C.uintptr_t(o.hubH))
	return nil
}

func (o *owner) setCache(notify NotifyFunc, getBuffer GetBufferFunc, set func(on C.int, h C.uintptr_t)) error {
	if err := o.enter(o.what); err != nil {
		return err
	}
	defer o.mu.RUnlock()
	o.hub.mu.Lock()
	o.hub.notify, o.hub.getBuffer = notify, getBuffer
	o.hub.mu.Unlock()
	set(boolInt(notify != nil || getBuffer != nil), C.uintptr_t(o.hubH))
	return nil
}

func (o *owner) setDiskCache(c *DiskCache, set func(C.JitcoreObjectCacheRef)) error {
	if err := o.enter(o.what); err != nil {
		return err
	}
	defer o.mu.RUnlock()
	var cc C.JitcoreObjectCacheRef
	if c != nil {
		if err := c.use(); err != nil {
			return err
		}
		defer c.mu.RUnlock()
		cc = c.ptr
	}
	o.hub.mu.Lock()
	o.hub.notify, o.hub.getBuffer = nil, nil // the disk cache replaces them
	o.hub.mu.Unlock()
	set(cc)
	return nil
}

func (o *owner) statistics(get func(*C.JitcoreStatistics) C.JitcoreErrorRef) (Statistics, error) {
	if err := o.enter(o.what); err != nil {
		return Statistics{}, err
	}
	defer o.mu.RUnlock()
	var st C.JitcoreStatistics
	if err := takeError(get(&st)); err != nil {
		return Statistics{}, err
	}
	return statsFromC(&st), nil
}

func (o *owner) setPipeline(kind IRPipelineKind, passes string, set func(C.JitcoreIRPipelineKind, *C.char) C.JitcoreErrorRef) error {
	if err := o.enter(o.what); err != nil {
		return err
	}
	defer o.mu.RUnlock()
	var cp *C.char
	if kind == PipelineCustom {
		p, free := cstr(passes)
		defer free()
		cp = p
	}
	return takeError(set(C.JitcoreIRPipelineKind(kind), cp))
}

// dispose is the end of an owner's Close: the C object is gone, so is the
// hub's handle.
func (o *owner) dispose(free func()) {
	o.close(func() {
		free()
		o.hubH.Delete()
	})
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
