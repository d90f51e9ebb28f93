package jitcore_test

import (
	"testing"

	"jitcore"
)

// The costs bench.sh reports, for the lead's ratios to C (make bench):
// lookup_ns, one lookup of an already compiled symbol through the binding,
// and add_compile_us, parsing, adding and compiling (by a lookup) a tiny
// module. They are not run by go test without -bench.

// BenchmarkLookup: Session.Lookup of a compiled symbol from the main dylib.
func BenchmarkLookup(b *testing.B) {
	s := newSession(b, nil)
	d := s.MainDylib()
	must(b, d.AddModule(parse(b, "sum", sumIR), nil))
	_, err := d.Lookup("sum") // compiles
	must(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Lookup(d, "sum"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEngineLookup: Engine.FunctionAddress of a compiled symbol.
func BenchmarkEngineLookup(b *testing.B) {
	e := newEngine(b, parse(b, "sum", sumIR))
	_, err := e.FunctionAddress("sum")
	must(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.FunctionAddress("sum"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddCompile: ParseIRString + Dylib.AddModule + the Lookup that
// compiles it, under a tracker removed (untimed) after each iteration.
func BenchmarkAddCompile(b *testing.B) {
	s := newSession(b, nil)
	d := s.MainDylib()
	for i := 0; i < b.N; i++ {
		rt, err := d.CreateResourceTracker()
		must(b, err)
		m, err := jitcore.ParseIRString("tiny", sumIR)
		must(b, err)
		must(b, d.AddModule(m, rt))
		if _, err := d.Lookup("sum"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		must(b, rt.Remove())
		must(b, rt.Close())
		b.StartTimer()
	}
}

// BenchmarkCallInt64: one call of a jitted int64(int64, int64) through the
// binding's C trampoline.
func BenchmarkCallInt64(b *testing.B) {
	s := newSession(b, nil)
	d := s.MainDylib()
	must(b, d.AddModule(parse(b, "sum", sumIR), nil))
	addr, err := d.Lookup("sum")
	must(b, err)
	sum, err := jitcore.Func[func(int64, int64) int64](addr)
	must(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sum(int64(i), 1)
	}
}
