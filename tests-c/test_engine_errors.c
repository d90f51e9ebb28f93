/*
 * test_engine_errors.c: every error path of the engine and module API
 * returns the documented code and a message naming the culprit, leaves
 * out-parameters untouched, and leaves the engine usable (sum still runs).
 *
 *  - NULL arguments to every function taking pointers -> INVALID_ARGUMENT
 *  - out-of-range opt levels -> INVALID_ARGUMENT
 *  - lookups of undefined symbols -> SYMBOL_NOT_FOUND naming the symbol
 *  - an undeclared external -> UNRESOLVED_SYMBOL naming it and the module,
 *    from JitcoreEngineFinalizeObject and from lookups; retry succeeds once
 *    a module defines it or a global mapping provides it
 *  - duplicate definitions across modules -> DUPLICATE_DEFINITION
 *  - a module for another architecture -> UNSUPPORTED (one whose triple
 *    names no architecture, unknown-unknown-unknown, is accepted)
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#define SENTINEL 0x5eed5eed5eed5eedULL

static void test_null_arguments(void)
{
    JitcoreModuleRef m = MAKE_MODULE("sum_module", SUM_IR);
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    if (!ee)
        return;
    CHECK_SUM_WORKS(ee);
    JitcoreTargetMachineRef tm = MAKE_TM(JITCORE_OPT_LEVEL_O0);
    JitcoreModuleRef other = MAKE_MODULE("other_module", "define i32 @other() {\n  ret i32 5\n}\n");
    uint64_t out = SENTINEL;
    static const uint8_t bytes[16] = {0x7f, 'E', 'L', 'F'};

    /* JitcoreCreateMCJITCompiler */
    CHECK_ERR(JitcoreCreateMCJITCompiler(NULL, NULL, tm), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    JitcoreEngineRef ee2 = (JitcoreEngineRef)(uintptr_t)SENTINEL;
    CHECK_ERR(JitcoreCreateMCJITCompiler(&ee2, NULL, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "TM");
    CHECK(ee2 == (JitcoreEngineRef)(uintptr_t)SENTINEL);
    /* with a module: nothing changes hands, `other` is still the caller's */
    CHECK_ERR(JitcoreCreateMCJITCompiler(&ee2, other, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "TM");
    CHECK(ee2 == (JitcoreEngineRef)(uintptr_t)SENTINEL);
    CHECK_STR_EQ(JitcoreModuleGetName(other), "other_module");

    /* JitcoreEngineAddModule / RemoveModule */
    CHECK_ERR(JitcoreEngineAddModule(NULL, other), JITCORE_ERROR_INVALID_ARGUMENT, "engine|EE");
    CHECK_ERR(JitcoreEngineAddModule(ee, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "module|M");
    CHECK_ERR(JitcoreEngineRemoveModule(NULL, m), JITCORE_ERROR_INVALID_ARGUMENT, "engine|EE");
    CHECK_ERR(JitcoreEngineRemoveModule(ee, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "module|M");
    CHECK_SUM_WORKS(ee); /* removing with a NULL engine did not remove it */

    /* JitcoreEngineFinalizeObject */
    CHECK_ERR(JitcoreEngineFinalizeObject(NULL), JITCORE_ERROR_INVALID_ARGUMENT, "engine|EE");

    /* lookups */
    CHECK_ERR(JitcoreEngineGetFunctionAddress(NULL, &out, "sum"), JITCORE_ERROR_INVALID_ARGUMENT, "engine|EE");
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, NULL, "sum"), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "Name");
    CHECK_ERR(JitcoreEngineGetGlobalValueAddress(NULL, &out, "sum"), JITCORE_ERROR_INVALID_ARGUMENT,
              "engine|EE");
    CHECK_ERR(JitcoreEngineGetGlobalValueAddress(ee, NULL, "sum"), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    CHECK_ERR(JitcoreEngineGetGlobalValueAddress(ee, &out, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "Name");
    CHECK_EQ_U64(out, SENTINEL);

    /* objects */
    CHECK_ERR(JitcoreEngineAddObjectFile(NULL, "/nonexistent.o"), JITCORE_ERROR_INVALID_ARGUMENT, "engine|EE");
    CHECK_ERR(JitcoreEngineAddObjectFile(ee, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "Path");
    CHECK_ERR(JitcoreEngineAddObjectBuffer(NULL, bytes, sizeof bytes), JITCORE_ERROR_INVALID_ARGUMENT,
              "engine|EE");
    CHECK_ERR(JitcoreEngineAddObjectBuffer(ee, NULL, 16), JITCORE_ERROR_INVALID_ARGUMENT, "Data");

    /* global mappings */
    CHECK_ERR(JitcoreEngineAddGlobalMapping(NULL, "x", 0x1000), JITCORE_ERROR_INVALID_ARGUMENT, "engine|EE");
    CHECK_ERR(JitcoreEngineAddGlobalMapping(ee, NULL, 0x1000), JITCORE_ERROR_INVALID_ARGUMENT, "Name");

    /* static constructors and destructors */
    CHECK_ERR(JitcoreEngineRunStaticConstructors(NULL), JITCORE_ERROR_INVALID_ARGUMENT, "engine|EE");
    CHECK_ERR(JitcoreEngineRunStaticDestructors(NULL), JITCORE_ERROR_INVALID_ARGUMENT, "engine|EE");

    /* statistics */
    JitcoreStatistics st;
    memset(&st, 0xab, sizeof st);
    CHECK_ERR(JitcoreEngineGetStatistics(NULL, &st), JITCORE_ERROR_INVALID_ARGUMENT, "engine|EE");
    CHECK_EQ_U64(st.ModulesCompiled, 0xababababababababULL); /* untouched */
    CHECK_ERR(JitcoreEngineGetStatistics(ee, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "Result");

    /* functions returning NULL / 0 for NULL */
    CHECK(JitcoreEngineGetTargetData(NULL) == NULL);
    CHECK_EQ_INT(JitcoreTargetDataGetPointerSize(NULL), 0);
    CHECK(JitcoreModuleGetName(NULL) == NULL);
    CHECK(JitcoreTargetMachineGetTriple(NULL) == NULL);
    CHECK(JitcoreCreateObjectBufferCopy(NULL, 8) == NULL);
    JitcoreObjectBufferRef empty = JitcoreCreateObjectBufferCopy(NULL, 0);
    CHECK(empty != NULL);
    JitcoreDisposeObjectBuffer(empty);

    /* setters with a NULL engine are ignored (void functions) */
    JitcoreEngineSetObjectCache(NULL, NULL, NULL, NULL);
    JitcoreEngineSetErrorReporter(NULL, NULL, NULL);

    /* dispose functions accept NULL */
    JitcoreDisposeEngine(NULL);
    JitcoreDisposeModule(NULL);
    JitcoreDisposeTargetMachine(NULL);
    JitcoreDisposeObjectBuffer(NULL);
    JitcoreDisposeErrorMessage(NULL);
    JitcoreConsumeError(NULL);

    /* modules */
    JitcoreModuleRef mm = (JitcoreModuleRef)(uintptr_t)SENTINEL;
    CHECK_ERR(JitcoreCreateModuleFromIR(NULL, "n", SUM_IR, strlen(SUM_IR)), JITCORE_ERROR_INVALID_ARGUMENT,
              "Result");
    CHECK_ERR(JitcoreCreateModuleFromIR(&mm, NULL, SUM_IR, strlen(SUM_IR)), JITCORE_ERROR_INVALID_ARGUMENT,
              "Name");
    CHECK_ERR(JitcoreCreateModuleFromIR(&mm, "n", NULL, 10), JITCORE_ERROR_INVALID_ARGUMENT, "Data");
    CHECK(mm == (JitcoreModuleRef)(uintptr_t)SENTINEL);
    CHECK_ERR(JitcoreCreateModuleFromLLVMModule(NULL, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "Result|M");
    CHECK_ERR(JitcoreCreateModuleFromLLVMModule(&mm, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "M|module");
    CHECK(mm == (JitcoreModuleRef)(uintptr_t)SENTINEL);

    /* target machines and target data */
    CHECK_ERR(JitcoreCreateHostTargetMachine(NULL, JITCORE_OPT_LEVEL_O2), JITCORE_ERROR_INVALID_ARGUMENT,
              "Result");
    JitcoreTargetDataRef td = JitcoreEngineGetTargetData(ee);
    CHECK(td != NULL);
    CHECK_ERR(JitcoreTargetDataGetABISize(NULL, &out, "i32"), JITCORE_ERROR_INVALID_ARGUMENT, "TD");
    CHECK_ERR(JitcoreTargetDataGetABISize(td, NULL, "i32"), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    CHECK_ERR(JitcoreTargetDataGetABISize(td, &out, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "IRType");
    CHECK_ERR(JitcoreTargetDataGetABIAlignment(NULL, &out, "i32"), JITCORE_ERROR_INVALID_ARGUMENT, "TD");
    CHECK_ERR(JitcoreTargetDataGetABIAlignment(td, NULL, "i32"), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    CHECK_ERR(JitcoreTargetDataGetABIAlignment(td, &out, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "IRType");
    CHECK_EQ_U64(out, SENTINEL);

    /* the engine is still fine, and `other` can still be added */
    CHECK_SUM_WORKS(ee);
    CHECK_OK(JitcoreEngineAddModule(ee, other));
    uint64_t o = LOOKUP(ee, "other");
    if (o)
        CHECK_EQ_INT(FN(int (*)(void), o)(), 5);
    JitcoreDisposeTargetMachine(tm);
    JitcoreDisposeEngine(ee);
}

static void test_opt_levels_out_of_range(void)
{
    static const unsigned bad[] = {4, 7, 100, 0x7fffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        JitcoreTargetMachineRef tm = (JitcoreTargetMachineRef)(uintptr_t)SENTINEL;
        char num[32];
        snprintf(num, sizeof num, "%u", bad[i]);
        CHECK_ERR(JitcoreCreateHostTargetMachine(&tm, (JitcoreOptLevel)bad[i]), JITCORE_ERROR_INVALID_ARGUMENT,
                  num);
        CHECK(tm == (JitcoreTargetMachineRef)(uintptr_t)SENTINEL);
    }
    /* the valid levels still work afterwards */
    for (int level = 0; level <= 3; level++) {
        JitcoreTargetMachineRef tm = MAKE_TM((JitcoreOptLevel)level);
        CHECK(tm != NULL);
        JitcoreDisposeTargetMachine(tm);
    }
}

static void test_symbol_not_found(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    if (!ee)
        return;
    uint64_t out = SENTINEL;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "no_such_function"), JITCORE_ERROR_SYMBOL_NOT_FOUND,
              "no_such_function");
    CHECK_ERR(JitcoreEngineGetGlobalValueAddress(ee, &out, "no_such_global"), JITCORE_ERROR_SYMBOL_NOT_FOUND,
              "no_such_global");
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, ""), JITCORE_ERROR_SYMBOL_NOT_FOUND, "");
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "Sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "Sum");
    CHECK_EQ_U64(out, SENTINEL);
    CHECK_SUM_WORKS(ee);
    /* looking up after a failure still finds nothing, and sum still works */
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "no_such_function"), JITCORE_ERROR_SYMBOL_NOT_FOUND,
              "no_such_function");
    CHECK_SUM_WORKS(ee);
    /* an empty engine */
    JitcoreEngineRef empty = MAKE_ENGINE(NULL);
    CHECK_ERR(JitcoreEngineGetFunctionAddress(empty, &out, "sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "sum");
    CHECK_OK(JitcoreEngineFinalizeObject(empty)); /* nothing to do */
    JitcoreDisposeEngine(empty);
    JitcoreDisposeEngine(ee);
}

static const char NEEDS_EXT_IR[] =
    "declare i32 @nobody_defines_this(i32)\n"
    "define i32 @use_ext(i32 %x) {\n"
    "  %r = call i32 @nobody_defines_this(i32 %x)\n"
    "  %r1 = add i32 %r, 1\n"
    "  ret i32 %r1\n"
    "}\n";

static int32_t host_nobody(int32_t x) { return x * 10; }

static void test_unresolved_symbol(int use_mapping)
{
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    if (!ee)
        return;
    JitcoreModuleRef needs = MAKE_MODULE("needs_ext", NEEDS_EXT_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, needs));

    /* FinalizeObject tries every module and reports the failing one */
    CHECK_ERR2(JitcoreEngineFinalizeObject(ee), JITCORE_ERROR_UNRESOLVED_SYMBOL, "nobody_defines_this",
               "needs_ext");
    JitcoreStatistics st = GET_STATS(ee);
    CHECK(st.MaterializationFailures >= 1);
    CHECK_SUM_WORKS(ee); /* the other module compiled and runs */

    uint64_t out = SENTINEL;
    CHECK_ERR2(JitcoreEngineGetFunctionAddress(ee, &out, "use_ext"), JITCORE_ERROR_UNRESOLVED_SYMBOL,
               "nobody_defines_this", "needs_ext");
    CHECK_EQ_U64(out, SENTINEL);
    /* a second try without a fix fails the same way */
    CHECK_ERR2(JitcoreEngineGetFunctionAddress(ee, &out, "use_ext"), JITCORE_ERROR_UNRESOLVED_SYMBOL,
               "nobody_defines_this", "needs_ext");
    CHECK_EQ_U64(out, SENTINEL);
    CHECK_SUM_WORKS(ee);

    /* provide the symbol and retry */
    if (use_mapping) {
        CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "nobody_defines_this", HOST_ADDR(&host_nobody)));
    } else {
        JitcoreModuleRef provider = MAKE_MODULE("provider",
                                                "define i32 @nobody_defines_this(i32 %x) {\n"
                                                "  %r = add i32 %x, 100\n"
                                                "  ret i32 %r\n"
                                                "}\n");
        CHECK_OK(JitcoreEngineAddModule(ee, provider));
    }
    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    uint64_t u = LOOKUP(ee, "use_ext");
    if (u) {
        int r = FN(int (*)(int), u)(4);
        CHECK_EQ_INT(r, use_mapping ? 41 : 105);
    }
    CHECK_SUM_WORKS(ee);
    JitcoreDisposeEngine(ee);
}

static void test_unresolved_lookup_first(void)
{
    /* the lookup (not FinalizeObject) is the first to compile it */
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("needs_ext_2", NEEDS_EXT_IR));
    if (!ee)
        return;
    uint64_t out = SENTINEL;
    CHECK_ERR2(JitcoreEngineGetFunctionAddress(ee, &out, "use_ext"), JITCORE_ERROR_UNRESOLVED_SYMBOL,
               "nobody_defines_this", "needs_ext_2");
    CHECK_EQ_U64(out, SENTINEL);
    /* the engine still takes and runs other modules */
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("sum_module", SUM_IR)));
    CHECK_SUM_WORKS(ee);
    CHECK_ERR2(JitcoreEngineFinalizeObject(ee), JITCORE_ERROR_UNRESOLVED_SYMBOL, "nobody_defines_this",
               "needs_ext_2");
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "nobody_defines_this", HOST_ADDR(&host_nobody)));
    uint64_t u = LOOKUP(ee, "use_ext");
    if (u)
        CHECK_EQ_INT(FN(int (*)(int), u)(-3), -29);
    JitcoreDisposeEngine(ee);
}

