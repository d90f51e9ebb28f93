/*
 * test_ir_pipeline.c: the IR pipeline is the host's choice
 * (JitcoreEngineSetIRPipeline, JitcoreSessionSetIRPipeline).
 *
 * What shows which passes ran: `probe(a)` returns llvm.is.constant of
 * `a * 0`. IR passes that simplify instructions (default<O2>, instcombine,
 * instsimplify) fold it to a constant and probe returns 1; code generation
 * alone lowers llvm.is.constant of an instruction to false, so it returns 0.
 *  - the default pipeline, NONE and CUSTOM pipelines on engines and
 *    sessions, eager and lazy (partitions follow the setting), and modules
 *    of materializers;
 *  - a setting applies to modules compiled after it, not to code already
 *    compiled;
 *  - a bad pipeline is INVALID_ARGUMENT naming it and LLVM's message; the
 *    engine or session keeps its pipeline and stays usable; bad kinds and
 *    NULL arguments are refused;
 *  - keys: each pipeline has its own key (JitcoreModuleGetKeyForPipeline),
 *    the default's is JitcoreModuleGetKey's, and a disk cache compiles again
 *    rather than serving another pipeline's object;
 *  - settings changed while other threads compile never store an object
 *    under another pipeline's key;
 *  - LLJIT's platform support modules take the session's pipeline too.
 */
#include "test_disk_cache.h"

#include <fcntl.h>

static const char PROBE_IR[] =
    "declare i1 @llvm.is.constant.i32(i32)\n"
    "define i32 @probe(i32 %a) {\n"
    "  %v = mul i32 %a, 0\n"
    "  %c = call i1 @llvm.is.constant.i32(i32 %v)\n"
    "  %r = zext i1 %c to i32\n"
    "  ret i32 %r\n"
    "}\n";

/* The same probe as `probe_<i>`, for modules of their own. */
static void probe_ir(char *buf, size_t cap, int i)
{
    snprintf(buf, cap,
             "declare i1 @llvm.is.constant.i32(i32)\n"
             "define i32 @probe_%d(i32 %%a) {\n  %%v = mul i32 %%a, 0\n"
             "  %%c = call i1 @llvm.is.constant.i32(i32 %%v)\n  %%r = zext i1 %%c to i32\n  ret i32 %%r\n}\n",
             i);
}

typedef int (*probe_fn)(int);

/* 1 if the IR passes folded probe, 0 if not, -1 if it cannot be called. */
static int engine_probe(JitcoreEngineRef ee, const char *name)
{
    uint64_t a = LOOKUP(ee, name);
    return a ? FN(probe_fn, a)(7) : -1;
}

static int session_probe(JitcoreSessionRef s, const char *name)
{
    uint64_t a = MAIN_LOOKUP(s, name);
    return a ? FN(probe_fn, a)(7) : -1;
}

/* An engine with `probe`, its pipeline set to (kind, passes) first. */
static int engine_with(JitcoreIRPipelineKind kind, const char *passes)
{
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!CHECK_OK(JitcoreEngineSetIRPipeline(ee, kind, passes))) {
        JitcoreDisposeEngine(ee);
        return -1;
    }
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("probe", PROBE_IR)));
    int r = engine_probe(ee, "probe");
    JitcoreDisposeEngine(ee);
    return r;
}

static void engine_settings(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("probe", PROBE_IR));
    CHECK_EQ_INT(engine_probe(ee, "probe"), 1); /* default<O2> ran */
    JitcoreDisposeEngine(ee);

    CHECK_EQ_INT(engine_with(JITCORE_IR_PIPELINE_DEFAULT, NULL), 1);
    CHECK_EQ_INT(engine_with(JITCORE_IR_PIPELINE_DEFAULT, "ignored"), 1);
    CHECK_EQ_INT(engine_with(JITCORE_IR_PIPELINE_NONE, NULL), 0);
    CHECK_EQ_INT(engine_with(JITCORE_IR_PIPELINE_CUSTOM, "function(instsimplify)"), 1);
    /* a custom pipeline runs its passes and no others: globaldce folds nothing */
    CHECK_EQ_INT(engine_with(JITCORE_IR_PIPELINE_CUSTOM, "globaldce"), 0);
    CHECK_EQ_INT(engine_with(JITCORE_IR_PIPELINE_CUSTOM, "default<O2>"), 1);

    /* NONE at O0: codegen only, and the code still computes */
    ee = MAKE_ENGINE_AT(NULL, JITCORE_OPT_LEVEL_O0);
    CHECK_OK(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_NONE, NULL));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("sum", SUM_IR)));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("probe", PROBE_IR)));
    CHECK_SUM_WORKS(ee);
    CHECK_EQ_INT(engine_probe(ee, "probe"), 0);
    JitcoreDisposeEngine(ee);
}

