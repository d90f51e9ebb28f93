/*
 * Compile threads of jitcore sessions:
 *  - a session with CompileThreads = 2 and one with 0 each compile 100 modules
 *    (f_i returns i*i + 7), looked up with one JitcoreSessionLookupMany call:
 *    results correct and equal across both sessions;
 *  - LookupMany writes nothing when one name is missing;
 *  - 4 threads looking up the same symbol at once (pthread barrier) get the same
 *    address, and the module is compiled once (ModulesCompiled == 1);
 *  - threads adding and looking up in distinct dylibs of one pooled session.
 */
#include "test_util.h"

#define NMOD 100
#define NTHREADS 4

typedef int (*int_fn)(void);

static JitcoreSessionRef new_session(unsigned threads)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    CHECK_EQ_INT(o.CompileThreads, 0);
    CHECK_EQ_INT(o.OptLevel, JITCORE_OPT_LEVEL_O2);
    o.CompileThreads = threads;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    CHECK(s != NULL);
    return s;
}

static JitcoreStatistics stats(JitcoreSessionRef s)
{
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    return st;
}

/* Adds NMOD modules f_i (i*i + 7), each also calling helper g_i of the
   next module (so the modules depend on each other), and looks all f_i up
   in one call; writes the values to out[]. */
static void compile_hundred(unsigned threads, int out[NMOD])
{
    JitcoreSessionRef s = new_session(threads);
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    char ir[512];
    for (int i = 0; i < NMOD; i++) {
        char name[32];
        snprintf(name, sizeof name, "mod_%d", i);
        /* f_i = (i*i + 7 - (i+1)) + g_{i+1}, where g_j = j; the last module has no neighbour. */
        if (i + 1 < NMOD)
            snprintf(ir, sizeof ir,
                     "declare i32 @g_%d()\n"
                     "define i32 @g_%d() { ret i32 %d }\n"
                     "define i32 @f_%d() {\n"
                     "  %%n = call i32 @g_%d()\n"
                     "  %%r = add i32 %%n, %d\n"
                     "  ret i32 %%r\n"
                     "}\n",
                     i + 1, i, i, i, i + 1, i * i + 7 - (i + 1));
        else
            snprintf(ir, sizeof ir, "define i32 @g_%d() { ret i32 %d }\ndefine i32 @f_%d() { ret i32 %d }\n", i, i,
                     i, i * i + 7);
        JitcoreModuleRef m = MAKE_MODULE(name, ir);
        if (m && !CHECK_OK(JitcoreDylibAddModule(d, m, NULL)))
            JitcoreDisposeModule(m);
    }
    CHECK_EQ_U64(stats(s).ModulesCompiled, 0);

    char names[NMOD][16];
    const char *ptrs[NMOD];
    uint64_t addrs[NMOD];
    for (int i = 0; i < NMOD; i++) {
        snprintf(names[i], sizeof names[i], "f_%d", i);
        ptrs[i] = names[i];
        addrs[i] = 0;
        out[i] = -1;
    }
    if (CHECK_OK(JitcoreSessionLookupMany(s, d, addrs, ptrs, NMOD))) {
        int wrong = 0;
        for (int i = 0; i < NMOD; i++) {
            if (!CHECK_MSG(addrs[i] != 0, "threads=%u: no address for %s", threads, names[i]))
                continue;
            out[i] = FN(int_fn, addrs[i])();
            if (out[i] != i * i + 7) {
                wrong++;
                CHECK_MSG(0, "threads=%u: expected %s() == %d, got %d", threads, names[i], i * i + 7, out[i]);
            }
        }
        CHECK_EQ_INT(wrong, 0);
        /* Distinct addresses, and a single lookup agrees with the batch. */
        int dups = 0;
        for (int i = 1; i < NMOD; i++)
            if (addrs[i] == addrs[i - 1])
                dups++;
        CHECK_EQ_INT(dups, 0);
        uint64_t one = 0;
        CHECK_OK(JitcoreSessionLookup(s, d, &one, "f_42"));
        CHECK_EQ_U64(one, addrs[42]);
    }
    JitcoreStatistics st = stats(s);
    CHECK_EQ_U64(st.ModulesCompiled, NMOD);
    CHECK_EQ_U64(st.FunctionsCompiled, 2 * NMOD);
    CHECK_EQ_U64(st.MaterializationFailures, 0);
    tu_note("  %u compile threads: %" PRIu64 " modules, %" PRIu64 " object bytes", threads, st.ModulesCompiled,
            st.ObjectBytesEmitted);
    JitcoreDisposeSession(s);
}

