/*
 * test_lazy_cache_names.c: the names a lazily added module's partitions
 * give its promoted local symbols depend on the module's content, not on
 * what was added before it, so a warm disk cache serves every partition
 * whatever the order modules are added in:
 *  - a second session that adds another lazy module first, and the
 *    program's modules in the other order, compiles nothing;
 *  - the same module (same name, same IR) added lazily twice to one
 *    session still gets names of its own each time, as when it is added
 *    eagerly; removing one copy and adding it again works.
 */
#include "test_disk_cache.h"

/* Local symbols used across partitions: a private string, an internal
   helper, an internal global. */
static const char LIB_IR[] =
    "@msg = private constant [6 x i8] c\"hello\\00\"\n"
    "@hits = internal global i32 0\n"
    "declare i64 @strlen(ptr)\n"
    "define internal i32 @twice(i32 %x) {\n  %r = mul i32 %x, 2\n  ret i32 %r\n}\n"
    "define i64 @msglen() {\n  %l = call i64 @strlen(ptr @msg)\n  ret i64 %l\n}\n"
    "define i32 @hit() {\n  %v = load i32, ptr @hits\n  %n = add i32 %v, 1\n  store i32 %n, ptr @hits\n"
    "  %r = call i32 @twice(i32 %n)\n  ret i32 %r\n}\n";

static const char MAIN_IR[] =
    "declare i32 @hit()\n"
    "define internal i32 @plus_one(i32 %x) {\n  %r = add i32 %x, 1\n  ret i32 %r\n}\n"
    "define i32 @run() {\n  %a = call i32 @hit()\n  %b = call i32 @plus_one(i32 %a)\n  ret i32 %b\n}\n";

/* Another program's module, with locals of its own. */
static const char OTHER_IR[] =
    "@k = internal constant i32 5\n"
    "define internal i32 @get() {\n  %v = load i32, ptr @k\n  ret i32 %v\n}\n"
    "define i32 @other() {\n  %r = call i32 @get()\n  ret i32 %r\n}\n";

static void run_program(JitcoreSessionRef s)
{
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    uint64_t a = MAIN_LOOKUP(s, "msglen");
    CHECK_EQ_INT(a ? FN(long long (*)(void), a)() : -1, 5);
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "run"), 3); /* twice(1) + 1 */
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "hit"), 4);
}

static void warm_hits_whatever_the_order(void)
{
    char *dir = tu_make_temp_dir();
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);

    JitcoreSessionRef s = CACHED_SESSION(c, JITCORE_OPT_LEVEL_O2, 0, 1, &r);
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("lib", LIB_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("main", MAIN_IR), NULL));
    run_program(s);
    JitcoreStatistics cold = SESSION_STATS(s);
    tu_print_stats("cold", &cold);
    /* msglen, hit, twice, run, plus_one and lib's globals: partitions */
    CHECK_MSG(cold.ModulesCompiled >= 6, "expected partitions, got %" PRIu64 " compiles", cold.ModulesCompiled);
    CHECK_EQ_U64(cold.CacheHits, 0);
    JitcoreDisposeSession(s);

    /* another lazy module first, the program's in the other order */
    s = CACHED_SESSION(c, JITCORE_OPT_LEVEL_O2, 0, 1, &r);
    d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("other", OTHER_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("main", MAIN_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("lib", LIB_IR), NULL));
    run_program(s);
    JitcoreStatistics warm = SESSION_STATS(s);
    tu_print_stats("warm, other order", &warm);
    CHECK_EQ_U64(warm.ModulesCompiled, 0);
    CHECK_EQ_U64(warm.CacheHits, cold.ModulesCompiled);
    CHECK_EQ_U64(warm.CacheRejected, 0);
    /* the other module's partitions compile (and are stored) on first call */
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "other"), 5);
    CHECK(SESSION_STATS(s).ModulesCompiled > 0);
    JitcoreDisposeSession(s);

    CHECK_EQ_INT(atomic_load(&r.count), 0);
    JitcoreDisposeObjectCache(c);
    dc_reports_fini(&r);
    dc_remove_dir(dir);
    free(dir);
}

/* linkonce_odr: each copy's definitions are weak, so two copies may live
   in one dylib; their internal helper must not collide. */
static const char DUP_IR[] =
    "@base = internal global i32 40\n"
    "define internal i32 @helper() {\n  %v = load i32, ptr @base\n  %r = add i32 %v, 2\n  ret i32 %r\n}\n"
    "define linkonce_odr i32 @answer() {\n  %r = call i32 @helper()\n  ret i32 %r\n}\n";

static void same_module_twice(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    /* eagerly: fine, as in a static link */
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("dup", DUP_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("dup", DUP_IR), NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "answer"), 42);
    JitcoreDisposeSession(s);

    s = NEW_SESSION();
    d = JitcoreSessionGetMainDylib(s);
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(d);
    CHECK(rt != NULL);
    CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("dup", DUP_IR), rt));
    CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("dup", DUP_IR), NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "answer"), 42);
    /* the first copy goes; a third copy takes its place */
    CHECK_OK(JitcoreResourceTrackerRemove(rt));
    JitcoreDisposeResourceTracker(rt);
    CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("dup", DUP_IR), NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "answer"), 42);
    JitcoreDisposeSession(s);
}

int main(void)
{
    RUN_TEST(warm_hits_whatever_the_order());
    RUN_TEST(same_module_twice());
    return tu_finish("test_lazy_cache_names");
}
