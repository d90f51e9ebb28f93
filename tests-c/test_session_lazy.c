/*
 * Function-level lazy compilation (JitcoreDylibAddModuleLazy):
 *  - a 1,000-function module where one function is called compiles about one
 *    function's worth of code (statistics);
 *  - calls through stubs reach the right bodies, across partitions, with
 *    globals, internal helpers and function pointers;
 *  - concurrent first calls from 4 threads are safe and agree;
 *  - a lazy compile that fails is reported with the function's name, and
 *    the lazy failure handler hears of the call;
 *  - removal frees the lazily added module; LazyByDefault works.
 */
#include "test_util.h"

enum { NFUNCS = 1000, NTHREADS = 4 };

static char *thousand_functions(void)
{
    size_t cap = (size_t)NFUNCS * 512 + 1024;
    char *ir = malloc(cap);
    size_t n = 0;
    n += (size_t)snprintf(ir + n, cap - n, "@counter = global i64 0\n@.k = private constant i64 3\n");
    n += (size_t)snprintf(ir + n, cap - n, "define internal i64 @helper(i64 %%x) {\n  %%k = load i64, ptr @.k\n  %%r = mul i64 %%x, %%k\n  ret i64 %%r\n}\n");
    for (int i = 0; i < NFUNCS; i++) {
        /* f_i(x) = helper(x) + i, and f_i bumps the counter; f_i calls f_{i+1} when x < 0 */
        int next = (i + 1) % NFUNCS;
        n += (size_t)snprintf(ir + n, cap - n,
            "define i64 @f_%d(i64 %%x) {\n"
            "  %%c = load i64, ptr @counter\n  %%c1 = add i64 %%c, 1\n  store i64 %%c1, ptr @counter\n"
            "  %%neg = icmp slt i64 %%x, 0\n  br i1 %%neg, label %%chain, label %%done\n"
            "chain:\n  %%y = sub i64 0, %%x\n  %%z = call i64 @f_%d(i64 %%y)\n  ret i64 %%z\n"
            "done:\n  %%h = call i64 @helper(i64 %%x)\n  %%r = add i64 %%h, %d\n  ret i64 %%r\n}\n",
            i, next, i);
    }
    n += (size_t)snprintf(ir + n, cap - n,
        "@table = global [2 x ptr] [ptr @f_10, ptr @f_20]\n"
        "define i64 @call_table(i64 %%i, i64 %%x) {\n"
        "  %%p = getelementptr [2 x ptr], ptr @table, i64 0, i64 %%i\n  %%f = load ptr, ptr %%p\n"
        "  %%r = call i64 %%f(i64 %%x)\n  ret i64 %%r\n}\n");
    return ir;
}

typedef int64_t (*fn1)(int64_t);
typedef int64_t (*fn2)(int64_t, int64_t);

static JitcoreStatistics stats(JitcoreSessionRef s)
{
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    return st;
}


static void one_of_a_thousand(void)
{
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, NULL));
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    char *text = thousand_functions();
    JitcoreModuleRef m = MAKE_MODULE("thousand", text);
    free(text);
    CHECK_OK(JitcoreDylibAddModuleLazy(d, m, NULL));

    uint64_t a = SESSION_LOOKUP(s, d, "f_7");
    JitcoreStatistics st = stats(s);
    CHECK_MSG(st.FunctionsCompiled == 0, "a lookup returns the stub without compiling (compiled %" PRIu64 ")",
              st.FunctionsCompiled);
    CHECK_EQ_INT(FN(fn1, a)(5), 15 + 7);
    st = stats(s);
    tu_note("lazy: 1 of %d functions called: %" PRIu64 " functions in %" PRIu64 " partitions compiled",
            NFUNCS, st.FunctionsCompiled, st.ModulesCompiled);
    /* f_7 itself, its helper, and the globals partition. */
    CHECK_MSG(st.FunctionsCompiled >= 1 && st.FunctionsCompiled <= 3, "about one function compiled, not %" PRIu64,
              st.FunctionsCompiled);
    CHECK_MSG(st.ModulesCompiled <= 3, "at most three partitions compiled, not %" PRIu64, st.ModulesCompiled);

    /* Chained calls cross partitions: f_7(-5) -> f_8(5) = 15 + 8. */
    CHECK_EQ_INT(FN(fn1, a)(-5), 15 + 8);
    /* Globals are shared by all partitions: the counter counted every call. */
    int64_t *counter = (int64_t *)(uintptr_t)SESSION_LOOKUP(s, d, "counter");
    CHECK_EQ_INT(*counter, 3);
    /* Function pointers in a global table go through the stubs. */
    CHECK_EQ_INT(FN(fn2, SESSION_LOOKUP(s, d, "call_table"))(1, 2), 6 + 20);
    CHECK_MSG(SESSION_LOOKUP(s, d, "f_7") == a, "the stub's address is stable");
    st = stats(s);
    CHECK_MSG(st.FunctionsCompiled < 10, "still only a handful compiled (%" PRIu64 ")", st.FunctionsCompiled);
    JitcoreDisposeSession(s);
}

struct race {
    pthread_barrier_t *barrier;
    uint64_t addr;
    int64_t result;
};

static void *first_call(void *p)
{
    struct race *r = p;
    pthread_barrier_wait(r->barrier);
    r->result = FN(fn1, r->addr)(4);
    return NULL;
}

