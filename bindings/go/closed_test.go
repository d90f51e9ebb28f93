package jitcore_test

import (
	"errors"
	"sync"
	"testing"

	"jitcore"
)

func wantClosed(t *testing.T, what string, err error) {
	t.Helper()
	var je *jitcore.Error
	if !errors.Is(err, jitcore.ErrClosed) || !errors.As(err, &je) || je.Code != jitcore.CodeInvalidArgument {
		t.Errorf("%s on a closed handle: want an *Error wrapping ErrClosed, got %v", what, err)
	}
}

// Every method of every closed (or nil) handle returns an error; none
// crashes. Close twice is harmless.
func TestClosedHandles(t *testing.T) {
	tm, err := jitcore.NewHostTargetMachine(jitcore.O1)
	must(t, err)
	if tm.Triple() == "" {
		t.Fatal("no triple")
	}
	must(t, tm.Close())
	must(t, tm.Close())
	if tm.Triple() != "" {
		t.Error("Triple of a closed target machine")
	}
	_, err = jitcore.NewEngine(tm, nil)
	wantClosed(t, "NewEngine", err)
	m := parse(t, "sum", sumIR)
	_, _, err = m.Key(tm)
	wantClosed(t, "Module.Key", err)

	e := newEngine(t, parse(t, "sum", sumIR))
	td := e.TargetData()
	must(t, e.Close())
	must(t, e.Close())
	_, err = e.FunctionAddress("sum")
	wantClosed(t, "FunctionAddress", err)
	_, err = e.GlobalValueAddress("sum")
	wantClosed(t, "GlobalValueAddress", err)
	wantClosed(t, "AddModule", e.AddModule(m))
	wantClosed(t, "RemoveModule", e.RemoveModule(m))
	wantClosed(t, "FinalizeObject", e.FinalizeObject())
	wantClosed(t, "AddObjectFile", e.AddObjectFile("/x.o"))
	wantClosed(t, "AddObjectBuffer", e.AddObjectBuffer(nil))
	wantClosed(t, "AddGlobalMapping", e.AddGlobalMapping("x", 1))
	wantClosed(t, "RunStaticConstructors", e.RunStaticConstructors())
	wantClosed(t, "RunStaticDestructors", e.RunStaticDestructors())
	wantClosed(t, "SetIRPipeline", e.SetIRPipeline(jitcore.PipelineNone, ""))
	wantClosed(t, "SetErrorReporter", e.SetErrorReporter(nil))
	wantClosed(t, "SetObjectCache", e.SetObjectCache(nil, nil))
	wantClosed(t, "SetDiskCache", e.SetDiskCache(nil))
	_, err = e.Statistics()
	wantClosed(t, "Engine.Statistics", err)
	_, err = td.ABISize("i32")
	wantClosed(t, "TargetData.ABISize", err)
	if td.PointerSize() != 0 {
		t.Error("PointerSize of a closed engine")
	}

	s, err := jitcore.NewSession(nil)
	must(t, err)
	d := s.MainDylib()
	lib, err := s.CreateDylib("lib")
	must(t, err)
	rt, err := d.CreateResourceTracker()
	must(t, err)
	must(t, s.Close())
	must(t, s.Close())
	if s.MainDylib() != nil || s.DylibByName("main") != nil {
		t.Error("dylibs of a closed session")
	}
	_, err = s.CreateDylib("x")
	wantClosed(t, "CreateDylib", err)
	_, err = s.Lookup(d, "x")
	wantClosed(t, "Lookup", err)
	_, err = s.LookupMany(d, "x")
	wantClosed(t, "LookupMany", err)
	wantClosed(t, "Session.SetIRPipeline", s.SetIRPipeline(jitcore.PipelineNone, ""))
	wantClosed(t, "Session.SetErrorReporter", s.SetErrorReporter(nil))
	wantClosed(t, "Session.SetObjectCache", s.SetObjectCache(nil, nil))
	wantClosed(t, "Session.SetDiskCache", s.SetDiskCache(nil))
	_, err = s.Statistics()
	wantClosed(t, "Session.Statistics", err)
	// Its dylibs and trackers.
	_, err = d.Lookup("x")
	wantClosed(t, "Dylib.Lookup", err)
	wantClosed(t, "Dylib.AddModule", d.AddModule(m, nil))
	wantClosed(t, "Dylib.AddModuleLazy", d.AddModuleLazy(m, nil))
	wantClosed(t, "Dylib.AddObjectBuffer", d.AddObjectBuffer(nil, nil))
	wantClosed(t, "SetLinkOrder", d.SetLinkOrder(lib))
	wantClosed(t, "DefineAbsoluteSymbols", d.DefineAbsoluteSymbols(map[string]uint64{"x": 1}))
	wantClosed(t, "AddMaterializer", d.AddMaterializer([]string{"x"}, func([]string) (*jitcore.Module, []byte, error) { return nil, nil, nil }, nil, nil))
	wantClosed(t, "AddProcessSymbols", d.AddProcessSymbols(nil))
	wantClosed(t, "AddLibrarySymbols", d.AddLibrarySymbols("/x.so", nil))
	wantClosed(t, "AddArchive", d.AddArchive("/x.a"))
	_, err = d.CreateResourceTracker()
	wantClosed(t, "CreateResourceTracker", err)
	wantClosed(t, "ResourceTracker.Remove", rt.Remove())
	must(t, rt.Close()) // a tracker outlives its session, to be closed
	wantClosed(t, "Remove of a closed tracker", rt.Remove())
	wantClosed(t, "AddModule under a closed tracker", lib.AddModule(m, rt))
	must(t, rt.Close())
	// The module was never given away: the caller still owns it.
	m2 := parse(t, "sum2", sumIR)
	must(t, m2.Close())
	e2 := newEngine(t, nil)
	wantClosed(t, "AddModule of a closed module", e2.AddModule(m2))
	_, _, err = m2.Key(newTM(t, jitcore.O2))
	wantClosed(t, "Key of a closed module", err)

	dc, err := jitcore.NewDiskCache(t.TempDir(), 0)
	must(t, err)
	must(t, dc.Close())
	must(t, dc.Close())
	_, err = dc.Statistics()
	wantClosed(t, "DiskCache.Statistics", err)
	wantClosed(t, "SetDiskCache of a closed cache", e2.SetDiskCache(dc))
}

