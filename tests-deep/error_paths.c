/*
 * error_paths.c: every error path of the C API, K times (env
 * JITCORE_ERROR_PATHS_ITERATIONS, default 200), with resident memory
 * (/proc/self/statm) measured after a warm-up (K/10 iterations, at least 5)
 * and at the end: growth over 2 MiB fails. Each iteration uses a fresh
 * engine and session, so what an error path leaks accumulates.
 *
 * Paths: NULL for every pointer argument of every function that takes one;
 * bad IR (syntax, verifier, nesting, untrusted input); bad objects (garbage,
 * truncated ELF, missing file, non-archive, missing library); missing
 * symbols; unresolved externals then retry (engine and session); a failing
 * materializer that succeeds on the retry; a corrupt disk cache entry; a
 * tracker removed twice and reused; a disposed session's dylib handle;
 * duplicate definitions, a module added twice, removing a module that is
 * not added; bad enum values; bad IR types; IR pipelines LLVM cannot parse.
 *
 * Output: "error_paths: K iterations, N paths each, RSS warm X KiB, end Y
 * KiB, growth Z KiB (limit 2048)". Exit status nonzero on any failed check
 * or too much growth.
 */
#include "deep_util.h"

#include "../tests-c/test_disk_cache.h"

static char *g_dir;       /* cache directory */
static char *g_notobj;    /* a file that is neither an object nor an archive */
static int g_paths;       /* error paths taken per iteration */

#define PATH(expr) (g_paths++, (expr))
#define EXPECT_ERR(call, code, spec) PATH(CHECK_ERR((call), (code), (spec)))
#define EXPECT_INVALID(call) EXPECT_ERR((call), JITCORE_ERROR_INVALID_ARGUMENT, "")

static int host_forty(void) { return 40; }

struct mat_ctx {
    int calls;
    int *disposed;
};

static JitcoreErrorRef flaky_materializer(void *ctx, const char *const *syms, size_t n, JitcoreModuleRef *mod_out,
                                          JitcoreObjectBufferRef *obj_out)
{
    (void)syms;
    (void)n;
    (void)obj_out;
    struct mat_ctx *c = ctx;
    if (c->calls++ == 0)
        return JitcoreCreateError(JITCORE_ERROR_COMPILE, "materializer says no this time");
    const char ir[] = "define i32 @mat_fn() { ret i32 77 }\n";
    return JitcoreCreateModuleFromIR(mod_out, "materialized", ir, strlen(ir));
}

static void mat_dispose(void *ctx)
{
    struct mat_ctx *c = ctx;
    (*c->disposed)++;
    free(c);
}

static int filter_all(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return 1;
}

