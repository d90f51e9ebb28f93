/*
 * stress.c: 8 threads for JITCORE_STRESS_SECONDS (default 120) doing mixed
 * operations on ONE shared session and ONE shared engine, every result
 * checked. Two phases of half the time each: a session compiling on the
 * looking-up threads (CompileThreads = 0), then one with CompileThreads = 2;
 * the engine lives through both.
 *
 * Session operations (values depend on the thread id t and a counter c):
 *   s_eager        add a module under a new tracker, look it up, call it
 *   s_lazy         the same with JitcoreDylibAddModuleLazy (a calls b)
 *   s_link_order   a private dylib linking [lib of thread t+1, lib of t]
 *   s_absolute     absolute symbol (a host function) called by jitted code
 *   s_missing      lookup of a missing symbol: SYMBOL_NOT_FOUND naming it
 *   s_unresolved   a module with an unresolved external: UNRESOLVED_SYMBOL
 *                  naming it; then the symbol is defined and the retry works
 *   s_lookup_many  the 8 lib functions at once from main (its link order)
 *   s_remove       trackers are kept in a ring of 12 per thread; the oldest
 *                  is called again (still right), removed, and its symbol
 *                  must then be SYMBOL_NOT_FOUND
 *   s_dylib_create a private dylib, found again by name
 *   s_stats        statistics never go backwards
 * Engine operations:
 *   e_add_call_remove, e_finalize (two modules, FinalizeObject),
 *   e_cache_reuse (same module again: the object cache's GetBuffer hands
 *   back the object Notify saved), e_global, e_stats.
 *
 * Output: one line per kind, then "stress: N operations, M wrong results".
 * Exit status nonzero on any wrong result (a crash kills the process with
 * a line naming the operation in flight).
 */
#include "deep_util.h"

#define NTHREADS 8
#define RING 12
#define MAX_PRIVATE 24

typedef int (*fn_i_i)(int);
typedef int (*fn_i_v)(void);

/* kinds */
static int K_S_EAGER, K_S_LAZY, K_S_LINK, K_S_ABS, K_S_MISSING, K_S_UNRESOLVED, K_S_MANY, K_S_REMOVE, K_S_DYLIB,
    K_S_STATS, K_E_ADD, K_E_FINALIZE, K_E_CACHE, K_E_GLOBAL, K_E_STATS, K_PHASE;

static JitcoreSessionRef g_session;
static JitcoreDylibRef g_lib[NTHREADS];
static JitcoreEngineRef g_engine;
static double g_deadline;
static int g_phase;
static atomic_long g_session_reports, g_engine_reports;
static atomic_long g_notify_calls, g_getbuffer_calls, g_getbuffer_hits, g_notify_bad;

static int host_scale(int x) { return 3 * x + 1; }
static int host_seven(void) { return 7; }

static int lib_value(int t) { return 7 * t + 1; }
static int value_of(int t, long c) { return t * 1000003 + (int)(c % 1000000); }

/* ------------------------------------------------------------------ */
/* Engine object cache: objects of "ec_" modules, by module name         */
/* ------------------------------------------------------------------ */

#define CACHE_SLOTS 64
static struct {
    char name[64];
    unsigned char *bytes;
    size_t len;
} g_cache[CACHE_SLOTS];
static pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned slot_of(const char *name)
{
    unsigned h = 5381;
    for (const char *p = name; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h % CACHE_SLOTS;
}

static void cache_notify(void *ctx, JitcoreModuleRef m, const uint8_t *obj, size_t len)
{
    (void)ctx;
    atomic_fetch_add(&g_notify_calls, 1);
    const char *name = JitcoreModuleGetName(m);
    if (!name || !obj || len < 64 || memcmp(obj, "\x7f" "ELF", 4) != 0) {
        atomic_fetch_add(&g_notify_bad, 1);
        return;
    }
    if (strncmp(name, "ec_", 3) != 0)
        return;
    unsigned char *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, obj, len);
    pthread_mutex_lock(&g_cache_lock);
    unsigned s = slot_of(name);
    free(g_cache[s].bytes);
    snprintf(g_cache[s].name, sizeof g_cache[s].name, "%s", name);
    g_cache[s].bytes = copy;
    g_cache[s].len = len;
    pthread_mutex_unlock(&g_cache_lock);
}

