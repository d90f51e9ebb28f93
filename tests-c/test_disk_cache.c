/*
 * test_disk_cache.c: jitcore's disk object cache. Module keys; creating
 * caches; cold and warm runs giving the same results from the cache as
 * from compiling, for the engine and the session, eager and lazy; opt
 * levels keep entries apart; LRU eviction under a size cap; an unusable
 * directory and a full disk degrade to compiling and are reported once.
 * (Corrupt entries: test_disk_cache_corrupt.c; several processes and
 * threads: test_disk_cache_shared.c.)
 */
#include "test_disk_cache.h"

/* A program of two modules: libc calls, globals, a private string,
   recursion, floating point, and a call across modules. */
static const char LIB_IR[] =
    "@counter = global i32 10\n"
    "@msg = private constant [6 x i8] c\"hello\\00\"\n"
    "declare i64 @strlen(ptr)\n"
    "define i32 @bump(i32 %by) {\n"
    "  %v = load i32, ptr @counter\n"
    "  %n = add i32 %v, %by\n"
    "  store i32 %n, ptr @counter\n"
    "  ret i32 %n\n"
    "}\n"
    "define i64 @msglen() {\n"
    "  %l = call i64 @strlen(ptr @msg)\n"
    "  ret i64 %l\n"
    "}\n"
    "define i32 @fib(i32 %n) {\n"
    "  %small = icmp slt i32 %n, 2\n"
    "  br i1 %small, label %done, label %rec\n"
    "rec:\n"
    "  %a = sub i32 %n, 1\n"
    "  %b = sub i32 %n, 2\n"
    "  %fa = call i32 @fib(i32 %a)\n"
    "  %fb = call i32 @fib(i32 %b)\n"
    "  %s = add i32 %fa, %fb\n"
    "  ret i32 %s\n"
    "done:\n"
    "  ret i32 %n\n"
    "}\n"
    "define double @poly(double %x) {\n"
    "  %x2 = fmul double %x, %x\n"
    "  %t = fmul double %x2, 3.5\n"
    "  %u = fadd double %t, %x\n"
    "  %r = fsub double %u, 2.0\n"
    "  ret double %r\n"
    "}\n";

static const char MAIN_IR[] =
    "declare i32 @fib(i32)\n"
    "declare i32 @bump(i32)\n"
    "define i32 @twice_fib(i32 %n) {\n"
    "  %f = call i32 @fib(i32 %n)\n"
    "  %r = mul i32 %f, 2\n"
    "  ret i32 %r\n"
    "}\n"
    "define i32 @bump_twice() {\n"
    "  %a = call i32 @bump(i32 1)\n"
    "  %b = call i32 @bump(i32 1)\n"
    "  ret i32 %b\n"
    "}\n";

static const char DIFF_IR[] = "define i32 @diff(i32 %a, i32 %b) {\n  %r = sub i32 %a, %b\n  ret i32 %r\n}\n";

struct results {
    int fib20;
    int twice_fib10;
    int bump5;
    int bump_twice;
    long long msglen;
    double poly;
};

static int results_equal(const struct results *a, const struct results *b)
{
    return a->fib20 == b->fib20 && a->twice_fib10 == b->twice_fib10 && a->bump5 == b->bump5 &&
           a->bump_twice == b->bump_twice && a->msglen == b->msglen && a->poly == b->poly;
}

static void check_expected(const struct results *r)
{
    CHECK_EQ_INT(r->fib20, 6765);
    CHECK_EQ_INT(r->twice_fib10, 110);
    CHECK_EQ_INT(r->bump5, 15);
    CHECK_EQ_INT(r->bump_twice, 17);
    CHECK_EQ_INT(r->msglen, 5);
    CHECK(r->poly == 14.0);
}

typedef uint64_t (*lookup_fn)(void *h, const char *name);

