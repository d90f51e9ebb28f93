"""jitcore: Python bindings of libjitcore, a JIT library on LLVM 22.

``jitcore.Session`` is the native API (ORC sessions, JITDylibs, link order,
symbol sources, resource trackers, object caches); ``jitcore.llvmlite`` is
a drop-in for llvmlite.binding's execution engine (``install()`` switches
numba over). Pure Python over ctypes; needs libjitcore.so.0.1 (see
``jitcore._lib`` for how it is found).
"""

from ._version import __version__
from ._lib import SONAME, library_version, path as library_path
from .errors import (JitError, InvalidArgument, InvalidIR, InvalidObject, SymbolNotFound,
                     DuplicateDefinition, ModuleAlreadyAdded, ModuleNotFound,
                     UnresolvedSymbol, CompileError, LinkError, CacheError, Unsupported,
                     JitExecutionDenied, InternalError, ClosedError)
from .errors import IOError_ as IOError  # noqa: A001 - jitcore.IOError, also an OSError
from ._core import Address, module_key
from ._stats import Statistics, DiskCacheStatistics
from ._session import Session, Dylib, ResourceTracker, DiskCache, check_jit_execution

__all__ = [
    "__version__", "SONAME", "library_version", "library_path",
    "JitError", "InvalidArgument", "InvalidIR", "InvalidObject", "SymbolNotFound",
    "DuplicateDefinition", "ModuleAlreadyAdded", "ModuleNotFound", "UnresolvedSymbol",
    "CompileError", "LinkError", "CacheError", "IOError", "Unsupported",
    "JitExecutionDenied", "InternalError", "ClosedError",
    "Address", "module_key", "Statistics", "DiskCacheStatistics",
    "Session", "Dylib", "ResourceTracker", "DiskCache", "check_jit_execution",
]
