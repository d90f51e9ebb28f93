"""The C library, found and declared: every function of include/jitcore.h
with its restype and argtypes (ctypes' defaults would truncate pointers).

Discovery, in order: the JITCORE_LIBRARY environment variable (a file, or a
directory holding the library), the system loader (rpath, LD_LIBRARY_PATH,
ldconfig), then pkg-config's ``libdir`` for ``jitcore``. The file asked for
is the SONAME matching this package's version: ``libjitcore.so.0.<minor>``
in 0.x (the minor version is part of the ABI), ``libjitcore.so.<major>``
from 1.0 on.
"""

import ctypes
import os
import shutil
import subprocess
from ctypes import (CFUNCTYPE, POINTER, c_char_p, c_int, c_size_t, c_uint,
                    c_uint8, c_uint64, c_void_p)

from ._version import __version__

_MAJOR, _MINOR = (int(x) for x in __version__.split(".")[:2])
SONAME = ("libjitcore.so.%d.%d" % (_MAJOR, _MINOR) if _MAJOR == 0
          else "libjitcore.so.%d" % _MAJOR)


class LibraryNotFound(OSError):
    """libjitcore could not be loaded; the message lists every path tried."""


def _candidates():
    env = os.environ.get("JITCORE_LIBRARY")
    if env:
        yield ("JITCORE_LIBRARY", os.path.join(env, SONAME)
               if os.path.isdir(env) else env)
    yield ("system loader", SONAME)
    if shutil.which("pkg-config"):
        try:
            out = subprocess.run(["pkg-config", "--variable=libdir", "jitcore"],
                                 capture_output=True, text=True, timeout=10)
            libdir = out.stdout.strip()
            if out.returncode == 0 and libdir:
                yield ("pkg-config libdir", os.path.join(libdir, SONAME))
            else:
                yield ("pkg-config", None)
        except (OSError, subprocess.SubprocessError):
            yield ("pkg-config", None)
    else:
        yield ("pkg-config (not installed)", None)


def _load():
    tried = []
    for how, path in _candidates():
        if path is None:
            tried.append("%s: no jitcore package found" % how)
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s: %s (%s)" % (how, path, e))
            continue
        return lib, path
    raise LibraryNotFound(
        "cannot load %s (jitcore %s); tried:\n  %s\nSet JITCORE_LIBRARY to "
        "the library file, or PKG_CONFIG_PATH to <prefix>/lib/pkgconfig."
        % (SONAME, __version__, "\n  ".join(tried)))


lib, path = _load()

# Handles are opaque pointers.
ErrorRef = c_void_p
ModuleRef = c_void_p
TargetMachineRef = c_void_p
TargetDataRef = c_void_p
EngineRef = c_void_p
SessionRef = c_void_p
DylibRef = c_void_p
TrackerRef = c_void_p
ObjectCacheRef = c_void_p
ObjectBufferRef = c_void_p

KEY_SIZE = 32
KEY_HEX_SIZE = 65

IR_PIPELINE_DEFAULT, IR_PIPELINE_NONE, IR_PIPELINE_CUSTOM = 0, 1, 2


class SessionOptions(ctypes.Structure):
    _fields_ = [("OptLevel", c_int), ("CompileThreads", c_uint),
                ("LazyByDefault", c_int), ("EnableDebugger", c_int),
                ("EnablePerf", c_int)]


class Statistics(ctypes.Structure):
    _fields_ = [(n, c_uint64) for n in (
        "ModulesCompiled", "FunctionsCompiled", "ObjectsLoaded", "CacheHits",
        "CacheMisses", "CacheRejected", "ObjectBytesEmitted",
        "MaterializationFailures", "CodeBytesLive")]


class DiskCacheStatistics(ctypes.Structure):
    _fields_ = [(n, c_uint64) for n in (
        "Hits", "Misses", "Writes", "CorruptDropped", "Evictions",
        "BytesOnDisk", "Entries", "IOErrors")]


class SymbolDefinition(ctypes.Structure):
    _fields_ = [("Name", c_char_p), ("Address", c_uint64)]


ErrorReporterFunction = CFUNCTYPE(None, c_void_p, c_int, c_char_p)
MaterializeFunction = CFUNCTYPE(ErrorRef, c_void_p, POINTER(c_char_p), c_size_t,
                                POINTER(ModuleRef), POINTER(ObjectBufferRef))
MaterializerDisposeFunction = CFUNCTYPE(None, c_void_p)
SymbolFilterFunction = CFUNCTYPE(c_int, c_void_p, c_char_p)
ObjectCacheNotifyFunction = CFUNCTYPE(None, c_void_p, ModuleRef, POINTER(c_uint8), c_size_t)
# Returns an ObjectBufferRef; declared c_void_p so a Python int (or None) converts.
ObjectCacheGetBufferFunction = CFUNCTYPE(c_void_p, c_void_p, ModuleRef)
# The error is the handler's to consume (jitcore.h, JitcoreLazyFailureHandler).
LazyFailureHandler = CFUNCTYPE(None, c_void_p, c_char_p, ErrorRef)