static void run_program(lookup_fn look, void *h, struct results *r)
{
    memset(r, 0, sizeof *r);
    uint64_t a;
    if ((a = look(h, "fib")))
        r->fib20 = FN(int (*)(int), a)(20);
    if ((a = look(h, "twice_fib")))
        r->twice_fib10 = FN(int (*)(int), a)(10);
    if ((a = look(h, "bump")))
        r->bump5 = FN(int (*)(int), a)(5);
    if ((a = look(h, "bump_twice")))
        r->bump_twice = FN(int (*)(void), a)();
    if ((a = look(h, "msglen")))
        r->msglen = (long long)FN(int64_t (*)(void), a)();
    if ((a = look(h, "poly")))
        r->poly = FN(double (*)(double), a)(2.0);
}

static uint64_t engine_look(void *h, const char *name) { return LOOKUP((JitcoreEngineRef)h, name); }
static uint64_t session_look(void *h, const char *name) { return MAIN_LOOKUP((JitcoreSessionRef)h, name); }

/* ------------------------------------------------------------------ */

static void test_keys(void)
{
    JitcoreTargetMachineRef o2 = MAKE_TM(JITCORE_OPT_LEVEL_O2);
    JitcoreTargetMachineRef o0 = MAKE_TM(JITCORE_OPT_LEVEL_O0);
    JitcoreModuleRef a = MAKE_MODULE("keyed", SUM_IR);
    JitcoreModuleRef b = MAKE_MODULE("keyed", SUM_IR);
    JitcoreModuleRef other_name = MAKE_MODULE("keyed2", SUM_IR);
    JitcoreModuleRef other_ir = MAKE_MODULE("keyed", DIFF_IR);
    uint8_t ka[JITCORE_MODULE_KEY_SIZE], kb[JITCORE_MODULE_KEY_SIZE], k[JITCORE_MODULE_KEY_SIZE];
    char ha[JITCORE_MODULE_KEY_HEX_SIZE], h[JITCORE_MODULE_KEY_HEX_SIZE];
    memset(ha, 'x', sizeof ha);

    CHECK_OK(JitcoreModuleGetKey(a, o2, ka, ha));
    CHECK_EQ_INT(strlen(ha), 64);
    char expect[65];
    for (int i = 0; i < 32; i++)
        snprintf(expect + 2 * i, 3, "%02x", ka[i]);
    CHECK_STR_EQ(ha, expect); /* hex is the bytes, lowercase */
    CHECK_OK(JitcoreModuleGetKey(a, o2, NULL, h));
    CHECK_STR_EQ(h, ha); /* stable */
    CHECK_OK(JitcoreModuleGetKey(b, o2, kb, NULL));
    CHECK(memcmp(ka, kb, sizeof ka) == 0); /* same content, same key */
    CHECK_OK(JitcoreModuleGetKey(a, o0, k, NULL));
    CHECK(memcmp(ka, k, sizeof ka) != 0); /* the opt level is part of it */
    CHECK_OK(JitcoreModuleGetKey(other_name, o2, k, NULL));
    CHECK(memcmp(ka, k, sizeof ka) != 0); /* the name is in the bitcode */
    CHECK_OK(JitcoreModuleGetKey(other_ir, o2, k, NULL));
    CHECK(memcmp(ka, k, sizeof ka) != 0);

    /* errors */
    CHECK_ERR(JitcoreModuleGetKey(NULL, o2, k, h), JITCORE_ERROR_INVALID_ARGUMENT, "module");
    CHECK_ERR(JitcoreModuleGetKey(a, NULL, k, h), JITCORE_ERROR_INVALID_ARGUMENT, "TM");
    CHECK_ERR(JitcoreModuleGetKey(a, o2, NULL, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "Key");
    JitcoreModuleRef dead = MAKE_MODULE("dead", SUM_IR);
    JitcoreDisposeModule(dead);
    CHECK_ERR(JitcoreModuleGetKey(dead, o2, k, h), JITCORE_ERROR_INVALID_ARGUMENT, "not a live module");

    /* a module owned by an engine still has its key (hosts' callbacks get
       such modules), and it is what the engine's cache uses */
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    CHECK_OK(JitcoreEngineAddModule(ee, b));
    CHECK_OK(JitcoreModuleGetKey(b, o2, kb, NULL));
    CHECK(memcmp(ka, kb, sizeof ka) == 0);
    JitcoreDisposeEngine(ee);

    JitcoreDisposeModule(a);
    JitcoreDisposeModule(other_name);
    JitcoreDisposeModule(other_ir);
    JitcoreDisposeTargetMachine(o2);
    JitcoreDisposeTargetMachine(o0);
}

static void test_create_and_dispose(void)
{
    JitcoreObjectCacheRef c = (JitcoreObjectCacheRef)0x1;
    CHECK_ERR(JitcoreCreateDiskCache(NULL, "/tmp", 0), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    CHECK_ERR(JitcoreCreateDiskCache(&c, NULL, 0), JITCORE_ERROR_INVALID_ARGUMENT, "Directory");
    CHECK_ERR(JitcoreCreateDiskCache(&c, "", 0), JITCORE_ERROR_INVALID_ARGUMENT, "empty");
    CHECK(c == (JitcoreObjectCacheRef)0x1); /* untouched on failure */
    JitcoreDiskCacheStatistics st;
    CHECK_ERR(JitcoreDiskCacheGetStatistics(NULL, &st), JITCORE_ERROR_INVALID_ARGUMENT, "Cache");
    JitcoreDisposeObjectCache(NULL);
    JitcoreEngineSetDiskCache(NULL, NULL);
    JitcoreSessionSetDiskCache(NULL, NULL);

    /* a missing directory is created, parents included */
    char *dir = tu_make_temp_dir();
    char *nested = tu_path_join(dir, "a");
    char *deeper = tu_path_join(nested, "b");
    c = MAKE_DISK_CACHE(deeper, 0);
    struct stat sb;
    CHECK(stat(deeper, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK_ERR(JitcoreDiskCacheGetStatistics(c, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    st = DC_STATS(c);
    CHECK_EQ_U64(st.Entries, 0);
    CHECK_EQ_U64(st.IOErrors, 0);
    /* attaching and detaching; the engine keeps the cache alive after the
       handle is disposed of */
    JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, NULL);
    JitcoreDisposeObjectCache(c);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("kept_alive", SUM_IR)));
    CHECK_SUM_WORKS(ee);
    CHECK_EQ_INT(dc_list(deeper).entries, 1);
    JitcoreEngineSetDiskCache(ee, NULL);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("uncached", DIFF_IR)));
    LOOKUP(ee, "diff");
    CHECK_EQ_INT(dc_list(deeper).entries, 1); /* detached: nothing stored */
    JitcoreDisposeEngine(ee);

    dc_remove_dir(deeper);
    dc_remove_dir(nested);
    dc_remove_dir(dir);
    free(deeper);
    free(nested);
    free(dir);
}

/* Engine: cold run compiles and stores, warm run loads every module. */
static void test_engine_cold_warm(void)
{
    char *dir = tu_make_temp_dir();
    struct results cold, warm;
    struct dc_reports r;
    dc_reports_init(&r);

    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, &r);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("lib", LIB_IR)));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("main", MAIN_IR)));
    run_program(engine_look, ee, &cold);
    check_expected(&cold);
    JitcoreStatistics es = GET_STATS(ee);
    CHECK_EQ_U64(es.ModulesCompiled, 2);
    CHECK_EQ_U64(es.CacheMisses, 2);
    CHECK_EQ_U64(es.CacheHits, 0);
    JitcoreDiskCacheStatistics ds = DC_STATS(c);
    dc_print_stats("engine cold", &ds);
    CHECK_EQ_U64(ds.Misses, 2);
    CHECK_EQ_U64(ds.Writes, 2);
    CHECK_EQ_U64(ds.Entries, 2);
    CHECK_EQ_U64(ds.Hits, 0);
    struct dc_listing l = dc_list(dir);
    CHECK_EQ_INT(l.entries, 2);
    CHECK_EQ_INT(l.temps, 0);
    CHECK_EQ_U64(ds.BytesOnDisk, (uint64_t)l.entry_bytes);
    /* entries are named by JitcoreModuleGetKey */
    char *p_lib = ENTRY_PATH(dir, "lib", LIB_IR, JITCORE_OPT_LEVEL_O2);
    char *p_main = ENTRY_PATH(dir, "main", MAIN_IR, JITCORE_OPT_LEVEL_O2);
    CHECK_MSG(dc_exists(p_lib), "expected the entry %s", p_lib ? p_lib : "(null)");
    CHECK_MSG(dc_exists(p_main), "expected the entry %s", p_main ? p_main : "(null)");
    JitcoreDisposeEngine(ee);
    JitcoreDisposeObjectCache(c);

    /* warm: a new cache handle on the same directory, new modules */
    c = MAKE_DISK_CACHE(dir, 0);
    ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, &r);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("lib", LIB_IR)));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("main", MAIN_IR)));
    run_program(engine_look, ee, &warm);
    check_expected(&warm);
    CHECK(results_equal(&cold, &warm));
    es = GET_STATS(ee);
    tu_print_stats("engine warm", &es);
    CHECK_EQ_U64(es.ModulesCompiled, 0);
    CHECK_EQ_U64(es.CacheHits, 2);
    CHECK_EQ_U64(es.CacheRejected, 0);
    CHECK_EQ_U64(es.ObjectsLoaded, 2);
    ds = DC_STATS(c);
    CHECK_EQ_U64(ds.Hits, 2);
    CHECK_EQ_U64(ds.Misses, 0);
    CHECK_EQ_U64(ds.Writes, 0);
    CHECK_EQ_U64(ds.CorruptDropped, 0);
    JitcoreDisposeEngine(ee);

    /* another opt level is another key: compiled and stored beside */
    ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O0, &r);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("lib", LIB_IR)));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("main", MAIN_IR)));
    run_program(engine_look, ee, &warm);
    CHECK(results_equal(&cold, &warm));
    es = GET_STATS(ee);
    CHECK_EQ_U64(es.ModulesCompiled, 2);
    CHECK_EQ_U64(es.CacheHits, 0);
    CHECK_EQ_U64(DC_STATS(c).Entries, 4);
    JitcoreDisposeEngine(ee);

    /* the engine's own cache statistics and the disk's agree with a host
       that never calls a lookup: finalize loads everything from disk */
    ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O0, &r);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("lib", LIB_IR)));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("main", MAIN_IR)));
    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    es = GET_STATS(ee);
    CHECK_EQ_U64(es.ModulesCompiled, 0);
    CHECK_EQ_U64(es.CacheHits, 2);
    JitcoreDisposeEngine(ee);

    CHECK_EQ_INT(atomic_load(&r.count), 0); /* nothing went wrong */
    JitcoreDisposeObjectCache(c);
    free(p_lib);
    free(p_main);
    dc_reports_fini(&r);
    dc_remove_dir(dir);
    free(dir);
}

