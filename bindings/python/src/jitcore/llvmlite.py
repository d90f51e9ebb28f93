"""jitcore as llvmlite.binding's execution engine.

``create_mcjit_compiler(module, target_machine, use_lmm=None)`` returns an
``ExecutionEngine`` with llvmlite's API, running on jitcore (ORC, JITLink,
one compile path) instead of MCJIT. It takes llvmlite's own ``ModuleRef``
and ``TargetMachine`` objects (and IR text). ``install()`` makes
``llvmlite.binding.create_mcjit_compiler`` return jitcore engines for the
whole process, so numba runs on jitcore unchanged.

Where jitcore deliberately behaves better than MCJIT:
  * a missing symbol raises ``jitcore.SymbolNotFound`` instead of returning
    0 (or aborting the process);
  * ``remove_module`` frees the module's code and data (MCJIT never does);
  * an unresolved external raises ``jitcore.UnresolvedSymbol`` naming it
    instead of aborting in ``finalize_object``;
  * addresses returned keep their engine alive (llvmlite #232);
  * an exception raised in an object cache callback is reported (the
    engine's ``reporter``) and the module compiled, never a crash.
"""

import ctypes
import threading
import weakref

from . import errors
from ._core import Address, HostTargetMachine, Reporter, Resource, create_module, guarded, to_bytes
from ._lib import (EngineRef, IR_PIPELINE_NONE, ObjectCacheGetBufferFunction,
                   ObjectCacheNotifyFunction, Statistics, lib)

__all__ = ["create_mcjit_compiler", "check_jit_execution", "ExecutionEngine",
           "TargetData", "install", "uninstall", "add_symbol", "installed"]

# Symbols registered with llvmlite.binding.add_symbol (forwarded by install()),
# defined in every engine made afterwards, and in live engines when added.
_symbols = {}
_engines = weakref.WeakSet()
_lock = threading.Lock()


def check_jit_execution():
    """Raises ``jitcore.JitExecutionDenied`` (a RuntimeError too, as
    llvmlite raises) if this process may not map executable memory."""
    exc = errors.take(lib.JitcoreCheckJITExecution())
    if exc is not None:
        raise exc


def create_mcjit_compiler(module, target_machine, use_lmm=None):
    """Creates a jitcore engine for ``target_machine`` (an llvmlite
    TargetMachine; its opt level is used for code generation) holding
    ``module`` (an llvmlite ModuleRef, or IR text). ``use_lmm`` is accepted
    and ignored: jitcore's JITLink memory manager is used on every
    platform."""
    return ExecutionEngine(module, target_machine)


def _module_name(mod):
    return getattr(mod, "name", "module")


def _type_text(ty):
    """IR text of an llvmlite TypeRef that parses on its own: named structs
    are spelled out as literal ones (same layout)."""
    if isinstance(ty, (str, bytes)):
        return ty.decode() if isinstance(ty, bytes) else ty
    if not hasattr(ty, "is_struct"):
        return str(ty)                      # llvmlite.ir types print as IR
    if ty.is_struct:
        if ty.is_opaque_struct:
            return str(ty)
        body = ", ".join(_type_text(e) for e in ty.elements)
        return ("<{ %s }>" if ty.is_packed_struct else "{ %s }") % body
    if ty.is_array or ty.is_vector:
        elem = _type_text(next(iter(ty.elements)))
        return ("[%d x %s]" if ty.is_array else "<%d x %s>") % (ty.element_count, elem)
    return str(ty)


class TargetData:
    """The engine's target data (a singleton per engine). ``str()`` is the
    data layout; ``get_abi_size`` / ``get_abi_alignment`` take llvmlite
    types (or IR type text) and are answered by jitcore."""

    def __init__(self, engine, layout):
        self._engine = engine
        self._layout = layout

    def __str__(self):
        return self._layout

    def _query(self, fn, ty):
        h = self._engine._check_open()
        td = lib.JitcoreEngineGetTargetData(h)
        out = ctypes.c_uint64()
        errors.check(fn(td, ctypes.byref(out), to_bytes(_type_text(ty), "type")))
        return out.value

    def get_abi_size(self, ty):
        return self._query(lib.JitcoreTargetDataGetABISize, ty)

    def get_abi_alignment(self, ty):
        return self._query(lib.JitcoreTargetDataGetABIAlignment, ty)

    @property
    def pointer_size(self):
        return lib.JitcoreTargetDataGetPointerSize(
            lib.JitcoreEngineGetTargetData(self._engine._check_open()))