static void test_hundred_modules(void)
{
    int pooled[NMOD], inline_[NMOD];
    compile_hundred(2, pooled);
    compile_hundred(0, inline_);
    int diff = 0;
    for (int i = 0; i < NMOD; i++)
        if (pooled[i] != inline_[i])
            diff++;
    CHECK_MSG(diff == 0, "expected the same results with 2 and 0 compile threads, %d differ", diff);
}

/* LookupMany: a missing name fails the whole call and writes nothing. */
static void test_lookup_many_errors(void)
{
    JitcoreSessionRef s = new_session(2);
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("a", "define i32 @la() { ret i32 1 }\n"), NULL));
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("b", "define i32 @lb() { ret i32 2 }\n"), NULL));
    const char *names[3] = {"la", "jc_no_such_symbol", "lb"};
    uint64_t res[3] = {7, 7, 7};
    CHECK_ERR(JitcoreSessionLookupMany(s, d, res, names, 3), JITCORE_ERROR_SYMBOL_NOT_FOUND, "jc_no_such_symbol");
    CHECK_MSG(res[0] == 7 && res[1] == 7 && res[2] == 7, "expected no result written on error");
    /* A module that cannot link fails the batch, naming it; the others are fine afterwards. */
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("needs", "declare i32 @jc_missing()\n"
                                                           "define i32 @lc() { %r = call i32 @jc_missing()\n ret i32 %r }\n"),
                                   NULL));
    const char *names2[3] = {"la", "lc", "lb"};
    CHECK_ERR2(JitcoreSessionLookupMany(s, d, res, names2, 3), JITCORE_ERROR_UNRESOLVED_SYMBOL, "jc_missing", "needs");
    CHECK_MSG(res[0] == 7 && res[1] == 7 && res[2] == 7, "expected no result written on error");
    const char *names3[2] = {"lb", "la"};
    if (CHECK_OK(JitcoreSessionLookupMany(s, d, res, names3, 2))) {
        CHECK_EQ_INT(FN(int_fn, res[0])(), 2);
        CHECK_EQ_INT(FN(int_fn, res[1])(), 1);
    }
    /* The same name twice. */
    const char *names4[2] = {"la", "la"};
    uint64_t twice[2] = {0, 0};
    if (CHECK_OK(JitcoreSessionLookupMany(s, d, twice, names4, 2)))
        CHECK(twice[0] == twice[1] && twice[0] == res[1]);
    JitcoreDisposeSession(s);
}

/* Concurrent first lookups of one symbol. */
struct race {
    JitcoreSessionRef s;
    JitcoreDylibRef d;
    pthread_barrier_t barrier;
    uint64_t addr[NTHREADS];
    int value[NTHREADS];
};

struct race_arg {
    struct race *r;
    int idx;
};

static void *race_lookup(void *p)
{
    struct race_arg *a = p;
    struct race *r = a->r;
    pthread_barrier_wait(&r->barrier);
    uint64_t addr = 0;
    if (CHECK_OK(JitcoreSessionLookup(r->s, r->d, &addr, "shared_fn")) && addr) {
        r->addr[a->idx] = addr;
        r->value[a->idx] = FN(int_fn, addr)();
    }
    return NULL;
}

