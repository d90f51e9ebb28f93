"""The job every jitcore binding does (issue 8's list), in Python:

 1. parse IR with a function calling a host-provided function (a ctypes
    CFUNCTYPE registered as an absolute symbol) and one using libc;
 2. JIT it through a session;
 3. an object cache in Python (a dict keyed by the module key), run twice:
    the second run loads the object from the cache instead of compiling;
 4. call the functions and check the results;
 5. look up a missing symbol: its error code and message;
 6. remove the tracker: CodeBytesLive goes back to 0.

Run: python3 examples/python/job.py   (needs the jitcore package and libjitcore.so.0.1)
"""

import ctypes
import sys

import jitcore

IR = r"""
declare i64 @host_scale(i64)
declare i64 @strlen(ptr)

@greeting = private constant [15 x i8] c"hello, jitcore\00"

define i64 @scaled(i64 %x) {
  %y = call i64 @host_scale(i64 %x)
  %z = add i64 %y, 1
  ret i64 %z
}

define i64 @greeting_length() {
  %n = call i64 @strlen(ptr @greeting)
  ret i64 %n
}
"""

HOST_SCALE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


def host_scale(x):
    return x * 10


def run(cache, host_fn, label):
    with jitcore.Session(opt_level=2) as session:
        session.define_symbols({"host_scale": host_fn})
        session.set_object_cache(
            notify=lambda m, obj: cache.__setitem__(m.key, obj),
            getbuffer=lambda m: cache.get(m.key))
        tracker = session.add_module(IR, name="job")
        scaled = session.function("scaled", ctypes.c_int64, ctypes.c_int64)
        length = session.function("greeting_length", ctypes.c_int64)
        assert scaled(4) == 41, scaled(4)
        assert length() == 14, length()
        st = session.statistics
        print("%s: scaled(4) = %d, greeting_length() = %d; compiled %d, cache hits %d, "
              "code bytes live %d" % (label, scaled(4), length(), st.modules_compiled,
                                       st.cache_hits, st.code_bytes_live))
        try:
            session.lookup("no_such_function")
            raise AssertionError("a missing symbol was found")
        except jitcore.SymbolNotFound as e:
            print("%s: missing symbol: code %d (%s): %s" % (label, e.code, type(e).__name__, e))
            assert e.code == 4 and "no_such_function" in str(e)
        tracker.remove()
        live = session.statistics.code_bytes_live
        print("%s: after removing the tracker: code bytes live %d" % (label, live))
        assert live == 0, live
        return st


def main():
    host_fn = HOST_SCALE(host_scale)     # kept alive by this frame (and the session)
    cache = {}
    first = run(cache, host_fn, "run 1")
    assert first.modules_compiled == 1 and first.cache_hits == 0, first
    assert len(cache) == 1, cache.keys()
    second = run(cache, host_fn, "run 2")
    assert second.modules_compiled == 0 and second.cache_hits == 1, second
    print("job: ok (the second run loaded the object from the Python cache)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
