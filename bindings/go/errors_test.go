package jitcore_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"jitcore"
)

func TestVersion(t *testing.T) {
	ma, mi, pa := jitcore.Version()
	if got := fmt.Sprintf("%d.%d.%d", ma, mi, pa); got != jitcore.VersionString() {
		t.Fatalf("Version %s, VersionString %s", got, jitcore.VersionString())
	}
	hma, hmi, _ := jitcore.HeaderVersion()
	if hma != ma || hmi != mi {
		t.Fatalf("header %d.%d, library %d.%d: in 0.x the ABI is MAJOR.MINOR", hma, hmi, ma, mi)
	}
	must(t, jitcore.CheckJITExecution())
}

func TestErrorsAsAndIs(t *testing.T) {
	_, err := jitcore.ParseIRString("broken", "define i32 @f() {\n  ret i64 0\n}\n")
	je := wantCode(t, err, jitcore.CodeInvalidIR, "broken")
	if !strings.Contains(je.Message, "2:") {
		t.Errorf("message %q gives no line", je.Message)
	}
	if errors.Is(err, jitcore.CodeSymbolNotFound) || errors.Is(err, jitcore.ErrClosed) {
		t.Error("an INVALID_IR error matches another code or ErrClosed")
	}
	if !errors.Is(err, &jitcore.Error{Code: jitcore.CodeInvalidIR}) {
		t.Error("errors.Is with an *Error of the same code is false")
	}
	wrapped := fmt.Errorf("loading the plugin: %w", err)
	var je2 *jitcore.Error
	if !errors.As(wrapped, &je2) || je2.Code != jitcore.CodeInvalidIR {
		t.Error("errors.As through a wrapping error failed")
	}
	if s := err.Error(); !strings.HasPrefix(s, "jitcore: ") || !strings.Contains(s, "INVALID_IR") {
		t.Errorf("Error() = %q", s)
	}
	if jitcore.CodeSymbolNotFound.String() != "SYMBOL_NOT_FOUND" || jitcore.ErrorCode(99).String() != "CODE_99" {
		t.Error("ErrorCode.String")
	}
	// Numbers are jitcore.h's, part of the ABI.
	if jitcore.CodeSymbolNotFound != 4 || jitcore.CodeInternal != 15 {
		t.Error("error code numbers differ from jitcore.h")
	}
}

func TestParse(t *testing.T) {
	m, err := jitcore.ParseIR("bytes", []byte(sumIR))
	must(t, err)
	if m.Name() != "bytes" {
		t.Errorf("Name() = %q", m.Name())
	}
	must(t, m.Close())
	must(t, m.Close()) // twice is harmless
	if m.Name() != "bytes" {
		t.Error("the name is gone after Close")
	}
	_, err = jitcore.ParseIR("empty", nil) // no bytes: refused, naming the module
	wantCode(t, err, jitcore.CodeInvalidIR, "empty")

	u, err := jitcore.ParseUntrustedIR("untrusted", []byte(sumIR))
	must(t, err)
	u.Close()
	// Bitcode magic followed by junk: refused (in the child), not a crash.
	_, err = jitcore.ParseUntrustedIR("junk", append([]byte("BC\xc0\xde"), make([]byte, 64)...))
	wantCode(t, err, jitcore.CodeInvalidIR, "junk")
}