static void test_unresolved_global_variable(void)
{
    static const char IR[] =
        "@missing_var = external global i64\n"
        "define i64 @read_missing() {\n"
        "  %v = load i64, ptr @missing_var\n"
        "  ret i64 %v\n"
        "}\n";
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("needs_var", IR));
    if (!ee)
        return;
    uint64_t out = SENTINEL;
    CHECK_ERR2(JitcoreEngineGetFunctionAddress(ee, &out, "read_missing"), JITCORE_ERROR_UNRESOLVED_SYMBOL,
               "missing_var", "needs_var");
    static int64_t host_var = 987654321;
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "missing_var", HOST_ADDR(&host_var)));
    uint64_t r = LOOKUP(ee, "read_missing");
    if (r)
        CHECK_EQ_INT(FN(int64_t(*)(void), r)(), 987654321);
    JitcoreDisposeEngine(ee);
}

static void test_duplicate_definition(void)
{
    JitcoreModuleRef a = MAKE_MODULE("first_sum", SUM_IR);
    JitcoreEngineRef ee = MAKE_ENGINE(a);
    if (!ee)
        return;
    /* another module defining sum (and something else) */
    JitcoreModuleRef b = MAKE_MODULE("second_sum",
                                     "define i32 @unique_b() {\n  ret i32 9\n}\n"
                                     "define i32 @sum(i32 %a, i32 %b) {\n"
                                     "  %r = sub i32 %a, %b\n"
                                     "  ret i32 %r\n"
                                     "}\n");
    CHECK_ERR(JitcoreEngineAddModule(ee, b), JITCORE_ERROR_DUPLICATE_DEFINITION, "sum");
    /* b is still the caller's and none of its symbols were added */
    CHECK_STR_EQ(JitcoreModuleGetName(b), "second_sum");
    uint64_t out = SENTINEL;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "unique_b"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "unique_b");
    CHECK_SUM_WORKS(ee); /* still the first definition */

    /* a global variable clash */
    JitcoreModuleRef g1 = MAKE_MODULE("g1", "@shared_var = global i32 1\n");
    JitcoreModuleRef g2 = MAKE_MODULE("g2", "@shared_var = global i32 2\n");
    CHECK_OK(JitcoreEngineAddModule(ee, g1));
    CHECK_ERR(JitcoreEngineAddModule(ee, g2), JITCORE_ERROR_DUPLICATE_DEFINITION, "shared_var");
    uint64_t va = 0;
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &va, "shared_var"));
    if (va)
        CHECK_EQ_INT(*(int32_t *)(uintptr_t)va, 1);

    /* internal symbols of the same name do not clash */
    JitcoreModuleRef i1 = MAKE_MODULE("internal_1",
                                      "define internal i32 @helper() {\n  ret i32 1\n}\n"
                                      "define i32 @use_helper_1() {\n"
                                      "  %r = call i32 @helper()\n  ret i32 %r\n}\n");
    JitcoreModuleRef i2 = MAKE_MODULE("internal_2",
                                      "define internal i32 @helper() {\n  ret i32 2\n}\n"
                                      "define i32 @use_helper_2() {\n"
                                      "  %r = call i32 @helper()\n  ret i32 %r\n}\n");
    CHECK_OK(JitcoreEngineAddModule(ee, i1));
    CHECK_OK(JitcoreEngineAddModule(ee, i2));
    uint64_t h1 = LOOKUP(ee, "use_helper_1");
    uint64_t h2 = LOOKUP(ee, "use_helper_2");
    if (h1)
        CHECK_EQ_INT(FN(int (*)(void), h1)(), 1);
    if (h2)
        CHECK_EQ_INT(FN(int (*)(void), h2)(), 2);

    /* a global mapping clashing with a module's definition */
    CHECK_ERR(JitcoreEngineAddGlobalMapping(ee, "sum", 0x1000), JITCORE_ERROR_DUPLICATE_DEFINITION, "sum");
    /* a module clashing with a global mapping */
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "mapped_fn", HOST_ADDR(&host_nobody)));
    JitcoreModuleRef c = MAKE_MODULE("defines_mapped", "define i32 @mapped_fn(i32 %x) {\n  ret i32 %x\n}\n");
    CHECK_ERR(JitcoreEngineAddModule(ee, c), JITCORE_ERROR_DUPLICATE_DEFINITION, "mapped_fn");

    /* creating an engine with a module works, and the failed ones can go
       to another engine */
    JitcoreEngineRef ee2 = MAKE_ENGINE(b);
    uint64_t s = LOOKUP(ee2, "sum");
    if (s)
        CHECK_EQ_INT(FN(tu_sum_fn, s)(10, 4), 6); /* b's sum subtracts */
    CHECK_SUM_WORKS(ee);
    JitcoreDisposeModule(g2);
    JitcoreDisposeModule(c);
    JitcoreDisposeEngine(ee2);
    JitcoreDisposeEngine(ee);
}

