"""Safety the binding owns: callbacks kept alive, exceptions in callbacks
reported (never crossing into C), addresses and callables keeping their
owner alive, callbacks from compile threads."""

import ctypes
import gc
import threading
import weakref

import pytest

import jitcore
import jitcore.llvmlite as jl

from conftest import SUM_IR

SUM_T = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int)


def many_functions(n):
    return "\n".join("define i32 @f%d(i32 %%x) {\n  %%y = add i32 %%x, %d\n  ret i32 %%y\n}" % (i, i)
                     for i in range(n))


def test_gc_between_setting_a_cache_and_compiling(session):
    calls = []

    def make():
        store = {}
        session.set_object_cache(notify=lambda m, o: (calls.append(m.name), store.__setitem__(m.key, o)),
                                 getbuffer=lambda m: store.get(m.key))
    make()                       # the only references to the callbacks are the session's
    gc.collect()
    session.add_module(SUM_IR, name="gc_mod")
    assert SUM_T(session.lookup("sum"))(2, 3) == 5
    assert calls == ["gc_mod"]


def test_gc_between_set_object_cache_and_compile_llvmlite(llvm):
    tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
    ee = jl.create_mcjit_compiler(llvm.parse_assembly(SUM_IR), tm)
    seen = []
    ee.set_object_cache(lambda m, b: seen.append(len(b)), lambda m: None)
    gc.collect()
    assert SUM_T(ee.get_function_address("sum"))(4, 5) == 9
    assert len(seen) == 1 and seen[0] > 0


def test_exception_in_callbacks_is_reported_and_the_module_compiled(session):
    reported = []
    session.set_error_reporter(reported.append)

    def bad(*args):
        raise ValueError("boom in callback")
    session.set_object_cache(notify=bad, getbuffer=bad)
    session.add_module(SUM_IR)
    assert SUM_T(session.lookup("sum"))(20, 22) == 42
    msgs = [str(e) for e in reported]
    assert sum("boom in callback" in m for m in msgs) == 2, msgs
    assert all(isinstance(e, jitcore.CacheError) for e in reported)


def test_exception_in_llvmlite_callbacks(llvm):
    tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
    ee = jl.create_mcjit_compiler(llvm.parse_assembly(SUM_IR), tm)

    def bad(*a):
        raise RuntimeError("callback failure")
    ee.set_object_cache(bad, bad)
    assert SUM_T(ee.get_function_address("sum"))(1, 1) == 2
    assert sum("callback failure" in m for _, m in ee.reporter.errors) == 2


def test_base_exception_does_not_cross_into_c(session):
    def stop(m):
        raise KeyboardInterrupt
    session.set_object_cache(getbuffer=stop)
    session.add_module(SUM_IR)
    assert SUM_T(session.lookup("sum"))(1, 2) == 3


def test_exception_in_symbol_filter_means_not_allowed():
    with jitcore.Session() as s:
        d = s.create_dylib("lib")

        def allow(name):
            raise ValueError("filter failure")
        d.add_process_symbols(allow)
        s.add_module("declare i64 @strlen(ptr)\ndefine i64 @n(ptr %p) {\n"
                     "  %r = call i64 @strlen(ptr %p)\n  ret i64 %r\n}\n", dylib=d)
        with pytest.raises(jitcore.UnresolvedSymbol):
            s.lookup("n", dylib=d)
        assert any("filter failure" in m for _, m in s.reporter.errors)


def test_address_keeps_the_engine_alive(llvm):
    tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
    ee = jl.create_mcjit_compiler(llvm.parse_assembly(SUM_IR), tm)
    ref = weakref.ref(ee)
    addr = ee.get_function_address("sum")
    del ee
    gc.collect()
    assert ref() is not None           # kept by the address
    assert SUM_T(addr)(7, 8) == 15
    del addr
    gc.collect()
    assert ref() is None


def test_function_keeps_the_session_alive():
    s = jitcore.Session()
    s.add_module(SUM_IR)
    f = s.function("sum", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    ref = weakref.ref(s)
    del s
    gc.collect()
    assert ref() is not None
    assert f(3, 4) == 7
    del f
    gc.collect()
    assert ref() is None


def test_engine_use_after_close_raises(llvm):
    tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
    ee = jl.create_mcjit_compiler(llvm.parse_assembly(SUM_IR), tm)
    ee.close()
    for call in (ee.finalize_object, lambda: ee.get_function_address("sum"),
                 lambda: ee.add_module(SUM_IR), lambda: ee.target_data):
        with pytest.raises(jitcore.ClosedError):
            call()


def test_missing_symbol_raises_where_mcjit_returns_zero(llvm):
    tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
    ee = jl.create_mcjit_compiler(llvm.parse_assembly(SUM_IR), tm)
    with pytest.raises(jitcore.SymbolNotFound):
        ee.get_function_address("not_here")
    mod = llvm.parse_assembly("declare i32 @nobody()\ndefine i32 @calls() {\n"
                              "  %r = call i32 @nobody()\n  ret i32 %r\n}\n")
    ee.add_module(mod)
    with pytest.raises(jitcore.UnresolvedSymbol):
        ee.finalize_object()           # MCJIT aborts the process here
    assert SUM_T(ee.get_function_address("sum"))(1, 2) == 3


def test_callbacks_from_compile_threads():
    threads = set()
    lock = threading.Lock()

    def note(m, obj):
        with lock:
            threads.add(threading.get_ident())

    n = 8
    with jitcore.Session(compile_threads=4) as s:
        s.set_object_cache(notify=note, getbuffer=lambda m: None)
        for i in range(n):
            s.add_module(many_functions(1).replace("@f0", "@g%d" % i), name="m%d" % i)
        addrs = s.lookup_many(["g%d" % i for i in range(n)])
        assert [ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(a)(1) for a in addrs] == [1] * n
        assert s.statistics.modules_compiled == n
    assert threads and threading.get_ident() not in threads, threads


def test_lookups_from_many_python_threads(llvm):
    tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
    ee = jl.create_mcjit_compiler(llvm.parse_assembly(many_functions(16)), tm)
    notified = []
    ee.set_object_cache(lambda m, b: notified.append(m), None)
    results, errs = [], []

    def work(i):
        try:
            f = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(ee.get_function_address("f%d" % i))
            results.append(f(100) - 100 == i)
        except Exception as e:      # pragma: no cover - reported below
            errs.append(e)
    ts = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errs and all(results) and len(results) == 16
    assert len(notified) == 1         # compiled once


def test_first_definition_wins_as_in_mcjit(llvm):
    """numba defines helpers (external linkage) in every module needing
    them; MCJIT keeps the first definition, and so does the drop-in."""
    tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
    ee = jl.create_mcjit_compiler(llvm.parse_assembly(
        "define i32 @helper(i32 %a) {\n  ret i32 %a\n}\n"), tm)
    second = llvm.parse_assembly("define i32 @helper(i32 %a) {\n  ret i32 0\n}\n"
                                 "define i32 @user(i32 %a) {\n  %r = call i32 @helper(i32 %a)\n"
                                 "  ret i32 %r\n}\n")
    ee.add_module(second)
    f = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)
    assert f(ee.get_function_address("user"))(5) == 5
    assert f(ee.get_function_address("helper"))(6) == 6
    ee.remove_module(second)
    with pytest.raises(jitcore.SymbolNotFound):
        ee.get_function_address("user")
    assert f(ee.get_function_address("helper"))(7) == 7