static void null_arguments(JitcoreEngineRef ee, JitcoreSessionRef s, JitcoreTargetMachineRef tm)
{
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    JitcoreModuleRef m = NULL;
    uint64_t addr = 0;
    uint8_t key[JITCORE_MODULE_KEY_SIZE];
    char hex[JITCORE_MODULE_KEY_HEX_SIZE];
    JitcoreStatistics st;
    JitcoreDiskCacheStatistics dst;
    JitcoreObjectCacheRef cache = NULL;
    static const uint8_t byte = 0;
    const char *names[1] = {"x"};
    JitcoreSymbolDefinition def = {"x", 1};
    JitcoreSymbolDefinition nodef = {NULL, 1};

    /* objects and keys */
    PATH(CHECK(JitcoreCreateObjectBufferCopy(NULL, 16) == NULL));
    JitcoreDisposeObjectBuffer(NULL);
    JitcoreModuleRef km = MAKE_MODULE("keyed", SUM_IR);
    EXPECT_INVALID(JitcoreModuleGetKey(NULL, tm, key, hex));
    EXPECT_INVALID(JitcoreModuleGetKey(km, NULL, key, hex));
    EXPECT_INVALID(JitcoreModuleGetKey(km, tm, NULL, NULL));
    EXPECT_INVALID(JitcoreModuleGetKeyForPipeline(km, tm, (JitcoreIRPipelineKind)5, NULL, key, hex));
    EXPECT_INVALID(JitcoreModuleGetKeyForPipeline(km, tm, JITCORE_IR_PIPELINE_CUSTOM, NULL, key, hex));
    EXPECT_INVALID(JitcoreModuleGetKeyForPipeline(NULL, tm, JITCORE_IR_PIPELINE_NONE, NULL, key, hex));
    JitcoreDisposeModule(km);
    /* disk cache */
    EXPECT_INVALID(JitcoreCreateDiskCache(NULL, g_dir, 0));
    EXPECT_INVALID(JitcoreCreateDiskCache(&cache, NULL, 0));
    EXPECT_INVALID(JitcoreCreateDiskCache(&cache, "", 0));
    EXPECT_INVALID(JitcoreDiskCacheGetStatistics(NULL, &dst));
    JitcoreDisposeObjectCache(NULL);
    PATH(CHECK(cache == NULL));
    /* engines */
    EXPECT_INVALID(JitcoreCreateMCJITCompiler(NULL, NULL, tm));
    JitcoreEngineRef ee2 = NULL;
    EXPECT_INVALID(JitcoreCreateMCJITCompiler(&ee2, NULL, NULL));
    JitcoreDisposeEngine(NULL);
    EXPECT_INVALID(JitcoreEngineAddModule(NULL, NULL));
    EXPECT_INVALID(JitcoreEngineAddModule(ee, NULL));
    EXPECT_INVALID(JitcoreEngineRemoveModule(ee, NULL));
    EXPECT_INVALID(JitcoreEngineRemoveModule(NULL, NULL));
    EXPECT_INVALID(JitcoreEngineFinalizeObject(NULL));
    EXPECT_INVALID(JitcoreEngineSetIRPipeline(NULL, JITCORE_IR_PIPELINE_NONE, NULL));
    EXPECT_INVALID(JitcoreEngineSetIRPipeline(ee, (JitcoreIRPipelineKind)3, NULL));
    EXPECT_INVALID(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_CUSTOM, NULL));
    EXPECT_INVALID(JitcoreEngineSetIRPipeline(ee, JITCORE_IR_PIPELINE_CUSTOM, "function(nosuchpass)"));
    EXPECT_INVALID(JitcoreEngineGetFunctionAddress(NULL, &addr, "sum"));
    EXPECT_INVALID(JitcoreEngineGetFunctionAddress(ee, NULL, "sum"));
    EXPECT_INVALID(JitcoreEngineGetFunctionAddress(ee, &addr, NULL));
    EXPECT_INVALID(JitcoreEngineGetGlobalValueAddress(NULL, &addr, "sum"));
    EXPECT_INVALID(JitcoreEngineGetGlobalValueAddress(ee, NULL, "sum"));
    EXPECT_INVALID(JitcoreEngineGetGlobalValueAddress(ee, &addr, NULL));
    EXPECT_INVALID(JitcoreEngineAddObjectFile(NULL, g_notobj));
    EXPECT_INVALID(JitcoreEngineAddObjectFile(ee, NULL));
    EXPECT_INVALID(JitcoreEngineAddObjectBuffer(NULL, &byte, 1));
    EXPECT_INVALID(JitcoreEngineAddObjectBuffer(ee, NULL, 1));
    EXPECT_INVALID(JitcoreEngineAddGlobalMapping(NULL, "x", 1));
    EXPECT_INVALID(JitcoreEngineAddGlobalMapping(ee, NULL, 1));
    EXPECT_INVALID(JitcoreEngineRunStaticConstructors(NULL));
    EXPECT_INVALID(JitcoreEngineRunStaticDestructors(NULL));
    PATH(CHECK(JitcoreEngineGetTargetData(NULL) == NULL));
    JitcoreEngineSetObjectCache(NULL, NULL, NULL, NULL);
    JitcoreEngineSetErrorReporter(NULL, NULL, NULL);
    JitcoreEngineSetDiskCache(NULL, NULL);
    EXPECT_INVALID(JitcoreEngineGetStatistics(NULL, &st));
    EXPECT_INVALID(JitcoreEngineGetStatistics(ee, NULL));
    /* errors */
    PATH(CHECK(JitcoreGetErrorCode(NULL) == JITCORE_ERROR_SUCCESS));
    PATH(CHECK(JitcoreGetErrorMessage(NULL) == NULL));
    JitcoreDisposeErrorMessage(NULL);
    JitcoreConsumeError(NULL);
    EXPECT_ERR(JitcoreCreateError(9999, NULL), JITCORE_ERROR_INTERNAL, "");
    JitcoreGetVersion(NULL, NULL, NULL);
    /* modules */
    EXPECT_INVALID(JitcoreCreateModuleFromIR(NULL, "n", SUM_IR, strlen(SUM_IR)));
    EXPECT_INVALID(JitcoreCreateModuleFromIR(&m, NULL, SUM_IR, strlen(SUM_IR)));
    EXPECT_INVALID(JitcoreCreateModuleFromIR(&m, "n", NULL, 4));
    EXPECT_INVALID(JitcoreCreateModuleFromIR(&m, "n", (const char *)&byte, (size_t)PTRDIFF_MAX + 1));
    EXPECT_INVALID(JitcoreCreateModuleFromUntrustedIR(NULL, "n", SUM_IR, strlen(SUM_IR)));
    EXPECT_INVALID(JitcoreCreateModuleFromUntrustedIR(&m, "n", NULL, 4));
    EXPECT_INVALID(JitcoreCreateModuleFromLLVMModule(NULL, NULL));
    EXPECT_INVALID(JitcoreCreateModuleFromLLVMModule(&m, NULL));
    PATH(CHECK(m == NULL));
    JitcoreDisposeModule(NULL);
    PATH(CHECK(JitcoreModuleGetName(NULL) == NULL));
    JitcoreSessionOptionsInit(NULL);
    /* sessions and dylibs */
    EXPECT_INVALID(JitcoreCreateSession(NULL, NULL));
    JitcoreDisposeSession(NULL);
    PATH(CHECK(JitcoreSessionGetMainDylib(NULL) == NULL));
    JitcoreDylibRef nd = NULL;
    EXPECT_INVALID(JitcoreSessionCreateDylib(NULL, &nd, "x"));
    EXPECT_INVALID(JitcoreSessionCreateDylib(s, NULL, "x"));
    EXPECT_INVALID(JitcoreSessionCreateDylib(s, &nd, NULL));
    EXPECT_INVALID(JitcoreSessionCreateDylib(s, &nd, ""));
    EXPECT_INVALID(JitcoreSessionCreateDylib(s, &nd, "main")); /* in use */
    EXPECT_INVALID(JitcoreSessionSetIRPipeline(NULL, JITCORE_IR_PIPELINE_NONE, NULL));
    EXPECT_INVALID(JitcoreSessionSetIRPipeline(s, JITCORE_IR_PIPELINE_CUSTOM, "cgscc(nosuchpass)"));
    PATH(CHECK(JitcoreSessionGetDylibByName(NULL, "main") == NULL));
    PATH(CHECK(JitcoreSessionGetDylibByName(s, NULL) == NULL));
    EXPECT_INVALID(JitcoreDylibSetLinkOrder(NULL, &d, 1));
    EXPECT_INVALID(JitcoreDylibSetLinkOrder(d, NULL, 1));
    EXPECT_INVALID(JitcoreDylibAddModule(NULL, NULL, NULL));
    EXPECT_INVALID(JitcoreDylibAddModule(d, NULL, NULL));
    EXPECT_INVALID(JitcoreDylibAddModuleLazy(NULL, NULL, NULL));
    EXPECT_INVALID(JitcoreDylibAddModuleLazy(d, NULL, NULL));
    EXPECT_INVALID(JitcoreDylibAddObjectBuffer(NULL, &byte, 1, NULL));
    EXPECT_INVALID(JitcoreDylibAddObjectBuffer(d, NULL, 1, NULL));
    EXPECT_INVALID(JitcoreDylibDefineAbsoluteSymbols(NULL, &def, 1));
    EXPECT_INVALID(JitcoreDylibDefineAbsoluteSymbols(d, NULL, 1));
    EXPECT_INVALID(JitcoreDylibDefineAbsoluteSymbols(d, &nodef, 1));
    EXPECT_INVALID(JitcoreDylibAddProcessSymbols(NULL, filter_all, NULL));
    EXPECT_INVALID(JitcoreDylibAddLibrarySymbols(NULL, "libm.so.6", NULL, NULL));
    EXPECT_INVALID(JitcoreDylibAddLibrarySymbols(d, NULL, NULL, NULL));
    EXPECT_INVALID(JitcoreDylibAddArchive(NULL, g_notobj));
    EXPECT_INVALID(JitcoreDylibAddArchive(d, NULL));
    EXPECT_INVALID(JitcoreDylibAddMaterializer(NULL, names, 1, flaky_materializer, NULL, NULL, NULL));
    EXPECT_INVALID(JitcoreDylibAddMaterializer(d, NULL, 1, flaky_materializer, NULL, NULL, NULL));
    EXPECT_INVALID(JitcoreDylibAddMaterializer(d, names, 0, flaky_materializer, NULL, NULL, NULL));
    EXPECT_INVALID(JitcoreDylibAddMaterializer(d, names, 1, NULL, NULL, NULL, NULL));
    EXPECT_INVALID(JitcoreDylibInitialize(NULL));
    EXPECT_INVALID(JitcoreDylibDeinitialize(NULL));
    EXPECT_INVALID(JitcoreSessionLookup(NULL, d, &addr, "x"));
    EXPECT_INVALID(JitcoreSessionLookup(s, NULL, &addr, "x"));
    EXPECT_INVALID(JitcoreSessionLookup(s, d, NULL, "x"));
    EXPECT_INVALID(JitcoreSessionLookup(s, d, &addr, NULL));
    uint64_t addrs[1];
    EXPECT_INVALID(JitcoreSessionLookupMany(NULL, d, addrs, names, 1));
    EXPECT_INVALID(JitcoreSessionLookupMany(s, NULL, addrs, names, 1));
    EXPECT_INVALID(JitcoreSessionLookupMany(s, d, NULL, names, 1));
    EXPECT_INVALID(JitcoreSessionLookupMany(s, d, addrs, NULL, 1));
    PATH(CHECK(JitcoreDylibCreateResourceTracker(NULL) == NULL));
    EXPECT_INVALID(JitcoreResourceTrackerRemove(NULL));
    JitcoreDisposeResourceTracker(NULL);
    JitcoreSessionSetObjectCache(NULL, NULL, NULL, NULL);
    JitcoreSessionSetErrorReporter(NULL, NULL, NULL);
    EXPECT_INVALID(JitcoreSessionGetStatistics(NULL, &st));
    EXPECT_INVALID(JitcoreSessionGetStatistics(s, NULL));
    PATH(CHECK(JitcoreDylibGetName(NULL) == NULL));
    JitcoreSessionSetDiskCache(NULL, NULL);
    /* target machines and data */
    EXPECT_INVALID(JitcoreCreateHostTargetMachine(NULL, JITCORE_OPT_LEVEL_O2));
    JitcoreTargetMachineRef tm2 = NULL;
    EXPECT_INVALID(JitcoreCreateHostTargetMachine(&tm2, (JitcoreOptLevel)7));
    JitcoreDisposeTargetMachine(NULL);
    PATH(CHECK(JitcoreTargetMachineGetTriple(NULL) == NULL));
    PATH(CHECK(JitcoreTargetDataGetPointerSize(NULL) == 0));
    JitcoreTargetDataRef td = JitcoreEngineGetTargetData(ee);
    EXPECT_INVALID(JitcoreTargetDataGetABISize(NULL, &addr, "i32"));
    EXPECT_INVALID(JitcoreTargetDataGetABISize(td, NULL, "i32"));
    EXPECT_INVALID(JitcoreTargetDataGetABISize(td, &addr, NULL));
    EXPECT_INVALID(JitcoreTargetDataGetABISize(td, &addr, "not a type"));
    EXPECT_INVALID(JitcoreTargetDataGetABIAlignment(NULL, &addr, "i32"));
    EXPECT_INVALID(JitcoreTargetDataGetABIAlignment(td, NULL, "i32"));
    EXPECT_INVALID(JitcoreTargetDataGetABIAlignment(td, &addr, "[1 x"));
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.OptLevel = (JitcoreOptLevel)9;
    JitcoreSessionRef s2 = NULL;
    EXPECT_INVALID(JitcoreCreateSession(&s2, &o));
}

