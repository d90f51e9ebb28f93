/*
 * Concurrent removal in one dylib does not disturb links in another (found
 * by tests-deep/stress.c): thread "bad" adds modules with an unresolved
 * external to dylib "bad", looks them up (each must fail with
 * UNRESOLVED_SYMBOL naming its own external) and removes them; thread
 * "good" adds modules to dylib "good" that call h() of dylib "lib" through
 * the link order, calls them and removes them. Before, every removal
 * dropped every link-order alias in the session, so good links failed
 * ("tracker became defunct", another thread's error) or crashed in ORC.
 * Run with 0 and 2 compile threads.
 */
#include "test_util.h"

static JitcoreSessionRef S;
static JitcoreDylibRef Dgood, Dbad, Dlib;
static int Iters = 200;
static atomic_int good_wrong, bad_wrong;

static void *good(void *p)
{
    (void)p;
    for (int i = 0; i < Iters; i++) {
        char name[32], ir[256];
        snprintf(name, sizeof name, "g_%d", i);
        snprintf(ir, sizeof ir, "declare i32 @h()\ndefine i32 @%s() {\n %%v = call i32 @h()\n %%r = add i32 %%v, %d\n ret i32 %%r\n}\n", name, i);
        JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(Dgood);
        JitcoreModuleRef m = NULL;
        JitcoreConsumeError(JitcoreCreateModuleFromIR(&m, name, ir, strlen(ir)));
        JitcoreConsumeError(JitcoreDylibAddModule(Dgood, m, rt));
        uint64_t a = 0;
        JitcoreErrorRef e = JitcoreSessionLookup(S, Dgood, &a, name);
        if (e || ((int (*)(void))(uintptr_t)a)() != 42 + i) {
            char *msg = JitcoreGetErrorMessage(e);
            if (atomic_fetch_add(&good_wrong, 1) < 5)
                printf("good lookup %s failed: %s\n", name, msg ? msg : "wrong value");
            JitcoreDisposeErrorMessage(msg);
        }
        JitcoreConsumeError(JitcoreResourceTrackerRemove(rt));
        JitcoreDisposeResourceTracker(rt);
    }
    return NULL;
}

static void *bad(void *p)
{
    (void)p;
    for (int i = 0; i < Iters; i++) {
        char name[32], undef[32], ir[256];
        snprintf(name, sizeof name, "b_%d", i);
        snprintf(undef, sizeof undef, "undef_%d", i);
        snprintf(ir, sizeof ir, "declare i32 @%s()\ndefine i32 @%s() {\n %%v = call i32 @%s()\n ret i32 %%v\n}\n", undef, name, undef);
        JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(Dbad);
        JitcoreModuleRef m = NULL;
        JitcoreConsumeError(JitcoreCreateModuleFromIR(&m, name, ir, strlen(ir)));
        JitcoreConsumeError(JitcoreDylibAddModule(Dbad, m, rt));
        uint64_t a = 0;
        JitcoreErrorRef e = JitcoreSessionLookup(S, Dbad, &a, name);
        JitcoreErrorCode code = JitcoreGetErrorCode(e);
        char *msg = JitcoreGetErrorMessage(e);
        char want[64];
        snprintf(want, sizeof want, "[ %s ]", undef);
        if (code != JITCORE_ERROR_UNRESOLVED_SYMBOL || !msg || !strstr(msg, want)) {
            if (atomic_fetch_add(&bad_wrong, 1) < 5)
                printf("bad lookup %s: expected UNRESOLVED_SYMBOL naming %s, got %s: %s\n", name, undef, tu_code_name(code), msg ? msg : "(success)");
        }
        JitcoreDisposeErrorMessage(msg);
        JitcoreConsumeError(JitcoreResourceTrackerRemove(rt));
        JitcoreDisposeResourceTracker(rt);
    }
    return NULL;
}

static void run_scenario(unsigned compile_threads)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.CompileThreads = compile_threads;
    atomic_store(&good_wrong, 0);
    atomic_store(&bad_wrong, 0);
    CHECK_OK(JitcoreCreateSession(&S, &o));
    CHECK_OK(JitcoreSessionCreateDylib(S, &Dgood, "good"));
    CHECK_OK(JitcoreSessionCreateDylib(S, &Dbad, "bad"));
    CHECK_OK(JitcoreSessionCreateDylib(S, &Dlib, "lib"));
    const char *lib = "define i32 @h() { ret i32 42 }\n";
    CHECK_OK(JitcoreDylibAddModule(Dlib, MAKE_MODULE("lib", lib), NULL));
    CHECK_OK(JitcoreDylibSetLinkOrder(Dgood, &Dlib, 1));
    pthread_t a, b;
    pthread_create(&a, NULL, good, NULL);
    pthread_create(&b, NULL, bad, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_EQ_INT(atomic_load(&good_wrong), 0);
    CHECK_EQ_INT(atomic_load(&bad_wrong), 0);
    JitcoreDisposeSession(S);
}

int main(void)
{
    const char *config = getenv("JITCORE_TEST_CONFIG");
    Iters = (config && strcmp(config, "release") != 0) ? 40 : 200;
    RUN_TEST(run_scenario(0));
    RUN_TEST(run_scenario(2));
    return tu_finish("test_session_concurrent_removal");
}