static JitcoreObjectBufferRef cache_getbuffer(void *ctx, JitcoreModuleRef m)
{
    (void)ctx;
    atomic_fetch_add(&g_getbuffer_calls, 1);
    const char *name = JitcoreModuleGetName(m);
    if (!name || strncmp(name, "ec_", 3) != 0)
        return NULL;
    JitcoreObjectBufferRef b = NULL;
    pthread_mutex_lock(&g_cache_lock);
    unsigned s = slot_of(name);
    if (g_cache[s].bytes && strcmp(g_cache[s].name, name) == 0)
        b = JitcoreCreateObjectBufferCopy(g_cache[s].bytes, g_cache[s].len);
    pthread_mutex_unlock(&g_cache_lock);
    if (b)
        atomic_fetch_add(&g_getbuffer_hits, 1);
    return b;
}

static void session_reporter(void *ctx, JitcoreErrorCode code, const char *msg)
{
    (void)ctx;
    (void)code;
    (void)msg;
    atomic_fetch_add(&g_session_reports, 1);
}

static void engine_reporter(void *ctx, JitcoreErrorCode code, const char *msg)
{
    (void)ctx;
    atomic_fetch_add(&g_engine_reports, 1);
    if (getenv("TU_VERBOSE"))
        tu_note("  engine report [%s] %s", tu_code_name(code), msg ? msg : "(null)");
}

/* ------------------------------------------------------------------ */
/* Per-thread state                                                     */
/* ------------------------------------------------------------------ */

struct ring_entry {
    JitcoreResourceTrackerRef rt;
    JitcoreDylibRef d;
    char sym[64];
    int arg_kind; /* 0: int(void), 1: int(int) called with 5 */
    int expect;
};

struct worker {
    int t;
    long c;
    uint64_t rng;
    JitcoreDylibRef priv[MAX_PRIVATE];
    int npriv;
    struct ring_entry ring[RING];
    int ring_len, ring_head;
    JitcoreStatistics last_s, last_e;
};

static JitcoreModuleRef module(const char *name, const char *ir)
{
    JitcoreModuleRef m = NULL;
    if (!CHECK_OK(JitcoreCreateModuleFromIR(&m, name, ir, strlen(ir))))
        return NULL;
    return m;
}

/* Calls the ring entry's function through a fresh lookup. */
static int call_entry(struct ring_entry *e)
{
    uint64_t a = 0;
    if (!CHECK_OK(JitcoreSessionLookup(g_session, e->d, &a, e->sym)) || !CHECK(a != 0))
        return 0;
    int got = e->arg_kind ? FN(fn_i_i, a)(5) : FN(fn_i_v, a)();
    return CHECK_MSG(got == e->expect, "%s(): expected %d, got %d", e->sym, e->expect, got);
}

static void ring_pop(struct worker *w)
{
    DU_OP("s_remove");
    struct ring_entry *e = &w->ring[w->ring_head];
    int ok = call_entry(e);
    ok &= CHECK_OK(JitcoreResourceTrackerRemove(e->rt));
    uint64_t a = 0;
    char msg[512];
    ok &= CHECK_MSG(du_err_is(JitcoreSessionLookup(g_session, e->d, &a, e->sym), JITCORE_ERROR_SYMBOL_NOT_FOUND,
                              e->sym, msg, sizeof msg),
                    "%s after removal: expected SYMBOL_NOT_FOUND naming it, got %s", e->sym, msg);
    JitcoreDisposeResourceTracker(e->rt);
    e->rt = NULL;
    w->ring_head = (w->ring_head + 1) % RING;
    w->ring_len--;
    du_count(K_S_REMOVE, ok);
}

static void ring_push(struct worker *w, JitcoreResourceTrackerRef rt, JitcoreDylibRef d, const char *sym, int arg_kind,
                      int expect)
{
    if (w->ring_len == RING)
        ring_pop(w);
    struct ring_entry *e = &w->ring[(w->ring_head + w->ring_len) % RING];
    e->rt = rt;
    e->d = d;
    snprintf(e->sym, sizeof e->sym, "%s", sym);
    e->arg_kind = arg_kind;
    e->expect = expect;
    w->ring_len++;
}

/* A tracker whose code worked goes to the ring; one that failed is removed now. */
static void keep_or_remove(struct worker *w, int ok, JitcoreResourceTrackerRef rt, JitcoreDylibRef d, const char *sym,
                           int arg_kind, int expect)
{
    if (ok) {
        ring_push(w, rt, d, sym, arg_kind, expect);
        return;
    }
    CHECK_OK(JitcoreResourceTrackerRemove(rt));
    JitcoreDisposeResourceTracker(rt);
}