static void bad_input(JitcoreEngineRef ee, JitcoreSessionRef s, int iteration)
{
    JitcoreModuleRef m = NULL;
    const char syntax[] = "define i32 @f( {\n";
    EXPECT_ERR(JitcoreCreateModuleFromIR(&m, "syntax", syntax, strlen(syntax)), JITCORE_ERROR_INVALID_IR, "syntax");
    const char verify[] = "define i32 @f() {\n  ret i64 0\n}\n";
    EXPECT_ERR(JitcoreCreateModuleFromIR(&m, "verify", verify, strlen(verify)), JITCORE_ERROR_INVALID_IR, "verify");
    char deep[2200];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    EXPECT_ERR(JitcoreCreateModuleFromIR(&m, "deep", deep, strlen(deep)), JITCORE_ERROR_INVALID_IR, "deep");
    static const char badbc[] = "BC\xc0\xde\x01\x02\x03\x04garbage";
    EXPECT_ERR(JitcoreCreateModuleFromIR(&m, "badbc", badbc, sizeof badbc - 1), JITCORE_ERROR_INVALID_IR, "badbc");
    if (iteration % 20 == 0) /* a fork each: not every time */
        EXPECT_ERR(JitcoreCreateModuleFromUntrustedIR(&m, "untrusted", syntax, strlen(syntax)),
                   JITCORE_ERROR_INVALID_IR, "untrusted");
    PATH(CHECK(m == NULL));

    uint8_t junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 7 + 3);
    EXPECT_ERR(JitcoreEngineAddObjectBuffer(ee, junk, sizeof junk), JITCORE_ERROR_INVALID_OBJECT, "");
    memcpy(junk, "\x7f" "ELF\x02\x01\x01", 7);
    EXPECT_ERR(JitcoreEngineAddObjectBuffer(ee, junk, 64), JITCORE_ERROR_INVALID_OBJECT, "");
    EXPECT_ERR(JitcoreEngineAddObjectFile(ee, "/nonexistent/jitcore/obj.o"), JITCORE_ERROR_IO, "/nonexistent");
    EXPECT_ERR(JitcoreEngineAddObjectFile(ee, g_notobj), JITCORE_ERROR_INVALID_OBJECT, "");
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    EXPECT_ERR(JitcoreDylibAddObjectBuffer(d, junk, sizeof junk, NULL), JITCORE_ERROR_INVALID_OBJECT, "");
    EXPECT_ERR(JitcoreDylibAddArchive(d, "/nonexistent/jitcore/lib.a"), JITCORE_ERROR_IO, "/nonexistent");
    EXPECT_ERR(JitcoreDylibAddArchive(d, g_notobj), JITCORE_ERROR_INVALID_OBJECT, "");
    EXPECT_ERR(JitcoreDylibAddLibrarySymbols(d, "/nonexistent/jitcore/lib.so", NULL, NULL), JITCORE_ERROR_IO,
               "/nonexistent");
}

