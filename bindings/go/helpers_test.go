package jitcore_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"jitcore"
)

const sumIR = `
define i64 @sum(i64 %a, i64 %b) {
  %r = add i64 %a, %b
  ret i64 %r
}
`

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err is an *Error with code, whose message contains
// every one of parts.
func wantCode(t testing.TB, err error, code jitcore.ErrorCode, parts ...string) *jitcore.Error {
	t.Helper()
	var je *jitcore.Error
	if !errors.As(err, &je) {
		t.Fatalf("want a *jitcore.Error with code %s, got %v (%T)", code, err, err)
	}
	if je.Code != code {
		t.Fatalf("want code %s, got %s: %s", code, je.Code, je.Message)
	}
	if !errors.Is(err, code) {
		t.Fatalf("errors.Is(err, %s) is false for %v", code, err)
	}
	for _, p := range parts {
		if !strings.Contains(je.Message, p) {
			t.Fatalf("message %q does not name %q", je.Message, p)
		}
	}
	return je
}

func parse(t testing.TB, name, ir string) *jitcore.Module {
	t.Helper()
	m, err := jitcore.ParseIRString(name, ir)
	must(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

func newSession(t testing.TB, opts *jitcore.SessionOptions) *jitcore.Session {
	t.Helper()
	s, err := jitcore.NewSession(opts)
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func newTM(t testing.TB, opt jitcore.OptLevel) *jitcore.TargetMachine {
	t.Helper()
	tm, err := jitcore.NewHostTargetMachine(opt)
	must(t, err)
	t.Cleanup(func() { tm.Close() })
	return tm
}

// lookupCall looks name up from d and calls it as int64 f(int64...).
func lookupCall(t testing.TB, d *jitcore.Dylib, name string, args ...int64) int64 {
	t.Helper()
	addr, err := d.Lookup(name)
	must(t, err)
	r, err := jitcore.CallInt64(addr, args...)
	must(t, err)
	return r
}

// memCache is an in-memory object cache keyed by the module key, safe for
// the concurrent calls jitcore makes from its compile threads.
type memCache struct {
	mu       sync.Mutex
	objects  map[string][]byte
	names    map[string]string // key -> module name
	notified int
	asked    int
	keyErrs  []error
}

func newMemCache() *memCache {
	return &memCache{objects: map[string][]byte{}, names: map[string]string{}}
}

func (c *memCache) notify(m *jitcore.CacheModule, obj []byte) {
	_, hex, err := m.Key()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notified++
	if err != nil {
		c.keyErrs = append(c.keyErrs, err)
		return
	}
	c.objects[hex] = obj
	c.names[hex] = m.Name()
}

func (c *memCache) getBuffer(m *jitcore.CacheModule) []byte {
	_, hex, err := m.Key()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked++
	if err != nil {
		c.keyErrs = append(c.keyErrs, err)
		return nil
	}
	return c.objects[hex]
}

func (c *memCache) counts() (notified, asked int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notified, c.asked
}

// objectOf compiles ir (module name) in a session of its own and returns
// the ELF object jitcore compiled, as its notify callback saw it; lookup
// names a symbol that makes it compile.
func objectOf(t testing.TB, name, ir, lookup string, abs map[string]uint64) []byte {
	t.Helper()
	s := newSession(t, nil)
	var obj []byte
	must(t, s.SetObjectCache(func(m *jitcore.CacheModule, o []byte) {
		if m.Name() == name {
			obj = o
		}
	}, nil))
	d := s.MainDylib()
	if abs != nil {
		must(t, d.DefineAbsoluteSymbols(abs))
	}
	must(t, d.AddModule(parse(t, name, ir), nil))
	_, err := d.Lookup(lookup)
	must(t, err)
	if !bytes.HasPrefix(obj, []byte("\x7fELF")) {
		t.Fatalf("no ELF object for %s", name)
	}
	return obj
}

// writeArchive writes a GNU ar archive with a symbol table: each member
// (name, object) defines the symbol syms[i].
func writeArchive(t testing.TB, path string, names []string, objs [][]byte, syms []string) {
	t.Helper()
	header := func(b *bytes.Buffer, name string, size int) {
		fmt.Fprintf(b, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", name, "0", "0", "0", "644", size)
	}
	var symtab bytes.Buffer
	var strs bytes.Buffer
	for _, s := range syms {
		strs.WriteString(s)
		strs.WriteByte(0)
	}
	symLen := 4 + 4*len(syms) + strs.Len()
	off := 8 + 60 + symLen + symLen%2
	var members bytes.Buffer
	offsets := make([]uint32, len(objs))
	for i, o := range objs {
		offsets[i] = uint32(off + members.Len())
		header(&members, names[i]+"/", len(o))
		members.Write(o)
		if len(o)%2 == 1 {
			members.WriteByte('\n')
		}
	}
	_ = binary.Write(&symtab, binary.BigEndian, uint32(len(syms)))
	for _, o := range offsets {
		_ = binary.Write(&symtab, binary.BigEndian, o)
	}
	symtab.Write(strs.Bytes())
	if symLen%2 == 1 {
		symtab.WriteByte('\n')
	}
	var out bytes.Buffer
	out.WriteString("!<arch>\n")
	header(&out, "/", symLen)
	out.Write(symtab.Bytes())
	out.Write(members.Bytes())
	must(t, os.WriteFile(path, out.Bytes(), 0o644))
}

// loadedLibjitcore is the path of the libjitcore this process runs with.
func loadedLibjitcore(t testing.TB) string {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	must(t, err)
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.Contains(filepath.Base(f[5]), "libjitcore.so") {
			return f[5]
		}
	}
	t.Fatal("libjitcore.so is not mapped into this process")
	return ""
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(content), 0o644))
}
