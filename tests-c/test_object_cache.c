/*
 * test_object_cache.c: JitcoreEngineSetObjectCache (llvmlite's set_object_cache).
 *
 *  - Notify runs exactly once per compiled module, with ELF bytes and the
 *    module itself (JitcoreModuleGetName gives its name)
 *  - a second engine whose GetBuffer returns a copy of the saved object runs
 *    the function without compiling: Notify not called, CacheHits == 1,
 *    ModulesCompiled == 0
 *  - GetBuffer returning garbage, a truncated object or an empty buffer:
 *    the module is compiled anyway and works, CacheRejected == 1, and the
 *    error reporter hears JITCORE_ERROR_CACHE
 *  - GetBuffer returning the object of another module (llvmlite's
 *    test_object_cache_getbuffer): the object stands for the module, as in
 *    MCJIT: its symbols are found, the module's own are SYMBOL_NOT_FOUND,
 *    nothing is compiled, and removing the module removes them; unless one
 *    of its symbols is defined already (then rejected and compiled)
 *  - a module that defines no symbols (numba loads cached code so): the
 *    engine asks GetBuffer for it once, when finalizing, and the object's
 *    symbols are found until the module is removed
 *  - GetBuffer returning a valid object that defines the module's symbols
 *    but does not link here (it needs a symbol this engine lacks): the
 *    lookup still succeeds, compiled instead, CacheRejected == 1
 *  - removing the cache (both callbacks NULL)
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#define MAX_ENTRIES 8

struct cache_entry {
    char name[128];
    unsigned char *bytes;
    size_t len;
};

enum getbuffer_mode {
    GB_NONE,      /* always NULL: compile */
    GB_SAVED,     /* a copy of the entry saved under the module's name */
    GB_GARBAGE,   /* bytes that are no object at all */
    GB_TRUNCATED, /* the first half of the saved entry */
    GB_FOREIGN,   /* for "cached_sum": the saved entry of another module ("other_module") */
    GB_EMPTY,     /* an empty buffer */
    GB_UNLINKABLE, /* the saved entry of "unlinkable_sum": defines sum, needs tu_absent_here */
};

struct cache {
    struct cache_entry entries[MAX_ENTRIES];
    int n_entries;
    enum getbuffer_mode mode;
    atomic_int notify_calls;
    atomic_int getbuffer_calls;
    atomic_int notify_bad; /* calls whose arguments broke the contract */
    atomic_int getbuffer_bad;
    char last_getbuffer_name[128];
    JitcoreModuleRef last_notify_module;
    JitcoreModuleRef last_getbuffer_module;
};

static struct cache_entry *find_entry(struct cache *c, const char *name)
{
    for (int i = 0; i < c->n_entries; i++)
        if (strcmp(c->entries[i].name, name) == 0)
            return &c->entries[i];
    return NULL;
}

static void notify(void *ctx, JitcoreModuleRef m, const uint8_t *object, size_t len)
{
    struct cache *c = ctx;
    atomic_fetch_add(&c->notify_calls, 1);
    c->last_notify_module = m;
    const char *name = JitcoreModuleGetName(m);
    if (!name || !object || len < 64 || memcmp(object, "\x7f" "ELF", 4) != 0) {
        atomic_fetch_add(&c->notify_bad, 1);
        return;
    }
    struct cache_entry *e = find_entry(c, name);
    if (!e && c->n_entries < MAX_ENTRIES) {
        e = &c->entries[c->n_entries++];
        snprintf(e->name, sizeof e->name, "%s", name);
    }
    if (!e)
        return;
    free(e->bytes);
    e->bytes = malloc(len);
    memcpy(e->bytes, object, len); /* borrowed for the call only */
    e->len = len;
}

