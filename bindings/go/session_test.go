package jitcore_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"jitcore"
	"jitcore/internal/testhost"
)

func TestSessionOptions(t *testing.T) {
	o := jitcore.DefaultSessionOptions()
	if o.OptLevel != jitcore.O2 || o.CompileThreads != 0 || o.LazyByDefault || o.EnableDebugger || o.EnablePerf {
		t.Fatalf("defaults %+v", o)
	}
	bad := o
	bad.OptLevel = 9
	_, err := jitcore.NewSession(&bad)
	wantCode(t, err, jitcore.CodeInvalidArgument)

	// LazyByDefault: AddModule is lazy, so a lookup compiles nothing.
	o.LazyByDefault = true
	s := newSession(t, &o)
	d := s.MainDylib()
	must(t, d.AddModule(parse(t, "lazy", sumIR), nil))
	addr, err := d.Lookup("sum")
	must(t, err)
	st, _ := s.Statistics()
	if st.ModulesCompiled != 0 {
		t.Fatalf("a lazy lookup compiled: %+v", st)
	}
	if r, _ := jitcore.CallInt64(addr, 4, 5); r != 9 {
		t.Fatal("sum through the lazy stub")
	}
	st, _ = s.Statistics()
	if st.ModulesCompiled != 1 {
		t.Fatalf("the first call did not compile: %+v", st)
	}
}

// ORC's libA/libB/main example: link order decides which definition a
// dylib's code binds to.
func TestSessionDylibsAndLinkOrder(t *testing.T) {
	s := newSession(t, nil)
	main := s.MainDylib()
	if main.Name() != "main" || s.DylibByName("main") != main || s.MainDylib() != main || main.Session() != s {
		t.Fatal("the main dylib is not one stable value")
	}
	a, err := s.CreateDylib("libA")
	must(t, err)
	b, err := s.CreateDylib("libB")
	must(t, err)
	_, err = s.CreateDylib("libA")
	wantCode(t, err, jitcore.CodeInvalidArgument, "libA")
	if s.DylibByName("nope") != nil || s.DylibByName("libB") != b {
		t.Fatal("DylibByName")
	}
	must(t, a.AddModule(parse(t, "a", "define i64 @which() { ret i64 1 }\n"), nil))
	must(t, b.AddModule(parse(t, "b", "define i64 @which() { ret i64 2 }\n"), nil))
	must(t, main.AddModule(parse(t, "m", "declare i64 @which()\ndefine i64 @ask() { %r = call i64 @which()\n ret i64 %r }\n"), nil))
	must(t, main.SetLinkOrder(b, a))
	if lookupCall(t, main, "ask") != 2 {
		t.Fatal("main should bind which to libB, the first of its link order")
	}
	if lookupCall(t, a, "which") != 1 {
		t.Fatal("libA's own which")
	}
	_, err = a.Lookup("ask")
	wantCode(t, err, jitcore.CodeSymbolNotFound, "ask")

	other := newSession(t, nil)
	wantCode(t, main.SetLinkOrder(other.MainDylib()), jitcore.CodeInvalidArgument, "another session")
	_, err = other.Lookup(main, "ask")
	wantCode(t, err, jitcore.CodeInvalidArgument, "another session")
	must(t, main.SetLinkOrder()) // empty is fine
}

const hostCallsIR = `
declare i64 @host_triple(i64)
declare i64 @host_go_add(i64, i64)
declare double @host_half(double)
define i64 @use_hosts(i64 %x) {
  %t = call i64 @host_triple(i64 %x)
  %s = call i64 @host_go_add(i64 %t, i64 1)
  ret i64 %s
}
define double @halve(double %x) {
  %r = call double @host_half(double %x)
  ret double %r
}
`