static JitcoreDylibRef new_private(struct worker *w)
{
    char name[64];
    snprintf(name, sizeof name, "p%d_t%d_%d", g_phase, w->t, w->npriv);
    JitcoreDylibRef d = NULL;
    int ok = CHECK_OK(JitcoreSessionCreateDylib(g_session, &d, name)) && CHECK(d != NULL);
    if (ok) {
        ok &= CHECK(JitcoreSessionGetDylibByName(g_session, name) == d);
        ok &= CHECK_STR_EQ(JitcoreDylibGetName(d), name);
        w->priv[w->npriv++] = d;
    }
    du_count(K_S_DYLIB, ok);
    return ok ? d : NULL;
}

static JitcoreDylibRef some_private(struct worker *w)
{
    if (w->npriv == 0)
        return new_private(w);
    return w->priv[du_rand(&w->rng) % (uint64_t)w->npriv];
}

/* ------------------------------------------------------------------ */
/* Session operations                                                   */
/* ------------------------------------------------------------------ */

static void op_s_eager(struct worker *w)
{
    DU_OP("s_eager");
    char name[64], ir[256];
    int v = value_of(w->t, w->c);
    snprintf(name, sizeof name, "se_%d_%d_%ld", g_phase, w->t, w->c);
    snprintf(ir, sizeof ir, "define i32 @%s(i32 %%x) {\n  %%r = add i32 %%x, %d\n  ret i32 %%r\n}\n", name, v);
    JitcoreDylibRef d = (du_rand(&w->rng) & 1) ? JitcoreSessionGetMainDylib(g_session) : some_private(w);
    JitcoreResourceTrackerRef rt = d ? JitcoreDylibCreateResourceTracker(d) : NULL;
    int ok = CHECK(rt != NULL);
    JitcoreModuleRef m = ok ? module(name, ir) : NULL;
    if (m && !CHECK_OK(JitcoreDylibAddModule(d, m, rt))) {
        JitcoreDisposeModule(m);
        m = NULL;
    }
    ok &= m != NULL;
    if (ok) {
        struct ring_entry e = {rt, d, "", 1, v + 5};
        snprintf(e.sym, sizeof e.sym, "%s", name);
        ok &= call_entry(&e);
        keep_or_remove(w, ok, rt, d, name, 1, v + 5);
    } else {
        JitcoreDisposeResourceTracker(rt);
    }
    du_count(K_S_EAGER, ok);
}

static void op_s_lazy(struct worker *w)
{
    DU_OP("s_lazy");
    char name[64], ir[512];
    int v = value_of(w->t, w->c) % 100000;
    snprintf(name, sizeof name, "sl_%d_%d_%ld", g_phase, w->t, w->c);
    snprintf(ir, sizeof ir,
             "define i32 @%s_b() {\n  ret i32 %d\n}\n"
             "define i32 @%s() {\n  %%v = call i32 @%s_b()\n  %%m = mul i32 %%v, 2\n  %%r = add i32 %%m, 1\n"
             "  ret i32 %%r\n}\n",
             name, v, name, name);
    JitcoreDylibRef d = (du_rand(&w->rng) & 1) ? JitcoreSessionGetMainDylib(g_session) : some_private(w);
    JitcoreResourceTrackerRef rt = d ? JitcoreDylibCreateResourceTracker(d) : NULL;
    int ok = CHECK(rt != NULL);
    JitcoreModuleRef m = ok ? module(name, ir) : NULL;
    if (m && !CHECK_OK(JitcoreDylibAddModuleLazy(d, m, rt))) {
        JitcoreDisposeModule(m);
        m = NULL;
    }
    ok &= m != NULL;
    if (ok) {
        struct ring_entry e = {rt, d, "", 0, 2 * v + 1};
        snprintf(e.sym, sizeof e.sym, "%s", name);
        ok &= call_entry(&e);
        keep_or_remove(w, ok, rt, d, name, 0, 2 * v + 1);
    } else {
        JitcoreDisposeResourceTracker(rt);
    }
    du_count(K_S_LAZY, ok);
}

