/*
 * test_threads.c: one engine shared by several threads.
 *
 *  - 4 threads x 200 iterations, each: create a module defining a uniquely
 *    named function f_<thread>_<iter> returning thread*1000+iter, add it to
 *    the shared engine, look it up and call it, look up and call the shared
 *    `sum` added at the start, remove the module (its symbol is then gone)
 *    and dispose of it
 *  - an object cache on the shared engine: Notify runs exactly once per
 *    compiled module, whichever thread compiles it
 *  - 4 threads looking up the same not-yet-compiled symbol at once get the
 *    same address, and the module is compiled once
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#include <time.h>

#define THREADS 4
#define ITERATIONS 200

static JitcoreEngineRef shared_engine;
static atomic_long operations;
static atomic_int notify_calls;
static atomic_int notify_bad;

static void counting_notify(void *ctx, JitcoreModuleRef m, const uint8_t *object, size_t len)
{
    (void)ctx;
    atomic_fetch_add(&notify_calls, 1);
    if (!JitcoreModuleGetName(m) || !object || len < 4 || memcmp(object, "\x7f" "ELF", 4) != 0)
        atomic_fetch_add(&notify_bad, 1);
}

struct worker {
    int index;
    pthread_t thread;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char name[64], fname[64], ir[256];
    for (int i = 0; i < ITERATIONS; i++) {
        int expected = w->index * 1000 + i;
        snprintf(fname, sizeof fname, "f_%d_%d", w->index, i);
        snprintf(name, sizeof name, "thread_%d_module_%d", w->index, i);
        snprintf(ir, sizeof ir, "define i32 @%s() {\n  ret i32 %d\n}\n", fname, expected);

        JitcoreModuleRef m = NULL;
        if (!CHECK_OK(JitcoreCreateModuleFromIR(&m, name, ir, strlen(ir))))
            continue;
        if (!CHECK_OK(JitcoreEngineAddModule(shared_engine, m))) {
            JitcoreDisposeModule(m);
            continue;
        }
        uint64_t a = 0;
        if (CHECK_OK(JitcoreEngineGetFunctionAddress(shared_engine, &a, fname)) && CHECK(a != 0)) {
            int got = FN(int (*)(void), a)();
            CHECK_MSG(got == expected, "expected %s() == %d, got %d", fname, expected, got);
        }
        uint64_t s = 0;
        if (CHECK_OK(JitcoreEngineGetFunctionAddress(shared_engine, &s, "sum")) && CHECK(s != 0)) {
            int got = FN(tu_sum_fn, s)(expected, -i);
            CHECK_MSG(got == w->index * 1000, "expected sum(%d, %d) == %d, got %d", expected, -i, w->index * 1000,
                      got);
        }
        CHECK_OK(JitcoreEngineRemoveModule(shared_engine, m));
        uint64_t gone = 0;
        JitcoreErrorRef e = JitcoreEngineGetFunctionAddress(shared_engine, &gone, fname);
        CHECK_MSG(JitcoreGetErrorCode(e) == JITCORE_ERROR_SYMBOL_NOT_FOUND,
                  "expected %s to be gone after removal, got %s", fname, tu_code_name(JitcoreGetErrorCode(e)));
        JitcoreConsumeError(e);
        JitcoreDisposeModule(m);
        atomic_fetch_add(&operations, 1);
    }
    return NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_add_lookup_remove_in_threads(void)
{
    shared_engine = MAKE_ENGINE(MAKE_MODULE("shared_sum", SUM_IR));
    if (!shared_engine)
        return;
    JitcoreEngineSetObjectCache(shared_engine, counting_notify, NULL, NULL);
    CHECK_SUM_WORKS(shared_engine);

    double t0 = now_seconds();
    struct worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t].index = t + 1;
        CHECK_EQ_INT(pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        CHECK_EQ_INT(pthread_join(workers[t].thread, NULL), 0);
    double dt = now_seconds() - t0;

    long ops = atomic_load(&operations);
    tu_note("  %d threads: %ld create/add/lookup/call/remove/dispose cycles in %.2f s", THREADS, ops, dt);
    CHECK_EQ_INT(ops, THREADS * ITERATIONS);

    JitcoreStatistics st = GET_STATS(shared_engine);
    tu_print_stats("threads", &st);
    CHECK_EQ_U64(st.ModulesCompiled, 1 + THREADS * ITERATIONS);
    CHECK_EQ_U64(st.MaterializationFailures, 0);
    CHECK_EQ_INT(atomic_load(&notify_calls), 1 + THREADS * ITERATIONS);
    CHECK_EQ_INT(atomic_load(&notify_bad), 0);
    CHECK_SUM_WORKS(shared_engine);
    JitcoreDisposeEngine(shared_engine);
    shared_engine = NULL;
}

/* Concurrent lookups of one symbol that is not compiled yet. */
static pthread_barrier_t barrier;
static JitcoreEngineRef lazy_engine;
static uint64_t lazy_addresses[THREADS];