static void concurrent_first_calls(unsigned threads_option)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.CompileThreads = threads_option;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    char *text = thousand_functions();
    CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("thousand", text), NULL));
    free(text);
    uint64_t a = SESSION_LOOKUP(s, d, "f_42");
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, NTHREADS);
    pthread_t t[NTHREADS];
    struct race r[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        r[i].barrier = &b;
        r[i].addr = a;
        r[i].result = -1;
        pthread_create(&t[i], NULL, first_call, &r[i]);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(r[i].result, 12 + 42);
    }
    pthread_barrier_destroy(&b);
    JitcoreStatistics st = stats(s);
    CHECK_MSG(st.FunctionsCompiled <= 3, "f_42 compiled once for 4 threads (%" PRIu64 " functions)",
              st.FunctionsCompiled);
    JitcoreDisposeSession(s);
}

static char reported[1024];
static atomic_int reports;

static void reporter(void *ctx, JitcoreErrorCode code, const char *msg)
{
    (void)ctx;
    (void)code;
    if (atomic_fetch_add(&reports, 1) == 0)
        snprintf(reported, sizeof reported, "%s", msg);
}

static atomic_int handled;

/* Records the failed call and returns: the call then returns 0. */
static void record_failure(void *ctx, const char *function, JitcoreErrorRef err)
{
    (void)ctx;
    atomic_fetch_add(&handled, 1);
    CHECK_STR_EQ(function, "bad");
    CHECK_ERR(err, JITCORE_ERROR_UNRESOLVED_SYMBOL, "nowhere_to_be_found");
}

static void failed_lazy_compile_is_reported(void)
{
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, NULL));
    JitcoreSessionSetErrorReporter(s, reporter, NULL);
    JitcoreSessionSetLazyFailureHandler(s, record_failure, NULL);
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("broken",
        "declare i32 @nowhere_to_be_found(i32)\n"
        "define i32 @good(i32 %x) { %r = add i32 %x, 1\n ret i32 %r }\n"
        "define i32 @bad(i32 %x) { %r = call i32 @nowhere_to_be_found(i32 %x)\n ret i32 %r }\n"), NULL));
    typedef int (*ifn)(int);
    CHECK_EQ_INT(FN(ifn, SESSION_LOOKUP(s, d, "good"))(1), 2);
    int r = FN(ifn, SESSION_LOOKUP(s, d, "bad"))(1);
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(atomic_load(&handled), 1);
    CHECK_MSG(atomic_load(&reports) >= 1, "the failed lazy compile was reported");
    CHECK_CONTAINS(reported, "bad");
    CHECK_CONTAINS(reported, "nowhere_to_be_found");
    /* The session is still usable. */
    CHECK_EQ_INT(FN(ifn, SESSION_LOOKUP(s, d, "good"))(41), 42);
    JitcoreDisposeSession(s);
}

static void removal_and_lazy_by_default(void)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.LazyByDefault = 1;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    typedef int (*ifn)(int);
    for (int round = 0; round < 20; round++) {
        JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(d);
        CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("lz",
            "define i32 @twice(i32 %x) { %r = call i32 @inc(i32 %x)\n %s = call i32 @inc(i32 %r)\n ret i32 %s }\n"
            "define internal i32 @inc(i32 %x) { %r = add i32 %x, 1\n ret i32 %r }\n"
            "define i32 @unused(i32 %x) { ret i32 %x }\n"), rt));
        CHECK_EQ_INT(FN(ifn, SESSION_LOOKUP(s, d, "twice"))(round), round + 2);
        CHECK_OK(JitcoreResourceTrackerRemove(rt));
        uint64_t a = 0;
        CHECK_ERR(JitcoreSessionLookup(s, d, &a, "twice"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "twice");
        JitcoreDisposeResourceTracker(rt);
    }
    JitcoreStatistics st = stats(s);
    CHECK_MSG(st.FunctionsCompiled <= 20 * 3, "unused functions never compiled (%" PRIu64 ")", st.FunctionsCompiled);
    JitcoreDisposeSession(s);
}

/* Host cache callbacks see each lazily compiled partition, with a handle
   that is valid for the call (JitcoreSessionSetObjectCache's promise). */
static atomic_int partitions_notified;
static atomic_int partition_names_ok;

static void notify_partition(void *ctx, JitcoreModuleRef m, const uint8_t *obj, size_t len)
{
    (void)ctx;
    const char *name = JitcoreModuleGetName(m);
    atomic_fetch_add(&partitions_notified, 1);
    if (name != NULL && strncmp(name, "lzc#", 4) == 0 && len > 4 && memcmp(obj, "\177ELF", 4) == 0)
        atomic_fetch_add(&partition_names_ok, 1);
}

static void partitions_reach_host_cache(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreSessionSetObjectCache(s, notify_partition, NULL, NULL);
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("lzc",
        "define i32 @one() { ret i32 1 }\ndefine i32 @two() { ret i32 2 }\n"), NULL));
    CHECK_EQ_INT(FN(int (*)(void), SESSION_LOOKUP(s, d, "two"))(), 2);
    CHECK_EQ_INT(atomic_load(&partitions_notified), 1);
    CHECK_EQ_INT(atomic_load(&partition_names_ok), 1);
    JitcoreDisposeSession(s);
}

int main(void)
{
    RUN_TEST(one_of_a_thousand());
    RUN_TEST(concurrent_first_calls(0));
    RUN_TEST(concurrent_first_calls(2));
    RUN_TEST(failed_lazy_compile_is_reported());
    RUN_TEST(removal_and_lazy_by_default());
    RUN_TEST(partitions_reach_host_cache());
    return tu_finish("test_session_lazy");
}
