// examples/go/job.go: the job every language's example does (issue 11), in
// Go; examples/c/job.c is the same program in C, line for line.
//
//  1. parse an IR module: one function calls a host function (host_scale,
//     a Go function registered as an absolute symbol / global mapping), one
//     uses libc (strlen);
//  2. JIT it through a session and through an engine;
//  3. with an object cache written here (an in-memory map keyed by the
//     module key, CacheModule.Key, which is JitcoreModuleGetKey(M, NULL, ...)
//     inside the callback), twice: the second run loads from the cache
//     (notify is not called again, the statistics count a hit);
//  4. call the jitted functions and check the results;
//  5. look up a missing symbol: error code and message;
//  6. remove the code (tracker / RemoveModule): CodeBytesLive goes back to 0.
//
// Build and run it as any consumer does (bindings/go/run-tests.sh <prefix>):
//
//	PKG_CONFIG_PATH=<prefix>/lib/pkgconfig CGO_LDFLAGS=-Wl,-rpath,<prefix>/lib go run .
//
// Exits 0 when every check passed.
package main

// The host function is a Go function exported with //export: cgo gives it a
// C-ABI entry point, whose address C.host_scale is (declared below with the
// C types of the export). Jitted code calls it as it would a C function, and
// cgo switches to Go for the call (about 100 ns more than a plain C
// function; a C function defined in the preamble of another file would do
// too, but then the host function would not be Go). This is the one use of
// cgo here: the binding itself needs no C from its users.