/* A setting applies to what compiles after it: code compiled before keeps
   its code, a module added before but compiled after follows it. */
static void engine_setting_applies_to_later_compiles(void)
{
    char ir2[512], ir3[512];
    probe_ir(ir2, sizeof ir2, 2);
    probe_ir(ir3, sizeof ir3, 3);
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("probe", PROBE_IR));
    CHECK_EQ_INT(engine_probe(ee, "probe"), 1);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("probe_2", ir2)));
    CHECK_OK(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_NONE, NULL));
    CHECK_EQ_INT(engine_probe(ee, "probe_2"), 0); /* added before, compiled after */
    CHECK_EQ_INT(engine_probe(ee, "probe"), 1);   /* compiled before: unchanged */
    /* back to the default for what is added and compiled next */
    CHECK_OK(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_DEFAULT, NULL));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("probe_3", ir3)));
    CHECK_EQ_INT(engine_probe(ee, "probe_3"), 1);
    CHECK_EQ_INT(engine_probe(ee, "probe_2"), 0);
    JitcoreDisposeEngine(ee);
}

static JitcoreSessionRef session_with(JitcoreIRPipelineKind kind, const char *passes, int lazy)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.LazyByDefault = lazy;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    CHECK_OK(JitcoreSessionSetIRPipeline(s, kind, passes));
    return s;
}

static void session_settings(int lazy)
{
    tu_note("  session, %s", lazy ? "lazy" : "eager");
    static const struct {
        JitcoreIRPipelineKind kind;
        const char *passes;
        int expect;
    } cases[] = {
        {JITCORE_IR_PIPELINE_DEFAULT, NULL, 1},
        {JITCORE_IR_PIPELINE_NONE, NULL, 0},
        {JITCORE_IR_PIPELINE_CUSTOM, "function(instcombine)", 1},
        {JITCORE_IR_PIPELINE_CUSTOM, "globaldce", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        JitcoreSessionRef s = session_with(cases[i].kind, cases[i].passes, lazy);
        JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
        /* with a caller, so the lazy module has more than one partition */
        CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("probe", PROBE_IR), NULL));
        CHECK_OK(JitcoreDylibAddModule(d,
                                       MAKE_MODULE("caller", "declare i32 @probe(i32)\n"
                                                             "define i32 @call_probe() {\n"
                                                             "  %r = call i32 @probe(i32 3)\n  ret i32 %r\n}\n"),
                                       NULL));
        CHECK_MSG(session_probe(s, "probe") == cases[i].expect, "case %zu: probe() == %d", i, cases[i].expect);
        CHECK_EQ_INT(SESSION_CALL_INT(s, d, "call_probe"), cases[i].expect);
        JitcoreStatistics st = SESSION_STATS(s);
        if (lazy)
            CHECK_MSG(st.ModulesCompiled >= 2, "lazy partitions were compiled (%" PRIu64 ")", st.ModulesCompiled);
        JitcoreDisposeSession(s);
    }

    /* lazily added, then the setting changes before the first call: the
       partitions compile under the new setting */
    JitcoreSessionRef s = session_with(JITCORE_IR_PIPELINE_DEFAULT, NULL, lazy);
    CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(s), MAKE_MODULE("probe", PROBE_IR), NULL));
    CHECK_OK(JitcoreSessionSetIRPipeline(s, JITCORE_IR_PIPELINE_NONE, NULL));
    CHECK_EQ_INT(session_probe(s, "probe"), 0);
    JitcoreDisposeSession(s);
}

/* A materializer's module takes the session's pipeline too. */
static JitcoreErrorRef probe_materializer(void *ctx, const char *const *syms, size_t n, JitcoreModuleRef *mod_out,
                                          JitcoreObjectBufferRef *obj_out)
{
    (void)ctx, (void)syms, (void)n, (void)obj_out;
    return JitcoreCreateModuleFromIR(mod_out, "materialized", PROBE_IR, strlen(PROBE_IR));
}