static void op_s_link(struct worker *w)
{
    DU_OP("s_link_order");
    JitcoreDylibRef p = some_private(w);
    int other = (w->t + 1 + (int)(du_rand(&w->rng) % (NTHREADS - 1))) % NTHREADS;
    int ok = p != NULL;
    if (ok) {
        JitcoreDylibRef order[2] = {g_lib[other], g_lib[w->t]};
        ok &= CHECK_OK(JitcoreDylibSetLinkOrder(p, order, 2));
    }
    char name[64], ir[512];
    long c = w->c % 1000;
    snprintf(name, sizeof name, "lo_%d_%d_%ld", g_phase, w->t, w->c);
    snprintf(ir, sizeof ir,
             "declare i32 @h_%d()\ndeclare i32 @h_%d()\n"
             "define i32 @%s() {\n  %%a = call i32 @h_%d()\n  %%b = call i32 @h_%d()\n"
             "  %%m = mul i32 %%a, 100\n  %%s = add i32 %%m, %%b\n  %%r = add i32 %%s, %ld\n  ret i32 %%r\n}\n",
             other, w->t, name, other, w->t, c);
    int expect = lib_value(other) * 100 + lib_value(w->t) + (int)c;
    JitcoreResourceTrackerRef rt = ok ? JitcoreDylibCreateResourceTracker(p) : NULL;
    ok &= CHECK(rt != NULL);
    JitcoreModuleRef m = ok ? module(name, ir) : NULL;
    if (m && !CHECK_OK(JitcoreDylibAddModule(p, m, rt))) {
        JitcoreDisposeModule(m);
        m = NULL;
    }
    ok &= m != NULL;
    if (ok) {
        struct ring_entry e = {rt, p, "", 0, expect};
        snprintf(e.sym, sizeof e.sym, "%s", name);
        ok &= call_entry(&e);
        keep_or_remove(w, ok, rt, p, name, 0, expect);
    } else {
        JitcoreDisposeResourceTracker(rt);
    }
    du_count(K_S_LINK, ok);
}

static void op_s_abs(struct worker *w)
{
    DU_OP("s_absolute");
    char abs[64], name[64], ir[512];
    long c = w->c % 10000;
    snprintf(abs, sizeof abs, "abs_%d_%d_%ld", g_phase, w->t, w->c);
    snprintf(name, sizeof name, "ab_%d_%d_%ld", g_phase, w->t, w->c);
    JitcoreDylibRef d = (du_rand(&w->rng) & 1) ? JitcoreSessionGetMainDylib(g_session) : some_private(w);
    int ok = d != NULL;
    JitcoreSymbolDefinition def = {abs, HOST_ADDR(host_scale)};
    ok = ok && CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &def, 1));
    /* the absolute symbol itself resolves to the host function */
    uint64_t a = 0;
    ok = ok && CHECK_OK(JitcoreSessionLookup(g_session, d, &a, abs)) &&
         CHECK_EQ_U64(a, HOST_ADDR(host_scale));
    snprintf(ir, sizeof ir,
             "declare i32 @%s(i32)\ndefine i32 @%s() {\n  %%r = call i32 @%s(i32 %ld)\n  ret i32 %%r\n}\n", abs,
             name, abs, c);
    JitcoreResourceTrackerRef rt = ok ? JitcoreDylibCreateResourceTracker(d) : NULL;
    JitcoreModuleRef m = rt ? module(name, ir) : NULL;
    if (m && !CHECK_OK(JitcoreDylibAddModule(d, m, rt))) {
        JitcoreDisposeModule(m);
        m = NULL;
    }
    ok &= m != NULL;
    if (ok) {
        struct ring_entry e = {rt, d, "", 0, host_scale((int)c)};
        snprintf(e.sym, sizeof e.sym, "%s", name);
        ok &= call_entry(&e);
        keep_or_remove(w, ok, rt, d, name, 0, host_scale((int)c));
    } else {
        JitcoreDisposeResourceTracker(rt);
    }
    du_count(K_S_ABS, ok);
}

static void op_s_missing(struct worker *w)
{
    DU_OP("s_missing");
    char name[64], msg[512];
    snprintf(name, sizeof name, "nowhere_%d_%d_%ld", g_phase, w->t, w->c);
    JitcoreDylibRef d = (du_rand(&w->rng) & 1) ? JitcoreSessionGetMainDylib(g_session) : some_private(w);
    uint64_t a = 12345;
    int ok = d && CHECK_MSG(du_err_is(JitcoreSessionLookup(g_session, d, &a, name), JITCORE_ERROR_SYMBOL_NOT_FOUND,
                                      name, msg, sizeof msg),
                            "lookup of %s: expected SYMBOL_NOT_FOUND naming it, got %s", name, msg);
    ok &= CHECK_EQ_U64(a, 12345);
    du_count(K_S_MISSING, ok);
}

