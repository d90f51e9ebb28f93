package jitcore_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"jitcore"
	"jitcore/internal/testhost"
)

func newEngine(t testing.TB, m *jitcore.Module) *jitcore.Engine {
	t.Helper()
	tm := newTM(t, jitcore.O2)
	e, err := jitcore.NewEngine(tm, m)
	must(t, err)
	must(t, tm.Close()) // the engine keeps its own copy
	t.Cleanup(func() { e.Close() })
	return e
}

func TestEngineBasics(t *testing.T) {
	m := parse(t, "sum", sumIR)
	e := newEngine(t, m)
	addr, err := e.FunctionAddress("sum")
	must(t, err)
	if r, err := jitcore.CallInt64(addr, 2, -5); err != nil || r != -3 {
		t.Fatalf("sum(2, -5) = %d, %v", r, err)
	}
	sum, err := jitcore.Func[func(int64, int64) int64](addr)
	must(t, err)
	if sum(40, 2) != 42 {
		t.Fatal("Func sum(40, 2) != 42")
	}
	sumInt, err := jitcore.Func[func(int, int) int](addr)
	must(t, err)
	if sumInt(-1, -1) != -2 {
		t.Fatal("Func[func(int, int) int]")
	}

	_, err = e.FunctionAddress("no_such_function")
	wantCode(t, err, jitcore.CodeSymbolNotFound, "no_such_function")

	// Remove gives the module back: its symbols are gone, it can be added again.
	must(t, e.RemoveModule(m))
	_, err = e.FunctionAddress("sum")
	wantCode(t, err, jitcore.CodeSymbolNotFound, "sum")
	wantCode(t, e.RemoveModule(m), jitcore.CodeModuleNotFound, "sum")
	must(t, e.AddModule(m))
	wantCode(t, e.AddModule(m), jitcore.CodeModuleAlreadyAdded, "sum")
	if got := lookupEngineCall(t, e, "sum", 1, 2); got != 3 {
		t.Fatalf("after re-adding, sum(1, 2) = %d", got)
	}
	// Another module defining sum: a duplicate, and the caller keeps it.
	dup := parse(t, "dup", sumIR)
	wantCode(t, e.AddModule(dup), jitcore.CodeDuplicateDefinition, "sum")
	must(t, dup.Close())

	st, err := e.Statistics()
	must(t, err)
	if st.ModulesCompiled != 2 || st.FunctionsCompiled < 2 || st.ObjectBytesEmitted == 0 {
		t.Fatalf("statistics %+v", st)
	}
}

func lookupEngineCall(t testing.TB, e *jitcore.Engine, name string, args ...int64) int64 {
	t.Helper()
	addr, err := e.FunctionAddress(name)
	must(t, err)
	r, err := jitcore.CallInt64(addr, args...)
	must(t, err)
	return r
}

const ctorsIR = `
@counter = global i64 1
@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]
@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @fini, ptr null }]
define internal void @init() {
  store i64 42, ptr @counter
  ret void
}
define internal void @fini() {
  store i64 7, ptr @counter
  ret void
}
define i64 @peek(i64 %a) {
  %p = inttoptr i64 %a to ptr
  %v = load i64, ptr %p
  ret i64 %v
}
`

func TestEngineGlobalsCtorsTargetData(t *testing.T) {
	e := newEngine(t, parse(t, "ctors", ctorsIR))
	counter, err := e.GlobalValueAddress("counter")
	must(t, err)
	peek := func() int64 { return lookupEngineCall(t, e, "peek", int64(counter)) }
	if peek() != 1 {
		t.Fatal("counter is not 1 before the constructors")
	}
	must(t, e.RunStaticConstructors())
	if peek() != 42 {
		t.Fatal("the constructor did not run")
	}
	must(t, e.RunStaticDestructors())
	if peek() != 7 {
		t.Fatal("the destructor did not run")
	}

	td := e.TargetData()
	if td.PointerSize() != 8 {
		t.Errorf("PointerSize = %d", td.PointerSize())
	}
	if n, err := td.ABISize("{i64, [2 x i64]}"); err != nil || n != 24 {
		t.Errorf("ABISize = %d, %v", n, err)
	}
	if n, err := td.ABIAlignment("i32"); err != nil || n != 4 {
		t.Errorf("ABIAlignment(i32) = %d, %v", n, err)
	}
	_, err = td.ABISize("not a type")
	wantCode(t, err, jitcore.CodeInvalidArgument)
}

