"""numba 0.68 (on llvmlite 0.50) running on jitcore through
jitcore.llvmlite.install(), with no change to numba. Each case runs in a
subprocess: install() is process-wide and must precede numba's first engine."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("numba")

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numba_scripts")

# numba's own test modules run on jitcore (a few minutes in all).
NUMBA_TEST_MODULES = os.environ.get(
    "JITCORE_NUMBA_TESTS",
    "numba.tests.test_codegen numba.tests.test_nrt numba.tests.test_closure "
    "numba.tests.test_recursion numba.tests.test_exceptions "
    "numba.tests.test_vectorization").split()


def run(script, *args, env=None, timeout=600):
    out = subprocess.run([sys.executable, os.path.join(SCRIPTS, script), *args],
                         capture_output=True, text=True, timeout=timeout,
                         env=dict(os.environ, **(env or {})))
    print(out.stdout)
    assert out.returncode == 0, out.stdout + out.stderr[-5000:]
    return out.stdout


def test_njit_vectorize_and_numba_cache(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    first = run("njit_job.py", env=env)
    assert "njit ok, vectorize ok, cache=True ok; engine jitcore.llvmlite" in first
    assert "h cache hits 0 misses 1" in first
    second = run("njit_job.py", env=env)
    assert "h cache hits 1 misses 0" in second      # loaded through getbuffer


def test_numbas_own_test_modules():
    out = run("run_numba_tests.py", *NUMBA_TEST_MODULES, timeout=1200)
    assert out.count("unexpected failures 0") == len(NUMBA_TEST_MODULES)