static JitcoreObjectBufferRef getbuffer(void *ctx, JitcoreModuleRef m)
{
    struct cache *c = ctx;
    atomic_fetch_add(&c->getbuffer_calls, 1);
    c->last_getbuffer_module = m;
    const char *name = JitcoreModuleGetName(m);
    if (!name) {
        atomic_fetch_add(&c->getbuffer_bad, 1);
        return NULL;
    }
    snprintf(c->last_getbuffer_name, sizeof c->last_getbuffer_name, "%s", name);
    struct cache_entry *e = find_entry(c, name);
    switch (c->mode) {
    case GB_NONE:
        return NULL;
    case GB_SAVED:
        return e ? JitcoreCreateObjectBufferCopy(e->bytes, e->len) : NULL;
    case GB_GARBAGE: {
        uint8_t junk[256];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)(i * 131 + 7);
        return JitcoreCreateObjectBufferCopy(junk, sizeof junk);
    }
    case GB_TRUNCATED:
        return e ? JitcoreCreateObjectBufferCopy(e->bytes, e->len / 2) : NULL;
    case GB_FOREIGN: {
        if (strcmp(name, "cached_sum") != 0)
            return NULL;
        struct cache_entry *o = find_entry(c, "other_module");
        return o ? JitcoreCreateObjectBufferCopy(o->bytes, o->len) : NULL;
    }
    case GB_EMPTY:
        return JitcoreCreateObjectBufferCopy(NULL, 0);
    case GB_UNLINKABLE: {
        struct cache_entry *o = find_entry(c, "unlinkable_sum");
        return o ? JitcoreCreateObjectBufferCopy(o->bytes, o->len) : NULL;
    }
    }
    return NULL;
}

static void cache_reset_counts(struct cache *c, enum getbuffer_mode mode)
{
    c->mode = mode;
    atomic_store(&c->notify_calls, 0);
    atomic_store(&c->getbuffer_calls, 0);
    atomic_store(&c->notify_bad, 0);
    atomic_store(&c->getbuffer_bad, 0);
    c->last_getbuffer_name[0] = 0;
    c->last_notify_module = NULL;
    c->last_getbuffer_module = NULL;
}

static void cache_free(struct cache *c)
{
    for (int i = 0; i < c->n_entries; i++)
        free(c->entries[i].bytes);
    c->n_entries = 0;
}

struct reports {
    atomic_int count;
    atomic_int cache_count;
    char last_message[1024];
    JitcoreErrorCode last_code;
};

static void reporter(void *ctx, JitcoreErrorCode code, const char *message)
{
    struct reports *r = ctx;
    atomic_fetch_add(&r->count, 1);
    if (code == JITCORE_ERROR_CACHE)
        atomic_fetch_add(&r->cache_count, 1);
    r->last_code = code;
    snprintf(r->last_message, sizeof r->last_message, "%s", message ? message : "(null)");
}

static const char OTHER_IR[] = "define i32 @other_fn() {\n  ret i32 99\n}\n";

/* sum, plus a call of a symbol only the engine that compiled it maps */
static const char UNLINKABLE_IR[] = "declare i32 @tu_absent_here(i32)\n"
                                    "define i32 @sum(i32 %a, i32 %b) {\n"
                                    "  %s = add i32 %a, %b\n"
                                    "  %r = call i32 @tu_absent_here(i32 %s)\n"
                                    "  ret i32 %r\n"
                                    "}\n";
static int32_t tu_plus_one(int32_t x) { return x + 1; }