class ExecutionEngine(Resource):
    """llvmlite's ExecutionEngine on jitcore. Modules are code-generated as
    given (the codegen-only IR pipeline, as MCJIT: llvmlite users run their
    own passes), at the target machine's opt level."""

    def __init__(self, module, target_machine):
        self._modules = {}        # id(llmod) -> (llmod, jitcore handle)
        self._defined = set()     # external names defined by added modules
        self._owned_names = {}    # id(llmod) -> the names it defined first
        self._by_handle = {}      # jitcore handle -> llmod
        self._td = None
        self._cache_cbs = None
        self.reporter = Reporter()
        opt = getattr(target_machine, "_jitcore_opt", 2)
        opt = max(0, min(3, int(opt) if opt is not None else 2))
        self._tm = HostTargetMachine(opt)
        self._tm_ll = target_machine
        h = EngineRef()
        errors.check(lib.JitcoreCreateMCJITCompiler(ctypes.byref(h), None, self._tm.handle))
        self._h, self._closed = h.value, False
        lib.JitcoreEngineSetErrorReporter(self._h, self.reporter.c_function, None)
        errors.check(lib.JitcoreEngineSetIRPipeline(self._h, IR_PIPELINE_NONE, None))
        with _lock:
            syms = dict(_symbols)
            _engines.add(self)
        for name, addr in syms.items():
            self._map_symbol(name, addr)
        if module is not None:
            self.add_module(module)

    # -- lifetime ---------------------------------------------------------
    def _dispose(self, h):
        """Frees the engine, its code and the modules it owns (they are
        closed, as llvmlite's are)."""
        with _lock:
            _engines.discard(self)
        lib.JitcoreDisposeEngine(h)
        # The callbacks may be dropped only now that the engine is gone.
        self._cache_cbs = None
        for llmod, _ in self._modules.values():
            if hasattr(llmod, "_owned"):
                llmod._owned = False
                llmod.close()
        self._modules.clear()
        self._by_handle.clear()
        self._tm.close()

    # -- modules ----------------------------------------------------------
    def add_module(self, module):
        """Adds ``module`` (an llvmlite ModuleRef, or IR text); the engine
        owns it from now on (closing the engine closes it). ``KeyError`` if
        it is added already."""
        h = self._check_open()
        if id(module) in self._modules and self._modules[id(module)][0] is module:
            raise KeyError("module already added to this engine")
        owned = self._first_definitions_win(module)
        jm = create_module(module, None if hasattr(module, "as_bitcode") else "module")
        err = errors.take(lib.JitcoreEngineAddModule(h, jm))
        if err is not None:
            lib.JitcoreDisposeModule(jm)
            raise err
        self._defined.update(owned)
        self._owned_names[id(module)] = owned
        self._modules[id(module)] = (module, jm)
        self._by_handle[jm] = module
        if hasattr(module, "_owned"):
            module._owned = True

    def _first_definitions_win(self, module):
        """MCJIT keeps the first definition of a symbol that several added
        modules define (numba emits helpers such as ``__excinfo_unwrap_args*``
        with external linkage in every module that needs them); so does this
        engine: in a later module such a definition is made ``linkonce_odr``
        (discarded in favour of the one loaded). jitcore's own API raises
        DuplicateDefinition instead. Returns the names ``module`` defines
        first. Only llvmlite ModuleRefs are adjusted (IR text is added as is)."""
        if not hasattr(module, "functions"):
            return set()
        owned = set()
        for values in (module.functions, module.global_variables):
            for v in values:
                if v.is_declaration or getattr(v.linkage, "name", v.linkage) != "external":
                    continue
                if v.name in self._defined:
                    v.linkage = "linkonce_odr"
                else:
                    owned.add(v.name)
        return owned

    def remove_module(self, module):
        """Removes ``module``, freeing its code and data (which MCJIT never
        does): addresses into it become invalid. ``KeyError`` if it is not
        added. The caller owns the module again."""
        h = self._check_open()
        entry = self._modules.get(id(module))
        if entry is None or entry[0] is not module:
            raise KeyError("module not added to this engine")
        errors.check(lib.JitcoreEngineRemoveModule(h, entry[1]))
        lib.JitcoreDisposeModule(entry[1])
        del self._modules[id(module)]
        self._defined.difference_update(self._owned_names.pop(id(module), ()))
        self._by_handle.pop(entry[1], None)
        if hasattr(module, "_owned"):
            module._owned = False

    def finalize_object(self):
        """Compiles and links every module not compiled yet; raises
        ``jitcore.UnresolvedSymbol`` naming an external nobody provides
        (MCJIT aborts the process)."""
        errors.check(lib.JitcoreEngineFinalizeObject(self._check_open()))

    def _lookup(self, fn, name):
        out = ctypes.c_uint64()
        errors.check(fn(self._check_open(), ctypes.byref(out), to_bytes(name, "name")))
        return Address(out.value, self)

    def get_function_address(self, name):
        """The address of function ``name`` (an int that keeps this engine
        alive). Raises ``jitcore.SymbolNotFound`` if nothing defines it,
        where MCJIT returns 0."""
        return self._lookup(lib.JitcoreEngineGetFunctionAddress, name)

    def get_global_value_address(self, name):
        """The address of global ``name``; raises ``jitcore.SymbolNotFound``
        if nothing defines it."""
        return self._lookup(lib.JitcoreEngineGetGlobalValueAddress, name)

    def add_global_mapping(self, gv, addr):
        """Makes the symbol ``gv`` (an llvmlite ValueRef or a name) resolve
        to ``addr``."""
        name = gv if isinstance(gv, (str, bytes)) else gv.name
        errors.check(lib.JitcoreEngineAddGlobalMapping(self._check_open(), to_bytes(name, "name"),
                                                       int(addr)))

    def _map_symbol(self, name, addr):
        err = errors.take(lib.JitcoreEngineAddGlobalMapping(self._h, to_bytes(name, "name"), int(addr)))
        if isinstance(err, errors.DuplicateDefinition):
            return  # defined already (by the engine's own code): that definition wins
        if err is not None:
            raise err

    def add_object_file(self, obj_file):
        """Adds an object file: a path, an llvmlite ``ObjectFileRef`` (not
        usable after this call) or bytes."""
        h = self._check_open()
        if isinstance(obj_file, str):
            errors.check(lib.JitcoreEngineAddObjectFile(h, obj_file.encode()))
            return
        if isinstance(obj_file, (bytes, bytearray)):
            data = bytes(obj_file)
        else:
            data = getattr(obj_file, "_jitcore_data", None)
            if data is None:
                raise TypeError("this ObjectFileRef was made before jitcore.llvmlite was imported; "
                                "pass its bytes or path instead")
        errors.check(lib.JitcoreEngineAddObjectBuffer(h, data, len(data)))
        if hasattr(obj_file, "close"):
            obj_file.close()

    def run_static_constructors(self):
        errors.check(lib.JitcoreEngineRunStaticConstructors(self._check_open()))

    def run_static_destructors(self):
        errors.check(lib.JitcoreEngineRunStaticDestructors(self._check_open()))

    @property
    def target_data(self):
        """The engine's TargetData (the same object every time)."""
        self._check_open()
        if self._td is None:
            layout = ""
            tdl = getattr(self._tm_ll, "target_data", None)
            if tdl is not None:
                layout = str(tdl)
            self._td = TargetData(self, layout)
        return self._td

    def enable_jit_events(self):
        """GDB/perf registration is a session option in jitcore
        (``jitcore.Session(debugger=True, perf=True)``); engines have none.
        Returns False, as llvmlite does when no listener is available."""
        self._check_open()
        return False

    # -- object cache -----------------------------------------------------
    def set_object_cache(self, notify_func=None, getbuffer_func=None):
        """Sets the object cache callbacks. ``notify_func(module, buffer)``
        is called once per module compiled with the very ModuleRef added
        and the object as bytes; ``getbuffer_func(module)`` before each
        compile may return bytes of an object standing for the module (the
        module is then not compiled) or None. Exceptions they raise are
        reported to ``self.reporter`` and the module compiled."""
        h = self._check_open()
        if notify_func is None and getbuffer_func is None:
            lib.JitcoreEngineSetObjectCache(h, ObjectCacheNotifyFunction(), ObjectCacheGetBufferFunction(), None)
            # Old callbacks may still be in use by a compile under way: keep them.
            return
        wself = weakref.ref(self)
        report = self.reporter

        @guarded(report, "object cache notify callback")
        def notify(ctx, m, data, size):
            me = wself()
            if me is None or notify_func is None:
                return
            mod = me._by_handle.get(m)
            if mod is None:
                return  # not a module the host added (jitcore's platform support)
            notify_func(mod, ctypes.string_at(data, size))

        @guarded(report, "object cache getbuffer callback")
        def getbuffer(ctx, m):
            me = wself()
            if me is None or getbuffer_func is None:
                return None
            mod = me._by_handle.get(m)
            if mod is None:
                return None
            buf = getbuffer_func(mod)
            if buf is None:
                return None
            buf = bytes(buf)
            return lib.JitcoreCreateObjectBufferCopy(buf, len(buf))

        cbs = (ObjectCacheNotifyFunction(notify), ObjectCacheGetBufferFunction(getbuffer))
        lib.JitcoreEngineSetObjectCache(h, cbs[0], cbs[1], None)
        # Every set of callbacks stays alive until the engine is disposed of.
        self._cache_cbs = (cbs, self._cache_cbs)

    # -- jitcore extras ---------------------------------------------------
    def get_statistics(self):
        from . import _stats
        st = Statistics()
        errors.check(lib.JitcoreEngineGetStatisticsSized(self._check_open(), ctypes.byref(st),
                                                         ctypes.sizeof(st)))
        return _stats.Statistics.from_c(st)