/* Session, eager or lazy: the same, through JITDylibs (lazy: every
   partition is a module with its own entry). */
static void session_cold_warm(int lazy, unsigned threads)
{
    tu_note("  session %s, %u compile threads", lazy ? "lazy" : "eager", threads);
    char *dir = tu_make_temp_dir();
    struct results cold, warm;
    struct dc_reports r;
    dc_reports_init(&r);

    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    JitcoreSessionRef s = CACHED_SESSION(c, JITCORE_OPT_LEVEL_O2, threads, lazy, &r);
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("lib", LIB_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("main", MAIN_IR), NULL));
    run_program(session_look, s, &cold);
    check_expected(&cold);
    JitcoreStatistics ss = SESSION_STATS(s);
    tu_print_stats("session cold", &ss);
    uint64_t compiled = ss.ModulesCompiled;
    if (lazy)
        CHECK_MSG(compiled > 2, "expected partitions to be compiled one by one, got %" PRIu64 " compiles", compiled);
    else
        CHECK_EQ_U64(compiled, 2);
    CHECK_EQ_U64(ss.CacheHits, 0);
    JitcoreDiskCacheStatistics ds = DC_STATS(c);
    dc_print_stats("session cold", &ds);
    CHECK_EQ_U64(ds.Writes, compiled);
    CHECK_EQ_U64(ds.Entries, compiled);
    JitcoreDisposeSession(s);

    /* warm */
    s = CACHED_SESSION(c, JITCORE_OPT_LEVEL_O2, threads, lazy, &r);
    main_jd = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("lib", LIB_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("main", MAIN_IR), NULL));
    run_program(session_look, s, &warm);
    check_expected(&warm);
    CHECK(results_equal(&cold, &warm));
    ss = SESSION_STATS(s);
    tu_print_stats("session warm", &ss);
    CHECK_EQ_U64(ss.ModulesCompiled, 0);
    CHECK_EQ_U64(ss.CacheHits, compiled);
    CHECK_EQ_U64(ss.CacheRejected, 0);
    ds = DC_STATS(c);
    CHECK_EQ_U64(ds.Hits, compiled);
    CHECK_EQ_U64(ds.Writes, compiled); /* still only the cold run's */
    CHECK_EQ_U64(ds.CorruptDropped, 0);
    JitcoreDisposeSession(s);

    /* and an engine on the same cache shares the eager entries */
    if (!lazy) {
        JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, &r);
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("lib", LIB_IR)));
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("main", MAIN_IR)));
        run_program(engine_look, ee, &warm);
        CHECK(results_equal(&cold, &warm));
        CHECK_EQ_U64(GET_STATS(ee).CacheHits, 2);
        CHECK_EQ_U64(GET_STATS(ee).ModulesCompiled, 0);
        JitcoreDisposeEngine(ee);
    }

    CHECK_EQ_INT(atomic_load(&r.count), 0);
    JitcoreDisposeObjectCache(c);
    dc_reports_fini(&r);
    dc_remove_dir(dir);
    free(dir);
}