static void test_create_engine_with_bad_module(void)
{
    /* a module added to one engine cannot seed another; nothing changes hands */
    JitcoreModuleRef m = MAKE_MODULE("seed", SUM_IR);
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    JitcoreTargetMachineRef tm = MAKE_TM(JITCORE_OPT_LEVEL_O1);
    JitcoreEngineRef ee2 = (JitcoreEngineRef)(uintptr_t)SENTINEL;
    CHECK_ERR(JitcoreCreateMCJITCompiler(&ee2, m, tm), JITCORE_ERROR_MODULE_ALREADY_ADDED, "seed");
    CHECK(ee2 == (JitcoreEngineRef)(uintptr_t)SENTINEL);
    CHECK_SUM_WORKS(ee);
    /* a dead handle */
    JitcoreModuleRef dead = MAKE_MODULE("dead", SUM_IR);
    JitcoreDisposeModule(dead);
    CHECK_ERR(JitcoreCreateMCJITCompiler(&ee2, dead, tm), JITCORE_ERROR_INVALID_ARGUMENT, "module|handle|M");
    CHECK(ee2 == (JitcoreEngineRef)(uintptr_t)SENTINEL);
    CHECK_ERR(JitcoreEngineAddModule(ee, dead), JITCORE_ERROR_INVALID_ARGUMENT, "module|handle|M");
    CHECK_ERR(JitcoreEngineRemoveModule(ee, dead), JITCORE_ERROR_INVALID_ARGUMENT, "module|handle|M");
    CHECK(JitcoreModuleGetName(dead) == NULL);
    JitcoreDisposeModule(dead); /* a freed handle: ignored */
    CHECK_SUM_WORKS(ee);
    JitcoreDisposeTargetMachine(tm);
    JitcoreDisposeEngine(ee);
}