# -- install() --------------------------------------------------------------

_saved = {}
_METHODS = ("add_module", "remove_module", "finalize_object", "get_function_address",
            "get_global_value_address", "add_global_mapping", "add_object_file",
            "set_object_cache", "run_static_constructors", "run_static_destructors",
            "enable_jit_events", "close")


def add_symbol(name, address):
    """Registers ``name`` at ``address`` for every jitcore engine (made
    before or after), as llvmlite.binding.add_symbol does for MCJIT."""
    with _lock:
        _symbols[name] = int(address)
        engines = list(_engines)
    for e in engines:
        if not e._closed:
            e._map_symbol(name, address)


def installed():
    return bool(_saved)


def _patch_llvmlite_objects():
    """Records what jitcore needs from llvmlite objects made from now on:
    the bytes of ObjectFileRefs and the opt level of TargetMachines."""
    import llvmlite.binding as llb
    from llvmlite.binding import object_file, targets
    if getattr(object_file.ObjectFileRef, "_jitcore_patched", False):
        return
    ofr = object_file.ObjectFileRef
    orig_from_data = ofr.from_data.__func__
    orig_from_path = ofr.from_path.__func__

    def from_data(cls, data):
        obj = orig_from_data(cls, data)
        obj._jitcore_data = bytes(data)
        return obj

    def from_path(cls, path):
        obj = orig_from_path(cls, path)
        with open(path, "rb") as f:
            obj._jitcore_data = f.read()
        return obj

    ofr.from_data = classmethod(from_data)
    ofr.from_path = classmethod(from_path)
    ofr._jitcore_patched = True

    orig_create = targets.Target.create_target_machine

    def create_target_machine(self, cpu='', features='', opt=2, *args, **kwargs):
        tm = orig_create(self, cpu, features, opt, *args, **kwargs)
        tm._jitcore_opt = opt
        return tm

    targets.Target.create_target_machine = create_target_machine
    del llb