static void symbols(JitcoreEngineRef ee, JitcoreSessionRef s, JitcoreTargetMachineRef tm)
{
    uint64_t addr = 0;
    /* missing */
    EXPECT_ERR(JitcoreEngineGetFunctionAddress(ee, &addr, "ep_missing"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "ep_missing");
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    EXPECT_ERR(JitcoreSessionLookup(s, d, &addr, "ep_missing"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "ep_missing");
    const char *names[2] = {"sum", "ep_missing"};
    uint64_t addrs[2];
    EXPECT_ERR(JitcoreSessionLookupMany(s, d, addrs, names, 2), JITCORE_ERROR_SYMBOL_NOT_FOUND, "ep_missing");

    /* unresolved, then retry (engine) */
    const char needs[] = "declare i32 @ep_ext()\ndefine i32 @ep_user() {\n  %v = call i32 @ep_ext()\n"
                         "  %r = add i32 %v, 2\n  ret i32 %r\n}\n";
    JitcoreModuleRef m = MAKE_MODULE("needs_ext", needs);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    EXPECT_ERR(JitcoreEngineGetFunctionAddress(ee, &addr, "ep_user"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "ep_ext");
    EXPECT_ERR(JitcoreEngineFinalizeObject(ee), JITCORE_ERROR_UNRESOLVED_SYMBOL, "ep_ext");
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "ep_ext", HOST_ADDR(host_forty)));
    addr = LOOKUP(ee, "ep_user");
    PATH(CHECK(addr && FN(int (*)(void), addr)() == 42));
    /* duplicates, twice added, not added */
    EXPECT_ERR(JitcoreEngineAddGlobalMapping(ee, "ep_ext", 1), JITCORE_ERROR_DUPLICATE_DEFINITION, "ep_ext");
    EXPECT_ERR(JitcoreEngineAddModule(ee, m), JITCORE_ERROR_MODULE_ALREADY_ADDED, "");
    JitcoreModuleRef dup = MAKE_MODULE("dup_sum", SUM_IR);
    EXPECT_ERR(JitcoreEngineAddModule(ee, dup), JITCORE_ERROR_DUPLICATE_DEFINITION, "sum");
    EXPECT_ERR(JitcoreEngineRemoveModule(ee, dup), JITCORE_ERROR_MODULE_NOT_FOUND, "");
    JitcoreDisposeModule(dup);

    /* unresolved, then retry (session, own dylib) */
    JitcoreDylibRef lib = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &lib, "eplib"));
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(lib);
    CHECK_OK(JitcoreDylibAddModule(lib, MAKE_MODULE("needs_ext", needs), rt));
    EXPECT_ERR(JitcoreSessionLookup(s, lib, &addr, "ep_user"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "ep_ext");
    JitcoreSymbolDefinition def = {"ep_ext", HOST_ADDR(host_forty)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(lib, &def, 1));
    EXPECT_ERR(JitcoreDylibDefineAbsoluteSymbols(lib, &def, 1), JITCORE_ERROR_DUPLICATE_DEFINITION, "ep_ext");
    addr = SESSION_LOOKUP(s, lib, "ep_user");
    PATH(CHECK(addr && FN(int (*)(void), addr)() == 42));
    JitcoreModuleRef dup2 = MAKE_MODULE("dup_user", needs);
    EXPECT_ERR(JitcoreDylibAddModule(lib, dup2, NULL), JITCORE_ERROR_DUPLICATE_DEFINITION, "ep_user");
    JitcoreDisposeModule(dup2);
    /* a tracker removed twice, then used */
    CHECK_OK(JitcoreResourceTrackerRemove(rt));
    JitcoreErrorRef twice = JitcoreResourceTrackerRemove(rt);
    PATH(CHECK_MSG(twice == NULL || JitcoreGetErrorCode(twice) == JITCORE_ERROR_INVALID_ARGUMENT,
                   "removing a tracker twice: expected success or INVALID_ARGUMENT, got %s",
                   tu_code_name(JitcoreGetErrorCode(twice))));
    JitcoreConsumeError(twice);
    JitcoreModuleRef late = MAKE_MODULE("late", "define i32 @ep_late() { ret i32 1 }\n");
    EXPECT_ERR(JitcoreDylibAddModule(lib, late, rt), JITCORE_ERROR_INVALID_ARGUMENT, "");
    JitcoreDisposeModule(late);
    JitcoreDisposeResourceTracker(rt);

    /* a constructor that cannot link yet, then runs once it can; its
       handler and destructor are dropped with its tracker */
    const char ctor[] = "declare i32 @ep_ctor_ext()\ndeclare i32 @atexit(ptr)\n@ep_ran = global i32 0\n"
                        "define internal void @ep_bye() {\n  store i32 -1, ptr @ep_ran\n  ret void\n}\n"
                        "define internal void @ep_ctor() {\n  %v = call i32 @ep_ctor_ext()\n"
                        "  store i32 %v, ptr @ep_ran\n  %r = call i32 @atexit(ptr @ep_bye)\n  ret void\n}\n"
                        "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] "
                        "[{ i32, ptr, ptr } { i32 1, ptr @ep_ctor, ptr null }]\n"
                        "@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] "
                        "[{ i32, ptr, ptr } { i32 1, ptr @ep_bye, ptr null }]\n";
    JitcoreResourceTrackerRef crt = JitcoreDylibCreateResourceTracker(lib);
    CHECK_OK(JitcoreDylibAddModule(lib, MAKE_MODULE("ep_ctor", ctor), crt));
    EXPECT_ERR(JitcoreDylibInitialize(lib), JITCORE_ERROR_UNRESOLVED_SYMBOL, "ep_ctor_ext");
    JitcoreSymbolDefinition cdef = {"ep_ctor_ext", HOST_ADDR(host_forty)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(lib, &cdef, 1));
    CHECK_OK(JitcoreDylibInitialize(lib));
    addr = SESSION_LOOKUP(s, lib, "ep_ran");
    PATH(CHECK(addr && *(int *)(uintptr_t)addr == 40));
    CHECK_OK(JitcoreResourceTrackerRemove(crt));
    CHECK_OK(JitcoreDylibDeinitialize(lib));
    JitcoreDisposeResourceTracker(crt);

    /* a failing materializer, then the retry works; Dispose runs once */
    int disposed = 0;
    struct mat_ctx *mc = calloc(1, sizeof *mc);
    mc->disposed = &disposed;
    const char *mnames[1] = {"mat_fn"};
    JitcoreResourceTrackerRef mrt = JitcoreDylibCreateResourceTracker(lib);
    CHECK_OK(JitcoreDylibAddMaterializer(lib, mnames, 1, flaky_materializer, mat_dispose, mc, mrt));
    EXPECT_ERR(JitcoreSessionLookup(s, lib, &addr, "mat_fn"), JITCORE_ERROR_COMPILE, "says no");
    addr = SESSION_LOOKUP(s, lib, "mat_fn");
    PATH(CHECK(addr && FN(int (*)(void), addr)() == 77));
    /* a second materializer for the same name is a duplicate: Dispose runs before the call returns */
    int disposed2 = 0;
    struct mat_ctx *mc2 = calloc(1, sizeof *mc2);
    mc2->disposed = &disposed2;
    EXPECT_ERR(JitcoreDylibAddMaterializer(lib, mnames, 1, flaky_materializer, mat_dispose, mc2, NULL),
               JITCORE_ERROR_DUPLICATE_DEFINITION, "mat_fn");
    PATH(CHECK_EQ_INT(disposed2, 1));
    CHECK_OK(JitcoreResourceTrackerRemove(mrt));
    PATH(CHECK_EQ_INT(disposed, 1));
    JitcoreDisposeResourceTracker(mrt);

    /* a corrupt disk cache entry: dropped, compiled, right */
    char ir[256];
    snprintf(ir, sizeof ir, "define i32 @ep_cached() { ret i32 %d }\n", 4242);
    char *entry = ENTRY_PATH(g_dir, "ep_cached", ir, JITCORE_OPT_LEVEL_O2);
    PATH(CHECK(entry && tu_write_file(entry, "\x89JITOBJ\nnot really an entry", 27)));
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(g_dir, 0);
    JitcoreEngineRef cee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, NULL);
    JitcoreDisposeObjectCache(c);
    CHECK_OK(JitcoreEngineAddModule(cee, MAKE_MODULE("ep_cached", ir)));
    addr = LOOKUP(cee, "ep_cached");
    PATH(CHECK(addr && FN(int (*)(void), addr)() == 4242));
    JitcoreStatistics cst = GET_STATS(cee);
    PATH(CHECK_EQ_U64(cst.ModulesCompiled, 1));
    JitcoreDisposeEngine(cee);
    if (entry)
        unlink(entry);
    free(entry);
    (void)tm;
}

