"""The native API: sessions, dylibs, link order, symbol sources, trackers,
object caches, statistics."""

import ctypes
import threading

from . import errors
from ._core import Address, Reporter, Resource, create_module, guarded, module_key, to_bytes
from ._lib import (DiskCacheStatistics as _CDiskStats, DylibRef, IR_PIPELINE_CUSTOM,
                   IR_PIPELINE_DEFAULT, IR_PIPELINE_NONE, LazyFailureHandler, ObjectCacheGetBufferFunction,
                   ObjectCacheNotifyFunction, ObjectCacheRef, SessionOptions, SessionRef,
                   Statistics as _CStats, SymbolDefinition, SymbolFilterFunction, lib)
from ._stats import DiskCacheStatistics, Statistics

__all__ = ["Session", "Dylib", "ResourceTracker", "DiskCache", "CachedModule",
           "check_jit_execution"]


def check_jit_execution():
    """Raises ``JitExecutionDenied`` if this process may not map executable memory."""
    errors.check(lib.JitcoreCheckJITExecution())


def _pipeline(ir_pipeline):
    """(kind, passes) for None/"default", "none", or an `opt -passes=` string."""
    if ir_pipeline is None or ir_pipeline == "default":
        return IR_PIPELINE_DEFAULT, None
    if ir_pipeline == "none":
        return IR_PIPELINE_NONE, None
    return IR_PIPELINE_CUSTOM, to_bytes(ir_pipeline, "ir_pipeline")


def _address_of(value):
    """An absolute address from an int, a ctypes function or a ctypes object."""
    if isinstance(value, int):
        return value
    if isinstance(value, ctypes._CFuncPtr):
        return ctypes.cast(value, ctypes.c_void_p).value
    return ctypes.addressof(value)


class CachedModule:
    """What object cache callbacks receive: the module's ``name`` and its
    content ``key`` (hex; the key the session's own target and IR pipeline
    use, as its disk cache would), valid for the call."""

    __slots__ = ("name", "key")

    def __init__(self, handle):
        raw = lib.JitcoreModuleGetName(handle)
        self.name = raw.decode("utf-8", "replace") if raw else ""
        self.key = module_key(handle)

    def __repr__(self):
        return "CachedModule(%r, key=%s...)" % (self.name, self.key[:12])


class DiskCache(Resource):
    """jitcore's disk object cache: ``<path>/<key>.jco`` entries, verified
    before use, at most ``max_bytes`` (0: no cap, else least recently used
    entries are evicted). Attach with ``Session.set_disk_cache``; closing
    this handle does not detach it from sessions using it."""

    def __init__(self, path, max_bytes=0):
        h = ObjectCacheRef()
        errors.check(lib.JitcoreCreateDiskCache(ctypes.byref(h), to_bytes(str(path), "path"),
                                                int(max_bytes)))
        self._h, self._closed = h.value, False
        self.path = str(path)

    @property
    def statistics(self):
        st = _CDiskStats()
        errors.check(lib.JitcoreDiskCacheGetStatisticsSized(self._check_open(), ctypes.byref(st),
                                                            ctypes.sizeof(st)))
        return DiskCacheStatistics.from_c(st)

    def _dispose(self, h):
        lib.JitcoreDisposeObjectCache(h)