static void *lazy_lookup(void *arg)
{
    int t = *(int *)arg;
    pthread_barrier_wait(&barrier);
    uint64_t a = 0;
    if (CHECK_OK(JitcoreEngineGetFunctionAddress(lazy_engine, &a, "lazy_shared")) && CHECK(a != 0)) {
        CHECK_EQ_INT(FN(int (*)(int), a)(t), t * 7);
        lazy_addresses[t] = a;
    }
    return NULL;
}

static void test_concurrent_first_lookup(void)
{
    for (int round = 0; round < 5; round++) {
        atomic_store(&notify_calls, 0);
        lazy_engine = MAKE_ENGINE(NULL);
        if (!lazy_engine)
            return;
        JitcoreEngineSetObjectCache(lazy_engine, counting_notify, NULL, NULL);
        CHECK_OK(JitcoreEngineAddModule(lazy_engine, MAKE_MODULE("lazy_module",
                                                                 "define i32 @lazy_shared(i32 %x) {\n"
                                                                 "  %r = mul i32 %x, 7\n"
                                                                 "  ret i32 %r\n"
                                                                 "}\n")));
        pthread_barrier_init(&barrier, NULL, THREADS);
        pthread_t th[THREADS];
        int idx[THREADS];
        memset(lazy_addresses, 0, sizeof lazy_addresses);
        for (int t = 0; t < THREADS; t++) {
            idx[t] = t;
            CHECK_EQ_INT(pthread_create(&th[t], NULL, lazy_lookup, &idx[t]), 0);
        }
        for (int t = 0; t < THREADS; t++)
            pthread_join(th[t], NULL);
        pthread_barrier_destroy(&barrier);
        for (int t = 1; t < THREADS; t++)
            CHECK_MSG(lazy_addresses[t] == lazy_addresses[0],
                      "expected every thread to get the same address, thread %d got 0x%" PRIx64 " vs 0x%" PRIx64, t,
                      lazy_addresses[t], lazy_addresses[0]);
        JitcoreStatistics st = GET_STATS(lazy_engine);
        CHECK_EQ_U64(st.ModulesCompiled, 1);
        CHECK_EQ_INT(atomic_load(&notify_calls), 1);
        JitcoreDisposeEngine(lazy_engine);
        lazy_engine = NULL;
    }
}

/* Module creation and target data queries need no engine lock: run them
   from all threads at once while they also use separate engines. */
static void *independent_engines(void *arg)
{
    int t = *(int *)arg;
    for (int i = 0; i < 20; i++) {
        char ir[160];
        snprintf(ir, sizeof ir, "define i64 @value() {\n  ret i64 %d\n}\n", t * 100 + i);
        JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("private", ir));
        if (!ee)
            continue;
        uint64_t a = LOOKUP(ee, "value");
        if (a)
            CHECK_EQ_INT(FN(int64_t(*)(void), a)(), t * 100 + i);
        JitcoreTargetDataRef td = JitcoreEngineGetTargetData(ee);
        uint64_t size = 0;
        CHECK_OK(JitcoreTargetDataGetABISize(td, &size, "{i64, [2 x i64]}"));
        CHECK_EQ_U64(size, 24);
        JitcoreDisposeEngine(ee);
    }
    return NULL;
}

static void test_independent_engines_in_threads(void)
{
    pthread_t th[THREADS];
    int idx[THREADS];
    for (int t = 0; t < THREADS; t++) {
        idx[t] = t;
        CHECK_EQ_INT(pthread_create(&th[t], NULL, independent_engines, &idx[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    RUN_TEST(test_add_lookup_remove_in_threads());
    RUN_TEST(test_concurrent_first_lookup());
    RUN_TEST(test_independent_engines_in_threads());
    return tu_finish("test_threads");
}