static void materializers_follow_the_setting(void)
{
    for (int none = 0; none < 2; none++) {
        JitcoreSessionRef s = session_with(none ? JITCORE_IR_PIPELINE_NONE : JITCORE_IR_PIPELINE_DEFAULT, NULL, 0);
        const char *names[1] = {"probe"};
        CHECK_OK(JitcoreDylibAddMaterializer(JitcoreSessionGetMainDylib(s), names, 1, probe_materializer, NULL, NULL,
                                             NULL));
        CHECK_EQ_INT(session_probe(s, "probe"), !none);
        JitcoreDisposeSession(s);
    }
}

static void bad_pipelines(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    CHECK_OK(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_NONE, NULL));
    CHECK_ERR2(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_CUSTOM, "function(nosuchpass)"),
               JITCORE_ERROR_INVALID_ARGUMENT, "'function(nosuchpass)'", "unknown function pass 'nosuchpass'");
    CHECK_ERR2(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_CUSTOM, "default<O7>"),
               JITCORE_ERROR_INVALID_ARGUMENT, "'default<O7>'", "O7");
    CHECK_ERR(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_CUSTOM, "function(instcombine"),
              JITCORE_ERROR_INVALID_ARGUMENT, "'function(instcombine'");
    CHECK_ERR(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_CUSTOM, ""), JITCORE_ERROR_INVALID_ARGUMENT,
              "names no passes");
    CHECK_ERR(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_CUSTOM, NULL), JITCORE_ERROR_INVALID_ARGUMENT,
              "Passes");
    CHECK_ERR(JitcoreEngineSetIRPipeline(ee, (JitcoreIRPipelineKind)7, NULL), JITCORE_ERROR_INVALID_ARGUMENT,
              "7 is not a JitcoreIRPipelineKind");
    CHECK_ERR(JitcoreEngineSetIRPipeline(NULL, JITCORE_IR_PIPELINE_NONE, NULL), JITCORE_ERROR_INVALID_ARGUMENT,
              "engine");
    /* the engine kept NONE and works */
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("probe", PROBE_IR)));
    CHECK_EQ_INT(engine_probe(ee, "probe"), 0);
    JitcoreDisposeEngine(ee);

    JitcoreSessionRef s = session_with(JITCORE_IR_PIPELINE_CUSTOM, "function(instsimplify)", 0);
    CHECK_ERR2(JitcoreSessionSetIRPipeline(s, JITCORE_IR_PIPELINE_CUSTOM, "cgscc(bogus)"),
               JITCORE_ERROR_INVALID_ARGUMENT, "'cgscc(bogus)'", "bogus");
    CHECK_ERR(JitcoreSessionSetIRPipeline(s, (JitcoreIRPipelineKind)3, NULL), JITCORE_ERROR_INVALID_ARGUMENT,
              "JitcoreIRPipelineKind");
    CHECK_ERR(JitcoreSessionSetIRPipeline(NULL, JITCORE_IR_PIPELINE_NONE, NULL), JITCORE_ERROR_INVALID_ARGUMENT,
              "session");
    CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(s), MAKE_MODULE("probe", PROBE_IR), NULL));
    CHECK_EQ_INT(session_probe(s, "probe"), 1); /* still instsimplify */
    JitcoreDisposeSession(s);
}

static void key_hex(JitcoreModuleRef m, JitcoreTargetMachineRef tm, JitcoreIRPipelineKind kind, const char *passes,
                    char *hex)
{
    hex[0] = 0;
    CHECK_OK(JitcoreModuleGetKeyForPipeline(m, tm, kind, passes, NULL, hex));
}