static void op_s_unresolved(struct worker *w)
{
    DU_OP("s_unresolved");
    char undef[64], name[64], ir[512], msg[1024];
    long c = w->c % 10000;
    snprintf(undef, sizeof undef, "undef_%d_%d_%ld", g_phase, w->t, w->c);
    snprintf(name, sizeof name, "ur_%d_%d_%ld", g_phase, w->t, w->c);
    snprintf(ir, sizeof ir,
             "declare i32 @%s()\ndefine i32 @%s() {\n  %%v = call i32 @%s()\n  %%r = add i32 %%v, %ld\n"
             "  ret i32 %%r\n}\n",
             undef, name, undef, c);
    JitcoreDylibRef d = some_private(w);
    JitcoreResourceTrackerRef rt = d ? JitcoreDylibCreateResourceTracker(d) : NULL;
    int ok = CHECK(rt != NULL);
    JitcoreModuleRef m = ok ? module(name, ir) : NULL;
    if (m && !CHECK_OK(JitcoreDylibAddModule(d, m, rt))) {
        JitcoreDisposeModule(m);
        m = NULL;
    }
    ok &= m != NULL;
    if (ok) {
        uint64_t a = 999;
        ok &= CHECK_MSG(du_err_is(JitcoreSessionLookup(g_session, d, &a, name), JITCORE_ERROR_UNRESOLVED_SYMBOL,
                                  undef, msg, sizeof msg),
                        "lookup of %s: expected UNRESOLVED_SYMBOL naming %s, got %s", name, undef, msg);
        ok &= CHECK_EQ_U64(a, 999);
        /* provide it and retry */
        JitcoreSymbolDefinition def = {undef, HOST_ADDR(host_seven)};
        ok &= CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &def, 1));
        struct ring_entry e = {rt, d, "", 0, 7 + (int)c};
        snprintf(e.sym, sizeof e.sym, "%s", name);
        ok &= call_entry(&e);
        keep_or_remove(w, ok, rt, d, name, 0, 7 + (int)c);
    } else {
        JitcoreDisposeResourceTracker(rt);
    }
    du_count(K_S_UNRESOLVED, ok);
}

static void op_s_many(struct worker *w)
{
    DU_OP("s_lookup_many");
    (void)w;
    char names[NTHREADS][16];
    const char *ptrs[NTHREADS];
    uint64_t addrs[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        snprintf(names[i], sizeof names[i], "h_%d", i);
        ptrs[i] = names[i];
        addrs[i] = 0;
    }
    int ok = CHECK_OK(JitcoreSessionLookupMany(g_session, JitcoreSessionGetMainDylib(g_session), addrs, ptrs,
                                               NTHREADS));
    for (int i = 0; ok && i < NTHREADS; i++)
        ok &= CHECK(addrs[i] != 0) && CHECK_EQ_INT(FN(fn_i_v, addrs[i])(), lib_value(i));
    du_count(K_S_MANY, ok);
}

static void op_s_stats(struct worker *w)
{
    DU_OP("s_stats");
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    int ok = CHECK_OK(JitcoreSessionGetStatistics(g_session, &st));
    ok &= CHECK_MSG(st.ModulesCompiled >= w->last_s.ModulesCompiled && st.ObjectsLoaded >= w->last_s.ObjectsLoaded &&
                        st.FunctionsCompiled >= w->last_s.FunctionsCompiled &&
                        st.ObjectBytesEmitted >= w->last_s.ObjectBytesEmitted &&
                        st.MaterializationFailures >= w->last_s.MaterializationFailures,
                    "session statistics went backwards: compiled %" PRIu64 " -> %" PRIu64, w->last_s.ModulesCompiled,
                    st.ModulesCompiled);
    w->last_s = st;
    du_count(K_S_STATS, ok);
}

/* ------------------------------------------------------------------ */
/* Engine operations                                                    */
/* ------------------------------------------------------------------ */

static int check_gone(const char *sym)
{
    uint64_t a = 0;
    char msg[512];
    return CHECK_MSG(du_err_is(JitcoreEngineGetFunctionAddress(g_engine, &a, sym), JITCORE_ERROR_SYMBOL_NOT_FOUND,
                               sym, msg, sizeof msg),
                     "engine: %s after removal: expected SYMBOL_NOT_FOUND, got %s", sym, msg);
}

static int engine_call(const char *sym, int arg, int expect)
{
    uint64_t a = 0;
    if (!CHECK_OK(JitcoreEngineGetFunctionAddress(g_engine, &a, sym)) || !CHECK(a != 0))
        return 0;
    int got = FN(fn_i_i, a)(arg);
    return CHECK_MSG(got == expect, "engine: %s(%d): expected %d, got %d", sym, arg, expect, got);
}