/* Stores the module `evict_<i>` through its own engine (or loads it). */
static void touch_module(JitcoreObjectCacheRef c, int i, int expect_hit)
{
    char name[32], ir[256];
    snprintf(name, sizeof name, "evict_%d", i);
    dc_value_ir(ir, sizeof ir, "val", 1000 + i, 0);
    JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, NULL);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE(name, ir)));
    uint64_t a = LOOKUP(ee, "val");
    if (a)
        CHECK_EQ_INT(FN(int (*)(void), a)(), 1000 + i);
    CHECK_MSG(GET_STATS(ee).CacheHits == (uint64_t)expect_hit, "expected module %s to be a cache %s", name,
              expect_hit ? "hit" : "miss");
    JitcoreDisposeEngine(ee);
}

static int entry_of(const char *dir, int i)
{
    char name[32], ir[256];
    snprintf(name, sizeof name, "evict_%d", i);
    dc_value_ir(ir, sizeof ir, "val", 1000 + i, 0);
    char *p = ENTRY_PATH(dir, name, ir, JITCORE_OPT_LEVEL_O2);
    int e = dc_exists(p);
    free(p);
    return e;
}

static void test_eviction(void)
{
    char *dir = tu_make_temp_dir();
    /* the size of one entry (they all have the same size) */
    JitcoreObjectCacheRef probe = MAKE_DISK_CACHE(dir, 0);
    touch_module(probe, 0, 0);
    uint64_t one = DC_STATS(probe).BytesOnDisk;
    JitcoreDisposeObjectCache(probe);
    CHECK(one > DC_HEADER_LEN);
    dc_remove_dir(dir);

    /* room for three and a half entries */
    uint64_t cap = 3 * one + one / 2;
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, cap);
    touch_module(c, 0, 0);
    touch_module(c, 1, 0);
    touch_module(c, 2, 0);
    CHECK_EQ_U64(DC_STATS(c).Entries, 3);
    CHECK_EQ_U64(DC_STATS(c).Evictions, 0);
    touch_module(c, 0, 1); /* a hit makes 0 the most recently used */
    touch_module(c, 3, 0); /* evicts 1, the least recently used */
    CHECK(!entry_of(dir, 1));
    CHECK(entry_of(dir, 0) && entry_of(dir, 2) && entry_of(dir, 3));
    touch_module(c, 4, 0); /* evicts 2 */
    CHECK(!entry_of(dir, 2));
    CHECK(entry_of(dir, 0) && entry_of(dir, 3) && entry_of(dir, 4));
    for (int i = 5; i < 8; i++)
        touch_module(c, i, 0);
    /* the newest three remain */
    for (int i = 0; i < 8; i++)
        CHECK_MSG(entry_of(dir, i) == (i >= 5), "entry %d should %s", i, i >= 5 ? "remain" : "be evicted");
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    dc_print_stats("eviction", &st);
    CHECK_EQ_U64(st.Entries, 3);
    CHECK_EQ_U64(st.Evictions, 5);
    CHECK_MSG(st.BytesOnDisk <= cap, "%" PRIu64 " bytes on disk, over the cap of %" PRIu64, st.BytesOnDisk, cap);
    CHECK_EQ_U64(st.Writes, 8);
    JitcoreDisposeObjectCache(c);

    /* a cache opened with a smaller cap trims the directory at once */
    c = MAKE_DISK_CACHE(dir, one + one / 2);
    st = DC_STATS(c);
    CHECK_EQ_U64(st.Entries, 1);
    CHECK_EQ_U64(st.Evictions, 2);
    CHECK(entry_of(dir, 7)); /* the newest */
    JitcoreDisposeObjectCache(c);

    /* an entry bigger than the cap is not kept */
    c = MAKE_DISK_CACHE(dir, one / 2);
    CHECK_EQ_U64(DC_STATS(c).Entries, 0);
    touch_module(c, 9, 0);
    CHECK_EQ_U64(DC_STATS(c).Entries, 0);
    CHECK_EQ_U64(DC_STATS(c).Writes, 1);
    JitcoreDisposeObjectCache(c);

    dc_remove_dir(dir);
    free(dir);
}