static void keys_per_pipeline(void)
{
    JitcoreTargetMachineRef tm = MAKE_TM(JITCORE_OPT_LEVEL_O2);
    JitcoreModuleRef m = MAKE_MODULE("probe", PROBE_IR);
    char plain[JITCORE_MODULE_KEY_HEX_SIZE], def[JITCORE_MODULE_KEY_HEX_SIZE], none[JITCORE_MODULE_KEY_HEX_SIZE],
        custom[JITCORE_MODULE_KEY_HEX_SIZE], o2[JITCORE_MODULE_KEY_HEX_SIZE];
    CHECK_OK(JitcoreModuleGetKey(m, tm, NULL, plain));
    key_hex(m, tm, JITCORE_IR_PIPELINE_DEFAULT, NULL, def);
    key_hex(m, tm, JITCORE_IR_PIPELINE_NONE, NULL, none);
    key_hex(m, tm, JITCORE_IR_PIPELINE_CUSTOM, "function(instcombine)", custom);
    key_hex(m, tm, JITCORE_IR_PIPELINE_CUSTOM, "default<O2>", o2);
    CHECK_STR_EQ(def, plain);
    CHECK_STR_EQ(o2, def); /* the same passes, the same key */
    CHECK(strcmp(none, def) != 0);
    CHECK(strcmp(custom, def) != 0);
    CHECK(strcmp(custom, none) != 0);
    CHECK_EQ_INT(strlen(none), 64);
    uint8_t raw[JITCORE_MODULE_KEY_SIZE];
    CHECK_OK(JitcoreModuleGetKeyForPipeline(m, tm, JITCORE_IR_PIPELINE_NONE, NULL, raw, NULL));
    char from_raw[JITCORE_MODULE_KEY_HEX_SIZE];
    for (int i = 0; i < JITCORE_MODULE_KEY_SIZE; i++)
        snprintf(from_raw + 2 * i, 3, "%02x", raw[i]);
    CHECK_STR_EQ(from_raw, none);
    /* NONE at another opt level: codegen's level is in the key */
    JitcoreTargetMachineRef tm0 = MAKE_TM(JITCORE_OPT_LEVEL_O0);
    char none0[JITCORE_MODULE_KEY_HEX_SIZE];
    key_hex(m, tm0, JITCORE_IR_PIPELINE_NONE, NULL, none0);
    CHECK(strcmp(none0, none) != 0);
    /* not parsed here: any string has a key (no engine would take it) */
    char bogus[JITCORE_MODULE_KEY_HEX_SIZE];
    key_hex(m, tm, JITCORE_IR_PIPELINE_CUSTOM, "nosuchpass", bogus);
    CHECK_EQ_INT(strlen(bogus), 64);
    CHECK_ERR(JitcoreModuleGetKeyForPipeline(m, tm, JITCORE_IR_PIPELINE_CUSTOM, NULL, NULL, def),
              JITCORE_ERROR_INVALID_ARGUMENT, "Passes");
    CHECK_ERR(JitcoreModuleGetKeyForPipeline(m, tm, (JitcoreIRPipelineKind)9, NULL, NULL, def),
              JITCORE_ERROR_INVALID_ARGUMENT, "JitcoreIRPipelineKind");
    CHECK_ERR(JitcoreModuleGetKeyForPipeline(m, tm, JITCORE_IR_PIPELINE_NONE, NULL, NULL, NULL),
              JITCORE_ERROR_INVALID_ARGUMENT, "NULL");
    JitcoreDisposeTargetMachine(tm0);
    JitcoreDisposeModule(m);
    JitcoreDisposeTargetMachine(tm);
}

/* The path of probe's disk cache entry under (kind, passes). */
static char *probe_entry(const char *dir, JitcoreIRPipelineKind kind, const char *passes)
{
    JitcoreTargetMachineRef tm = MAKE_TM(JITCORE_OPT_LEVEL_O2);
    JitcoreModuleRef m = MAKE_MODULE("probe", PROBE_IR);
    char hex[JITCORE_MODULE_KEY_HEX_SIZE + 8];
    key_hex(m, tm, kind, passes, hex);
    strcat(hex, DC_ENTRY_SUFFIX);
    JitcoreDisposeModule(m);
    JitcoreDisposeTargetMachine(tm);
    return tu_path_join(dir, hex);
}

/* One run of probe through a session on disk cache `c` under (kind,
   passes): checks what probe returns and how many compiles and cache hits
   the session counted. */
#define CACHED_RUN(c, kind, passes, result, hits, compiled) \
    cached_run((c), (kind), (passes), (result), (hits), (compiled), __LINE__)
static void cached_run(JitcoreObjectCacheRef c, JitcoreIRPipelineKind kind, const char *passes, int result,
                       uint64_t hits, uint64_t compiled, int line)
{
    JitcoreSessionRef s = CACHED_SESSION(c, JITCORE_OPT_LEVEL_O2, 0, 0, NULL);
    CHECK_OK(JitcoreSessionSetIRPipeline(s, kind, passes));
    CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(s), MAKE_MODULE("probe", PROBE_IR), NULL));
    int r = session_probe(s, "probe");
    JitcoreStatistics st = SESSION_STATS(s);
    CHECK_MSG(r == result && st.CacheHits == hits && st.ModulesCompiled == compiled,
              "line %d: expected probe %d, %" PRIu64 " hits, %" PRIu64 " compiled; got %d, %" PRIu64 ", %" PRIu64,
              line, result, hits, compiled, r, st.CacheHits, st.ModulesCompiled);
    JitcoreDisposeSession(s);
}