/* Engine 1: compile with the cache attached, save the objects. */
static void fill_cache(struct cache *c)
{
    cache_reset_counts(c, GB_NONE);
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return;
    JitcoreEngineSetObjectCache(ee, notify, getbuffer, c);
    JitcoreModuleRef m = MAKE_MODULE("cached_sum", SUM_IR);
    JitcoreModuleRef o = MAKE_MODULE("other_module", OTHER_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_OK(JitcoreEngineAddModule(ee, o));
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 0); /* nothing compiled yet */

    CHECK_SUM_WORKS(ee);
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 1);
    CHECK_EQ_INT(atomic_load(&c->getbuffer_calls), 1);
    CHECK_STR_EQ(c->last_getbuffer_name, "cached_sum");
    /* the M the callbacks get is the module that was added */
    CHECK(c->last_notify_module == m);
    CHECK(c->last_getbuffer_module == m);
    CHECK_SUM_WORKS(ee); /* a second lookup compiles nothing */
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 1);

    uint64_t of = LOOKUP(ee, "other_fn");
    if (of)
        CHECK_EQ_INT(FN(int (*)(void), of)(), 99);
    CHECK(c->last_notify_module == o);
    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 2); /* exactly once per module */
    CHECK_EQ_INT(atomic_load(&c->notify_bad), 0);
    CHECK_EQ_INT(atomic_load(&c->getbuffer_bad), 0);

    struct cache_entry *e = find_entry(c, "cached_sum");
    CHECK_MSG(e != NULL, "expected Notify to be called with module 'cached_sum'");
    if (e) {
        CHECK(e->len > 64);
        CHECK(memcmp(e->bytes, "\x7f" "ELF", 4) == 0);
        CHECK_EQ_INT(e->bytes[16], 1); /* ET_REL (little-endian e_type) */
    }
    CHECK(find_entry(c, "other_module") != NULL);

    /* an object that links only where tu_absent_here is mapped */
    JitcoreEngineRef mapped = MAKE_ENGINE(NULL);
    if (mapped) {
        JitcoreEngineSetObjectCache(mapped, notify, NULL, c);
        CHECK_OK(JitcoreEngineAddGlobalMapping(mapped, "tu_absent_here", HOST_ADDR(tu_plus_one)));
        CHECK_OK(JitcoreEngineAddModule(mapped, MAKE_MODULE("unlinkable_sum", UNLINKABLE_IR)));
        uint64_t a = LOOKUP(mapped, "sum");
        if (a)
            CHECK_EQ_INT(FN(tu_sum_fn, a)(1, 2), 4);
        CHECK(find_entry(c, "unlinkable_sum") != NULL);
        JitcoreDisposeEngine(mapped);
    }

    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.ModulesCompiled, 2);
    CHECK_EQ_U64(st.CacheHits, 0);
    CHECK_EQ_U64(st.CacheMisses, 2);
    CHECK_EQ_U64(st.CacheRejected, 0);
    CHECK_EQ_U64(st.ObjectsLoaded, 2);
    if (e && find_entry(c, "other_module"))
        CHECK_EQ_U64(st.ObjectBytesEmitted, e->len + find_entry(c, "other_module")->len);
    tu_print_stats("fill", &st);
    JitcoreDisposeEngine(ee);
}

/* Engine 2: GetBuffer returns the saved object: no compile. */
static void use_cache(struct cache *c)
{
    cache_reset_counts(c, GB_SAVED);
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return;
    struct reports r;
    memset(&r, 0, sizeof r);
    JitcoreEngineSetErrorReporter(ee, reporter, &r);
    JitcoreEngineSetObjectCache(ee, notify, getbuffer, c);
    JitcoreModuleRef m = MAKE_MODULE("cached_sum", SUM_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_SUM_WORKS(ee);
    CHECK_EQ_INT(atomic_load(&c->getbuffer_calls), 1);
    CHECK_STR_EQ(c->last_getbuffer_name, "cached_sum");
    CHECK(c->last_getbuffer_module == m);
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 0);
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.CacheHits, 1);
    CHECK_EQ_U64(st.ModulesCompiled, 0);
    CHECK_EQ_U64(st.CacheRejected, 0);
    CHECK_EQ_U64(st.ObjectsLoaded, 1);
    CHECK_EQ_INT(atomic_load(&r.count), 0);
    tu_print_stats("hit", &st);
    /* the cached code is the real thing */
    uint64_t a = LOOKUP(ee, "sum");
    if (a) {
        CHECK_EQ_INT(FN(tu_sum_fn, a)(1000, 234), 1234);
        CHECK_EQ_INT(FN(tu_sum_fn, a)(-1, -1), -2);
    }
    JitcoreDisposeEngine(ee);
}

