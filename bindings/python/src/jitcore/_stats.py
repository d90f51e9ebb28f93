"""Statistics as dataclasses (snake_case fields, in the C structs' order)."""

import dataclasses


class _FromC:
    @classmethod
    def from_c(cls, st):
        """From the ctypes struct: its fields map in order onto ours."""
        return cls(*(getattr(st, name) for name, _ in st._fields_))


@dataclasses.dataclass(frozen=True)
class Statistics(_FromC):
    """Counters of an engine's or session's compile path (JitcoreStatistics)."""
    modules_compiled: int = 0
    functions_compiled: int = 0
    objects_loaded: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_rejected: int = 0
    object_bytes_emitted: int = 0
    materialization_failures: int = 0
    code_bytes_live: int = 0


@dataclasses.dataclass(frozen=True)
class DiskCacheStatistics(_FromC):
    """Counters of a disk cache, and its directory now (JitcoreDiskCacheStatistics)."""
    hits: int = 0
    misses: int = 0
    writes: int = 0
    corrupt_dropped: int = 0
    evictions: int = 0
    bytes_on_disk: int = 0
    entries: int = 0
    io_errors: int = 0
