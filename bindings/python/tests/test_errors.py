"""Every error class, raised by real failures where a caller can cause one."""

import ctypes
import os

import pytest

import jitcore
from jitcore import _lib, errors
from jitcore._lib import lib

from conftest import SUM_IR


def test_every_code_maps_to_its_class():
    expected = {
        1: jitcore.InvalidArgument, 2: jitcore.InvalidIR, 3: jitcore.InvalidObject,
        4: jitcore.SymbolNotFound, 5: jitcore.DuplicateDefinition, 6: jitcore.ModuleAlreadyAdded,
        7: jitcore.ModuleNotFound, 8: jitcore.UnresolvedSymbol, 9: jitcore.CompileError,
        10: jitcore.LinkError, 11: jitcore.CacheError, 12: jitcore.IOError, 13: jitcore.Unsupported,
        14: jitcore.JitExecutionDenied, 15: jitcore.InternalError,
    }
    for code, cls in expected.items():
        exc = errors.take(lib.JitcoreCreateError(code, b"message %d" % code))
        assert type(exc) is cls and issubclass(cls, jitcore.JitError)
        assert exc.code == code and exc.message == "message %d" % code
    assert errors.take(None) is None
    assert issubclass(jitcore.SymbolNotFound, LookupError)
    assert issubclass(jitcore.IOError, OSError)
    assert issubclass(jitcore.ClosedError, ctypes.ArgumentError)
    assert issubclass(jitcore.JitExecutionDenied, RuntimeError)


def test_invalid_ir_names_module_line_and_column(session):
    with pytest.raises(jitcore.InvalidIR) as ei:
        session.add_module("define i32 @f() {\n  ret i64 0\n}\n", name="broken")
    assert ei.value.code == 2 and "broken" in str(ei.value) and "2:" in str(ei.value)


def test_symbol_not_found(session):
    session.add_module(SUM_IR)
    with pytest.raises(jitcore.SymbolNotFound) as ei:
        session.lookup("nope")
    assert ei.value.code == 4 and "'nope'" in str(ei.value)


def test_unresolved_symbol_then_fixed(session):
    session.add_module("declare i32 @absent_fn()\ndefine i32 @g() {\n"
                       "  %r = call i32 @absent_fn()\n  ret i32 %r\n}\n", name="needs")
    with pytest.raises(jitcore.UnresolvedSymbol) as ei:
        session.lookup("g")
    assert "absent_fn" in str(ei.value)
    cb = ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 41)
    session.define_symbols({"absent_fn": cb})
    assert session.function("g", ctypes.c_int)() == 41


def test_duplicate_definition(session):
    session.add_module(SUM_IR, name="one")
    with pytest.raises(jitcore.DuplicateDefinition) as ei:
        session.add_module(SUM_IR, name="two")
    assert "sum" in str(ei.value)


def test_invalid_object(session):
    with pytest.raises(jitcore.InvalidObject):
        session.add_object(b"\x7fELF" + b"\0" * 60)


def test_unsupported_foreign_triple(session):
    with pytest.raises(jitcore.Unsupported):
        session.add_module('target triple = "riscv64-unknown-linux-gnu"\n' + SUM_IR)


def test_unknown_triple_is_the_host(session):
    """llvmlite.ir writes unknown-unknown-unknown; it means the host."""
    session.add_module('target triple = "unknown-unknown-unknown"\n' + SUM_IR)
    assert session.function("sum", ctypes.c_int, ctypes.c_int, ctypes.c_int)(2, 3) == 5


def test_io_error(session, tmp_path):
    with pytest.raises(jitcore.IOError) as ei:
        session.main.add_library(str(tmp_path / "libnothere.so"))
    assert "libnothere.so" in str(ei.value) and isinstance(ei.value, OSError)


def test_invalid_argument_bad_pipeline():
    with pytest.raises(jitcore.InvalidArgument) as ei:
        jitcore.Session(ir_pipeline="no-such-pass")
    assert "no-such-pass" in str(ei.value)


def test_module_already_added_and_not_found_from_the_c_api():
    """The llvmlite engine raises KeyError itself; the C codes behind it."""
    from jitcore._core import HostTargetMachine, create_module
    tm = HostTargetMachine(0)
    ee = _lib.EngineRef()
    errors.check(lib.JitcoreCreateMCJITCompiler(ctypes.byref(ee), None, tm.handle))
    try:
        m = create_module(SUM_IR, "m")
        errors.check(lib.JitcoreEngineAddModule(ee, m))
        with pytest.raises(jitcore.ModuleAlreadyAdded):
            errors.check(lib.JitcoreEngineAddModule(ee, m))
        other = create_module("define void @o() {\n ret void\n}\n", "o")
        with pytest.raises(jitcore.ModuleNotFound):
            errors.check(lib.JitcoreEngineRemoveModule(ee, other))
        lib.JitcoreDisposeModule(other)
    finally:
        lib.JitcoreDisposeEngine(ee)


def test_cache_error_reaches_the_reporter(session):
    seen = []
    session.set_error_reporter(seen.append)
    session.set_object_cache(getbuffer=lambda m: b"not an object at all" * 10)
    session.add_module(SUM_IR)
    assert session.function("sum", ctypes.c_int, ctypes.c_int, ctypes.c_int)(1, 2) == 3
    assert any(isinstance(e, jitcore.CacheError) for e in seen), seen
    assert session.statistics.cache_rejected == 1


def test_closed_objects_raise(tmp_path):
    s = jitcore.Session()
    d = s.main
    rt = s.add_module(SUM_IR)
    s.close()
    s.close()  # twice is fine
    for call in (lambda: s.lookup("sum"), lambda: d.name, lambda: rt.remove(),
                 lambda: s.add_module(SUM_IR), lambda: s.statistics):
        with pytest.raises(jitcore.ClosedError):
            call()
    c = jitcore.DiskCache(tmp_path / "c")
    c.close()
    with pytest.raises(jitcore.ClosedError):
        c.statistics


def test_library_discovery_says_what_it_tried(tmp_path):
    import subprocess
    import sys
    env = dict(os.environ, JITCORE_LIBRARY=str(tmp_path / "nothing.so"), LD_LIBRARY_PATH="",
               PKG_CONFIG_PATH=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", "import jitcore"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "LibraryNotFound" in out.stderr and "JITCORE_LIBRARY" in out.stderr
    assert "system loader" in out.stderr and _lib.SONAME in out.stderr


def test_the_installed_package_is_tested():
    """run-tests.sh tests the pip-installed package, not the source tree."""
    expected = os.environ.get("JITCORE_PY_EXPECT_PACKAGE")
    if not expected:
        pytest.skip("not run by run-tests.sh")
    assert os.path.realpath(jitcore.__file__).startswith(os.path.realpath(expected))