/* Engines 3..: GetBuffer returns something unusable. */
static void rejected_entry(struct cache *c, enum getbuffer_mode mode, const char *label)
{
    tu_note("  rejected cache entry: %s", label);
    cache_reset_counts(c, mode);
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return;
    struct reports r;
    memset(&r, 0, sizeof r);
    JitcoreEngineSetErrorReporter(ee, reporter, &r);
    JitcoreEngineSetObjectCache(ee, notify, getbuffer, c);
    /* Notify re-saves "cached_sum" when it is compiled here: the entry stays
       a valid object of the same module for the next scenario */
    const char *name = "cached_sum";
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE(name, SUM_IR)));
    CHECK_SUM_WORKS(ee);
    CHECK_EQ_INT(atomic_load(&c->getbuffer_calls), 1);
    /* compiled instead, so Notify ran for it */
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 1);
    CHECK_EQ_INT(atomic_load(&c->notify_bad), 0);
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.CacheRejected, 1);
    CHECK_EQ_U64(st.CacheHits, 0);
    CHECK_EQ_U64(st.ModulesCompiled, 1);
    CHECK_MSG(atomic_load(&r.cache_count) == 1,
              "expected exactly one JITCORE_ERROR_CACHE report for %s, got %d (of %d reports; last: %s: %s)", label,
              atomic_load(&r.cache_count), atomic_load(&r.count), tu_code_name(r.last_code), r.last_message);
    if (atomic_load(&r.cache_count) == 1) {
        CHECK_EQ_INT(r.last_code, JITCORE_ERROR_CACHE);
        CHECK_CONTAINS(r.last_message, name);
    }
    if (getenv("TU_VERBOSE"))
        tu_note("  reporter: [%s] %s", tu_code_name(r.last_code), r.last_message);
    JitcoreDisposeEngine(ee);
}

/* An engine with the cache in `mode` and a reporter filling `r`. */
static JitcoreEngineRef cache_engine(struct cache *c, enum getbuffer_mode mode, struct reports *r)
{
    cache_reset_counts(c, mode);
    memset(r, 0, sizeof *r);
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return NULL;
    JitcoreEngineSetErrorReporter(ee, reporter, r);
    JitcoreEngineSetObjectCache(ee, notify, getbuffer, c);
    return ee;
}

/* GetBuffer returns the object of "other_module" for "cached_sum": it stands
   for the module entirely, as in llvmlite's MCJIT. */
static void foreign_entry_stands_for_module(struct cache *c)
{
    struct reports r;
    JitcoreEngineRef ee = cache_engine(c, GB_FOREIGN, &r);
    if (!ee)
        return;
    JitcoreModuleRef m = MAKE_MODULE("cached_sum", SUM_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    CHECK_EQ_INT(atomic_load(&c->getbuffer_calls), 1);
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 0); /* nothing compiled */
    uint64_t of = LOOKUP(ee, "other_fn");
    if (of)
        CHECK_EQ_INT(FN(int (*)(void), of)(), 99);
    uint64_t out = 0x5eed;
    CHECK_ERR2(JitcoreEngineGetFunctionAddress(ee, &out, "sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "'sum'",
               "cached_sum");
    CHECK_EQ_U64(out, 0x5eed);
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.CacheHits, 1);
    CHECK_EQ_U64(st.ModulesCompiled, 0);
    CHECK_EQ_U64(st.CacheRejected, 0);
    CHECK_EQ_INT(atomic_load(&r.count), 0);
    /* removing the module removes what its object defined */
    CHECK_OK(JitcoreEngineRemoveModule(ee, m));
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "other_fn"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "other_fn");
    /* added again, without a cache entry: compiled, its own sum works */
    cache_reset_counts(c, GB_NONE);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_SUM_WORKS(ee);
    JitcoreDisposeEngine(ee);

    /* an object defining a symbol the engine has already is rejected */
    ee = cache_engine(c, GB_FOREIGN, &r);
    if (!ee)
        return;
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("defines_other", "define i32 @other_fn() {\n  ret i32 5\n}\n")));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("cached_sum", SUM_IR)));
    CHECK_SUM_WORKS(ee);
    of = LOOKUP(ee, "other_fn");
    if (of)
        CHECK_EQ_INT(FN(int (*)(void), of)(), 5);
    st = GET_STATS(ee);
    CHECK_EQ_U64(st.CacheRejected, 1);
    CHECK_EQ_INT(atomic_load(&r.cache_count), 1);
    CHECK_CONTAINS(r.last_message, "other_fn");
    JitcoreDisposeEngine(ee);
}

