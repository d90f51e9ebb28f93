/*
 * Removing modules while other threads finalize and look up (found by
 * tests-deep/stress.c): 6 threads add a module, finalize, call it and
 * remove it, in a loop, while 2 threads call JitcoreEngineFinalizeObject
 * (one lookup of every module's symbols) without pause. Before, a removal
 * racing a multi-symbol lookup could lose ORC's query: every thread then
 * waited forever (reproduced within seconds). Now removals wait for the
 * lookups in flight. A watchdog turns a hang into a failure; every call's
 * result is checked.
 */
#include "test_util.h"

#include <signal.h>

static JitcoreEngineRef EE;
static atomic_long ops, wrong;
static atomic_int stop;

static void *worker(void *p)
{
    long id = (long)p;
    for (long i = 0; !atomic_load(&stop); i++) {
        char name[64], ir[256], fn[64];
        snprintf(name, sizeof name, "m_%ld_%ld", id, i);
        snprintf(fn, sizeof fn, "f_%ld_%ld", id, i);
        snprintf(ir, sizeof ir, "define i32 @%s() { ret i32 %ld }\n", fn, i % 100);
        JitcoreModuleRef m = NULL;
        JitcoreErrorRef e = JitcoreCreateModuleFromIR(&m, name, ir, strlen(ir));
        if (!e)
            e = JitcoreEngineAddModule(EE, m);
        if (!e && i % 2)
            e = JitcoreEngineFinalizeObject(EE);
        uint64_t a = 0;
        if (!e)
            e = JitcoreEngineGetFunctionAddress(EE, &a, fn);
        if (e || ((int (*)(void))(uintptr_t)a)() != i % 100)
            atomic_fetch_add(&wrong, 1);
        JitcoreConsumeError(e);
        JitcoreConsumeError(JitcoreEngineRemoveModule(EE, m));
        JitcoreDisposeModule(m);
        atomic_fetch_add(&ops, 1);
    }
    return NULL;
}

static void *finalizer(void *p)
{
    (void)p;
    while (!atomic_load(&stop)) {
        /* A module removed meanwhile is not a failure of this call. */
        JitcoreErrorRef e = JitcoreEngineFinalizeObject(EE);
        if (e)
            atomic_fetch_add(&wrong, 1);
        JitcoreConsumeError(e);
        atomic_fetch_add(&ops, 1);
    }
    return NULL;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_engine_concurrent_removal: FAIL: no progress (hang)\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(3);
    _exit(2);
}

static void test_removal_races_finalize(void)
{
    const char *config = getenv("JITCORE_TEST_CONFIG");
    /* Under valgrind or ASan one compile can take a second: look longer. */
    int slow = config && strcmp(config, "release") != 0;
    int rounds = slow ? 2 : 4, interval = slow ? 10 : 1;
    EE = MAKE_ENGINE_AT(MAKE_MODULE("zero", "define i32 @zero() { ret i32 0 }\n"), JITCORE_OPT_LEVEL_O0);
    if (!EE)
        return;
    signal(SIGALRM, on_alarm);
    pthread_t t[8];
    for (long i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (long i = 6; i < 8; i++)
        pthread_create(&t[i], NULL, finalizer, NULL);
    long last = -1;
    for (int r = 0; r < rounds; r++) {
        alarm(300);
        sleep((unsigned)interval);
        long n = atomic_load(&ops);
        CHECK_MSG(n != last, "no operation finished in %d s (at %ld operations)", interval, n);
        last = n;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    alarm(0);
    tu_note("%ld operations", atomic_load(&ops));
    CHECK_EQ_INT(atomic_load(&wrong), 0);
    JitcoreDisposeEngine(EE);
}

int main(void)
{
    RUN_TEST(test_removal_races_finalize());
    return tu_finish("test_engine_concurrent_removal");
}