static void disk_cache_keeps_pipelines_apart(void)
{
    char *dir = tu_make_temp_dir();
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    CACHED_RUN(c, JITCORE_IR_PIPELINE_DEFAULT, NULL, 1, 0, 1);
    /* another pipeline: compiled again, not served the default's object */
    CACHED_RUN(c, JITCORE_IR_PIPELINE_NONE, NULL, 0, 0, 1);
    CACHED_RUN(c, JITCORE_IR_PIPELINE_CUSTOM, "globaldce", 0, 0, 1);
    /* each pipeline's own entry is served to it */
    CACHED_RUN(c, JITCORE_IR_PIPELINE_NONE, NULL, 0, 1, 0);
    CACHED_RUN(c, JITCORE_IR_PIPELINE_DEFAULT, NULL, 1, 1, 0);
    CACHED_RUN(c, JITCORE_IR_PIPELINE_CUSTOM, "globaldce", 0, 1, 0);
    /* the same passes chosen another way share the default's entry */
    CACHED_RUN(c, JITCORE_IR_PIPELINE_CUSTOM, "default<O2>", 1, 1, 0);
    /* three entries, under the keys JitcoreModuleGetKeyForPipeline names */
    CHECK_EQ_INT(dc_list(dir).entries, 3);
    char *p;
    CHECK(dc_exists(p = probe_entry(dir, JITCORE_IR_PIPELINE_DEFAULT, NULL)));
    free(p);
    CHECK(dc_exists(p = probe_entry(dir, JITCORE_IR_PIPELINE_NONE, NULL)));
    free(p);
    CHECK(dc_exists(p = probe_entry(dir, JITCORE_IR_PIPELINE_CUSTOM, "globaldce")));
    free(p);
    /* an engine on the same cache finds its pipeline's entry too */
    JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, NULL);
    CHECK_OK(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_NONE, NULL));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("probe", PROBE_IR)));
    CHECK_EQ_INT(engine_probe(ee, "probe"), 0);
    CHECK_EQ_U64(GET_STATS(ee).CacheHits, 1);
    CHECK_EQ_U64(GET_STATS(ee).ModulesCompiled, 0);
    JitcoreDisposeEngine(ee);
    JitcoreDisposeObjectCache(c);
    dc_remove_dir(dir);
    free(dir);
}

/* Settings change while other threads compile: each compile reads the
   pipeline once, so the object it stores in the disk cache is under the
   key of the passes that made it. Afterwards every module's entry, looked
   up under each pipeline, gives that pipeline's result. */
enum { CONC_THREADS = 2, CONC_MODULES = 30 };

struct conc {
    JitcoreSessionRef s;
    int first;
    atomic_int done;
};

static void *conc_worker(void *p)
{
    struct conc *c = p;
    for (int i = c->first; i < CONC_MODULES; i += CONC_THREADS) {
        char ir[512], name[32];
        probe_ir(ir, sizeof ir, i);
        snprintf(name, sizeof name, "probe_%d", i);
        CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(c->s), MAKE_MODULE(name, ir), NULL));
        int r = session_probe(c->s, name);
        CHECK_MSG(r == 0 || r == 1, "probe_%d() == %d", i, r);
    }
    atomic_fetch_add(&c->done, 1);
    return NULL;
}