def install():
    """Makes ``llvmlite.binding.create_mcjit_compiler`` return jitcore
    engines for the whole process, and forwards ``llvmlite.binding.add_symbol``
    (and ``load_library_permanently``, loading the library RTLD_GLOBAL) so
    jitted code finds them. Best called before numba is imported; after is
    fine too (llvmlite's ExecutionEngine methods dispatch to jitcore's for
    jitcore engines)."""
    import llvmlite.binding as llb
    from llvmlite.binding import dylib, executionengine
    if _saved:
        return
    _patch_llvmlite_objects()
    _saved["create_mcjit_compiler"] = (llb, llb.create_mcjit_compiler)
    _saved["ee_create_mcjit_compiler"] = (executionengine, executionengine.create_mcjit_compiler)
    _saved["add_symbol"] = (llb, llb.add_symbol)
    _saved["dylib_add_symbol"] = (dylib, dylib.add_symbol)
    _saved["load_library_permanently"] = (llb, llb.load_library_permanently)
    _saved["dylib_load_library_permanently"] = (dylib, dylib.load_library_permanently)
    orig_add_symbol = llb.add_symbol
    orig_load = llb.load_library_permanently

    def forwarded_add_symbol(name, address):
        orig_add_symbol(name, address)
        add_symbol(name, address)

    def forwarded_load(filename):
        orig_load(filename)
        ctypes.CDLL(filename, mode=ctypes.RTLD_GLOBAL)

    for mod in (llb, executionengine):
        mod.create_mcjit_compiler = create_mcjit_compiler
    for mod in (llb, dylib):
        mod.add_symbol = forwarded_add_symbol
        mod.load_library_permanently = forwarded_load
    # Code that bound llvmlite's methods already (numba's JitEngine proxies
    # ll.ExecutionEngine.<method>) reaches jitcore's through these.
    cls = executionengine.ExecutionEngine
    for name in _METHODS:
        orig = cls.__dict__.get(name)
        if orig is None:
            continue
        _saved["method." + name] = (cls, orig)

        def make(name, orig):
            def dispatch(self, *args, **kwargs):
                if isinstance(self, ExecutionEngine):
                    return getattr(ExecutionEngine, name)(self, *args, **kwargs)
                return orig(self, *args, **kwargs)
            dispatch.__name__ = name
            dispatch.__doc__ = orig.__doc__
            return dispatch
        setattr(cls, name, make(name, orig))


def uninstall():
    """Undoes install() (engines already made stay jitcore engines)."""
    for key, (owner, value) in list(_saved.items()):
        attr = key.split(".", 1)[1] if key.startswith("method.") else key
        if attr.startswith("ee_") or attr.startswith("dylib_"):
            attr = attr.split("_", 1)[1]
        setattr(owner, attr, value)
    _saved.clear()


_patch_llvmlite_objects()
