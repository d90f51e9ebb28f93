"""numba on jitcore: @njit, cache=True (numba's object cache through
set_object_cache) and @vectorize. Run twice with the same NUMBA_CACHE_DIR:
the second run loads h() from numba's cache. Prints one line per check."""
import sys

import jitcore.llvmlite as jl
jl.install()

import numpy as np                      # noqa: E402
from numba import njit, vectorize       # noqa: E402


@njit
def dot2(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * 2
    return s


@vectorize(["float64(float64, float64)", "int64(int64, int64)"])
def fma1(a, b):
    return a * b + 1


@njit(cache=True)
def h(n):
    return sum([i * i for i in range(n)])


assert dot2(np.arange(10.0)) == 90.0
assert list(fma1(np.arange(3.0), np.arange(3.0))) == [1.0, 2.0, 5.0]
assert list(fma1(np.arange(3), np.arange(3))) == [1, 2, 5]
assert h(10) == 285
engine = dot2.overloads[dot2.signatures[0]].library._codegen._engine._ee
assert isinstance(engine, jl.ExecutionEngine), type(engine)
print("njit ok, vectorize ok, cache=True ok; engine", type(engine).__module__)
print("h cache hits", sum(h.stats.cache_hits.values()), "misses", sum(h.stats.cache_misses.values()))
sys.exit(0)