static void disposed_session(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "doomed"));
    JitcoreDylibRef main = JitcoreSessionGetMainDylib(s);
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(d);
    JitcoreDisposeSession(s);
    JitcoreModuleRef m = MAKE_MODULE("orphan", SUM_IR);
    EXPECT_ERR(JitcoreDylibAddModule(d, m, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "dylib");
    EXPECT_ERR(JitcoreDylibAddModuleLazy(main, m, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "dylib");
    JitcoreDisposeModule(m);
    PATH(CHECK(JitcoreDylibCreateResourceTracker(d) == NULL));
    PATH(CHECK(JitcoreDylibGetName(d) == NULL));
    JitcoreSymbolDefinition def = {"x", 1};
    EXPECT_ERR(JitcoreDylibDefineAbsoluteSymbols(d, &def, 1), JITCORE_ERROR_INVALID_ARGUMENT, "dylib");
    EXPECT_ERR(JitcoreDylibSetLinkOrder(d, &main, 1), JITCORE_ERROR_INVALID_ARGUMENT, "");
    EXPECT_ERR(JitcoreDylibAddProcessSymbols(d, NULL, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "");
    EXPECT_INVALID(JitcoreResourceTrackerRemove(rt));
    JitcoreDisposeResourceTracker(rt);
}

static void one_iteration(JitcoreTargetMachineRef tm, int iteration)
{
    g_paths = 0;
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    JitcoreSessionRef s = NEW_SESSION();
    if (!ee || !s)
        return;
    CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(s), MAKE_MODULE("sum_module", SUM_IR), NULL));
    null_arguments(ee, s, tm);
    bad_input(ee, s, iteration);
    symbols(ee, s, tm);
    CHECK_SUM_WORKS(ee);
    JitcoreDisposeEngine(ee);
    JitcoreDisposeSession(s);
    disposed_session();
}

