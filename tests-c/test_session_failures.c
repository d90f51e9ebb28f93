/*
 * Failures are tied to the unit that failed (issue: internals, defects 1-2):
 *  - the same module added to dylibs A and B, with an external `ext` that
 *    only A defines: after A's `f` linked and ran, a failed lookup of `f` in
 *    B resets only B's copy. A's code and data stay (ModulesCompiled does
 *    not grow, A's counter keeps counting);
 *  - B's copy links once `ext` is defined in B too (it was reset);
 *  - concurrent lookups do not see each other's errors: a lookup of a
 *    missing symbol on one thread is SYMBOL_NOT_FOUND naming that symbol,
 *    every time, while another thread's lookups fail to link;
 *  - a module of a linked dylib that cannot link fails the lookup of code
 *    that uses it with its own cause (not "unresolved foo" for the user),
 *    and is reset too: once its missing symbol exists, a retry links.
 */
#include "test_util.h"

typedef int (*int_fn)(void);

static const char COUNTER_IR[] =
    "@n = global i32 0\n"
    "declare i32 @ext()\n"
    "define i32 @f() {\n"
    "  %v = load i32, ptr @n\n"
    "  %w = add i32 %v, 1\n"
    "  store i32 %w, ptr @n\n"
    "  %e = call i32 @ext()\n"
    "  %r = add i32 %w, %e\n"
    "  ret i32 %r\n"
    "}\n";

static int ext_zero(void) { return 0; }

static JitcoreStatistics session_stats(JitcoreSessionRef s)
{
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    return st;
}

static void test_failure_in_one_dylib_spares_the_other(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef a = NULL, b = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &a, "A"));
    CHECK_OK(JitcoreSessionCreateDylib(s, &b, "B"));
    JitcoreSymbolDefinition ext = {"ext", HOST_ADDR(ext_zero)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(a, &ext, 1));
    CHECK_OK(JitcoreDylibAddModule(a, MAKE_MODULE("counter", COUNTER_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(b, MAKE_MODULE("counter", COUNTER_IR), NULL));

    uint64_t fa = SESSION_LOOKUP(s, a, "f");
    if (!fa)
        return;
    CHECK_EQ_INT(FN(int_fn, fa)(), 1);
    CHECK_EQ_INT(FN(int_fn, fa)(), 2);
    CHECK_EQ_U64(session_stats(s).ModulesCompiled, 1);

    uint64_t fb = 0;
    char *msg = TAKE_ERR(JitcoreSessionLookup(s, b, &fb, "f"), JITCORE_ERROR_UNRESOLVED_SYMBOL);
    CHECK_CONTAINS(msg, "ext");
    JitcoreDisposeErrorMessage(msg);
    CHECK(fb == 0);

    /* A's module was not reset: same code, same data. */
    CHECK_EQ_U64(session_stats(s).ModulesCompiled, 2);
    CHECK_EQ_INT(FN(int_fn, fa)(), 3);
    CHECK_EQ_U64(SESSION_LOOKUP(s, a, "f"), fa);
    CHECK_EQ_INT(FN(int_fn, fa)(), 4);
    CHECK_EQ_U64(session_stats(s).ModulesCompiled, 2);

    /* B's copy was reset: with ext defined there it links and has its own counter. */
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(b, &ext, 1));
    fb = SESSION_LOOKUP(s, b, "f");
    CHECK(fb != 0 && fb != fa);
    if (fb)
        CHECK_EQ_INT(FN(int_fn, fb)(), 1);
    CHECK_EQ_INT(FN(int_fn, fa)(), 5);
    JitcoreDisposeSession(s);
}

enum { ROUNDS = 200 };

struct race {
    JitcoreSessionRef s;
    JitcoreDylibRef d;
    atomic_int wrong;
    atomic_int done;
    atomic_long missing_lookups;
};

