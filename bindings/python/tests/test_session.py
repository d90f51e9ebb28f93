"""The native API: dylibs, link order, symbol sources, trackers, lazy
modules, caches, statistics; and the cross-language job."""

import ctypes
import os
import runpy
import sys

import pytest

import jitcore

from conftest import SUM_IR

INT_INT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)


def test_link_order_and_dylibs(session):
    base = session.create_dylib("base")
    app = session.create_dylib("app")
    assert session.dylib("base") == base and session.dylib("nope") is None
    assert session.main.name == "main" and app.name == "app"
    base.add_module("define i32 @twice(i32 %x) {\n  %y = mul i32 %x, 2\n  ret i32 %y\n}\n")
    app.add_module("declare i32 @twice(i32)\ndefine i32 @quad(i32 %x) {\n"
                   "  %a = call i32 @twice(i32 %x)\n  %b = call i32 @twice(i32 %a)\n  ret i32 %b\n}\n")
    with pytest.raises(jitcore.UnresolvedSymbol):
        app.lookup("quad")
    app.set_link_order([base])
    assert session.function("quad", ctypes.c_int, ctypes.c_int, dylib=app)(3) == 12
    with pytest.raises(jitcore.SymbolNotFound):
        session.lookup("quad")          # main does not see app


def test_tracker_context_manager_frees_code(session):
    with session.add_module(SUM_IR) as rt:
        assert session.lookup("sum") != 0
        assert session.statistics.code_bytes_live > 0
    assert rt.removed and session.statistics.code_bytes_live == 0
    with pytest.raises(jitcore.SymbolNotFound):
        session.lookup("sum")
    session.add_module(SUM_IR)          # can be defined again
    assert session.lookup("sum")


def test_shared_tracker(session):
    rt = session.main.create_tracker()
    session.add_module(SUM_IR, tracker=rt)
    session.add_module("define i32 @one() {\n  ret i32 1\n}\n", tracker=rt)
    session.lookup_many(["sum", "one"])
    rt.remove()
    for n in ("sum", "one"):
        with pytest.raises(jitcore.SymbolNotFound):
            session.lookup(n)


def test_lazy_compiles_on_first_call():
    with jitcore.Session(lazy=True) as s:
        s.add_module("define i32 @a(i32 %x) {\n  ret i32 %x\n}\ndefine i32 @b(i32 %x) {\n"
                     "  %y = add i32 %x, 1\n  ret i32 %y\n}\n")
        fa = s.function("a", ctypes.c_int, ctypes.c_int)
        assert s.statistics.modules_compiled == 0
        assert fa(5) == 5
        after_a = s.statistics.modules_compiled
        assert after_a >= 1
        assert s.function("b", ctypes.c_int, ctypes.c_int)(5) == 6
        assert s.statistics.modules_compiled > after_a


def test_lazy_failure_handler_records_and_recovers():
    seen = []
    with jitcore.Session(lazy=True) as s:
        s.set_lazy_failure_handler(lambda name, err: seen.append((name, err)))
        s.add_module("declare i32 @py_lazy_missing()\n"
                     "define i32 @calls_missing() {\n  %r = call i32 @py_lazy_missing()\n"
                     "  %s = add i32 %r, 1\n  ret i32 %s\n}\n")
        f = s.function("calls_missing", ctypes.c_int)
        # The handler returned: the call returns 0, never a made-up value.
        assert f() == 0
        assert len(seen) == 1
        name, err = seen[0]
        assert name == "calls_missing"
        assert isinstance(err, jitcore.UnresolvedSymbol)
        assert "py_lazy_missing" in str(err)
        # Once the symbol exists, the next call compiles and runs.
        forty = ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 40)
        s.define_symbols({"py_lazy_missing": forty})
        assert f() == 41
        assert len(seen) == 1


