/*
 * test_leak_session_cycles.c: add / lookup+call / remove cycles on one
 * session, eager and lazy, with and without a disk cache (issue 13: memory
 * stays flat). The measure is malloc's bytes in use (mallinfo2), which is
 * exact where resident memory moves in pages: after a warm-up, the heap
 * may not grow by more than 64 KiB over the cycles. (A lazily added
 * module's call-through trampolines and their tables were once never freed:
 * about 170 bytes per cycle, 150 KiB over these cycles.)
 *
 * Skipped where malloc is the tool's (valgrind, ASan: JITCORE_TEST_CONFIG or
 * valgrind's preload), as test_leak_cycles.c's bound is; there the leak
 * checkers judge instead, over 100 cycles. argv[2], if given, overrides the
 * cycle count (argv[1] is the harness's data directory).
 */
#define _GNU_SOURCE /* mallinfo2 */
#include "test_util.h"

#include <malloc.h>

#define DEFAULT_CYCLES 1000
#define GROWTH_LIMIT (64 * 1024)

static const char IR[] = "define i32 @triple(i32 %x) {\n  %r = mul i32 %x, 3\n  ret i32 %r\n}\n"
                         "define i32 @entry(i32 %x) {\n  %r = call i32 @triple(i32 %x)\n  ret i32 %r\n}\n";

static int cycle(JitcoreSessionRef s, JitcoreDylibRef d, int lazy, int i)
{
    JitcoreModuleRef m = MAKE_MODULE("cycle", IR);
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(d);
    int ok = CHECK_OK(lazy ? JitcoreDylibAddModuleLazy(d, m, rt) : JitcoreDylibAddModule(d, m, rt));
    uint64_t a = 0;
    ok = ok && CHECK_OK(JitcoreSessionLookup(s, d, &a, "entry"));
    ok = ok && CHECK_MSG(((int (*)(int))(uintptr_t)a)(i) == 3 * i, "cycle %d: entry(%d)", i, i);
    ok = CHECK_OK(JitcoreResourceTrackerRemove(rt)) && ok;
    JitcoreDisposeResourceTracker(rt);
    return ok;
}

static void run(int lazy, int cached, int cycles)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    char *dir = NULL;
    JitcoreObjectCacheRef cache = NULL;
    if (cached) {
        dir = tu_make_temp_dir();
        CHECK_OK(JitcoreCreateDiskCache(&cache, dir, 0));
        JitcoreSessionSetDiskCache(s, cache);
    }
    int warmup = cycles / 10, i = 0;
    for (; i < warmup; i++)
        if (!cycle(s, d, lazy, i))
            break;
    malloc_trim(0);
    size_t before = mallinfo2().uordblks;
    for (; i < cycles; i++)
        if (!cycle(s, d, lazy, i))
            break;
    malloc_trim(0);
    size_t after = mallinfo2().uordblks;
    long growth = (long)after - (long)before;
    tu_note("%s, %s: heap in use %zu -> %zu bytes (%+ld over %d cycles, %.1f bytes per cycle)",
            lazy ? "lazy" : "eager", cached ? "disk cache" : "no cache", before, after, growth, cycles - warmup,
            (double)growth / (cycles - warmup));
    if (tu_rss_is_meaningful())
        CHECK_MSG(growth < GROWTH_LIMIT, "%s%s: the heap grew by %ld bytes in %d cycles (limit %d)",
                  lazy ? "lazy" : "eager", cached ? " with a disk cache" : "", growth, cycles - warmup,
                  GROWTH_LIMIT);
    JitcoreDisposeSession(s);
    if (cache)
        JitcoreDisposeObjectCache(cache);
    free(dir);
}

int main(int argc, char **argv)
{
    int cycles = argc > 2 ? atoi(argv[2]) : tu_rss_is_meaningful() ? DEFAULT_CYCLES : 100;
    if (!tu_rss_is_meaningful())
        tu_note("heap bound skipped (the tool's malloc)");
    for (int lazy = 0; lazy < 2; lazy++)
        for (int cached = 0; cached < 2; cached++)
            run(lazy, cached, cycles);
    return tu_finish("test_leak_session_cycles");
}