static void *look_up_missing(void *p)
{
    struct race *r = p;
    /* Until the other thread is done, so their lookups overlap. */
    for (int i = 0; i < ROUNDS || !atomic_load(&r->done); i++) {
        atomic_fetch_add(&r->missing_lookups, 1);
        uint64_t addr = 0;
        JitcoreErrorRef e = JitcoreSessionLookup(r->s, r->d, &addr, "nobody_defines_me");
        JitcoreErrorCode code = JitcoreGetErrorCode(e);
        char *msg = e ? JitcoreGetErrorMessage(e) : NULL;
        if (code != JITCORE_ERROR_SYMBOL_NOT_FOUND || !tu_contains_any(msg, "nobody_defines_me")) {
            atomic_fetch_add(&r->wrong, 1);
            tu_note("lookup of a missing symbol got %s: %s", tu_code_name(code), msg ? msg : "(none)");
        }
        JitcoreDisposeErrorMessage(msg);
    }
    return NULL;
}

static void *fail_to_link(void *p)
{
    struct race *r = p;
    for (int i = 0; i < ROUNDS; i++) {
        JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(r->d);
        char name[32];
        snprintf(name, sizeof name, "needs_ext_%d", i);
        JitcoreModuleRef m = NULL;
        JitcoreErrorRef e = JitcoreCreateModuleFromIR(&m, name, COUNTER_IR, strlen(COUNTER_IR));
        if (!e)
            e = JitcoreDylibAddModule(r->d, m, rt);
        if (!e) {
            uint64_t addr = 0;
            e = JitcoreSessionLookup(r->s, r->d, &addr, "f");
            if (JitcoreGetErrorCode(e) != JITCORE_ERROR_UNRESOLVED_SYMBOL) {
                atomic_fetch_add(&r->wrong, 1);
                char *msg = e ? JitcoreGetErrorMessage(e) : NULL;
                tu_note("a lookup that cannot link got %s: %s", tu_code_name(JitcoreGetErrorCode(e)),
                        msg ? msg : "(none)");
                JitcoreDisposeErrorMessage(msg);
                e = NULL;
            }
        }
        JitcoreConsumeError(e);
        JitcoreConsumeError(JitcoreResourceTrackerRemove(rt));
        JitcoreDisposeResourceTracker(rt);
    }
    atomic_store(&r->done, 1);
    return NULL;
}

static void test_concurrent_lookups_keep_their_errors(void)
{
    struct race r;
    r.s = NEW_SESSION();
    CHECK_OK(JitcoreSessionCreateDylib(r.s, &r.d, "race"));
    atomic_init(&r.wrong, 0);
    atomic_init(&r.done, 0);
    atomic_init(&r.missing_lookups, 0);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, look_up_missing, &r);
    pthread_create(&t2, NULL, fail_to_link, &r);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK_EQ_INT(atomic_load(&r.wrong), 0);
    tu_note("%ld lookups of a missing symbol overlapped %d failing links", atomic_load(&r.missing_lookups), ROUNDS);
    JitcoreDisposeSession(r.s);
}

static void test_failure_behind_a_link_order(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s), foo = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &foo, "libFoo"));
    CHECK_OK(JitcoreDylibSetLinkOrder(main_jd, &foo, 1));
    CHECK_OK(JitcoreDylibAddModule(
        main_jd, MAKE_MODULE("main.ll", "declare i32 @foo()\ndefine i32 @entry() { %r = call i32 @foo()\n ret i32 %r }\n"),
        NULL));
    CHECK_OK(JitcoreDylibAddModule(
        foo, MAKE_MODULE("foo.ll", "declare i32 @nope()\ndefine i32 @foo() { %r = call i32 @nope()\n ret i32 %r }\n"),
        NULL));
    uint64_t addr = 0;
    for (int i = 0; i < 2; i++)
        CHECK_ERR2(JitcoreSessionLookup(s, main_jd, &addr, "entry"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "nope",
                   "foo.ll");
    CHECK_OK(JitcoreDylibAddModule(foo, MAKE_MODULE("nope.ll", "define i32 @nope() { ret i32 5 }\n"), NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, main_jd, "entry"), 5);
    JitcoreDisposeSession(s);
}

int main(void)
{
    RUN_TEST(test_failure_in_one_dylib_spares_the_other());
    RUN_TEST(test_concurrent_lookups_keep_their_errors());
    RUN_TEST(test_failure_behind_a_link_order());
    return tu_finish("test_session_failures");
}
