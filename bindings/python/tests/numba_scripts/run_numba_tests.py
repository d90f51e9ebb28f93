"""Runs numba's own test modules (unittest) with jitcore installed as
llvmlite's execution engine; prints one line per module and exits nonzero
if a test fails that is not listed in KNOWN (test id -> reason)."""
import sys
import time
import unittest

import jitcore.llvmlite as jl
jl.install()

KNOWN = {
    # test id -> why it cannot pass on jitcore (none at present: the two
    # that failed before the engine kept MCJIT's first-definition-wins rule
    # for symbols several modules define, test_codegen's
    # test_get_pointer_to_function and test_exceptions' dynamic raises,
    # pass now).
}


def main(names):
    bad = []
    for name in names:
        t0 = time.time()
        suite = unittest.defaultTestLoader.loadTestsFromName(name)
        result = unittest.TextTestRunner(verbosity=0, stream=sys.stderr).run(suite)
        problems = [(str(t.id()), tb) for t, tb in result.failures + result.errors]
        unexpected = [(i, tb) for i, tb in problems if i not in KNOWN]
        print("%s: ran %d, passed %d, skipped %d, known failures %d, unexpected failures %d (%.0f s)"
              % (name, result.testsRun, result.testsRun - len(problems) - len(result.skipped),
                 len(result.skipped), len(problems) - len(unexpected), len(unexpected),
                 time.time() - t0), flush=True)
        for i, _ in problems:
            if i in KNOWN:
                print("  known: %s: %s" % (i, KNOWN[i]))
        bad.extend(unexpected)
    for i, tb in bad:
        print("UNEXPECTED FAILURE %s\n%s" % (i, tb))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