/* A directory that cannot be created: everything compiles, one report. */
static void test_unusable_directory(void)
{
    const char *bad = "/dev/null/jitcore-cache"; /* under a file: fails even as root */
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(bad, 0);
    for (int round = 0; round < 2; round++) {
        JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, &r);
        struct results res;
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("lib", LIB_IR)));
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("main", MAIN_IR)));
        run_program(engine_look, ee, &res);
        check_expected(&res);
        JitcoreStatistics es = GET_STATS(ee);
        CHECK_EQ_U64(es.ModulesCompiled, 2);
        CHECK_EQ_U64(es.MaterializationFailures, 0);
        JitcoreDisposeEngine(ee);
    }
    /* the session degrades the same way; the cache already said so */
    JitcoreSessionRef s = CACHED_SESSION(c, JITCORE_OPT_LEVEL_O2, 0, 0, &r);
    CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(s), MAKE_MODULE("sum", SUM_IR), NULL));
    uint64_t a = MAIN_LOOKUP(s, "sum");
    if (a)
        CHECK_EQ_INT(FN(tu_sum_fn, a)(2, 3), 5);
    JitcoreDisposeSession(s);

    JitcoreDiskCacheStatistics st = DC_STATS(c);
    dc_print_stats("unusable", &st);
    CHECK_EQ_U64(st.Hits, 0);
    CHECK_EQ_U64(st.Writes, 0);
    CHECK_EQ_U64(st.Misses, 5);
    CHECK_EQ_U64(st.Entries, 0);
    CHECK(st.IOErrors >= 5);
    CHECK_MSG(atomic_load(&r.count) == 1, "expected exactly one report, got %d", atomic_load(&r.count));
    CHECK_EQ_INT(atomic_load(&r.io), 1);
    CHECK_CONTAINS(r.last, bad);
    JitcoreDisposeObjectCache(c);
    dc_reports_fini(&r);
}

