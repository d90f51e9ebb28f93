"""The ctypes declarations cover the whole C API, and install() forwards
llvmlite's symbol registrations."""

import ctypes
import os
import re

import pytest

import jitcore
from jitcore import _lib

HEADER = os.environ.get("JITCORE_HEADER") or os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include", "jitcore.h"))


def header_functions():
    if not os.path.exists(HEADER):
        pytest.skip("include/jitcore.h not found (set JITCORE_HEADER)")
    text = open(HEADER).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    # a name followed by "(" that is not "(*" (function pointer typedefs)
    return set(re.findall(r"\b(Jitcore[A-Za-z]+)\s*\((?!\s*\*)", text)) - {
        n for n in re.findall(r"\(\*\s*(Jitcore[A-Za-z]+)\)", text)}


def test_every_function_of_the_header_is_declared():
    declared = set(_lib._SIGNATURES)
    in_header = header_functions()
    assert in_header - declared == set(), "not declared in jitcore._lib"
    assert declared - in_header == set(), "declared but not in the header"
    for name in declared:
        f = getattr(_lib.lib, name)
        assert f.argtypes is not None, name


def test_version_matches_the_library():
    assert _lib.library_version()[:2] == tuple(int(x) for x in jitcore.__version__.split(".")[:2])
    assert jitcore.library_path.endswith(_lib.SONAME) or os.path.exists(jitcore.library_path)


def test_install_forwards_add_symbol_and_restores(llvm):
    import jitcore.llvmlite as jl
    cb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 100)
    addr = ctypes.cast(cb, ctypes.c_void_p).value
    was = jl.installed()
    jl.install()
    try:
        assert llvm.create_mcjit_compiler is jl.create_mcjit_compiler
        llvm.add_symbol("jitcore_test_forwarded", addr)
        tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
        ee = llvm.create_mcjit_compiler(llvm.parse_assembly(
            "declare i32 @jitcore_test_forwarded(i32)\ndefine i32 @use(i32 %x) {\n"
            "  %r = call i32 @jitcore_test_forwarded(i32 %x)\n  ret i32 %r\n}\n"), tm)
        assert isinstance(ee, jl.ExecutionEngine)
        # llvmlite's own class methods dispatch to jitcore's for jitcore engines
        f = llvm.ExecutionEngine.get_function_address(ee, "use")
        assert ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(f)(1) == 101
        ee.close()
    finally:
        if not was:
            jl.uninstall()
    if not was:
        assert llvm.create_mcjit_compiler is not jl.create_mcjit_compiler