static void test_foreign_target(void)
{
#if defined(__x86_64__)
    const char *foreign = "aarch64-unknown-linux-gnu";
#else
    const char *foreign = "x86_64-unknown-linux-gnu";
#endif
    char ir[512];
    snprintf(ir, sizeof ir,
             "target triple = \"%s\"\n"
             "define i32 @foreign_fn() {\n  ret i32 1\n}\n",
             foreign);
    JitcoreModuleRef m = MAKE_MODULE("foreign_mod", ir);
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    if (!ee || !m) {
        JitcoreDisposeModule(m);
        JitcoreDisposeEngine(ee);
        return;
    }
    CHECK_ERR2(JitcoreEngineAddModule(ee, m), JITCORE_ERROR_UNSUPPORTED, "foreign_mod", foreign);
    uint64_t out = SENTINEL;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "foreign_fn"), JITCORE_ERROR_SYMBOL_NOT_FOUND,
              "foreign_fn");
    CHECK_SUM_WORKS(ee);
    /* still the caller's */
    CHECK_STR_EQ(JitcoreModuleGetName(m), "foreign_mod");
    JitcoreTargetMachineRef tm = MAKE_TM(JITCORE_OPT_LEVEL_O2);
    JitcoreEngineRef ee2 = (JitcoreEngineRef)(uintptr_t)SENTINEL;
    CHECK_ERR(JitcoreCreateMCJITCompiler(&ee2, m, tm), JITCORE_ERROR_UNSUPPORTED, "foreign_mod");
    CHECK(ee2 == (JitcoreEngineRef)(uintptr_t)SENTINEL);
    JitcoreDisposeTargetMachine(tm);
    JitcoreDisposeModule(m);

    /* the host's own triple is accepted */
    JitcoreTargetMachineRef htm = MAKE_TM(JITCORE_OPT_LEVEL_O2);
    snprintf(ir, sizeof ir, "target triple = \"%s\"\ndefine i32 @native_fn() {\n  ret i32 77\n}\n",
             JitcoreTargetMachineGetTriple(htm));
    JitcoreDisposeTargetMachine(htm);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("native_mod", ir)));
    uint64_t n = LOOKUP(ee, "native_fn");
    if (n)
        CHECK_EQ_INT(FN(int (*)(void), n)(), 77);

    /* a triple naming no architecture (llvmlite.ir's default) means the
       engine's own target, as in MCJIT */
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("unknown_triple_mod",
                                                    "target triple = \"unknown-unknown-unknown\"\n"
                                                    "define i32 @unknown_fn() {\n  ret i32 78\n}\n")));
    uint64_t u = LOOKUP(ee, "unknown_fn");
    if (u)
        CHECK_EQ_INT(FN(int (*)(void), u)(), 78);
    JitcoreDisposeEngine(ee);
}

