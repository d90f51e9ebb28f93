import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "..", "examples", "python"))

SUM_IR = """
define i32 @sum(i32 %a, i32 %b) {
  %c = add i32 %a, %b
  ret i32 %c
}
"""


@pytest.fixture
def session():
    import jitcore
    with jitcore.Session() as s:
        yield s


@pytest.fixture
def examples_dir():
    d = os.environ.get("JITCORE_PY_EXAMPLES", EXAMPLES)
    if not os.path.isdir(d):
        pytest.skip("examples/python not found (set JITCORE_PY_EXAMPLES)")
    return d


@pytest.fixture
def llvm():
    llvm = pytest.importorskip("llvmlite.binding")
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


def pytest_report_header(config):
    import jitcore
    return "jitcore %s, library %s" % (jitcore.__version__, jitcore.library_path)