func TestSessionAbsoluteSymbolsAndGoCallbacksFromJit(t *testing.T) {
	s := newSession(t, nil)
	d := s.MainDylib()
	hosts := map[string]uint64{
		"host_triple": testhost.TripleAddr(),
		"host_go_add": testhost.GoAddAddr(),
		"host_half":   testhost.HalfAddr(),
	}
	must(t, d.DefineAbsoluteSymbols(hosts))
	wantCode(t, d.DefineAbsoluteSymbols(map[string]uint64{"host_triple": 1}), jitcore.CodeDuplicateDefinition, "host_triple")
	wantCode(t, d.DefineAbsoluteSymbols(map[string]uint64{"": 1}), jitcore.CodeInvalidArgument)
	must(t, d.AddModule(parse(t, "hosts", hostCallsIR), nil))
	before := testhost.GoAddCalls()
	// Jitted code calls a C function and a Go function (through its cgo
	// export), from several goroutines at once.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int64) {
			defer wg.Done()
			if r := lookupCall(t, d, "use_hosts", g); r != 3*g+1 {
				t.Errorf("use_hosts(%d) = %d", g, r)
			}
		}(int64(g))
	}
	wg.Wait()
	if testhost.GoAddCalls()-before != 4 {
		t.Fatal("the Go host function was not called 4 times")
	}
	addr, err := d.Lookup("halve")
	must(t, err)
	halve, err := jitcore.Func[func(float64) float64](addr)
	must(t, err)
	if halve(5) != 2.5 {
		t.Fatal("halve(5)")
	}
	if r, _ := jitcore.CallFloat64(addr, 1); r != 0.5 {
		t.Fatal("CallFloat64 halve(1)")
	}
}

func TestSessionProcessSymbolsWithFilter(t *testing.T) {
	s := newSession(t, nil)
	d, err := s.CreateDylib("filtered")
	must(t, err)
	var mu sync.Mutex
	asked := map[string]bool{}
	must(t, d.AddProcessSymbols(func(name string) bool {
		mu.Lock()
		asked[name] = true
		mu.Unlock()
		return name == "strlen"
	}))
	must(t, d.AddModule(parse(t, "len", `
@s = global [6 x i8] c"hello\00" ; not constant, so strlen is called, not folded
declare i64 @strlen(ptr)
define i64 @len() { %n = call i64 @strlen(ptr @s)
 ret i64 %n }
`), nil))
	if lookupCall(t, d, "len") != 5 {
		t.Fatal("strlen through the process symbols")
	}
	// (getpid, not a libcall LLVM would fold into an intrinsic.)
	must(t, d.AddModule(parse(t, "pid", getpidIR("mypid")), nil))
	_, err = d.Lookup("mypid")
	wantCode(t, err, jitcore.CodeUnresolvedSymbol, "getpid")
	mu.Lock()
	if !asked["strlen"] || !asked["getpid"] {
		t.Errorf("the filter was asked %v", asked)
	}
	mu.Unlock()

	// A panicking filter denies, and the panic is reported.
	d2, err := s.CreateDylib("panicky")
	must(t, err)
	var reported atomic.Int32
	must(t, s.SetErrorReporter(func(code jitcore.ErrorCode, msg string) {
		if code == jitcore.CodeInternal && strings.Contains(msg, "filter says no") {
			reported.Add(1)
		}
	}))
	must(t, d2.AddProcessSymbols(func(string) bool { panic("filter says no") }))
	must(t, d2.AddModule(parse(t, "len2", "declare i64 @strlen(ptr)\ndefine i64 @len2(ptr %p) { %n = call i64 @strlen(ptr %p)\n ret i64 %n }\n"), nil))
	_, err = d2.Lookup("len2")
	wantCode(t, err, jitcore.CodeUnresolvedSymbol, "strlen")
	if reported.Load() == 0 {
		t.Error("the filter's panic was not reported")
	}
	// Without a filter, everything the process exports.
	d3, err := s.CreateDylib("all")
	must(t, err)
	must(t, d3.AddProcessSymbols(nil))
	must(t, d3.AddModule(parse(t, "pid3", getpidIR("mypid3")), nil))
	if lookupCall(t, d3, "mypid3") != int64(os.Getpid()) {
		t.Fatal("getpid through unfiltered process symbols")
	}
}

func getpidIR(name string) string {
	return "declare i32 @getpid()\ndefine i64 @" + name + "() { %r = call i32 @getpid()\n %w = sext i32 %r to i64\n ret i64 %w }\n"
}

