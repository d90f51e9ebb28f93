/*
 * repro/engine_finalize_race.c: one engine, two threads. Thread A adds a
 * module, looks its function up and removes it, in a loop; thread B calls
 * JitcoreEngineFinalizeObject in a loop (it owns no module at all).
 * Expected: FinalizeObject always succeeds (nothing of B's can fail).
 * Seen: it fails with SYMBOL_NOT_FOUND "symbol 'a_N' not found" for A's
 * module that was removed between Finalize's listing and its lookup.
 */
#include "../../tests-c/test_util.h"

static JitcoreEngineRef EE;
static atomic_int done;
static atomic_int finalize_wrong;

static void *adder(void *p)
{
    (void)p;
    for (int i = 0; i < 2000; i++) {
        char name[32], ir[128];
        snprintf(name, sizeof name, "a_%d", i);
        snprintf(ir, sizeof ir, "define i32 @%s() { ret i32 %d }\n", name, i);
        JitcoreModuleRef m = NULL;
        JitcoreConsumeError(JitcoreCreateModuleFromIR(&m, name, ir, strlen(ir)));
        JitcoreConsumeError(JitcoreEngineAddModule(EE, m));
        if (i % 2) { /* half of them removed before anything compiled them */
            uint64_t a = 0;
            JitcoreConsumeError(JitcoreEngineGetFunctionAddress(EE, &a, name));
        }
        JitcoreConsumeError(JitcoreEngineRemoveModule(EE, m));
        JitcoreDisposeModule(m);
    }
    atomic_store(&done, 1);
    return NULL;
}

static void *finalizer(void *p)
{
    (void)p;
    while (!atomic_load(&done)) {
        JitcoreErrorRef e = JitcoreEngineFinalizeObject(EE);
        if (e) {
            char *msg = JitcoreGetErrorMessage(e);
            if (atomic_fetch_add(&finalize_wrong, 1) < 3)
                printf("FinalizeObject failed: %s\n", msg);
            JitcoreDisposeErrorMessage(msg);
        }
    }
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    EE = MAKE_ENGINE(NULL);
    pthread_t a, b;
    pthread_create(&a, NULL, adder, NULL);
    pthread_create(&b, NULL, finalizer, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("engine_finalize_race: %d FinalizeObject calls failed\n", atomic_load(&finalize_wrong));
    JitcoreDisposeEngine(EE);
    return atomic_load(&finalize_wrong) != 0;
}