int main(void)
{
    du_install_crash_handler("error_paths");
    long k = du_env_long("JITCORE_ERROR_PATHS_ITERATIONS", 200);
    long warm = k / 10 < 5 ? 5 : k / 10;
    if (warm > k)
        warm = k;
    g_dir = tu_make_temp_dir();
    g_notobj = g_dir ? tu_path_join(g_dir, "notes.txt") : NULL;
    if (!g_dir || !g_notobj || !tu_write_file(g_notobj, "neither an object nor an archive\n", 33))
        return 2;
    JitcoreTargetMachineRef tm = MAKE_TM(JITCORE_OPT_LEVEL_O2);
    long i = 0;
    for (; i < warm; i++)
        one_iteration(tm, (int)i);
    long rss_warm = tu_rss_kib();
    for (; i < k; i++)
        one_iteration(tm, (int)i);
    long rss_end = tu_rss_kib();
    JitcoreDisposeTargetMachine(tm);
    long growth = rss_end - rss_warm;
    int grew = growth > 2048;
    printf("error_paths: %ld iterations, %d paths each, RSS warm %ld KiB, end %ld KiB, growth %ld KiB (limit 2048)%s\n",
           k, g_paths, rss_warm, rss_end, growth, grew ? ": TOO MUCH" : "");
    dc_remove_dir(g_dir);
    free(g_notobj);
    free(g_dir);
    int rc = tu_finish("error_paths");
    return rc || grew;
}