static JitcoreModuleRef engine_add(const char *name, const char *ir)
{
    JitcoreModuleRef m = module(name, ir);
    if (m && !CHECK_OK(JitcoreEngineAddModule(g_engine, m))) {
        JitcoreDisposeModule(m);
        return NULL;
    }
    return m;
}

static int engine_remove(JitcoreModuleRef m, const char *sym)
{
    int ok = CHECK_OK(JitcoreEngineRemoveModule(g_engine, m));
    JitcoreDisposeModule(m);
    return ok && check_gone(sym);
}

static void op_e_add(struct worker *w)
{
    DU_OP("e_add_call_remove");
    char name[64], ir[256];
    int v = value_of(w->t, w->c);
    snprintf(name, sizeof name, "em_%d_%ld", w->t, w->c);
    snprintf(ir, sizeof ir, "define i32 @%s(i32 %%x) {\n  %%r = add i32 %%x, %d\n  ret i32 %%r\n}\n", name, v);
    JitcoreModuleRef m = engine_add(name, ir);
    int ok = m != NULL;
    ok = ok && engine_call(name, 11, v + 11);
    uint64_t s = 0;
    ok = ok && CHECK_OK(JitcoreEngineGetFunctionAddress(g_engine, &s, "sum")) && CHECK(s != 0) &&
         CHECK_EQ_INT(FN(tu_sum_fn, s)(v, -w->t), v - w->t);
    if (m)
        ok &= engine_remove(m, name);
    du_count(K_E_ADD, ok);
}

static void op_e_finalize(struct worker *w)
{
    DU_OP("e_finalize");
    char n1[64], n2[64], ir[256];
    int v = value_of(w->t, w->c);
    snprintf(n1, sizeof n1, "ef_%d_%ld_a", w->t, w->c);
    snprintf(n2, sizeof n2, "ef_%d_%ld_b", w->t, w->c);
    snprintf(ir, sizeof ir, "define i32 @%s(i32 %%x) {\n  %%r = mul i32 %%x, %d\n  ret i32 %%r\n}\n", n1, 3);
    JitcoreModuleRef a = engine_add(n1, ir);
    snprintf(ir, sizeof ir, "define i32 @%s(i32 %%x) {\n  %%r = sub i32 %d, %%x\n  ret i32 %%r\n}\n", n2, v);
    JitcoreModuleRef b = engine_add(n2, ir);
    int ok = a && b;
    ok = ok && CHECK_OK(JitcoreEngineFinalizeObject(g_engine));
    ok = ok && engine_call(n1, w->t, 3 * w->t) && engine_call(n2, 1, v - 1);
    if (a)
        ok &= engine_remove(a, n1);
    if (b)
        ok &= engine_remove(b, n2);
    du_count(K_E_FINALIZE, ok);
}

static void op_e_cache(struct worker *w)
{
    DU_OP("e_cache_reuse");
    char name[64], ir[256];
    int k = (int)(w->c % 4);
    int v = w->t * 10 + k;
    snprintf(name, sizeof name, "ec_%d_%d", w->t, k);
    snprintf(ir, sizeof ir, "define i32 @%s(i32 %%x) {\n  %%r = add i32 %%x, %d\n  ret i32 %%r\n}\n", name, v);
    JitcoreModuleRef m = engine_add(name, ir);
    int ok = m != NULL;
    ok = ok && engine_call(name, 100, v + 100);
    if (m)
        ok &= engine_remove(m, name);
    du_count(K_E_CACHE, ok);
}

static void op_e_global(struct worker *w)
{
    DU_OP("e_global");
    char name[64], fn[80], ir[384];
    int v = value_of(w->t, w->c);
    snprintf(name, sizeof name, "eg_%d_%ld", w->t, w->c);
    snprintf(fn, sizeof fn, "%s_get", name);
    snprintf(ir, sizeof ir,
             "@%s = global i32 %d\ndefine i32 @%s(i32 %%x) {\n  %%v = load i32, ptr @%s\n"
             "  %%r = add i32 %%v, %%x\n  ret i32 %%r\n}\n",
             name, v, fn, name);
    JitcoreModuleRef m = engine_add(name, ir);
    int ok = m != NULL;
    uint64_t g = 0;
    ok = ok && CHECK_OK(JitcoreEngineGetGlobalValueAddress(g_engine, &g, name)) && CHECK(g != 0) &&
         CHECK_EQ_INT(*(int32_t *)(uintptr_t)g, v);
    if (ok)
        *(int32_t *)(uintptr_t)g = v + 1;
    ok = ok && engine_call(fn, 1, v + 2);
    if (m)
        ok &= engine_remove(m, fn);
    du_count(K_E_GLOBAL, ok);
}