def test_initialize_and_deinitialize(session):
    events = []
    note = ctypes.CFUNCTYPE(None, ctypes.c_int)(events.append)
    session.define_symbols({"py_note": note})
    session.add_module(
        "declare void @py_note(i32)\n"
        "@llvm.global_ctors = appending global [2 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 200, ptr @late, ptr null }, { i32, ptr, ptr } { i32 100, ptr @early, ptr null }]\n"
        "@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 100, ptr @bye, ptr null }]\n"
        "define internal void @early() {\n  call void @py_note(i32 1)\n  ret void\n}\n"
        "define internal void @late() {\n  call void @py_note(i32 2)\n  ret void\n}\n"
        "define internal void @bye() {\n  call void @py_note(i32 -1)\n  ret void\n}\n")
    session.main.initialize()
    assert events == [1, 2]
    session.main.initialize()  # nothing new: runs nothing again
    assert events == [1, 2]
    session.main.deinitialize()
    assert events == [1, 2, -1]


def test_process_symbols_with_a_filter():
    with jitcore.Session() as s:
        d = s.create_dylib("filtered")
        asked = []
        d.add_process_symbols(lambda name: asked.append(name) or name == "strlen")
        d.add_module("declare i64 @strlen(ptr)\ndefine i64 @mylen(ptr %p) {\n"
                     "  %r = call i64 @strlen(ptr %p)\n  ret i64 %r\n}\n")
        f = s.function("mylen", ctypes.c_int64, ctypes.c_char_p, dylib=d)
        assert f(b"four") == 4 and "strlen" in asked
        d.add_module("declare i32 @getpid()\ndefine i32 @pid() {\n"
                     "  %r = call i32 @getpid()\n  ret i32 %r\n}\n")
        with pytest.raises(jitcore.UnresolvedSymbol) as ei:
            s.lookup("pid", dylib=d)
        assert "getpid" in str(ei.value) and "getpid" in asked


def test_absolute_symbols_keep_callbacks(session):
    def make():
        return ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x * 7)
    session.define_symbols({"host7": make()})   # only the session holds it
    import gc
    gc.collect()
    session.add_module("declare i32 @host7(i32)\ndefine i32 @use7(i32 %x) {\n"
                       "  %r = call i32 @host7(i32 %x)\n  ret i32 %r\n}\n")
    assert session.function("use7", ctypes.c_int, ctypes.c_int)(6) == 42


def test_disk_cache_and_statistics(tmp_path):
    for run in (1, 2):
        with jitcore.Session() as s, jitcore.DiskCache(tmp_path / "cache", max_bytes=1 << 20) as c:
            s.set_disk_cache(c)
            s.add_module(SUM_IR, name="disk")
            assert s.function("sum", ctypes.c_int, ctypes.c_int, ctypes.c_int)(2, 2) == 4
            st, cs = s.statistics, c.statistics
            assert isinstance(st, jitcore.Statistics) and isinstance(cs, jitcore.DiskCacheStatistics)
            if run == 1:
                assert (st.modules_compiled, cs.writes, cs.entries) == (1, 1, 1)
            else:
                assert (st.modules_compiled, st.cache_hits, cs.hits) == (0, 1, 1)
    assert len([f for f in os.listdir(tmp_path / "cache") if f.endswith(".jco")]) == 1


def test_ir_pipeline_and_llvmlite_module(session, llvm):
    session.set_ir_pipeline("none")
    mod = llvm.parse_assembly(SUM_IR)
    session.add_module(mod)
    assert session.function("sum", ctypes.c_int, ctypes.c_int, ctypes.c_int)(1, 1) == 2
    session.set_ir_pipeline("function(instcombine)")
    from llvmlite import ir
    m = ir.Module(name="irmod")
    fn = ir.Function(m, ir.FunctionType(ir.IntType(32), []), name="k")
    ir.IRBuilder(fn.append_basic_block()).ret(ir.Constant(ir.IntType(32), 11))
    session.add_module(m)            # triple unknown-unknown-unknown
    assert session.function("k", ctypes.c_int)() == 11


def test_the_job(examples_dir, capsys):
    sys.path.insert(0, examples_dir)
    try:
        ns = runpy.run_path(os.path.join(examples_dir, "job.py"), run_name="job")
        assert ns["main"]() == 0
    finally:
        sys.path.remove(examples_dir)
    out = capsys.readouterr().out
    assert "run 2:" in out and "cache hits 1" in out and "code 4 (SymbolNotFound)" in out
    assert out.count("code bytes live 0") == 2
