/*
 * test_leak_cycles.c: 2000 cycles of create module / add / lookup+call /
 * remove / dispose on one engine. Every call must return the right value.
 * Resident memory (from /proc/self/statm) is printed before, after a
 * warm-up (the first tenth of the cycles), and at the end, and its growth
 * after the warm-up must stay under 1 MiB (a plain run grows by ~30 KiB over
 * 1800 cycles; leaking a module's code, IR or symbols would be KiBs per
 * cycle).
 *
 * The bound is skipped when JITCORE_TEST_CONFIG (set by the CMake harness)
 * is "valgrind" or "asan", or when valgrind's preload library is in
 * LD_PRELOAD: there the resident size is the tool's (valgrind's own heap,
 * ASan's quarantine of freed blocks and shadow memory), not the library's;
 * the leak checkers judge leaks instead.
 *
 * argv[2], if given, overrides the number of cycles (e.g. fewer under
 * valgrind).
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#define DEFAULT_CYCLES 2000
#define GROWTH_LIMIT_KIB 1024

static long cycle_ok;

static void run_cycles(JitcoreEngineRef ee, int from, int to)
{
    char ir[512], name[64], fname[64];
    for (int i = from; i < to; i++) {
        /* alternate shapes: a function, a global, a call into `sum` */
        snprintf(fname, sizeof fname, "cycle_fn_%d", i % 7); /* names are reused once removed */
        snprintf(name, sizeof name, "cycle_module_%d", i);
        snprintf(ir, sizeof ir,
                 "declare i32 @sum(i32, i32)\n"
                 "@cycle_data = global i32 %d\n"
                 "define i32 @%s(i32 %%x) {\n"
                 "  %%d = load i32, ptr @cycle_data\n"
                 "  %%r = call i32 @sum(i32 %%x, i32 %%d)\n"
                 "  ret i32 %%r\n"
                 "}\n",
                 i, fname);
        JitcoreModuleRef m = NULL;
        if (!CHECK_OK(JitcoreCreateModuleFromIR(&m, name, ir, strlen(ir))))
            continue;
        if (!CHECK_OK(JitcoreEngineAddModule(ee, m))) {
            JitcoreDisposeModule(m);
            continue;
        }
        uint64_t a = 0;
        int ok = 1;
        if (CHECK_OK(JitcoreEngineGetFunctionAddress(ee, &a, fname)) && a) {
            int got = FN(int (*)(int), a)(3);
            ok &= CHECK_MSG(got == i + 3, "expected %s(3) == %d in cycle %d, got %d", fname, i + 3, i, got);
        } else {
            ok = 0;
        }
        uint64_t d = 0;
        if (CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &d, "cycle_data")) && d)
            ok &= CHECK_EQ_INT(*(int32_t *)(uintptr_t)d, i);
        else
            ok = 0;
        ok &= CHECK_OK(JitcoreEngineRemoveModule(ee, m));
        JitcoreDisposeModule(m);
        if (ok)
            cycle_ok++;
    }
}

int main(int argc, char **argv)
{
    int cycles = DEFAULT_CYCLES;
    if (argc > 2 && atoi(argv[2]) > 0)
        cycles = atoi(argv[2]);
    long rss_start = tu_rss_kib();
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    if (!ee)
        return tu_finish("test_leak_cycles") | 1;
    int warmup = cycles / 10;
    run_cycles(ee, 0, warmup);
    long rss_warm = tu_rss_kib();
    run_cycles(ee, warmup, cycles);
    long rss_end = tu_rss_kib();
    CHECK_EQ_INT(cycle_ok, cycles);
    CHECK_SUM_WORKS(ee);
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.ModulesCompiled, (uint64_t)cycles + 1);
    CHECK_EQ_U64(st.MaterializationFailures, 0);
    JitcoreDisposeEngine(ee);
    long rss_disposed = tu_rss_kib();
    tu_note("  %d cycles; resident memory: start %ld KiB, after %d warm-up cycles %ld KiB, after all cycles %ld KiB "
            "(%+ld KiB since warm-up, %.2f KiB/cycle), after disposing the engine %ld KiB",
            cycles, rss_start, warmup, rss_warm, rss_end, rss_end - rss_warm,
            cycles > warmup ? (double)(rss_end - rss_warm) / (cycles - warmup) : 0.0, rss_disposed);
    if (!tu_rss_is_meaningful())
        tu_note("  resident-memory bound skipped (JITCORE_TEST_CONFIG=%s)",
                getenv("JITCORE_TEST_CONFIG") ? getenv("JITCORE_TEST_CONFIG") : "unset, valgrind preload seen");
    else if (CHECK_MSG(rss_warm > 0 && rss_end > 0, "expected /proc/self/statm to give resident sizes"))
        CHECK_MSG(rss_end - rss_warm < GROWTH_LIMIT_KIB,
                  "resident memory grew by %ld KiB in %d cycles after the warm-up (limit %d KiB)", rss_end - rss_warm,
                  cycles - warmup, GROWTH_LIMIT_KIB);
    return tu_finish("test_leak_cycles");
}