static void op_e_stats(struct worker *w)
{
    DU_OP("e_stats");
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    int ok = CHECK_OK(JitcoreEngineGetStatistics(g_engine, &st));
    ok &= CHECK_MSG(st.ModulesCompiled >= w->last_e.ModulesCompiled && st.CacheHits >= w->last_e.CacheHits &&
                        st.ObjectsLoaded >= w->last_e.ObjectsLoaded && st.CacheMisses >= w->last_e.CacheMisses,
                    "engine statistics went backwards");
    ok &= CHECK_EQ_U64(st.MaterializationFailures, 0);
    ok &= CHECK_EQ_U64(st.CacheRejected, 0);
    w->last_e = st;
    du_count(K_E_STATS, ok);
}

/* ------------------------------------------------------------------ */
/* Workers and phases                                                   */
/* ------------------------------------------------------------------ */

typedef void (*op_fn)(struct worker *);
static const struct {
    op_fn fn;
    int weight;
} OPS[] = {
    {op_s_eager, 10}, {op_s_lazy, 8},   {op_s_link, 8},     {op_s_abs, 6},     {op_s_missing, 6},
    {op_s_unresolved, 5}, {op_s_many, 4}, {op_s_stats, 3},  {op_e_add, 10},    {op_e_finalize, 5},
    {op_e_cache, 6},  {op_e_global, 5}, {op_e_stats, 3},
};
#define NOPS (sizeof OPS / sizeof OPS[0])

static pthread_barrier_t g_barrier;

static void *worker_main(void *p)
{
    struct worker *w = p;
    int total = 0;
    for (size_t i = 0; i < NOPS; i++)
        total += OPS[i].weight;
    pthread_barrier_wait(&g_barrier);
    while (du_now() < g_deadline) {
        int r = (int)(du_rand(&w->rng) % (uint64_t)total);
        size_t i = 0;
        while (r >= OPS[i].weight) {
            r -= OPS[i].weight;
            i++;
        }
        OPS[i].fn(w);
        w->c++;
        /* a new private dylib now and then */
        if (w->npriv < MAX_PRIVATE && du_rand(&w->rng) % 64 == 0)
            new_private(w);
    }
    while (w->ring_len > 0)
        ring_pop(w);
    DU_OP("(idle)");
    return NULL;
}

static int run_phase(unsigned compile_threads, double seconds)
{
    DU_OP("phase setup");
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.CompileThreads = compile_threads;
    int ok = CHECK_OK(JitcoreCreateSession(&g_session, &o));
    if (!ok)
        return 0;
    JitcoreSessionSetErrorReporter(g_session, session_reporter, NULL);
    for (int t = 0; t < NTHREADS; t++) {
        char name[32], ir[128];
        snprintf(name, sizeof name, "lib_%d", t);
        g_lib[t] = NULL;
        ok &= CHECK_OK(JitcoreSessionCreateDylib(g_session, &g_lib[t], name));
        du_count(K_S_DYLIB, g_lib[t] != NULL);
        snprintf(ir, sizeof ir, "define i32 @h_%d() {\n  ret i32 %d\n}\n", t, lib_value(t));
        JitcoreModuleRef m = g_lib[t] ? module(name, ir) : NULL;
        if (m && !CHECK_OK(JitcoreDylibAddModule(g_lib[t], m, NULL)))
            JitcoreDisposeModule(m);
    }
    ok &= CHECK_OK(JitcoreDylibSetLinkOrder(JitcoreSessionGetMainDylib(g_session), g_lib, NTHREADS));
    if (!ok)
        return 0;

    static struct worker workers[NTHREADS];
    pthread_t th[NTHREADS];
    pthread_barrier_init(&g_barrier, NULL, NTHREADS + 1);
    long ops_before = du_total_ops();
    for (int t = 0; t < NTHREADS; t++) {
        memset(&workers[t], 0, sizeof workers[t]);
        workers[t].t = t;
        workers[t].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(t + 1) + (uint64_t)compile_threads;
        if (pthread_create(&th[t], NULL, worker_main, &workers[t]) != 0) {
            tu_note("stress: cannot start thread %d", t);
            exit(2);
        }
    }
    double t0 = du_now();
    g_deadline = t0 + seconds;
    pthread_barrier_wait(&g_barrier);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&g_barrier);
    double dt = du_now() - t0;

    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(g_session, &st));
    tu_note("stress: phase %d (CompileThreads=%u): %ld operations in %.1f s; session compiled %" PRIu64
            " modules, %" PRIu64 " functions, %" PRIu64 " materialization failures, %" PRIu64 " code bytes live, %ld "
            "reports",
            g_phase, compile_threads, du_total_ops() - ops_before, dt, st.ModulesCompiled, st.FunctionsCompiled,
            st.MaterializationFailures, st.CodeBytesLive, atomic_load(&g_session_reports));
    DU_OP("phase teardown");
    JitcoreDisposeSession(g_session);
    g_session = NULL;
    return 1;
}