const callsHostIR = `
declare i64 @host_triple(i64)
define i64 @nine_times(i64 %x) {
  %a = call i64 @host_triple(i64 %x)
  %b = call i64 @host_triple(i64 %a)
  ret i64 %b
}
`

func TestEngineGlobalMappingAndFinalize(t *testing.T) {
	e := newEngine(t, nil)
	must(t, e.AddModule(parse(t, "calls_host", callsHostIR)))
	// Nobody provides host_triple yet: the compile fails, naming it, and the
	// module stays, to be compiled again once it exists.
	wantCode(t, e.FinalizeObject(), jitcore.CodeUnresolvedSymbol, "host_triple")
	must(t, e.AddGlobalMapping("host_triple", testhost.TripleAddr()))
	wantCode(t, e.AddGlobalMapping("host_triple", testhost.TripleAddr()), jitcore.CodeDuplicateDefinition)
	must(t, e.FinalizeObject())
	if got := lookupEngineCall(t, e, "nine_times", 5); got != 45 {
		t.Fatalf("nine_times(5) = %d", got)
	}
}

func TestEngineObjects(t *testing.T) {
	obj := objectOf(t, "objsum", sumIR, "sum", nil)
	e := newEngine(t, nil)
	must(t, e.AddObjectBuffer(obj))
	if lookupEngineCall(t, e, "sum", 20, 22) != 42 {
		t.Fatal("sum from an object buffer")
	}
	wantCode(t, e.AddObjectBuffer([]byte("not an object")), jitcore.CodeInvalidObject)

	path := filepath.Join(t.TempDir(), "other.o")
	must(t, os.WriteFile(path, objectOf(t, "other", "define i64 @other() { ret i64 9 }\n", "other", nil), 0o644))
	e2 := newEngine(t, nil)
	must(t, e2.AddObjectFile(path))
	if lookupEngineCall(t, e2, "other") != 9 {
		t.Fatal("other from an object file")
	}
	wantCode(t, e2.AddObjectFile(path+".missing"), jitcore.CodeIO, "other.o.missing")
}

// An engine's object cache: the first engine compiles and notifies, a
// second one loads from the cache, a third gets a bad object and compiles
// (the reporter hears of it), and a panicking getBuffer is recovered.
func TestEngineObjectCache(t *testing.T) {
	c := newMemCache()
	tm := newTM(t, jitcore.O2)
	keyOutside := func() string {
		m := parse(t, "sum", sumIR)
		_, hex, err := m.Key(tm)
		must(t, err)
		return hex
	}()

	e1 := newEngine(t, parse(t, "sum", sumIR))
	must(t, e1.SetObjectCache(c.notify, c.getBuffer))
	if lookupEngineCall(t, e1, "sum", 1, 1) != 2 {
		t.Fatal("sum")
	}
	if n, a := c.counts(); n != 1 || a != 1 {
		t.Fatalf("first engine: notified %d, asked %d", n, a)
	}
	if _, ok := c.objects[keyOutside]; !ok {
		t.Fatalf("the key in the callback (TM NULL) differs from Module.Key at O2: %v", c.names)
	}

	e2 := newEngine(t, parse(t, "sum", sumIR))
	must(t, e2.SetObjectCache(c.notify, c.getBuffer))
	if lookupEngineCall(t, e2, "sum", 2, 2) != 4 {
		t.Fatal("sum from the cache")
	}
	st, err := e2.Statistics()
	must(t, err)
	if n, _ := c.counts(); n != 1 || st.CacheHits != 1 || st.ModulesCompiled != 0 {
		t.Fatalf("second engine: notified %d, %+v", n, st)
	}

	var mu sync.Mutex
	var reports []jitcore.ErrorCode
	reporter := func(code jitcore.ErrorCode, msg string) {
		mu.Lock()
		reports = append(reports, code)
		mu.Unlock()
	}
	e3 := newEngine(t, parse(t, "sum", sumIR))
	must(t, e3.SetErrorReporter(reporter))
	must(t, e3.SetObjectCache(nil, func(*jitcore.CacheModule) []byte { return []byte("garbage") }))
	if lookupEngineCall(t, e3, "sum", 3, 3) != 6 {
		t.Fatal("sum after a rejected cache entry")
	}
	st, err = e3.Statistics()
	must(t, err)
	if st.CacheRejected != 1 || st.ModulesCompiled != 1 {
		t.Fatalf("third engine: %+v", st)
	}

	e4 := newEngine(t, parse(t, "sum", sumIR))
	must(t, e4.SetErrorReporter(reporter))
	must(t, e4.SetObjectCache(func(*jitcore.CacheModule, []byte) { panic("notify says no") },
		func(*jitcore.CacheModule) []byte { panic("getbuffer says no") }))
	if lookupEngineCall(t, e4, "sum", 4, 4) != 8 {
		t.Fatal("sum after panicking callbacks")
	}
	mu.Lock()
	defer mu.Unlock()
	var cache, internal int
	for _, r := range reports {
		switch r {
		case jitcore.CodeCache:
			cache++
		case jitcore.CodeInternal:
			internal++
		}
	}
	if cache != 1 || internal != 2 {
		t.Fatalf("reports %v: want one CACHE (the rejected entry) and two INTERNAL (the panics)", reports)
	}
	// Removing the cache: nothing is asked any more.
	must(t, e1.SetObjectCache(nil, nil))
	must(t, e1.AddModule(parse(t, "more", "define i64 @more() { ret i64 5 }\n")))
	lookupEngineCall(t, e1, "more")
	if n, a := c.counts(); n != 1 || a != 2 {
		t.Fatalf("after removing the cache: notified %d, asked %d", n, a)
	}
}