/* A module with no symbols is never looked up: finalizing asks the cache for
   it, as MCJIT does, and the object it gives stands for it. */
static void symbolless_module_from_cache(struct cache *c)
{
    struct reports r;
    JitcoreEngineRef ee = cache_engine(c, GB_FOREIGN, &r);
    if (!ee)
        return;
    JitcoreModuleRef m = MAKE_MODULE("cached_sum", "; no definitions\n");
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_EQ_INT(atomic_load(&c->getbuffer_calls), 0);
    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    CHECK_EQ_INT(atomic_load(&c->getbuffer_calls), 1);
    CHECK(c->last_getbuffer_module == m);
    uint64_t of = LOOKUP(ee, "other_fn");
    if (of)
        CHECK_EQ_INT(FN(int (*)(void), of)(), 99);
    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    CHECK_EQ_INT(atomic_load(&c->getbuffer_calls), 1); /* asked once */
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.CacheHits, 1);
    CHECK_EQ_U64(st.ModulesCompiled, 0);
    CHECK_EQ_INT(atomic_load(&r.count), 0);
    CHECK_OK(JitcoreEngineRemoveModule(ee, m));
    uint64_t out = 0;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "other_fn"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "other_fn");
    JitcoreDisposeModule(m);
    JitcoreDisposeEngine(ee);
}

static void test_multiple_modules_and_removal(struct cache *c)
{
    /* with the cache set, a module removed and re-added is compiled again
       (or taken from the cache), and Notify stays once per compile */
    cache_reset_counts(c, GB_NONE);
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return;
    JitcoreEngineSetObjectCache(ee, notify, getbuffer, c);
    JitcoreModuleRef m = MAKE_MODULE("cached_sum", SUM_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_SUM_WORKS(ee);
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 1);
    CHECK_OK(JitcoreEngineRemoveModule(ee, m));
    c->mode = GB_SAVED;
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_SUM_WORKS(ee);
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 1); /* from the cache this time */
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.ModulesCompiled, 1);
    CHECK_EQ_U64(st.CacheHits, 1);

    /* removing the cache: no more callbacks */
    JitcoreEngineSetObjectCache(ee, NULL, NULL, NULL);
    cache_reset_counts(c, GB_SAVED);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("after_removal", OTHER_IR)));
    uint64_t of = LOOKUP(ee, "other_fn");
    if (of)
        CHECK_EQ_INT(FN(int (*)(void), of)(), 99);
    CHECK_EQ_INT(atomic_load(&c->notify_calls), 0);
    CHECK_EQ_INT(atomic_load(&c->getbuffer_calls), 0);
    st = GET_STATS(ee);
    CHECK_EQ_U64(st.ModulesCompiled, 2);
    JitcoreDisposeEngine(ee);
}

static int notify_only_calls;
static void notify_only(void *ctx, JitcoreModuleRef m, const uint8_t *object, size_t len)
{
    (void)ctx;
    if (m && object && len > 4 && memcmp(object, "\x7f" "ELF", 4) == 0)
        notify_only_calls++;
}

static void test_notify_only(void)
{
    /* only a Notify callback: objects are reported, nothing is looked up */
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("notify_only", SUM_IR));
    if (!ee)
        return;
    notify_only_calls = 0;
    JitcoreEngineSetObjectCache(ee, notify_only, NULL, NULL);
    CHECK_SUM_WORKS(ee);
    CHECK_EQ_INT(notify_only_calls, 1);
    JitcoreDisposeEngine(ee);
}

/* Issue 11.3: inside a callback the module's key for the engine's or
   session's own target is one call away: JitcoreModuleGetKey(M, NULL, ...). */
struct key_seen {
    char notify_hex[JITCORE_MODULE_KEY_HEX_SIZE];
    char getbuffer_hex[JITCORE_MODULE_KEY_HEX_SIZE];
    int notify_ok, getbuffer_ok;
};

