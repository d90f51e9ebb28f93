/*
 * repro/session_failure_crosstalk.c: one session, two threads, two dylibs.
 * Thread "bad" adds modules with an unresolved external to dylib "bad" and
 * looks them up (each must fail with UNRESOLVED_SYMBOL naming ITS symbol);
 * thread "good" adds correct modules to dylib "good" (calling h() of dylib
 * "lib" through its link order) and looks them up (each must succeed).
 * Expected: 0 wrong. Seen: good lookups fail with the bad thread's error
 * (or LINK "unsatisfied dependencies"/"tracker became defunct"), and bad
 * lookups name another iteration's module.
 * Usage: session_failure_crosstalk [compile_threads (default 2)] [iterations (default 300)]
 */
#include "../../tests-c/test_util.h"

static JitcoreSessionRef S;
static JitcoreDylibRef Dgood, Dbad, Dlib;
static int Iters = 300;
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

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.CompileThreads = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
    if (argc > 2)
        Iters = atoi(argv[2]);
    JitcoreConsumeError(JitcoreCreateSession(&S, &o));
    JitcoreConsumeError(JitcoreSessionCreateDylib(S, &Dgood, "good"));
    JitcoreConsumeError(JitcoreSessionCreateDylib(S, &Dbad, "bad"));
    JitcoreConsumeError(JitcoreSessionCreateDylib(S, &Dlib, "lib"));
    JitcoreModuleRef m = NULL;
    const char *lib = "define i32 @h() { ret i32 42 }\n";
    JitcoreConsumeError(JitcoreCreateModuleFromIR(&m, "lib", lib, strlen(lib)));
    JitcoreConsumeError(JitcoreDylibAddModule(Dlib, m, NULL));
    JitcoreConsumeError(JitcoreDylibSetLinkOrder(Dgood, &Dlib, 1));
    pthread_t a, b;
    pthread_create(&a, NULL, good, NULL);
    pthread_create(&b, NULL, bad, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("session_failure_crosstalk (CompileThreads=%u, %d iterations): %d good lookups wrong, %d bad lookups misreported\n",
           o.CompileThreads, Iters, atomic_load(&good_wrong), atomic_load(&bad_wrong));
    JitcoreDisposeSession(S);
    return (good_wrong || bad_wrong) ? 1 : 0;
}
