package jitcore

/*
#include <jitcore.h>
*/
import "C"

import (
	"errors"
	"fmt"
)

// ErrorCode is one of jitcore's stable error codes (JitcoreErrorCode). It
// implements error, so errors.Is(err, jitcore.CodeSymbolNotFound) tests an
// error's code.
type ErrorCode int

// Error codes: the numbers of jitcore.h, part of the ABI.
const (
	CodeSuccess             ErrorCode = C.JITCORE_ERROR_SUCCESS
	CodeInvalidArgument     ErrorCode = C.JITCORE_ERROR_INVALID_ARGUMENT
	CodeInvalidIR           ErrorCode = C.JITCORE_ERROR_INVALID_IR
	CodeInvalidObject       ErrorCode = C.JITCORE_ERROR_INVALID_OBJECT
	CodeSymbolNotFound      ErrorCode = C.JITCORE_ERROR_SYMBOL_NOT_FOUND
	CodeDuplicateDefinition ErrorCode = C.JITCORE_ERROR_DUPLICATE_DEFINITION
	CodeModuleAlreadyAdded  ErrorCode = C.JITCORE_ERROR_MODULE_ALREADY_ADDED
	CodeModuleNotFound      ErrorCode = C.JITCORE_ERROR_MODULE_NOT_FOUND
	CodeUnresolvedSymbol    ErrorCode = C.JITCORE_ERROR_UNRESOLVED_SYMBOL
	CodeCompile             ErrorCode = C.JITCORE_ERROR_COMPILE
	CodeLink                ErrorCode = C.JITCORE_ERROR_LINK
	CodeCache               ErrorCode = C.JITCORE_ERROR_CACHE
	CodeIO                  ErrorCode = C.JITCORE_ERROR_IO
	CodeUnsupported         ErrorCode = C.JITCORE_ERROR_UNSUPPORTED
	CodeJITExecutionDenied  ErrorCode = C.JITCORE_ERROR_JIT_EXECUTION_DENIED
	CodeInternal            ErrorCode = C.JITCORE_ERROR_INTERNAL
)

var codeNames = map[ErrorCode]string{
	CodeSuccess:             "SUCCESS",
	CodeInvalidArgument:     "INVALID_ARGUMENT",
	CodeInvalidIR:           "INVALID_IR",
	CodeInvalidObject:       "INVALID_OBJECT",
	CodeSymbolNotFound:      "SYMBOL_NOT_FOUND",
	CodeDuplicateDefinition: "DUPLICATE_DEFINITION",
	CodeModuleAlreadyAdded:  "MODULE_ALREADY_ADDED",
	CodeModuleNotFound:      "MODULE_NOT_FOUND",
	CodeUnresolvedSymbol:    "UNRESOLVED_SYMBOL",
	CodeCompile:             "COMPILE",
	CodeLink:                "LINK",
	CodeCache:               "CACHE",
	CodeIO:                  "IO",
	CodeUnsupported:         "UNSUPPORTED",
	CodeJITExecutionDenied:  "JIT_EXECUTION_DENIED",
	CodeInternal:            "INTERNAL",
}

// String is the code's name as in jitcore.h without the JITCORE_ERROR_
// prefix ("SYMBOL_NOT_FOUND"), or "CODE_<n>" for a number this binding does
// not know.
func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("CODE_%d", int(c))
}

// Error makes an ErrorCode usable as an errors.Is target.
func (c ErrorCode) Error() string { return c.String() }

// Error is an error returned by jitcore (or by this binding, for a misuse
// it catches before calling C: a closed handle, a module that is not the
// caller's). Code is jitcore's stable code, Message says what failed and on
// what (module, symbol, file, line).
type Error struct {
	Code    ErrorCode
	Message string
	closed  bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("jitcore: %s (%s)", e.Message, e.Code.String())
}

// Is reports whether target is e's ErrorCode, or ErrClosed for the use of a
// closed handle.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case ErrorCode:
		return e.Code == t
	case *Error:
		return t != nil && e.Code == t.Code && (t.Message == "" || t.Message == e.Message)
	}
	return e.closed && target == ErrClosed
}

// ErrClosed is what errors from the use of a closed handle match with
// errors.Is. Such errors are *Error values with CodeInvalidArgument.
var ErrClosed = errors.New("jitcore: use of a closed handle")

func closedError(what string) error {
	return &Error{Code: CodeInvalidArgument, Message: "use of a closed or nil jitcore." + what, closed: true}
}

func newError(code ErrorCode, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// takeError turns a JitcoreErrorRef into an *Error, consuming it (nil for
// success).
func takeError(e C.JitcoreErrorRef) error {
	if e == nil {
		return nil
	}
	code := ErrorCode(C.JitcoreGetErrorCode(e))
	msg := C.JitcoreGetErrorMessage(e)
	s := C.GoString(msg)
	C.JitcoreDisposeErrorMessage(msg)
	return &Error{Code: code, Message: s}
}

// makeCError turns a Go error into a JitcoreErrorRef the caller hands to
// jitcore (materializers): an *Error keeps its code; any other error
// becomes CodeCompile (the host could not produce the code).
func makeCError(err error, fallback ErrorCode) C.JitcoreErrorRef {
	code := fallback
	msg := err.Error()
	var je *Error
	if errors.As(err, &je) {
		code = je.Code
		msg = je.Message
	}
	cmsg, free := cstr(msg)
	defer free()
	return C.JitcoreCreateError(C.uint(code), cmsg)
}