func TestEnginePipelineAndDiskCache(t *testing.T) {
	e := newEngine(t, parse(t, "sum", sumIR))
	wantCode(t, e.SetIRPipeline(jitcore.PipelineCustom, "no-such-pass"), jitcore.CodeInvalidArgument, "no-such-pass")
	must(t, e.SetIRPipeline(jitcore.PipelineCustom, "function(instcombine)"))
	must(t, e.SetIRPipeline(jitcore.PipelineNone, ""))

	tm := newTM(t, jitcore.O2)
	m := parse(t, "sum", sumIR) // the name is part of the key
	_, def, err := m.Key(tm)
	must(t, err)
	_, none, err := m.KeyForPipeline(tm, jitcore.PipelineNone, "")
	must(t, err)
	_, custom, err := m.KeyForPipeline(tm, jitcore.PipelineCustom, "default<O2>")
	must(t, err)
	if def == none || def != custom || len(def) != 64 {
		t.Fatalf("keys: default %s none %s default<O2> %s", def, none, custom)
	}

	dir := t.TempDir()
	for run := 0; run < 2; run++ {
		dc, err := jitcore.NewDiskCache(dir, 0)
		must(t, err)
		e := newEngine(t, parse(t, "sum", sumIR))
		must(t, e.SetDiskCache(dc))
		must(t, dc.Close()) // the engine keeps it alive
		if lookupEngineCall(t, e, "sum", 5, 6) != 11 {
			t.Fatal("sum with a disk cache")
		}
		st, err := e.Statistics()
		must(t, err)
		if run == 0 && (st.ModulesCompiled != 1 || st.CacheHits != 0) || run == 1 && (st.ModulesCompiled != 0 || st.CacheHits != 1) {
			t.Fatalf("run %d: %+v", run, st)
		}
	}
	entries, _ := filepath.Glob(filepath.Join(dir, def+".jco"))
	if len(entries) != 1 {
		t.Fatalf("no entry named by the module key %s in %s", def, dir)
	}
	data, _ := os.ReadFile(entries[0])
	if !bytes.Contains(data, []byte("ELF")) {
		t.Fatal("the entry holds no ELF object")
	}
}

func TestModuleFromLLVMModule(t *testing.T) {
	lm, dispose, ok := testhost.LLVMSumModule("from_llvm_c")
	if !ok {
		t.Fatal("LLVM-C is not in the process, though libjitcore links libLLVM")
	}
	m, err := jitcore.NewModuleFromLLVMModule(lm)
	dispose() // a copy was made: the host's module may go
	must(t, err)
	if m.Name() != "from_llvm_c" {
		t.Errorf("Name() = %q", m.Name())
	}
	e := newEngine(t, m)
	if lookupEngineCall(t, e, "llvm_sum", 30, 12) != 42 {
		t.Fatal("llvm_sum(30, 12)")
	}
	_, err = jitcore.NewModuleFromLLVMModule(nil)
	wantCode(t, err, jitcore.CodeInvalidArgument)
}