func TestSessionLibraryAndArchive(t *testing.T) {
	s := newSession(t, nil)
	d, err := s.CreateDylib("withlib")
	must(t, err)
	lib := loadedLibjitcore(t)
	var filtered []string
	var mu sync.Mutex
	must(t, d.AddLibrarySymbols(lib, func(name string) bool {
		mu.Lock()
		filtered = append(filtered, name)
		mu.Unlock()
		return strings.HasPrefix(name, "JitcoreGetVersionString")
	}))
	wantCode(t, d.AddLibrarySymbols("/no/such/lib.so", nil), jitcore.CodeIO, "/no/such/lib.so")
	must(t, d.AddModule(parse(t, "ver", `
declare ptr @JitcoreGetVersionString()
define i64 @first_version_char() {
  %p = call ptr @JitcoreGetVersionString()
  %c = load i8, ptr %p
  %w = zext i8 %c to i64
  ret i64 %w
}
`), nil))
	if got := lookupCall(t, d, "first_version_char"); byte(got) != jitcore.VersionString()[0] {
		t.Fatalf("first version char %q", rune(got))
	}
	if len(filtered) == 0 {
		t.Fatal("the library filter was never asked")
	}

	// An archive written here, from objects jitcore compiled: only the
	// member a module needs is linked.
	sumObj := objectOf(t, "sum.o", sumIR, "sum", nil)
	badObj := objectOf(t, "bad.o", "declare i64 @missing_ext()\ndefine i64 @bad_fn() { %r = call i64 @missing_ext()\n ret i64 %r }\n",
		"bad_fn", map[string]uint64{"missing_ext": testhost.TripleAddr()})
	dir := t.TempDir()
	ar := filepath.Join(dir, "libsum.a")
	writeArchive(t, ar, []string{"sum.o", "bad.o"}, [][]byte{sumObj, badObj}, []string{"sum", "bad_fn"})
	d2, err := s.CreateDylib("witharchive")
	must(t, err)
	must(t, d2.AddArchive(ar))
	wantCode(t, d2.AddArchive(filepath.Join(dir, "missing.a")), jitcore.CodeIO, "missing.a")
	junk := filepath.Join(dir, "junk.a")
	writeFile(t, junk, "this is not an archive\n")
	wantCode(t, d2.AddArchive(junk), jitcore.CodeInvalidObject, "junk.a")
	must(t, d2.AddModule(parse(t, "uses_sum", "declare i64 @sum(i64, i64)\ndefine i64 @add3(i64 %x) { %r = call i64 @sum(i64 %x, i64 3)\n ret i64 %r }\n"), nil))
	if lookupCall(t, d2, "add3", 4) != 7 {
		t.Fatal("sum from the archive")
	}
	st, _ := s.Statistics()
	if st.MaterializationFailures != 0 {
		t.Fatalf("bad.o was linked: %+v", st)
	}
}