/*
#include <stdint.h>
#include <stdlib.h>
extern int64_t host_scale(int64_t x);
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	"jitcore"
)

const ir = `declare i64 @host_scale(i64)
declare i64 @strlen(ptr)
define i64 @scaled_plus_one(i64 %x) {
  %s = call i64 @host_scale(i64 %x)
  %r = add i64 %s, 1
  ret i64 %r
}
define i64 @length_of(ptr %str) {
  %n = call i64 @strlen(ptr %str)
  ret i64 %n
}
`

// The host function the jitted code calls.
//
//export host_scale
func host_scale(x C.int64_t) C.int64_t { return 10 * x }

func hostScaleAddr() uint64 { return uint64(uintptr(unsafe.Pointer(C.host_scale))) }

// ---- an object cache in Go: an in-memory map keyed by the module key ----
type memoryCache struct {
	mu                      sync.Mutex // callbacks may run on compile threads, several at once
	objects                 map[string][]byte
	notified, asked, served int
}

func (c *memoryCache) notify(m *jitcore.CacheModule, object []byte) {
	_, key, err := m.Key()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notified++
	if err == nil {
		c.objects[key] = object // a copy, ours to keep
	}
}

func (c *memoryCache) getBuffer(m *jitcore.CacheModule) []byte {
	_, key, err := m.Key()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked++
	if err != nil {
		return nil
	}
	if obj, ok := c.objects[key]; ok {
		c.served++
		return obj
	}
	return nil // not cached: compile
}

// ---- checks ----
var failures = 0

func check(ok bool, what string) {
	if !ok {
		failures++
		fmt.Printf("CHECK FAILED: %s\n", what)
	}
}

// must stops on an error of a call that must succeed.
func must(err error, what string) {
	if err == nil {
		return
	}
	var je *jitcore.Error
	if errors.As(err, &je) {
		fmt.Printf("job: %s failed: error %d: %s\n", what, int(je.Code), je.Message)
	} else {
		fmt.Printf("job: %s failed: %v\n", what, err)
	}
	os.Exit(1)
}

// 4: call the jitted functions and check the results.
func callAndCheck(label string, run int, scaledAddr, lengthAddr uint64) {
	scaledPlusOne, err := jitcore.Func[func(int64) int64](scaledAddr)
	must(err, "Func scaled_plus_one")
	str := C.CString("hello, jitcore") // C memory: jitted code may read it
	defer C.free(unsafe.Pointer(str))
	a := scaledPlusOne(4)
	b, err := jitcore.CallInt64(lengthAddr, int64(uintptr(unsafe.Pointer(str))))
	must(err, "CallInt64 length_of")
	fmt.Printf("%s run %d: scaled_plus_one(4) = %d, length_of(\"hello, jitcore\") = %d\n", label, run, a, b)
	check(a == 41, "scaled_plus_one(4) == 41")
	check(b == 14, "length_of(\"hello, jitcore\") == 14")
}

// 3: the cache counters and the statistics of this run.
func showCache(label string, run int, c *memoryCache, st jitcore.Statistics) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Printf("%s run %d: cache notified %d, asked %d, served %d; statistics: compiled %d, cache hits %d, misses %d\n",
		label, run, c.notified, c.asked, c.served, st.ModulesCompiled, st.CacheHits, st.CacheMisses)
	check(c.notified == 1, "notify called once in all (not again on the second run)")
	wantCompiled, wantHits := uint64(0), uint64(1)
	if run == 1 {
		wantCompiled, wantHits = 1, 0
	}
	check(st.ModulesCompiled == wantCompiled, "compiled on the first run only")
	check(st.CacheHits == wantHits, "a cache hit on the second run")
}

// 5: a missing symbol gives SYMBOL_NOT_FOUND and a message naming it.
func showMissing(label string, run int, err error) {
	check(err != nil, "looking up a missing symbol fails")
	var je *jitcore.Error
	if !errors.As(err, &je) {
		check(false, "the error is a *jitcore.Error")
		return
	}
	fmt.Printf("%s run %d: missing symbol: error %d (%s): %s\n", label, run, int(je.Code), je.Code, je.Message)
	check(je.Code == jitcore.CodeSymbolNotFound, "the code is SYMBOL_NOT_FOUND")
	check(strings.Contains(je.Message, "no_such_function"), "the message names the symbol")
}

// 6: what removing the code left.
func showRemoved(label string, run int, before, after uint64) {
	fmt.Printf("%s run %d: CodeBytesLive %d after the calls, %d after removing the code\n", label, run, before, after)
	check(before > 0, "code is live after the calls")
	check(after == 0, "CodeBytesLive is 0 after removing the code")
}

// 2: through a session.
func runSession(cache *memoryCache, run int) {
	s, err := jitcore.NewSession(nil)
	must(err, "NewSession")
	defer s.Close()
	must(s.SetObjectCache(cache.notify, cache.getBuffer), "SetObjectCache")
	mainDylib := s.MainDylib()
	must(mainDylib.DefineAbsoluteSymbols(map[string]uint64{"host_scale": hostScaleAddr()}), "DefineAbsoluteSymbols")
	rt, err := mainDylib.CreateResourceTracker()
	must(err, "CreateResourceTracker")
	defer rt.Close()
	m, err := jitcore.ParseIRString("job", ir)
	must(err, "ParseIRString")
	defer m.Close()                               // does nothing once the session owns m
	must(mainDylib.AddModule(m, rt), "AddModule") // the session owns m now
	scaled, err := s.Lookup(mainDylib, "scaled_plus_one")
	must(err, "lookup scaled_plus_one")
	length, err := s.Lookup(mainDylib, "length_of")
	must(err, "lookup length_of")
	callAndCheck("session", run, scaled, length)
	st, err := s.Statistics()
	must(err, "Session.Statistics")
	showCache("session", run, cache, st)
	_, err = s.Lookup(mainDylib, "no_such_function")
	showMissing("session", run, err)
	live := st.CodeBytesLive
	must(rt.Remove(), "ResourceTracker.Remove")
	st, err = s.Statistics()
	must(err, "Session.Statistics")
	showRemoved("session", run, live, st.CodeBytesLive)
}

// 2: through an engine.
func runEngine(cache *memoryCache, run int) {
	tm, err := jitcore.NewHostTargetMachine(jitcore.O2)
	must(err, "NewHostTargetMachine")
	defer tm.Close()
	ee, err := jitcore.NewEngine(tm, nil)
	must(err, "NewEngine")
	defer ee.Close()
	must(ee.SetObjectCache(cache.notify, cache.getBuffer), "SetObjectCache")
	must(ee.AddGlobalMapping("host_scale", hostScaleAddr()), "AddGlobalMapping")
	m, err := jitcore.ParseIRString("job", ir)
	must(err, "ParseIRString")
	defer m.Close()                    // ours again after RemoveModule: disposes of it
	must(ee.AddModule(m), "AddModule") // the engine owns m now
	scaled, err := ee.FunctionAddress("scaled_plus_one")
	must(err, "lookup scaled_plus_one")
	length, err := ee.FunctionAddress("length_of")
	must(err, "lookup length_of")
	callAndCheck("engine", run, scaled, length)
	st, err := ee.Statistics()
	must(err, "Engine.Statistics")
	showCache("engine", run, cache, st)
	_, err = ee.FunctionAddress("no_such_function")
	showMissing("engine", run, err)
	live := st.CodeBytesLive
	must(ee.RemoveModule(m), "RemoveModule") // m is ours again
	st, err = ee.Statistics()
	must(err, "Engine.Statistics")
	showRemoved("engine", run, live, st.CodeBytesLive)
}

func main() {
	fmt.Printf("job (Go): jitcore %s\n", jitcore.VersionString())
	sessionCache := &memoryCache{objects: map[string][]byte{}}
	engineCache := &memoryCache{objects: map[string][]byte{}}
	for run := 1; run <= 2; run++ {
		runSession(sessionCache, run)
	}
	for run := 1; run <= 2; run++ {
		runEngine(engineCache, run)
	}
	if failures > 0 {
		fmt.Printf("job: %d check(s) failed\n", failures)
		os.Exit(1)
	}
	fmt.Println("job: all checks passed")
}