int main(void)
{
    du_install_crash_handler("stress");
    long seconds = du_env_long("JITCORE_STRESS_SECONDS", 120);
    K_PHASE = du_kind("phase");
    K_S_EAGER = du_kind("s_eager");
    K_S_LAZY = du_kind("s_lazy");
    K_S_LINK = du_kind("s_link_order");
    K_S_ABS = du_kind("s_absolute");
    K_S_MISSING = du_kind("s_missing");
    K_S_UNRESOLVED = du_kind("s_unresolved_retry");
    K_S_MANY = du_kind("s_lookup_many");
    K_S_REMOVE = du_kind("s_remove_tracker");
    K_S_DYLIB = du_kind("s_dylib_create");
    K_S_STATS = du_kind("s_stats");
    K_E_ADD = du_kind("e_add_call_remove");
    K_E_FINALIZE = du_kind("e_finalize");
    K_E_CACHE = du_kind("e_cache_reuse");
    K_E_GLOBAL = du_kind("e_global");
    K_E_STATS = du_kind("e_stats");

    tu_note("stress: %d threads, %ld s (JITCORE_STRESS_SECONDS), two phases", NTHREADS, seconds);
    g_engine = MAKE_ENGINE(MAKE_MODULE("shared_sum", SUM_IR));
    if (!g_engine)
        return 2;
    JitcoreEngineSetErrorReporter(g_engine, engine_reporter, NULL);
    JitcoreEngineSetObjectCache(g_engine, cache_notify, cache_getbuffer, NULL);
    CHECK_SUM_WORKS(g_engine);

    g_phase = 1;
    du_count(K_PHASE, run_phase(0, (double)seconds / 2));
    g_phase = 2;
    du_count(K_PHASE, run_phase(2, (double)seconds / 2));

    JitcoreStatistics st = GET_STATS(g_engine);
    tu_print_stats("engine", &st);
    int ok = CHECK_MSG(st.CacheHits > 0 || atomic_load(&du_kinds[K_E_CACHE].ops) < 5,
                       "expected the engine's object cache to be hit");
    ok &= CHECK_EQ_U64(st.CacheHits, (uint64_t)atomic_load(&g_getbuffer_hits));
    ok &= CHECK_EQ_U64(st.ModulesCompiled, (uint64_t)atomic_load(&g_notify_calls));
    ok &= CHECK_EQ_INT(atomic_load(&g_notify_bad), 0);
    ok &= CHECK_EQ_U64(st.CacheRejected, 0);
    ok &= CHECK_SUM_WORKS(g_engine);
    tu_note("stress: object cache: %ld GetBuffer calls, %ld hits, %ld Notify calls; %ld engine reports",
            atomic_load(&g_getbuffer_calls), atomic_load(&g_getbuffer_hits), atomic_load(&g_notify_calls),
            atomic_load(&g_engine_reports));
    JitcoreDisposeEngine(g_engine);
    for (int i = 0; i < CACHE_SLOTS; i++)
        free(g_cache[i].bytes);
    du_count(K_PHASE, ok);

    for (int i = 0; i < du_nkinds; i++)
        printf("stress: %-20s %8ld operations, %ld wrong\n", du_kinds[i].name, atomic_load(&du_kinds[i].ops),
               atomic_load(&du_kinds[i].wrong));
    long wrong = du_total_wrong();
    long failed_checks = tu_failures();
    printf("stress: %ld operations, %ld wrong results\n", du_total_ops(), wrong);
    fflush(stdout);
    return (wrong != 0 || failed_checks != 0) ? 1 : 0;
}