/* A full disk (the file size limit makes writes fail with EFBIG): the
   cache compiles, reports once, and leaves no file behind. Runs in a
   child process, whose limit does not touch the test harness. */
static void test_full_disk(void)
{
    char *dir = tu_make_temp_dir();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit lim = {DC_HEADER_LEN + 64, DC_HEADER_LEN + 64};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &lim);
        struct dc_reports r;
        dc_reports_init(&r);
        JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
        JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, &r);
        struct results res;
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("lib", LIB_IR)));
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("main", MAIN_IR)));
        run_program(engine_look, ee, &res);
        check_expected(&res);
        CHECK_EQ_U64(GET_STATS(ee).ModulesCompiled, 2);
        JitcoreDisposeEngine(ee);
        JitcoreDiskCacheStatistics st = DC_STATS(c);
        dc_print_stats("full disk", &st);
        CHECK_EQ_U64(st.Writes, 0);
        CHECK_EQ_U64(st.IOErrors, 2);
        CHECK_EQ_INT(atomic_load(&r.count), 1);
        CHECK_EQ_INT(atomic_load(&r.io), 1);
        CHECK_CONTAINS(r.last, "File too large|No space");
        CHECK_CONTAINS(r.last, dir);
        struct dc_listing l = dc_list(dir);
        CHECK_EQ_INT(l.entries + l.temps + l.others, 0); /* nothing left behind */
        JitcoreDisposeObjectCache(c);
        dc_reports_fini(&r);
        free(dir);
        exit(tu_failures() ? 1 : 0);
    }
    CHECK(pid > 0);
    if (pid > 0)
        CHECK_EQ_INT(dc_wait(pid), 0);
    dc_remove_dir(dir);
    free(dir);
}

