"""Pieces shared by the native API and the llvmlite drop-in."""

import ctypes
import logging
import sys
import traceback

from . import errors
from ._lib import lib, ModuleRef, TargetMachineRef

log = logging.getLogger("jitcore")


class Address(int):
    """An address of jitted code or data: an ``int`` (llvmlite's type for
    addresses) that also keeps the engine or session it came from alive, so
    dropping the last reference to an engine does not free code whose address
    is still held. Closing the owner explicitly still frees it."""

    # (no __slots__: int subtypes cannot have them; _owner lives in __dict__)

    def __new__(cls, value, owner):
        self = int.__new__(cls, value)
        self._owner = owner
        return self


def to_bytes(x, what):
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    raise TypeError("%s must be str or bytes, not %s" % (what, type(x).__name__))


def create_module(ir, name=None):
    """A new jitcore module (handle int) from IR text, bitcode, or an
    llvmlite ModuleRef / llvmlite.ir.Module. The caller owns it."""
    if hasattr(ir, "as_bitcode"):           # llvmlite.binding.ModuleRef
        if getattr(ir, "closed", False):
            raise errors.ClosedError("the llvmlite module is closed")
        data = ir.as_bitcode()
        name = name or ir.name
    elif hasattr(ir, "functions") and hasattr(ir, "triple") and not isinstance(ir, (str, bytes)):
        data = str(ir).encode("utf-8")         # llvmlite.ir.Module
        name = name or getattr(ir, "name", "") or "module"
    else:
        data = to_bytes(ir, "IR")
    name = name or "module"
    out = ModuleRef()
    errors.check(lib.JitcoreCreateModuleFromIR(ctypes.byref(out), to_bytes(name, "name"),
                                               data, len(data)))
    return out.value


class Resource:
    """Owns a library handle: ``close()`` frees it (``_dispose``; closing
    again does nothing), use after close raises ``ClosedError`` (a
    ``ctypes.ArgumentError``, as llvmlite raises), a context manager
    (entering a closed one is a RuntimeError, as in llvmlite), and closed
    when collected."""

    _closed = True
    _h = None

    def _dispose(self, handle):
        raise NotImplementedError

    def _check_open(self):
        if self._closed:
            raise errors.ClosedError("%s is closed" % type(self).__name__)
        return self._h

    @property
    def closed(self):
        return self._closed

    def close(self):
        if self._closed:
            return
        self._closed = True
        h, self._h = self._h, None
        self._dispose(h)

    def __enter__(self):
        if self._closed:
            raise RuntimeError("%s instance already closed" % (self.__class__,))
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self, _finalizing=sys.is_finalizing):
        # At interpreter exit the process frees everything; disposing then
        # could wait for compile threads that can no longer run Python.
        if _finalizing():
            return
        try:
            self.close()
        except Exception:
            pass


class HostTargetMachine(Resource):
    """A jitcore target machine for the host at an opt level (owned)."""

    def __init__(self, opt_level=2):
        h = TargetMachineRef()
        errors.check(lib.JitcoreCreateHostTargetMachine(ctypes.byref(h), int(opt_level)))
        self._h, self._closed = h.value, False

    @property
    def handle(self):
        return self._check_open()

    @property
    def triple(self):
        return lib.JitcoreTargetMachineGetTriple(self._check_open()).decode()

    def _dispose(self, h):
        lib.JitcoreDisposeTargetMachine(h)


def module_key(handle, tm=None, pipeline=None):
    """The hex content key of a jitcore module. Inside an object cache
    callback ``tm`` may be None: the key of the engine's or session's own
    target and IR pipeline."""
    hexbuf = ctypes.create_string_buffer(65)
    tmh = tm.handle if tm is not None else None
    if pipeline is None:
        errors.check(lib.JitcoreModuleGetKey(handle, tmh, None, hexbuf))
    else:
        kind, passes = pipeline
        errors.check(lib.JitcoreModuleGetKeyForPipeline(handle, tmh, kind, passes, None, hexbuf))
    return hexbuf.value.decode()


def guarded(report, what):
    """Wraps a Python function called by the C library: any exception
    (BaseException included) is caught and reported, never propagated into
    C. ``report(code, message)`` receives it."""
    def deco(fn):
        def wrapper(*args):
            try:
                return fn(*args)
            except BaseException as e:  # noqa: B902 - nothing may cross into C
                try:
                    report(errors.CacheError.code if "cache" in what else errors.InternalError.code,
                           "%s raised %s: %s\n%s" % (what, type(e).__name__, e,
                                                     traceback.format_exc()))
                except BaseException:
                    pass
                return None
        return wrapper
    return deco


class Reporter:
    """An error reporter: receives errors no call can return (from the C
    library's reporter, and exceptions raised in Python callbacks). Keeps
    the last ones in ``errors`` (a list of (code, message)), and hands each
    to ``callback`` if set, else logs it on the ``jitcore`` logger."""

    MAX = 100

    def __init__(self):
        self.errors = []
        self.callback = None

        def c_report(ctx, code, message):
            try:
                self(int(code), (message or b"").decode("utf-8", "replace"))
            except BaseException:
                pass

        from ._lib import ErrorReporterFunction
        self.c_function = ErrorReporterFunction(c_report)

    def __call__(self, code, message):
        self.errors.append((code, message))
        del self.errors[:-self.MAX]
        cb = self.callback
        if cb is not None:
            try:
                cb(errors.BY_CODE.get(code, errors.JitError)(message, code))
                return
            except BaseException:
                log.error("jitcore error reporter raised:\n%s", traceback.format_exc())
        log.warning("jitcore: %s: %s", errors.CODE_NAMES.get(code, code), message)
