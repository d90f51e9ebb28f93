package jitcore

/*
#include <jitcore.h>
*/
import "C"

// Statistics are the counters of an engine or session (JitcoreStatistics).
type Statistics struct {
	ModulesCompiled         uint64 // modules compiled from IR (cache hits not counted)
	FunctionsCompiled       uint64 // function definitions in the modules compiled
	ObjectsLoaded           uint64 // objects handed to the linker: compiled, cached or added
	CacheHits               uint64 // modules whose object came from the object cache
	CacheMisses             uint64 // modules the object cache had nothing for
	CacheRejected           uint64 // cache results that were not valid objects and were ignored
	ObjectBytesEmitted      uint64 // bytes of object code emitted to the linker so far
	MaterializationFailures uint64 // materializations that failed (compile or link errors)
	CodeBytesLive           uint64 // bytes of jitted code and data loaded now
}

func statsFromC(s *C.JitcoreStatistics) Statistics {
	return Statistics{
		ModulesCompiled:         uint64(s.ModulesCompiled),
		FunctionsCompiled:       uint64(s.FunctionsCompiled),
		ObjectsLoaded:           uint64(s.ObjectsLoaded),
		CacheHits:               uint64(s.CacheHits),
		CacheMisses:             uint64(s.CacheMisses),
		CacheRejected:           uint64(s.CacheRejected),
		ObjectBytesEmitted:      uint64(s.ObjectBytesEmitted),
		MaterializationFailures: uint64(s.MaterializationFailures),
		CodeBytesLive:           uint64(s.CodeBytesLive),
	}
}

// DiskCacheStatistics are the counters of a disk cache
// (JitcoreDiskCacheStatistics): this handle's since it was created, and the
// directory's bytes and entries now.
type DiskCacheStatistics struct {
	Hits           uint64 // lookups answered with a verified entry
	Misses         uint64 // lookups that found no usable entry
	Writes         uint64 // entries written
	CorruptDropped uint64 // entries that failed verification and were deleted
	Evictions      uint64 // entries deleted to keep under the size cap
	BytesOnDisk    uint64 // bytes of entries in the directory now
	Entries        uint64 // entries in the directory now
	IOErrors       uint64 // I/O failures (the first was reported)
}

// DiskCache is jitcore's on-disk object cache: a directory of verified
// entries named by module keys, shared by threads and processes. Attach it
// with Engine.SetDiskCache or Session.SetDiskCache; those keep it alive,
// so it may be closed right after.
type DiskCache struct {
	guard
	ptr C.JitcoreObjectCacheRef
}

// NewDiskCache creates a disk cache in dir (created if missing) holding at
// most maxBytes of entries (0: no cap; past it the least recently used go).
func NewDiskCache(dir string, maxBytes uint64) (*DiskCache, error) {
	cdir, free := cstr(dir)
	defer free()
	var c C.JitcoreObjectCacheRef
	if err := takeError(C.JitcoreCreateDiskCache(&c, cdir, C.uint64_t(maxBytes))); err != nil {
		return nil, err
	}
	return &DiskCache{ptr: c}, nil
}

func (c *DiskCache) use() error {
	if c == nil {
		return closedError("DiskCache")
	}
	return c.enter("DiskCache")
}

// Statistics returns the cache's counters (scanning the directory).
func (c *DiskCache) Statistics() (DiskCacheStatistics, error) {
	if err := c.use(); err != nil {
		return DiskCacheStatistics{}, err
	}
	defer c.mu.RUnlock()
	var s C.JitcoreDiskCacheStatistics
	if err := takeError(C.JitcoreDiskCacheGetStatisticsSized(c.ptr, &s, C.sizeof_JitcoreDiskCacheStatistics)); err != nil {
		return DiskCacheStatistics{}, err
	}
	return DiskCacheStatistics{
		Hits: uint64(s.Hits), Misses: uint64(s.Misses), Writes: uint64(s.Writes),
		CorruptDropped: uint64(s.CorruptDropped), Evictions: uint64(s.Evictions),
		BytesOnDisk: uint64(s.BytesOnDisk), Entries: uint64(s.Entries), IOErrors: uint64(s.IOErrors),
	}, nil
}

// Close disposes of this handle on the cache; engines and sessions it is
// attached to keep using it. Closing twice is harmless.
func (c *DiskCache) Close() error {
	if c != nil {
		c.close(func() {
			C.JitcoreDisposeObjectCache(c.ptr)
			c.ptr = nil
		})
	}
	return nil
}