/* With a cache on `dir`: populating, compiles and stores module "lib";
   otherwise runs the two-module program, where "lib" must come from the
   cache and "main" is compiled. */
static void program_with_cache(const char *dir, int populate, struct dc_reports *r)
{
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, r);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("lib", LIB_IR)));
    if (populate) {
        uint64_t a = LOOKUP(ee, "fib");
        if (a)
            CHECK_EQ_INT(FN(int (*)(int), a)(20), 6765);
        CHECK_EQ_U64(DC_STATS(c).Writes, 1);
    } else {
        struct results res;
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("main", MAIN_IR)));
        run_program(engine_look, ee, &res);
        check_expected(&res);
        JitcoreStatistics es = GET_STATS(ee);
        CHECK_EQ_U64(es.CacheHits, 1);
        CHECK_EQ_U64(es.ModulesCompiled, 1);
        JitcoreDiskCacheStatistics st = DC_STATS(c);
        dc_print_stats("read-only", &st);
        CHECK_EQ_U64(st.Hits, 1);
        CHECK_EQ_U64(st.Writes, 0);
        CHECK_EQ_U64(st.IOErrors, 1);
    }
    JitcoreDisposeEngine(ee);
    JitcoreDisposeObjectCache(c);
}

/* A directory the process may read but not write: entries in it are still
   served; what cannot be stored is compiled, and said once. As root the
   reading child becomes nobody, since root writes anywhere. */
static void test_read_only_directory(void)
{
    char *dir = tu_make_temp_dir();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) { /* populate: "lib" only */
        program_with_cache(dir, 1, NULL);
        free(dir);
        exit(tu_failures() ? 1 : 0);
    }
    CHECK(pid > 0 && dc_wait(pid) == 0);
    CHECK_EQ_INT(dc_list(dir).entries, 1);
    CHECK(chmod(dir, 0555) == 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
            tu_note("  read-only directory: skipped (cannot drop root privileges)");
            free(dir);
            exit(0);
        }
        struct dc_reports r;
        dc_reports_init(&r);
        program_with_cache(dir, 0, &r);
        CHECK_EQ_INT(atomic_load(&r.count), 1);
        CHECK_EQ_INT(atomic_load(&r.io), 1);
        CHECK_CONTAINS(r.last, "Permission denied");
        CHECK_CONTAINS(r.last, dir);
        dc_reports_fini(&r);
        free(dir);
        exit(tu_failures() ? 1 : 0);
    }
    CHECK(pid > 0);
    if (pid > 0)
        CHECK_EQ_INT(dc_wait(pid), 0);
    chmod(dir, 0700);
    CHECK_EQ_INT(dc_list(dir).entries, 1);
    CHECK_EQ_INT(dc_list(dir).temps, 0);
    dc_remove_dir(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    /* the fork comes first, before this process uses LLVM */
    RUN_TEST(test_full_disk());
    RUN_TEST(test_read_only_directory());
    RUN_TEST(test_keys());
    RUN_TEST(test_create_and_dispose());
    RUN_TEST(test_engine_cold_warm());
    RUN_TEST(session_cold_warm(0, 0));
    RUN_TEST(session_cold_warm(1, 0));
    RUN_TEST(session_cold_warm(1, 2));
    RUN_TEST(test_eviction());
    RUN_TEST(test_unusable_directory());
    return tu_finish("test_disk_cache");
}