func TestSessionMaterializers(t *testing.T) {
	s := newSession(t, nil)
	d := s.MainDylib()
	var calls, disposes atomic.Int32
	var askedMu sync.Mutex
	var asked []string
	gen := func(symbols []string) (*jitcore.Module, []byte, error) {
		calls.Add(1)
		askedMu.Lock()
		asked = append(asked, symbols...)
		askedMu.Unlock()
		m, err := jitcore.ParseIRString("generated", "define i64 @gen_a() { ret i64 1 }\ndefine i64 @gen_b() { %r = call i64 @gen_a()\n %s = add i64 %r, 1\n ret i64 %s }\n")
		return m, nil, err
	}
	must(t, d.AddMaterializer([]string{"gen_a", "gen_b"}, gen, func() { disposes.Add(1) }, nil))
	if calls.Load() != 0 {
		t.Fatal("materialized before a lookup")
	}
	if lookupCall(t, d, "gen_a") != 1 || lookupCall(t, d, "gen_b") != 2 || calls.Load() != 1 {
		t.Fatalf("gen_a, gen_b: %d calls", calls.Load())
	}
	askedMu.Lock()
	if len(asked) == 0 || asked[0] != "gen_a" && asked[0] != "gen_b" {
		t.Errorf("asked %v", asked)
	}
	askedMu.Unlock()

	// An object, under a tracker whose removal disposes of it.
	rt, err := d.CreateResourceTracker()
	must(t, err)
	obj := objectOf(t, "obj_fn.o", "define i64 @obj_fn() { ret i64 77 }\n", "obj_fn", nil)
	var objDisposed atomic.Int32
	must(t, d.AddMaterializer([]string{"obj_fn"}, func([]string) (*jitcore.Module, []byte, error) {
		return nil, obj, nil
	}, func() { objDisposed.Add(1) }, rt))
	if lookupCall(t, d, "obj_fn") != 77 {
		t.Fatal("obj_fn from a materialized object")
	}
	must(t, rt.Remove())
	must(t, rt.Close())
	if objDisposed.Load() != 1 {
		t.Fatal("removing the tracker did not dispose of the materializer")
	}

	// Errors: a Go error keeps an *Error's code; other errors are COMPILE;
	// a panic is INTERNAL. The lookup fails, the next one asks again.
	var failCalls atomic.Int32
	must(t, d.AddMaterializer([]string{"gen_io"}, func([]string) (*jitcore.Module, []byte, error) {
		failCalls.Add(1)
		return nil, nil, &jitcore.Error{Code: jitcore.CodeIO, Message: "disk on fire"}
	}, nil, nil))
	_, err = d.Lookup("gen_io")
	wantCode(t, err, jitcore.CodeIO, "disk on fire")
	_, err = d.Lookup("gen_io")
	wantCode(t, err, jitcore.CodeIO, "disk on fire")
	if failCalls.Load() != 2 {
		t.Fatalf("a failed materializer was called %d times, want 2", failCalls.Load())
	}
	must(t, d.AddMaterializer([]string{"gen_plain"}, func([]string) (*jitcore.Module, []byte, error) {
		return nil, nil, errors.New("plain Go error")
	}, nil, nil))
	_, err = d.Lookup("gen_plain")
	wantCode(t, err, jitcore.CodeCompile, "plain Go error")
	must(t, d.AddMaterializer([]string{"gen_panic"}, func([]string) (*jitcore.Module, []byte, error) {
		panic("materializer says no")
	}, nil, nil))
	_, err = d.Lookup("gen_panic")
	wantCode(t, err, jitcore.CodeInternal, "materializer says no")
	must(t, d.AddMaterializer([]string{"gen_nothing"}, func([]string) (*jitcore.Module, []byte, error) {
		return nil, nil, nil
	}, nil, nil))
	_, err = d.Lookup("gen_nothing")
	wantCode(t, err, jitcore.CodeInvalidArgument, "neither")

	// A duplicate symbol: the call fails and disposes of the context at once.
	var dupDisposed atomic.Int32
	err = d.AddMaterializer([]string{"gen_a"}, gen, func() { dupDisposed.Add(1) }, nil)
	wantCode(t, err, jitcore.CodeDuplicateDefinition, "gen_a")
	if dupDisposed.Load() != 1 {
		t.Fatal("a failed AddMaterializer did not dispose of its context")
	}
	wantCode(t, d.AddMaterializer(nil, gen, nil, nil), jitcore.CodeInvalidArgument)

	must(t, s.Close())
	if disposes.Load() != 1 {
		t.Fatal("closing the session did not dispose of the materializer")
	}
}

func TestSessionTrackersAndCodeBytesLive(t *testing.T) {
	s := newSession(t, nil)
	d := s.MainDylib()
	rt, err := d.CreateResourceTracker()
	must(t, err)
	defer rt.Close()
	if rt.Dylib() != d {
		t.Fatal("rt.Dylib()")
	}
	m := parse(t, "tracked", sumIR)
	must(t, d.AddModule(m, rt))
	wantCode(t, d.AddModule(m, nil), jitcore.CodeModuleAlreadyAdded, "tracked")
	must(t, d.AddModuleLazy(parse(t, "lazy", "define i64 @lazy_fn() { ret i64 3 }\n"), rt))
	must(t, d.AddObjectBuffer(objectOf(t, "o", "define i64 @obj_fn() { ret i64 4 }\n", "obj_fn", nil), rt))
	wantCode(t, d.AddObjectBuffer([]byte("junk"), rt), jitcore.CodeInvalidObject)
	if lookupCall(t, d, "sum", 1, 2) != 3 || lookupCall(t, d, "lazy_fn") != 3 || lookupCall(t, d, "obj_fn") != 4 {
		t.Fatal("calls under the tracker")
	}
	st, _ := s.Statistics()
	if st.CodeBytesLive == 0 {
		t.Fatalf("no code live: %+v", st)
	}
	must(t, rt.Remove())
	st, _ = s.Statistics()
	if st.CodeBytesLive != 0 {
		t.Fatalf("CodeBytesLive after removal: %d", st.CodeBytesLive)
	}
	_, err = d.Lookup("sum")
	wantCode(t, err, jitcore.CodeSymbolNotFound, "sum")
	wantCode(t, d.AddModule(parse(t, "late", "define i64 @late() { ret i64 1 }\n"), rt), jitcore.CodeInvalidArgument)

	other, err := s.CreateDylib("other")
	must(t, err)
	wantCode(t, other.AddModule(parse(t, "x", sumIR), mustTracker(t, d)), jitcore.CodeInvalidArgument, "tracker")
}