static void concurrent_lookups(unsigned threads)
{
    struct race r;
    memset(&r, 0, sizeof r);
    r.s = new_session(threads);
    r.d = JitcoreSessionGetMainDylib(r.s);
    CHECK_OK(JitcoreDylibAddModule(r.d, MAKE_MODULE("shared",
        "define i32 @shared_helper(i32 %x) { %y = mul i32 %x, 3\n ret i32 %y }\n"
        "define i32 @shared_fn() { %r = call i32 @shared_helper(i32 14)\n ret i32 %r }\n"), NULL));
    CHECK(pthread_barrier_init(&r.barrier, NULL, NTHREADS) == 0);
    pthread_t th[NTHREADS];
    struct race_arg args[NTHREADS];
    int started = 0;
    for (int i = 0; i < NTHREADS; i++) {
        args[i].r = &r;
        args[i].idx = i;
        if (CHECK(pthread_create(&th[i], NULL, race_lookup, &args[i]) == 0))
            started++;
    }
    /* If a thread could not start, the barrier would never open: give up loudly. */
    if (started != NTHREADS) {
        tu_note("  could not start %d threads", NTHREADS);
        exit(tu_finish("test_session_threads"));
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&r.barrier);
    for (int i = 0; i < NTHREADS; i++) {
        CHECK_MSG(r.addr[i] != 0 && r.addr[i] == r.addr[0], "threads=%u: thread %d got address 0x%" PRIx64
                  ", thread 0 got 0x%" PRIx64, threads, i, r.addr[i], r.addr[0]);
        CHECK_EQ_INT(r.value[i], 42);
    }
    JitcoreStatistics st = stats(r.s);
    CHECK_MSG(st.ModulesCompiled == 1, "threads=%u: expected the module compiled once, got %" PRIu64, threads,
              st.ModulesCompiled);
    CHECK_EQ_U64(st.FunctionsCompiled, 2);
    CHECK_EQ_U64(st.ObjectsLoaded, 1);
    JitcoreDisposeSession(r.s);
}

static void test_concurrent_lookups(void)
{
    concurrent_lookups(0);
    concurrent_lookups(2);
}

/* Threads each with their own dylib in one pooled session, adding and looking up at once. */
struct worker {
    JitcoreSessionRef s;
    int id;
    pthread_barrier_t *barrier;
};

static void *work(void *p)
{
    struct worker *w = p;
    char name[32], ir[256];
    snprintf(name, sizeof name, "worker_%d", w->id);
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(w->s, &d, name));
    pthread_barrier_wait(w->barrier);
    if (!d)
        return NULL;
    for (int i = 0; i < 10; i++) {
        snprintf(ir, sizeof ir, "define i32 @w_%d() { ret i32 %d }\n", i, w->id * 100 + i);
        JitcoreModuleRef m = MAKE_MODULE(name, ir);
        if (m && !CHECK_OK(JitcoreDylibAddModule(d, m, NULL)))
            JitcoreDisposeModule(m);
    }
    const char *names[10] = {"w_0", "w_1", "w_2", "w_3", "w_4", "w_5", "w_6", "w_7", "w_8", "w_9"};
    uint64_t addrs[10];
    if (CHECK_OK(JitcoreSessionLookupMany(w->s, d, addrs, names, 10)))
        for (int i = 0; i < 10; i++)
            CHECK_EQ_INT(FN(int_fn, addrs[i])(), w->id * 100 + i);
    return NULL;
}

static void test_parallel_dylibs(void)
{
    JitcoreSessionRef s = new_session(2);
    pthread_barrier_t barrier;
    CHECK(pthread_barrier_init(&barrier, NULL, NTHREADS) == 0);
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    int started = 0;
    for (int i = 0; i < NTHREADS; i++) {
        w[i].s = s;
        w[i].id = i;
        w[i].barrier = &barrier;
        if (CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0))
            started++;
    }
    if (started != NTHREADS) {
        tu_note("  could not start %d threads", NTHREADS);
        exit(tu_finish("test_session_threads"));
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    JitcoreStatistics st = stats(s);
    CHECK_EQ_U64(st.ModulesCompiled, NTHREADS * 10);
    JitcoreDisposeSession(s);
}

/* Disposing of a pooled session with modules added but never compiled. */
static void test_dispose_uncompiled(void)
{
    JitcoreSessionRef s = new_session(3);
    for (int i = 0; i < 5; i++) {
        char ir[64];
        snprintf(ir, sizeof ir, "define i32 @u_%d() { ret i32 %d }\n", i, i);
        CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(s), MAKE_MODULE("u", ir), NULL));
    }
    JitcoreDisposeSession(s);
}

int main(void)
{
    RUN_TEST(test_hundred_modules());
    RUN_TEST(test_lookup_many_errors());
    RUN_TEST(test_concurrent_lookups());
    RUN_TEST(test_parallel_dylibs());
    RUN_TEST(test_dispose_uncompiled());
    return tu_finish("test_session_threads");
}