static void key_notify(void *ctx, JitcoreModuleRef m, const uint8_t *object, size_t len)
{
    (void)object;
    (void)len;
    struct key_seen *k = ctx;
    JitcoreErrorRef e = JitcoreModuleGetKey(m, NULL, NULL, k->notify_hex);
    k->notify_ok = e == NULL;
    JitcoreConsumeError(e);
}

static JitcoreObjectBufferRef key_getbuffer(void *ctx, JitcoreModuleRef m)
{
    struct key_seen *k = ctx;
    uint8_t raw[JITCORE_MODULE_KEY_SIZE];
    JitcoreErrorRef e = JitcoreModuleGetKey(m, NULL, raw, k->getbuffer_hex);
    k->getbuffer_ok = e == NULL;
    JitcoreConsumeError(e);
    return NULL;
}

static void expected_key(JitcoreModuleRef m, JitcoreOptLevel level, char hex[JITCORE_MODULE_KEY_HEX_SIZE])
{
    JitcoreTargetMachineRef tm = MAKE_TM(level);
    CHECK_OK(JitcoreModuleGetKey(m, tm, NULL, hex));
    JitcoreDisposeTargetMachine(tm);
}

static void test_key_inside_callbacks(void)
{
    char want_o2[JITCORE_MODULE_KEY_HEX_SIZE], want_o1[JITCORE_MODULE_KEY_HEX_SIZE];
    /* engine: at its target machine's opt level (O2 here) */
    struct key_seen k;
    memset(&k, 0, sizeof k);
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return;
    JitcoreEngineSetObjectCache(ee, key_notify, key_getbuffer, &k);
    JitcoreModuleRef m = MAKE_MODULE("keyed", SUM_IR);
    expected_key(m, JITCORE_OPT_LEVEL_O2, want_o2);
    expected_key(m, JITCORE_OPT_LEVEL_O1, want_o1);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_SUM_WORKS(ee);
    CHECK(k.notify_ok && k.getbuffer_ok);
    CHECK_STR_EQ(k.notify_hex, want_o2);
    CHECK_STR_EQ(k.getbuffer_hex, want_o2);
    JitcoreDisposeEngine(ee);

    /* session at O1: the key is the O1 one */
    memset(&k, 0, sizeof k);
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.OptLevel = JITCORE_OPT_LEVEL_O1;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    JitcoreSessionSetObjectCache(s, key_notify, key_getbuffer, &k);
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("keyed", SUM_IR), NULL));
    SESSION_LOOKUP(s, d, "sum");
    CHECK(k.notify_ok && k.getbuffer_ok);
    CHECK_STR_EQ(k.notify_hex, want_o1);
    CHECK_STR_EQ(k.getbuffer_hex, want_o1);
    JitcoreDisposeSession(s);

    /* outside a callback NULL is still refused */
    JitcoreModuleRef alone = MAKE_MODULE("alone", SUM_IR);
    char hex[JITCORE_MODULE_KEY_HEX_SIZE];
    CHECK_ERR(JitcoreModuleGetKey(alone, NULL, NULL, hex), JITCORE_ERROR_INVALID_ARGUMENT, "TM");
    JitcoreDisposeModule(alone);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static struct cache c; /* zero-initialized */
    fill_cache(&c); /* every other scenario needs the saved objects */
    RUN_TEST(use_cache(&c));
    RUN_TEST(rejected_entry(&c, GB_GARBAGE, "garbage bytes"));
    RUN_TEST(rejected_entry(&c, GB_TRUNCATED, "truncated object"));
    RUN_TEST(foreign_entry_stands_for_module(&c));
    RUN_TEST(symbolless_module_from_cache(&c));
    RUN_TEST(rejected_entry(&c, GB_EMPTY, "empty buffer"));
    RUN_TEST(rejected_entry(&c, GB_UNLINKABLE, "object that does not link here"));
    RUN_TEST(test_multiple_modules_and_removal(&c));
    RUN_TEST(test_notify_only());
    RUN_TEST(test_key_inside_callbacks());
    cache_free(&c);
    return tu_finish("test_object_cache");
}