func mustTracker(t *testing.T, d *jitcore.Dylib) *jitcore.ResourceTracker {
	rt, err := d.CreateResourceTracker()
	must(t, err)
	t.Cleanup(func() { rt.Close() })
	return rt
}

func TestSessionLookupMany(t *testing.T) {
	s := newSession(t, nil)
	d := s.MainDylib()
	must(t, d.AddModule(parse(t, "a", "define i64 @one() { ret i64 1 }\n"), nil))
	must(t, d.AddModule(parse(t, "b", "define i64 @two() { ret i64 2 }\n"), nil))
	addrs, err := s.LookupMany(d, "one", "two")
	must(t, err)
	for i, a := range addrs {
		if r, _ := jitcore.CallInt64(a); r != int64(i+1) {
			t.Fatalf("LookupMany[%d] -> %d", i, r)
		}
	}
	_, err = s.LookupMany(d, "one", "three")
	wantCode(t, err, jitcore.CodeSymbolNotFound, "three")
	none, err := s.LookupMany(d)
	if err != nil || len(none) != 0 {
		t.Fatal("LookupMany of nothing")
	}
}

// The object cache's callbacks run on jitcore's compile threads: notify and
// getBuffer are called from threads that are not the looking-up one, with
// keys that are the session's own, and the race detector sees the Go side.
func TestSessionObjectCacheFromCompileThreads(t *testing.T) {
	const n = 12
	c := newMemCache()
	var tidMu sync.Mutex
	tids := map[int]int{}
	notify := func(m *jitcore.CacheModule, obj []byte) {
		tidMu.Lock()
		tids[syscall.Gettid()]++
		tidMu.Unlock()
		c.notify(m, obj)
	}
	var keep *jitcore.CacheModule
	getBuffer := func(m *jitcore.CacheModule) []byte {
		tidMu.Lock()
		keep = m
		tidMu.Unlock()
		return c.getBuffer(m)
	}
	run := func() (jitcore.Statistics, int) {
		o := jitcore.DefaultSessionOptions()
		o.CompileThreads = 2
		s := newSession(t, &o)
		must(t, s.SetObjectCache(notify, getBuffer))
		d := s.MainDylib()
		names := make([]string, n)
		for i := range names {
			names[i] = "f" + string(rune('a'+i))
			must(t, d.AddModule(parse(t, "mod_"+names[i], "define i64 @"+names[i]+"() { ret i64 "+string(rune('0'+i%10))+" }\n"), nil))
		}
		runtime.LockOSThread()
		me := syscall.Gettid()
		addrs, err := s.LookupMany(d, names...)
		runtime.UnlockOSThread()
		must(t, err)
		for i, a := range addrs {
			if r, _ := jitcore.CallInt64(a); r != int64(i%10) {
				t.Fatalf("%s() = %d", names[i], r)
			}
		}
		st, err := s.Statistics()
		must(t, err)
		return st, me
	}
	st, me := run()
	notified, asked := c.counts()
	if st.ModulesCompiled != n || notified != n || asked != n {
		t.Fatalf("first run: %+v, notified %d, asked %d", st, notified, asked)
	}
	tidMu.Lock()
	var elsewhere int
	for tid, k := range tids {
		if tid != me {
			elsewhere += k
		}
	}
	tidMu.Unlock()
	if elsewhere == 0 {
		t.Fatalf("every notify ran on the looking-up thread %d: %v", me, tids)
	}
	st, _ = run()
	notified, _ = c.counts()
	if st.CacheHits != n || st.ModulesCompiled != 0 || notified != n {
		t.Fatalf("second run: %+v, notified %d", st, notified)
	}
	if len(c.keyErrs) != 0 {
		t.Fatalf("keys in callbacks failed: %v", c.keyErrs)
	}
	// A CacheModule kept past its callback is refused, not a dangling handle.
	_, _, err := keep.Key()
	if !errors.Is(err, jitcore.ErrClosed) || keep.Name() != "" {
		t.Fatalf("a CacheModule used after its callback: %v", err)
	}
	names := make([]string, 0, len(c.names))
	for _, v := range c.names {
		names = append(names, v)
	}
	sort.Strings(names)
	if names[0] != "mod_fa" {
		t.Fatalf("module names in the callbacks: %v", names)
	}
}

