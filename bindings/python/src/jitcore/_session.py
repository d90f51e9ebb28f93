"""filled below"""
def check_jit_execution():
    from .llvmlite import check_jit_execution as c
    c()
class Session: pass
class Dylib: pass
class ResourceTracker: pass
class DiskCache: pass