_u8p = POINTER(c_uint8)
_u64p = POINTER(c_uint64)

# name: (restype, argtypes)
_SIGNATURES = {
    # 1. Errors
    "JitcoreCreateError": (ErrorRef, [c_uint, c_char_p]),
    "JitcoreGetErrorCode": (c_int, [ErrorRef]),
    # Returns char* to free: c_void_p so ctypes does not copy and lose it.
    "JitcoreGetErrorMessage": (c_void_p, [ErrorRef]),
    "JitcoreDisposeErrorMessage": (None, [c_void_p]),
    "JitcoreConsumeError": (None, [ErrorRef]),
    # 2. Modules
    "JitcoreCreateModuleFromIR": (ErrorRef, [POINTER(ModuleRef), c_char_p, c_char_p, c_size_t]),
    "JitcoreCreateModuleFromUntrustedIR": (ErrorRef, [POINTER(ModuleRef), c_char_p, c_char_p, c_size_t]),
    "JitcoreCreateModuleFromLLVMModule": (ErrorRef, [POINTER(ModuleRef), c_void_p]),
    "JitcoreDisposeModule": (None, [ModuleRef]),
    "JitcoreModuleGetName": (c_char_p, [ModuleRef]),
    # 3. Targets
    "JitcoreCreateHostTargetMachine": (ErrorRef, [POINTER(TargetMachineRef), c_int]),
    "JitcoreDisposeTargetMachine": (None, [TargetMachineRef]),
    "JitcoreTargetMachineGetTriple": (c_char_p, [TargetMachineRef]),
    "JitcoreTargetDataGetPointerSize": (c_uint, [TargetDataRef]),
    "JitcoreTargetDataGetABISize": (ErrorRef, [TargetDataRef, _u64p, c_char_p]),
    "JitcoreTargetDataGetABIAlignment": (ErrorRef, [TargetDataRef, _u64p, c_char_p]),
    # 4. Engine
    "JitcoreCreateMCJITCompiler": (ErrorRef, [POINTER(EngineRef), ModuleRef, TargetMachineRef]),
    "JitcoreDisposeEngine": (None, [EngineRef]),
    "JitcoreEngineAddModule": (ErrorRef, [EngineRef, ModuleRef]),
    "JitcoreEngineRemoveModule": (ErrorRef, [EngineRef, ModuleRef]),
    "JitcoreEngineFinalizeObject": (ErrorRef, [EngineRef]),
    "JitcoreEngineGetFunctionAddress": (ErrorRef, [EngineRef, _u64p, c_char_p]),
    "JitcoreEngineGetGlobalValueAddress": (ErrorRef, [EngineRef, _u64p, c_char_p]),
    "JitcoreEngineAddObjectFile": (ErrorRef, [EngineRef, c_char_p]),
    "JitcoreEngineAddObjectBuffer": (ErrorRef, [EngineRef, c_char_p, c_size_t]),
    "JitcoreEngineAddGlobalMapping": (ErrorRef, [EngineRef, c_char_p, c_uint64]),
    "JitcoreEngineRunStaticConstructors": (ErrorRef, [EngineRef]),
    "JitcoreEngineRunStaticDestructors": (ErrorRef, [EngineRef]),
    "JitcoreEngineGetTargetData": (TargetDataRef, [EngineRef]),
    "JitcoreEngineSetIRPipeline": (ErrorRef, [EngineRef, c_int, c_char_p]),
    "JitcoreEngineSetErrorReporter": (None, [EngineRef, ErrorReporterFunction, c_void_p]),
    # 5. Session
    "JitcoreSessionOptionsInitSized": (None, [POINTER(SessionOptions), c_size_t]),
    "JitcoreCreateSessionSized": (ErrorRef, [POINTER(SessionRef), POINTER(SessionOptions), c_size_t]),
    "JitcoreDisposeSession": (None, [SessionRef]),
    "JitcoreSessionGetMainDylib": (DylibRef, [SessionRef]),
    "JitcoreSessionCreateDylib": (ErrorRef, [SessionRef, POINTER(DylibRef), c_char_p]),
    "JitcoreSessionGetDylibByName": (DylibRef, [SessionRef, c_char_p]),
    "JitcoreSessionLookup": (ErrorRef, [SessionRef, DylibRef, _u64p, c_char_p]),
    "JitcoreSessionLookupMany": (ErrorRef, [SessionRef, DylibRef, _u64p, POINTER(c_char_p), c_size_t]),
    "JitcoreSessionSetIRPipeline": (ErrorRef, [SessionRef, c_int, c_char_p]),
    "JitcoreSessionSetErrorReporter": (None, [SessionRef, ErrorReporterFunction, c_void_p]),
    "JitcoreSessionSetLazyFailureHandler": (None, [SessionRef, LazyFailureHandler, c_void_p]),
    # 6. Dylibs
    "JitcoreDylibGetName": (c_char_p, [DylibRef]),
    "JitcoreDylibSetLinkOrder": (ErrorRef, [DylibRef, POINTER(DylibRef), c_size_t]),
    "JitcoreDylibAddModule": (ErrorRef, [DylibRef, ModuleRef, TrackerRef]),
    "JitcoreDylibAddModuleLazy": (ErrorRef, [DylibRef, ModuleRef, TrackerRef]),
    "JitcoreDylibAddObjectBuffer": (ErrorRef, [DylibRef, c_char_p, c_size_t, TrackerRef]),
    "JitcoreDylibDefineAbsoluteSymbols": (ErrorRef, [DylibRef, POINTER(SymbolDefinition), c_size_t]),
    "JitcoreDylibInitialize": (ErrorRef, [DylibRef]),
    "JitcoreDylibDeinitialize": (ErrorRef, [DylibRef]),
    "JitcoreDylibAddMaterializer": (ErrorRef, [DylibRef, POINTER(c_char_p), c_size_t, MaterializeFunction,
                                               MaterializerDisposeFunction, c_void_p, TrackerRef]),
    "JitcoreDylibAddProcessSymbols": (ErrorRef, [DylibRef, SymbolFilterFunction, c_void_p]),
    "JitcoreDylibAddLibrarySymbols": (ErrorRef, [DylibRef, c_char_p, SymbolFilterFunction, c_void_p]),
    "JitcoreDylibAddArchive": (ErrorRef, [DylibRef, c_char_p]),
    "JitcoreDylibCreateResourceTracker": (TrackerRef, [DylibRef]),
    # 7. Trackers
    "JitcoreResourceTrackerRemove": (ErrorRef, [TrackerRef]),
    "JitcoreDisposeResourceTracker": (None, [TrackerRef]),
    # 8. Caches
    "JitcoreCreateObjectBufferCopy": (ObjectBufferRef, [c_char_p, c_size_t]),
    "JitcoreDisposeObjectBuffer": (None, [ObjectBufferRef]),
    "JitcoreEngineSetObjectCache": (None, [EngineRef, ObjectCacheNotifyFunction,
                                           ObjectCacheGetBufferFunction, c_void_p]),
    "JitcoreSessionSetObjectCache": (None, [SessionRef, ObjectCacheNotifyFunction,
                                            ObjectCacheGetBufferFunction, c_void_p]),
    "JitcoreModuleGetKey": (ErrorRef, [ModuleRef, TargetMachineRef, _u8p, ctypes.c_char_p]),
    "JitcoreModuleGetKeyForPipeline": (ErrorRef, [ModuleRef, TargetMachineRef, c_int, c_char_p,
                                                  _u8p, ctypes.c_char_p]),
    "JitcoreCreateDiskCache": (ErrorRef, [POINTER(ObjectCacheRef), c_char_p, c_uint64]),
    "JitcoreDisposeObjectCache": (None, [ObjectCacheRef]),
    "JitcoreEngineSetDiskCache": (None, [EngineRef, ObjectCacheRef]),
    "JitcoreSessionSetDiskCache": (None, [SessionRef, ObjectCacheRef]),
    # 9. Statistics (the size-versioned symbols; the unsized names are C macros)
    "JitcoreEngineGetStatisticsSized": (ErrorRef, [EngineRef, POINTER(Statistics), c_size_t]),
    "JitcoreSessionGetStatisticsSized": (ErrorRef, [SessionRef, POINTER(Statistics), c_size_t]),
    "JitcoreDiskCacheGetStatisticsSized": (ErrorRef, [ObjectCacheRef, POINTER(DiskCacheStatistics), c_size_t]),
    # 10. Version
    "JitcoreGetVersionString": (c_char_p, []),
    "JitcoreGetVersion": (None, [POINTER(c_uint), POINTER(c_uint), POINTER(c_uint)]),
    "JitcoreCheckJITExecution": (ErrorRef, []),
}

for _name, (_res, _args) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def library_version():
    ma, mi, pa = c_uint(), c_uint(), c_uint()
    lib.JitcoreGetVersion(ctypes.byref(ma), ctypes.byref(mi), ctypes.byref(pa))
    return (ma.value, mi.value, pa.value)


_lv = library_version()
if _lv[0] != _MAJOR or (_MAJOR == 0 and _lv[1] != _MINOR):
    raise LibraryNotFound("%s at %s is jitcore %d.%d.%d, this package needs %d.%d.x"
                          % (SONAME, path, _lv[0], _lv[1], _lv[2], _MAJOR, _MINOR))