func TestSessionDiskCacheAndPipeline(t *testing.T) {
	dir := t.TempDir()
	dc, err := jitcore.NewDiskCache(dir, 0)
	must(t, err)
	defer dc.Close()
	for run := 0; run < 2; run++ {
		s := newSession(t, nil)
		must(t, s.SetDiskCache(dc))
		d := s.MainDylib()
		must(t, d.AddModule(parse(t, "sum", sumIR), nil))
		if lookupCall(t, d, "sum", 1, 2) != 3 {
			t.Fatal("sum")
		}
		st, _ := s.Statistics()
		if st.CacheHits != uint64(run) {
			t.Fatalf("run %d: %+v", run, st)
		}
		must(t, s.SetDiskCache(nil))
	}
	dst, err := dc.Statistics()
	must(t, err)
	if dst.Writes != 1 || dst.Hits != 1 || dst.Entries != 1 || dst.BytesOnDisk == 0 {
		t.Fatalf("disk cache statistics %+v", dst)
	}
	_, err = jitcore.NewDiskCache("", 0)
	wantCode(t, err, jitcore.CodeInvalidArgument)

	// Another IR pipeline is another key: the cache compiles again.
	s := newSession(t, nil)
	must(t, s.SetDiskCache(dc))
	wantCode(t, s.SetIRPipeline(jitcore.PipelineCustom, "bogus"), jitcore.CodeInvalidArgument, "bogus")
	must(t, s.SetIRPipeline(jitcore.PipelineNone, ""))
	d := s.MainDylib()
	must(t, d.AddModule(parse(t, "sum", sumIR), nil))
	lookupCall(t, d, "sum", 1, 1)
	st, _ := s.Statistics()
	if st.CacheHits != 0 || st.ModulesCompiled != 1 {
		t.Fatalf("PipelineNone hit the default pipeline's entry: %+v", st)
	}
}

// Constructors run only through Initialize; Deinitialize runs the exit
// handlers jitted code registered with atexit (last first), then the
// destructors.
func TestDylibInitializeDeinitialize(t *testing.T) {
	s := newSession(t, nil)
	d := s.MainDylib()
	must(t, d.AddModule(parse(t, "init", `
@log = global i64 0
@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]
@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @fini, ptr null }]
declare i32 @atexit(ptr)
define internal void @push(i64 %digit) {
  %v = load i64, ptr @log
  %m = mul i64 %v, 10
  %n = add i64 %m, %digit
  store i64 %n, ptr @log
  ret void
}
define internal void @on_exit_a() {
  call void @push(i64 2)
  ret void
}
define internal void @on_exit_b() {
  call void @push(i64 3)
  ret void
}
define internal void @init() {
  call void @push(i64 1)
  call i32 @atexit(ptr @on_exit_a)
  call i32 @atexit(ptr @on_exit_b)
  ret void
}
define internal void @fini() {
  call void @push(i64 4)
  ret void
}
define i64 @get_log() {
  %v = load i64, ptr @log
  ret i64 %v
}
`), nil))
	if got := lookupCall(t, d, "get_log"); got != 0 {
		t.Fatalf("a lookup ran constructors: log %d", got)
	}
	must(t, d.Initialize())
	must(t, d.Initialize()) // nothing new is due: no constructor runs twice
	if got := lookupCall(t, d, "get_log"); got != 1 {
		t.Fatalf("after Initialize: log %d, want 1", got)
	}
	must(t, d.Deinitialize())
	// exit handlers last registered first (3, then 2), then the destructor (4)
	if got := lookupCall(t, d, "get_log"); got != 1324 {
		t.Fatalf("after Deinitialize: log %d, want 1324", got)
	}
	must(t, d.Deinitialize()) // each ran once
	if got := lookupCall(t, d, "get_log"); got != 1324 {
		t.Fatalf("after a second Deinitialize: log %d", got)
	}
	must(t, s.Close())
	wantClosed(t, "Initialize", d.Initialize())
	wantClosed(t, "Deinitialize", d.Deinitialize())
}