/* An error reporter for a lookup-triggered compile failure (not required to
   be called; if it is, it must carry the failure's code and a message). */
static atomic_int reports;
static atomic_int bad_reports;
static void reporter(void *ctx, JitcoreErrorCode code, const char *message)
{
    (void)ctx;
    atomic_fetch_add(&reports, 1);
    if (code == JITCORE_ERROR_SUCCESS || !message || !*message)
        atomic_fetch_add(&bad_reports, 1);
}

static void test_error_reporter_on_failure(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("needs_ext_3", NEEDS_EXT_IR));
    if (!ee)
        return;
    int ctx = 0;
    JitcoreEngineSetErrorReporter(ee, reporter, &ctx);
    uint64_t out = SENTINEL;
    CHECK_ERR2(JitcoreEngineGetFunctionAddress(ee, &out, "use_ext"), JITCORE_ERROR_UNRESOLVED_SYMBOL,
               "nobody_defines_this", "needs_ext_3");
    CHECK_EQ_INT(atomic_load(&bad_reports), 0);
    tu_note("  error reporter heard %d report(s) of the failed lookup", atomic_load(&reports));
    JitcoreEngineSetErrorReporter(ee, NULL, NULL);
    JitcoreDisposeEngine(ee);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    RUN_TEST(test_null_arguments());
    RUN_TEST(test_opt_levels_out_of_range());
    RUN_TEST(test_symbol_not_found());
    RUN_TEST(test_unresolved_symbol(0));
    RUN_TEST(test_unresolved_symbol(1));
    RUN_TEST(test_unresolved_lookup_first());
    RUN_TEST(test_unresolved_global_variable());
    RUN_TEST(test_duplicate_definition());
    RUN_TEST(test_create_engine_with_bad_module());
    RUN_TEST(test_foreign_target());
    RUN_TEST(test_error_reporter_on_failure());
    return tu_finish("test_engine_errors");
}