class ResourceTracker:
    """What was added under it, removable as one: ``remove()`` frees its code
    and data. As a context manager, leaving the block removes it."""

    def __init__(self, session, dylib, handle):
        self._session = session
        self.dylib = dylib
        self._h = handle
        self.removed = False

    def _check(self):
        self._session._check_open()
        if not self._h:
            raise errors.ClosedError("ResourceTracker is closed")
        return self._h

    def remove(self):
        """Removes everything added under this tracker (addresses into it
        become invalid). Removing twice does nothing."""
        if self.removed:
            return
        errors.check(lib.JitcoreResourceTrackerRemove(self._check()))
        self.removed = True

    def close(self):
        """Drops the handle; what was added and not removed stays loaded."""
        h, self._h = self._h, None
        if h and not self._session._closed:
            lib.JitcoreDisposeResourceTracker(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            if not self._session._closed:
                self.remove()
        finally:
            self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Dylib:
    """A JITDylib: a symbol namespace like a shared library, owned by its session."""

    def __init__(self, session, handle):
        self._session = session
        self._h = handle

    def _check(self):
        self._session._check_open()
        return self._h

    @property
    def name(self):
        raw = lib.JitcoreDylibGetName(self._check())
        return raw.decode() if raw else None

    def __repr__(self):
        return "<jitcore.Dylib %r>" % (self.name if not self._session._closed else "(closed)")

    def __eq__(self, other):
        return isinstance(other, Dylib) and other._h == self._h

    def __hash__(self):
        return hash(self._h)

    def set_link_order(self, dylibs):
        """The dylibs this one links against, in order (as DT_NEEDED)."""
        arr = (DylibRef * max(1, len(dylibs)))(*[d._check() for d in dylibs])
        errors.check(lib.JitcoreDylibSetLinkOrder(self._check(), arr, len(dylibs)))

    def create_tracker(self):
        h = lib.JitcoreDylibCreateResourceTracker(self._check())
        if not h:
            raise errors.InvalidArgument("cannot create a resource tracker for %r" % self)
        return ResourceTracker(self._session, self, h)

    def _tracker(self, tracker):
        if tracker is None:
            return self.create_tracker()
        if tracker.dylib != self:
            raise errors.InvalidArgument("the tracker belongs to another dylib")
        return tracker

    def add_module(self, ir, lazy=False, tracker=None, name=None):
        """Adds IR (text, bitcode, an llvmlite ModuleRef or llvmlite.ir
        Module) under ``tracker`` (None: a new one), compiled when a lookup
        needs it (``lazy=True``: one function at a time, on first call).
        Returns the tracker."""
        h = self._check()
        rt = self._tracker(tracker)
        m = create_module(ir, name)
        fn = lib.JitcoreDylibAddModuleLazy if lazy else lib.JitcoreDylibAddModule
        err = errors.take(fn(h, m, rt._check()))
        if err is not None:
            lib.JitcoreDisposeModule(m)
            if tracker is None:
                rt.close()
            raise err
        return rt

    def add_object(self, data, tracker=None):
        """Adds a relocatable object file (bytes). Returns the tracker."""
        rt = self._tracker(tracker)
        data = bytes(data)
        err = errors.take(lib.JitcoreDylibAddObjectBuffer(self._check(), data, len(data), rt._check()))
        if err is not None:
            if tracker is None:
                rt.close()
            raise err
        return rt

    def define_symbols(self, symbols):
        """Defines absolute symbols: ``{name: address}``, where an address is
        an int, a ctypes function (a CFUNCTYPE callback: kept alive as long
        as the session) or a ctypes object (its address)."""
        items = list(symbols.items())
        arr = (SymbolDefinition * max(1, len(items)))()
        for i, (name, value) in enumerate(items):
            arr[i].Name = to_bytes(name, "name")
            arr[i].Address = _address_of(value)
        errors.check(lib.JitcoreDylibDefineAbsoluteSymbols(self._check(), arr, len(items)))
        self._session._keep.extend(v for _, v in items if not isinstance(v, int))

    def initialize(self):
        """Runs the static constructors (``llvm.global_ctors``) of what was
        added to this dylib and its link order since the last
        initialization, lowest priority first; a constructor whose module
        cannot link yet raises, and runs on a later call once it can."""
        errors.check(lib.JitcoreDylibInitialize(self._check()))

    def deinitialize(self):
        """Runs the exit handlers jitted code registered (``atexit``,
        ``__cxa_atexit``), last first, then the destructors of what an
        initialization covered, each once."""
        errors.check(lib.JitcoreDylibDeinitialize(self._check()))

    def _filter(self, allow):
        if allow is None:
            return SymbolFilterFunction()
        report = self._session.reporter

        @guarded(report, "symbol filter")
        def f(ctx, name):
            return 1 if allow(name.decode("utf-8", "replace")) else 0

        cb = SymbolFilterFunction(lambda ctx, name: f(ctx, name) or 0)
        self._session._keep.append(cb)      # called until the session is disposed of
        return cb

    def add_process_symbols(self, allow=None):
        """Makes the host process's symbols (libc, ...) that ``allow(name)``
        accepts (None: all) resolvable here."""
        errors.check(lib.JitcoreDylibAddProcessSymbols(self._check(), self._filter(allow), None))

    def add_library(self, path, allow=None):
        """Loads the shared library at ``path`` as a symbol source."""
        errors.check(lib.JitcoreDylibAddLibrarySymbols(self._check(), to_bytes(str(path), "path"),
                                                       self._filter(allow), None))

    def add_archive(self, path):
        """Makes a static archive (.a) a symbol source: members are linked on demand."""
        errors.check(lib.JitcoreDylibAddArchive(self._check(), to_bytes(str(path), "path")))

    def lookup(self, name):
        return self._session.lookup(name, dylib=self)


class Session(Resource):
    """An ORC session with JITDylibs, link order, lazy and concurrent
    compilation and jitcore's object caches.

    ``Session(opt_level=2, compile_threads=0, lazy=False, ir_pipeline=None)``:
    ``ir_pipeline`` is None (LLVM's default<On>), "none" (codegen only) or
    an ``opt -passes=`` string. Use as a context manager, or ``close()``;
    addresses and functions it returns keep it alive."""

    def __init__(self, opt_level=2, compile_threads=0, lazy=False, ir_pipeline=None,
                 debugger=False, perf=False):
        self._keep = []           # ctypes callbacks the library may call until disposal
        self._lock = threading.Lock()
        self.reporter = Reporter()
        opts = SessionOptions()
        lib.JitcoreSessionOptionsInitSized(ctypes.byref(opts), ctypes.sizeof(opts))
        opts.OptLevel = int(opt_level)
        opts.CompileThreads = int(compile_threads)
        opts.LazyByDefault = 1 if lazy else 0
        opts.EnableDebugger = 1 if debugger else 0
        opts.EnablePerf = 1 if perf else 0
        h = SessionRef()
        errors.check(lib.JitcoreCreateSessionSized(ctypes.byref(h), ctypes.byref(opts),
                                                   ctypes.sizeof(opts)))
        self._h = h.value
        self._closed = False
        lib.JitcoreSessionSetErrorReporter(self._h, self.reporter.c_function, None)
        self.main = Dylib(self, lib.JitcoreSessionGetMainDylib(self._h))
        self._cache_cbs = None
        if ir_pipeline is not None:
            self.set_ir_pipeline(ir_pipeline)

    def _dispose(self, h):
        """Frees all jitted code and data, modules and dylibs."""
        lib.JitcoreDisposeSession(h)
        self._keep = []
        self._cache_cbs = None

    # -- dylibs -----------------------------------------------------------
    def create_dylib(self, name):
        out = DylibRef()
        errors.check(lib.JitcoreSessionCreateDylib(self._check_open(), ctypes.byref(out),
                                                   to_bytes(name, "name")))
        return Dylib(self, out.value)

    def dylib(self, name):
        """The dylib named ``name`` ("main" is the main one), or None."""
        h = lib.JitcoreSessionGetDylibByName(self._check_open(), to_bytes(name, "name"))
        return Dylib(self, h) if h else None

    # -- code -------------------------------------------------------------
    def add_module(self, ir, lazy=False, dylib=None, tracker=None, name=None):
        """Adds IR to ``dylib`` (default: main); returns its ResourceTracker
        (a context manager that removes the module on exit)."""
        return (dylib or self.main).add_module(ir, lazy=lazy, tracker=tracker, name=name)

    def add_object(self, data, dylib=None, tracker=None):
        return (dylib or self.main).add_object(data, tracker=tracker)

    def define_symbols(self, symbols, dylib=None):
        (dylib or self.main).define_symbols(symbols)

    def lookup(self, name, dylib=None):
        """The address of ``name`` as seen from ``dylib`` (default: main),
        compiling what it needs: an int that keeps the session alive.
        Raises SymbolNotFound, UnresolvedSymbol, CompileError, ..."""
        out = ctypes.c_uint64()
        d = (dylib or self.main)._check()
        errors.check(lib.JitcoreSessionLookup(self._check_open(), d, ctypes.byref(out),
                                              to_bytes(name, "name")))
        return Address(out.value, self)

    def lookup_many(self, names, dylib=None):
        """Addresses of ``names``, compiled together (in parallel with compile threads)."""
        names = list(names)
        arr = (ctypes.c_char_p * max(1, len(names)))(*[to_bytes(n, "name") for n in names])
        out = (ctypes.c_uint64 * max(1, len(names)))()
        d = (dylib or self.main)._check()
        errors.check(lib.JitcoreSessionLookupMany(self._check_open(), d, out, arr, len(names)))
        return [Address(out[i], self) for i in range(len(names))]

    def function(self, name, restype, *argtypes, dylib=None):
        """A ctypes callable for function ``name`` with the given C
        signature; it keeps the session alive."""
        addr = self.lookup(name, dylib=dylib)
        fn = ctypes.CFUNCTYPE(restype, *argtypes)(int(addr))
        fn._jitcore_session = self
        return fn

    # -- settings ---------------------------------------------------------
    def set_ir_pipeline(self, ir_pipeline):
        kind, passes = _pipeline(ir_pipeline)
        errors.check(lib.JitcoreSessionSetIRPipeline(self._check_open(), kind, passes))

    def set_error_reporter(self, callback):
        """``callback(JitError)`` hears of errors no call can return (lazy
        compile failures, rejected cache entries, exceptions raised in
        Python callbacks). None: log them on the ``jitcore`` logger."""
        self.reporter.callback = callback

    def set_lazy_failure_handler(self, handler):
        """``handler(function_name, JitError)`` is called, on the calling
        thread, when a lazily added function cannot be compiled at its first
        call (jitted code has no error channel). If it returns, the jitted
        call returns 0 (0.0, NULL); raise nothing out of it (an exception is
        reported, then the call returns 0). None restores jitcore's default:
        a message on stderr and ``abort()``."""
        h = self._check_open()
        if handler is None:
            lib.JitcoreSessionSetLazyFailureHandler(h, LazyFailureHandler(), None)
            return
        report = self.reporter

        def c_handler(ctx, name, err):
            exc = errors.take(err)  # consumes err
            try:
                handler(name.decode("utf-8", "replace") if name else "", exc)
            except BaseException as e:  # never into C
                try:
                    report(15, "the lazy failure handler raised %r" % (e,))
                except BaseException:
                    pass

        cb = LazyFailureHandler(c_handler)
        self._keep.append(cb)  # jitcore may call a replaced one until disposal
        lib.JitcoreSessionSetLazyFailureHandler(h, cb, None)

    def set_object_cache(self, notify=None, getbuffer=None):
        """Host object cache. ``notify(module, obj_bytes)`` after each
        compile; ``getbuffer(module)`` before, returning bytes to use instead
        of compiling, or None. ``module`` is a CachedModule (``name``,
        ``key``). Callbacks may run on compile threads; exceptions are
        reported and the module compiled."""
        h = self._check_open()
        if notify is None and getbuffer is None:
            lib.JitcoreSessionSetObjectCache(h, ObjectCacheNotifyFunction(), ObjectCacheGetBufferFunction(), None)
            return
        report = self.reporter

        @guarded(report, "object cache notify callback")
        def c_notify(ctx, m, data, size):
            if notify is not None:
                notify(CachedModule(m), ctypes.string_at(data, size))

        @guarded(report, "object cache getbuffer callback")
        def c_getbuffer(ctx, m):
            if getbuffer is None:
                return None
            buf = getbuffer(CachedModule(m))
            if buf is None:
                return None
            buf = bytes(buf)
            return lib.JitcoreCreateObjectBufferCopy(buf, len(buf))

        cbs = (ObjectCacheNotifyFunction(c_notify), ObjectCacheGetBufferFunction(c_getbuffer))
        lib.JitcoreSessionSetObjectCache(h, cbs[0], cbs[1], None)
        self._keep.append(cbs)        # a compile under way may still call old ones

    def set_disk_cache(self, cache):
        """Attaches a DiskCache (None detaches); the session keeps it alive."""
        lib.JitcoreSessionSetDiskCache(self._check_open(), cache._check_open() if cache else None)

    @property
    def statistics(self):
        st = _CStats()
        errors.check(lib.JitcoreSessionGetStatisticsSized(self._check_open(), ctypes.byref(st),
                                                          ctypes.sizeof(st)))
        return Statistics.from_c(st)