static void concurrent_settings_keep_keys_right(void)
{
    char *dir = tu_make_temp_dir();
    JitcoreObjectCacheRef cache = MAKE_DISK_CACHE(dir, 0);
    JitcoreSessionRef s = CACHED_SESSION(cache, JITCORE_OPT_LEVEL_O2, 0, 0, NULL);
    struct conc work[CONC_THREADS];
    pthread_t t[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        work[i].s = s;
        work[i].first = i;
        atomic_store(&work[i].done, 0);
        pthread_create(&t[i], NULL, conc_worker, &work[i]);
    }
    int finished = 0;
    unsigned flips = 0;
    for (; finished < CONC_THREADS; flips++) {
        JitcoreErrorRef e =
            JitcoreSessionSetIRPipeline(s, flips % 2 ? JITCORE_IR_PIPELINE_NONE : JITCORE_IR_PIPELINE_DEFAULT, NULL);
        if (e)
            CHECK_OK(e);
        dc_sleep_ms(1);
        finished = 0;
        for (int i = 0; i < CONC_THREADS; i++)
            finished += atomic_load(&work[i].done);
    }
    for (int i = 0; i < CONC_THREADS; i++)
        pthread_join(t[i], NULL);
    tu_note("  %u pipeline changes while %d threads compiled", flips, CONC_THREADS);
    JitcoreDisposeSession(s);

    /* every object in the cache matches the pipeline of its key */
    for (int k = 0; k < 2; k++) {
        JitcoreIRPipelineKind kind = k ? JITCORE_IR_PIPELINE_NONE : JITCORE_IR_PIPELINE_DEFAULT;
        s = CACHED_SESSION(cache, JITCORE_OPT_LEVEL_O2, 0, 0, NULL);
        CHECK_OK(JitcoreSessionSetIRPipeline(s, kind, NULL));
        for (int i = 0; i < CONC_MODULES; i++) {
            char ir[512], name[32];
            probe_ir(ir, sizeof ir, i);
            snprintf(name, sizeof name, "probe_%d", i);
            CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(s), MAKE_MODULE(name, ir), NULL));
            CHECK_MSG(session_probe(s, name) == !k, "%s under %s", name, k ? "NONE" : "DEFAULT");
        }
        JitcoreStatistics st = SESSION_STATS(s);
        CHECK_EQ_U64(st.CacheHits + st.ModulesCompiled, CONC_MODULES);
        tu_print_stats(k ? "after, NONE" : "after, DEFAULT", &st);
        JitcoreDisposeSession(s);
    }
    JitcoreDisposeObjectCache(cache);
    dc_remove_dir(dir);
    free(dir);
}

/* LLJIT's platform support module of a dylib (what defines the dylib's
   __cxa_atexit and __dso_handle) compiles under the session's pipeline:
   the `print` pass prints each module it runs on to stderr, which is
   captured here. */
static void platform_modules_follow_the_setting(void)
{
    char *dir = tu_make_temp_dir();
    char *log = tu_path_join(dir, "stderr.txt");
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);

    JitcoreSessionRef s = session_with(JITCORE_IR_PIPELINE_CUSTOM, "print", 0);
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "libx"));
    CHECK_OK(JitcoreDylibAddProcessSymbols(d, NULL, NULL));
    CHECK_OK(JitcoreDylibAddModule(
        d,
        MAKE_MODULE("registers", "@__dso_handle = external hidden global i8\n"
                                 "declare i32 @__cxa_atexit(ptr, ptr, ptr)\n"
                                 "define internal void @h(ptr %p) { ret void }\n"
                                 "define i32 @reg() {\n"
                                 "  %r = call i32 @__cxa_atexit(ptr @h, ptr null, ptr @__dso_handle)\n"
                                 "  ret i32 %r\n}\n"),
        NULL));
    uint64_t a = 0;
    CHECK_OK(JitcoreSessionLookup(s, d, &a, "reg"));
    /* (what __cxa_atexit returns is not checked: LLVM 22's helper behind
       the platform's __cxa_atexit returns void, so lli sees garbage too) */
    if (a)
        FN(int (*)(void), a)();
    JitcoreDisposeSession(s);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t len = 0;
    char *text = (char *)tu_read_file(log, &len);
    /* the host's module and the dylib's platform module (it defines
       __dso_handle and __lljit_run_atexits); the module's __cxa_atexit
       call is routed to jitcore's exit handlers (session/exit.rs), so the
       platform dylib's module defining __cxa_atexit is not needed */
    CHECK_CONTAINS(text, "define i32 @reg()");
    /* (and the empty module the pipeline was checked on when it was set) */
    CHECK_CONTAINS(text, "ModuleID = 'jitcore.pipeline-check'");
    CHECK_CONTAINS(text, "define hidden void @__lljit_run_atexits()");
    if (getenv("TU_VERBOSE"))
        tu_note("%s", text ? text : "");
    free(text);
    unlink(log);
    free(log);
    dc_remove_dir(dir);
    free(dir);
}

int main(void)
{
    RUN_TEST(engine_settings());
    RUN_TEST(engine_setting_applies_to_later_compiles());
    RUN_TEST(session_settings(0));
    RUN_TEST(session_settings(1));
    RUN_TEST(materializers_follow_the_setting());
    RUN_TEST(bad_pipelines());
    RUN_TEST(keys_per_pipeline());
    RUN_TEST(disk_cache_keeps_pipelines_apart());
    RUN_TEST(concurrent_settings_keep_keys_right());
    RUN_TEST(platform_modules_follow_the_setting());
    return tu_finish("test_ir_pipeline");
}
