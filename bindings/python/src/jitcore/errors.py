"""jitcore errors: one JitError subclass per stable C error code."""

import ctypes

from . import _lib
from ._lib import lib


class JitError(Exception):
    """An error from libjitcore. ``code`` is the stable C error code
    (``JITCORE_ERROR_*``), ``message`` the library's message, which names
    the module, symbol, file or IR line that failed."""

    code = 0

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidArgument(JitError):
    code = 1


class InvalidIR(JitError):
    code = 2


class InvalidObject(JitError):
    code = 3


class SymbolNotFound(JitError, LookupError):
    code = 4


class DuplicateDefinition(JitError):
    code = 5


class ModuleAlreadyAdded(JitError):
    code = 6


class ModuleNotFound(JitError, LookupError):
    code = 7


class UnresolvedSymbol(JitError):
    code = 8


class CompileError(JitError):
    code = 9


class LinkError(JitError):
    code = 10


class CacheError(JitError):
    code = 11


class IOError_(JitError, OSError):
    code = 12

    def __init__(self, message, code=None):
        JitError.__init__(self, message, code)

    def __str__(self):
        return self.message


IOError_.__name__ = IOError_.__qualname__ = "IOError"


class Unsupported(JitError):
    code = 13


class JitExecutionDenied(JitError, RuntimeError):
    code = 14


class InternalError(JitError):
    code = 15


class ClosedError(JitError, ctypes.ArgumentError):
    """The object was closed; using it is an error (not a crash). A
    ``ctypes.ArgumentError`` too, as llvmlite raises for closed objects."""

    code = 1


BY_CODE = {c.code: c for c in (
    InvalidArgument, InvalidIR, InvalidObject, SymbolNotFound,
    DuplicateDefinition, ModuleAlreadyAdded, ModuleNotFound, UnresolvedSymbol,
    CompileError, LinkError, CacheError, IOError_, Unsupported,
    JitExecutionDenied, InternalError)}

CODE_NAMES = {
    0: "SUCCESS", 1: "INVALID_ARGUMENT", 2: "INVALID_IR", 3: "INVALID_OBJECT",
    4: "SYMBOL_NOT_FOUND", 5: "DUPLICATE_DEFINITION", 6: "MODULE_ALREADY_ADDED",
    7: "MODULE_NOT_FOUND", 8: "UNRESOLVED_SYMBOL", 9: "COMPILE", 10: "LINK",
    11: "CACHE", 12: "IO", 13: "UNSUPPORTED", 14: "JIT_EXECUTION_DENIED",
    15: "INTERNAL"}


def take(err):
    """Consumes a JitcoreErrorRef and returns the matching exception
    (None for success)."""
    if not err:
        return None
    code = lib.JitcoreGetErrorCode(err)
    raw = lib.JitcoreGetErrorMessage(err)  # consumes err
    try:
        message = ctypes.string_at(raw).decode("utf-8", "replace") if raw else ""
    finally:
        lib.JitcoreDisposeErrorMessage(raw)
    cls = BY_CODE.get(code, JitError)
    return cls(message, code)


def check(err):
    """Raises the exception for a JitcoreErrorRef, if it is not NULL."""
    exc = take(err)
    if exc is not None:
        raise exc