func TestNilHandles(t *testing.T) {
	var e *jitcore.Engine
	var s *jitcore.Session
	var d *jitcore.Dylib
	var m *jitcore.Module
	var rt *jitcore.ResourceTracker
	var tm *jitcore.TargetMachine
	var dc *jitcore.DiskCache
	for _, c := range []interface{ Close() error }{e, s, m, rt, tm, dc} {
		must(t, c.Close())
	}
	_, err := e.FunctionAddress("x")
	wantClosed(t, "nil Engine", err)
	_, err = s.Lookup(nil, "x")
	wantClosed(t, "nil Session", err)
	_, err = d.Lookup("x")
	wantClosed(t, "nil Dylib", err)
	wantClosed(t, "nil Module", newEngine(t, nil).AddModule(m))
	live := newSession(t, nil)
	_, err = live.Lookup(nil, "x")
	wantClosed(t, "Lookup from a nil Dylib", err)
	wantClosed(t, "nil Module to a dylib", live.MainDylib().AddModule(nil, nil))
	wantClosed(t, "nil tracker", rt.Remove())
	_, err = jitcore.NewEngine(nil, nil)
	wantClosed(t, "NewEngine(nil)", err)
	if _, err := jitcore.CallInt64(0); !errors.Is(err, jitcore.CodeInvalidArgument) {
		t.Error("CallInt64(0) did not refuse")
	}
	if _, err := jitcore.CallInt64(1, 1, 2, 3, 4, 5, 6, 7); !errors.Is(err, jitcore.CodeUnsupported) {
		t.Error("CallInt64 with 7 arguments did not refuse")
	}
	if _, err := jitcore.Func[func(string) string](1); !errors.Is(err, jitcore.CodeUnsupported) {
		t.Error("Func of an unsupported signature did not refuse")
	}
}

// Who owns a module: the caller, an engine (until RemoveModule), a session
// (for good). Close does nothing to a module it does not own.
func TestModuleOwnership(t *testing.T) {
	m := parse(t, "sum", sumIR)
	e1 := newEngine(t, m)
	e2 := newEngine(t, nil)
	wantCode(t, e2.AddModule(m), jitcore.CodeModuleAlreadyAdded, "sum")
	wantCode(t, e2.RemoveModule(m), jitcore.CodeModuleNotFound, "sum")
	must(t, m.Close()) // the engine's: nothing happens
	if lookupEngineCall(t, e1, "sum", 1, 1) != 2 {
		t.Fatal("the engine lost its module to Close")
	}
	must(t, e1.RemoveModule(m))
	must(t, e2.AddModule(m)) // moved to another engine
	s := newSession(t, nil)
	wantCode(t, s.MainDylib().AddModule(m, nil), jitcore.CodeModuleAlreadyAdded)
	must(t, e2.RemoveModule(m))
	must(t, s.MainDylib().AddModule(m, nil))
	wantCode(t, s.MainDylib().AddModule(m, nil), jitcore.CodeModuleAlreadyAdded, "session owns it")
	wantCode(t, e1.AddModule(m), jitcore.CodeModuleAlreadyAdded, "session owns it")
	must(t, m.Close())

	// A module freed with its engine is refused, not freed twice.
	m3 := parse(t, "three", "define i64 @three() { ret i64 3 }\n")
	e3 := newEngine(t, m3)
	must(t, e3.Close())
	wantCode(t, e1.AddModule(m3), jitcore.CodeInvalidArgument, "freed with the engine")
	must(t, m3.Close())
}

// Close while other goroutines use the handle: each call either works or
// returns ErrClosed; Close waits for the calls in flight.
func TestCloseRacesUse(t *testing.T) {
	for round := 0; round < 3; round++ {
		s, err := jitcore.NewSession(nil)
		must(t, err)
		d := s.MainDylib()
		must(t, d.AddModule(parse(t, "sum", sumIR), nil))
		e := newEngine(t, parse(t, "sum", sumIR))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < 200; i++ {
					_, err1 := d.Lookup("sum")
					_, err2 := e.FunctionAddress("sum")
					_, err3 := s.Statistics()
					for _, err := range []error{err1, err2, err3} {
						if err != nil && !errors.Is(err, jitcore.ErrClosed) {
							t.Errorf("a call racing Close: %v", err)
							return
						}
					}
					if err1 != nil && err2 != nil {
						return
					}
				}
			}()
		}
		close(start)
		must(t, s.Close())
		must(t, e.Close())
		wg.Wait()
	}
}
