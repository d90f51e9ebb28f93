/*
 * test_engine_basic.c: running jitted code through the engine.
 *
 *  - sum(2, -5) == -3 through JitcoreEngineGetFunctionAddress, at every opt level
 *  - globals read and written through JitcoreEngineGetGlobalValueAddress
 *  - host (libc) symbols resolve by default: strlen, malloc, snprintf, printf
 *  - engines created with M = NULL, modules added later, calls across modules
 *  - JitcoreEngineAddGlobalMapping of a host function and a host variable
 *  - lazy compilation and JitcoreEngineFinalizeObject, with statistics
 *  - version, JitcoreCheckJITExecution, JitcoreGetErrorCode(NULL), triple
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#include <limits.h>

static void test_version_and_environment(void)
{
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", JITCORE_VERSION_MAJOR, JITCORE_VERSION_MINOR,
             JITCORE_VERSION_PATCH);
    const char *v = JitcoreGetVersionString();
    CHECK_STR_EQ(v, expected);
    CHECK(JitcoreGetVersionString() == v); /* a static string */

    unsigned major = 99, minor = 99, patch = 99;
    JitcoreGetVersion(&major, &minor, &patch);
    CHECK_EQ_INT(major, JITCORE_VERSION_MAJOR);
    CHECK_EQ_INT(minor, JITCORE_VERSION_MINOR);
    CHECK_EQ_INT(patch, JITCORE_VERSION_PATCH);
    /* any pointer may be NULL */
    unsigned only_minor = 99;
    JitcoreGetVersion(NULL, &only_minor, NULL);
    CHECK_EQ_INT(only_minor, JITCORE_VERSION_MINOR);
    JitcoreGetVersion(NULL, NULL, NULL);

    JitcoreErrorRef jit_ok = JitcoreCheckJITExecution();
    CHECK_MSG(jit_ok == NULL, "expected JitcoreCheckJITExecution() == NULL");
    CHECK_OK(jit_ok);

    CHECK_EQ_INT(JitcoreGetErrorCode(NULL), JITCORE_ERROR_SUCCESS);
    CHECK(JitcoreGetErrorMessage(NULL) == NULL);
    JitcoreConsumeError(NULL);
    JitcoreDisposeErrorMessage(NULL);

    JitcoreTargetMachineRef tm = MAKE_TM(JITCORE_OPT_LEVEL_O2);
    const char *triple = JitcoreTargetMachineGetTriple(tm);
#if defined(__x86_64__)
    CHECK_MSG(triple && strncmp(triple, "x86_64-", 7) == 0, "expected an x86_64 triple, got %s",
              triple ? triple : "(null)");
#elif defined(__aarch64__)
    CHECK_MSG(triple && strncmp(triple, "aarch64-", 8) == 0, "expected an aarch64 triple, got %s",
              triple ? triple : "(null)");
#endif
    CHECK_CONTAINS(triple, "linux");
    CHECK(JitcoreTargetMachineGetTriple(tm) == triple); /* borrowed, stable */
    JitcoreDisposeTargetMachine(tm);
}

static void test_sum_all_opt_levels(void)
{
    static const char IR[] =
        "define i32 @sum(i32 %a, i32 %b) {\n"
        "  %r = add i32 %a, %b\n"
        "  ret i32 %r\n"
        "}\n"
        "define i64 @triangle(i64 %n) {\n"
        "entry:\n"
        "  br label %loop\n"
        "loop:\n"
        "  %i = phi i64 [ 1, %entry ], [ %i.next, %loop ]\n"
        "  %acc = phi i64 [ 0, %entry ], [ %acc.next, %loop ]\n"
        "  %acc.next = add i64 %acc, %i\n"
        "  %i.next = add i64 %i, 1\n"
        "  %done = icmp ugt i64 %i.next, %n\n"
        "  br i1 %done, label %exit, label %loop\n"
        "exit:\n"
        "  ret i64 %acc.next\n"
        "}\n"
        "define double @scale(double %x) {\n"
        "  %r = fmul double %x, 2.500000e+00\n"
        "  ret double %r\n"
        "}\n";
    for (int level = JITCORE_OPT_LEVEL_O0; level <= JITCORE_OPT_LEVEL_O3; level++) {
        JitcoreModuleRef m = MAKE_MODULE("opt_module", IR);
        JitcoreEngineRef ee = MAKE_ENGINE_AT(m, (JitcoreOptLevel)level);
        if (!ee)
            continue;
        uint64_t a = LOOKUP(ee, "sum");
        if (a) {
            tu_sum_fn sum = FN(tu_sum_fn, a);
            CHECK_EQ_INT(sum(2, -5), -3);
            CHECK_EQ_INT(sum(40, 2), 42);
            CHECK_EQ_INT(sum(INT_MAX, 1), INT_MIN); /* IR add wraps */
            CHECK_EQ_INT(sum(0, 0), 0);
        }
        /* the same address on every lookup */
        uint64_t a2 = 0;
        CHECK_OK(JitcoreEngineGetFunctionAddress(ee, &a2, "sum"));
        CHECK_EQ_U64(a2, a);
        uint64_t t = LOOKUP(ee, "triangle");
        if (t) {
            CHECK_EQ_INT(FN(int64_t(*)(int64_t), t)(100), 5050);
            CHECK_EQ_INT(FN(int64_t(*)(int64_t), t)(1), 1);
            CHECK_EQ_INT(FN(int64_t(*)(int64_t), t)(100000), 5000050000LL);
        }
        uint64_t s = LOOKUP(ee, "scale");
        if (s)
            CHECK(FN(double (*)(double), s)(4.0) == 10.0);
        JitcoreDisposeEngine(ee);
    }
}

static void test_globals(void)
{
    static const char IR[] =
        "@counter = global i32 42\n"
        "@table = global [4 x i64] [i64 10, i64 20, i64 30, i64 40]\n"
        "@greeting = constant [6 x i8] c\"hello\\00\"\n"
        "define i32 @get_counter() {\n"
        "  %v = load i32, ptr @counter\n"
        "  ret i32 %v\n"
        "}\n"
        "define void @bump(i32 %by) {\n"
        "  %v = load i32, ptr @counter\n"
        "  %n = add i32 %v, %by\n"
        "  store i32 %n, ptr @counter\n"
        "  ret void\n"
        "}\n"
        "define i64 @table_sum() {\n"
        "  %p0 = getelementptr [4 x i64], ptr @table, i64 0, i64 0\n"
        "  %p3 = getelementptr [4 x i64], ptr @table, i64 0, i64 3\n"
        "  %a = load i64, ptr %p0\n"
        "  %b = load i64, ptr %p3\n"
        "  %s = add i64 %a, %b\n"
        "  ret i64 %s\n"
        "}\n";
    JitcoreModuleRef m = MAKE_MODULE("globals", IR);
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    if (!ee)
        return;
    uint64_t ca = 0;
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &ca, "counter"));
    CHECK(ca != 0);
    uint64_t get = LOOKUP(ee, "get_counter");
    uint64_t bump = LOOKUP(ee, "bump");
    if (ca && get && bump) {
        int32_t *counter = (int32_t *)(uintptr_t)ca;
        CHECK_EQ_INT(*counter, 42);
        CHECK_EQ_INT(FN(int32_t(*)(void), get)(), 42);
        *counter = 7; /* host writes, jitted code reads */
        CHECK_EQ_INT(FN(int32_t(*)(void), get)(), 7);
        FN(void (*)(int32_t), bump)(5); /* jitted code writes, host reads */
        CHECK_EQ_INT(*counter, 12);
        /* a second lookup gives the same variable */
        uint64_t ca2 = 0;
        CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &ca2, "counter"));
        CHECK_EQ_U64(ca2, ca);
    }
    uint64_t ta = 0;
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &ta, "table"));
    uint64_t ts = LOOKUP(ee, "table_sum");
    if (ta && ts) {
        int64_t *table = (int64_t *)(uintptr_t)ta;
        CHECK_EQ_INT(table[0], 10);
        CHECK_EQ_INT(table[1], 20);
        CHECK_EQ_INT(table[2], 30);
        CHECK_EQ_INT(table[3], 40);
        CHECK_EQ_INT(FN(int64_t(*)(void), ts)(), 50);
        table[3] = 1000;
        CHECK_EQ_INT(FN(int64_t(*)(void), ts)(), 1010);
    }
    uint64_t ga = 0;
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &ga, "greeting"));
    if (ga)
        CHECK_STR_EQ((const char *)(uintptr_t)ga, "hello");
    /* a function through the global-value lookup */
    uint64_t fa = 0;
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &fa, "get_counter"));
    CHECK_EQ_U64(fa, get);
    JitcoreDisposeEngine(ee);
}

static void test_libc_symbols(void)
{
    static const char IR[] =
        "declare i64 @strlen(ptr)\n"
        "declare ptr @malloc(i64)\n"
        "declare i32 @snprintf(ptr, i64, ptr, ...)\n"
        "declare i32 @printf(ptr, ...)\n"
        "declare i32 @fflush(ptr)\n"
        "@fmt = private constant [6 x i8] c\"%d/%d\\00\"\n"
        "@hello = private constant [21 x i8] c\"printf from jit: %d\\0A\\00\"\n"
        "define i64 @len_of(ptr %s) {\n"
        "  %n = call i64 @strlen(ptr %s)\n"
        "  ret i64 %n\n"
        "}\n"
        "define ptr @format_pair(i32 %a, i32 %b) {\n"
        "  %buf = call ptr @malloc(i64 32)\n"
        "  %n = call i32 (ptr, i64, ptr, ...) @snprintf(ptr %buf, i64 32, ptr @fmt, i32 %a, i32 %b)\n"
        "  ret ptr %buf\n"
        "}\n"
        "define i32 @say(i32 %x) {\n"
        "  %n = call i32 (ptr, ...) @printf(ptr @hello, i32 %x)\n"
        "  %f = call i32 @fflush(ptr null)\n"
        "  ret i32 %n\n"
        "}\n";
    JitcoreModuleRef m = MAKE_MODULE("libc_user", IR);
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    if (!ee)
        return;
    uint64_t len_of = LOOKUP(ee, "len_of");
    if (len_of) {
        CHECK_EQ_INT(FN(int64_t(*)(const char *), len_of)("jitcore"), 7);
        CHECK_EQ_INT(FN(int64_t(*)(const char *), len_of)(""), 0);
    }
    uint64_t fp = LOOKUP(ee, "format_pair");
    if (fp) {
        char *s = FN(char *(*)(int, int), fp)(12, -3);
        CHECK_STR_EQ(s, "12/-3");
        free(s); /* allocated by the process's malloc */
    }
    uint64_t say = LOOKUP(ee, "say");
    if (say) {
        fflush(stdout);
        int n = FN(int (*)(int), say)(1234);
        /* "printf from jit: 1234\n" is 22 characters */
        CHECK_EQ_INT(n, 22);
    }
    JitcoreDisposeEngine(ee);
}

static void test_null_module_then_add(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return;
    JitcoreStatistics s0 = GET_STATS(ee);
    CHECK_EQ_U64(s0.ModulesCompiled, 0);
    CHECK_EQ_U64(s0.ObjectsLoaded, 0);

    JitcoreModuleRef a = MAKE_MODULE("mod_a", SUM_IR);
    static const char B_IR[] =
        "declare i32 @sum(i32, i32)\n"
        "define i32 @sum3(i32 %a, i32 %b, i32 %c) {\n"
        "  %ab = call i32 @sum(i32 %a, i32 %b)\n"
        "  %r = call i32 @sum(i32 %ab, i32 %c)\n"
        "  ret i32 %r\n"
        "}\n"
        "define internal i32 @helper(i32 %x) {\n"
        "  %r = mul i32 %x, 3\n"
        "  ret i32 %r\n"
        "}\n"
        "define i32 @triple(i32 %x) {\n"
        "  %r = call i32 @helper(i32 %x)\n"
        "  ret i32 %r\n"
        "}\n";
    JitcoreModuleRef b = MAKE_MODULE("mod_b", B_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, a));
    CHECK_OK(JitcoreEngineAddModule(ee, b));
    CHECK_STR_EQ(JitcoreModuleGetName(a), "mod_a");
    CHECK_STR_EQ(JitcoreModuleGetName(b), "mod_b");

    /* nothing is compiled before a lookup or FinalizeObject */
    JitcoreStatistics s1 = GET_STATS(ee);
    CHECK_EQ_U64(s1.ModulesCompiled, 0);

    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    JitcoreStatistics s2 = GET_STATS(ee);
    CHECK_EQ_U64(s2.ModulesCompiled, 2);
    CHECK_EQ_U64(s2.ObjectsLoaded, 2);
    CHECK_EQ_U64(s2.MaterializationFailures, 0);
    /* sum + sum3 + helper + triple; helper may be inlined away at -O2 but
       the modules define 4 functions */
    CHECK_MSG(s2.FunctionsCompiled >= 3 && s2.FunctionsCompiled <= 4,
              "expected FunctionsCompiled in 3..4, got %" PRIu64, s2.FunctionsCompiled);
    CHECK(s2.ObjectBytesEmitted > 0);

    /* finalizing again compiles nothing */
    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    JitcoreStatistics s3 = GET_STATS(ee);
    CHECK_EQ_U64(s3.ModulesCompiled, 2);

    CHECK_SUM_WORKS(ee);
    uint64_t s3a = LOOKUP(ee, "sum3");
    if (s3a)
        CHECK_EQ_INT(FN(int (*)(int, int, int), s3a)(1, 2, 3), 6);
    uint64_t tr = LOOKUP(ee, "triple");
    if (tr)
        CHECK_EQ_INT(FN(int (*)(int), tr)(-7), -21);
    /* an internal function is not visible */
    uint64_t h = 0xabcdef;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &h, "helper"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "helper");
    CHECK_EQ_U64(h, 0xabcdef);

    JitcoreDisposeEngine(ee);
    /* the engine freed both modules; disposing their handles does nothing */
    CHECK(JitcoreModuleGetName(a) == NULL);
    JitcoreDisposeModule(a);
    JitcoreDisposeModule(b);
}

static void test_lazy_compilation(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return;
    JitcoreModuleRef a = MAKE_MODULE("lazy_a", SUM_IR);
    JitcoreModuleRef b = MAKE_MODULE("lazy_b", "define i32 @forty_two() {\n  ret i32 42\n}\n");
    CHECK_OK(JitcoreEngineAddModule(ee, a));
    CHECK_OK(JitcoreEngineAddModule(ee, b));
    CHECK_SUM_WORKS(ee);
    JitcoreStatistics s = GET_STATS(ee);
    CHECK_EQ_U64(s.ModulesCompiled, 1); /* only the module of sum */
    CHECK_EQ_U64(s.FunctionsCompiled, 1);
    uint64_t f = LOOKUP(ee, "forty_two");
    if (f)
        CHECK_EQ_INT(FN(int (*)(void), f)(), 42);
    s = GET_STATS(ee);
    CHECK_EQ_U64(s.ModulesCompiled, 2);
    CHECK_EQ_U64(s.FunctionsCompiled, 2);
    CHECK_EQ_U64(s.ObjectsLoaded, 2);
    tu_print_stats("lazy", &s);
    JitcoreDisposeEngine(ee);
}

static int64_t host_calls;
static int64_t host_mul3_plus_calls(int64_t x)
{
    host_calls++;
    return x * 3;
}
static int32_t host_variable = 31;

static void test_global_mapping(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return;
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "host_mul3", HOST_ADDR(&host_mul3_plus_calls)));
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "host_variable", HOST_ADDR(&host_variable)));
    static const char IR[] =
        "declare i64 @host_mul3(i64)\n"
        "@host_variable = external global i32\n"
        "define i64 @call_host(i64 %x) {\n"
        "  %r = call i64 @host_mul3(i64 %x)\n"
        "  %r1 = add i64 %r, 1\n"
        "  ret i64 %r1\n"
        "}\n"
        "define i32 @read_host_variable() {\n"
        "  %v = load i32, ptr @host_variable\n"
        "  ret i32 %v\n"
        "}\n"
        "define void @write_host_variable(i32 %v) {\n"
        "  store i32 %v, ptr @host_variable\n"
        "  ret void\n"
        "}\n";
    JitcoreModuleRef m = MAKE_MODULE("mapping_user", IR);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    uint64_t ch = LOOKUP(ee, "call_host");
    if (ch) {
        host_calls = 0;
        CHECK_EQ_INT(FN(int64_t(*)(int64_t), ch)(14), 43);
        CHECK_EQ_INT(FN(int64_t(*)(int64_t), ch)(-1), -2);
        CHECK_EQ_INT(host_calls, 2);
    }
    uint64_t rd = LOOKUP(ee, "read_host_variable");
    uint64_t wr = LOOKUP(ee, "write_host_variable");
    if (rd && wr) {
        CHECK_EQ_INT(FN(int32_t(*)(void), rd)(), 31);
        host_variable = -8;
        CHECK_EQ_INT(FN(int32_t(*)(void), rd)(), -8);
        FN(void (*)(int32_t), wr)(777);
        CHECK_EQ_INT(host_variable, 777);
    }
    /* a second mapping of the same name is a duplicate definition */
    CHECK_ERR(JitcoreEngineAddGlobalMapping(ee, "host_mul3", HOST_ADDR(&host_variable)),
              JITCORE_ERROR_DUPLICATE_DEFINITION, "host_mul3");
    if (ch)
        CHECK_EQ_INT(FN(int64_t(*)(int64_t), ch)(2), 7);
    JitcoreDisposeEngine(ee);
}

static void test_two_engines_independent(void)
{
    JitcoreEngineRef e1 = MAKE_ENGINE(MAKE_MODULE("one", "define i32 @value() {\n  ret i32 1\n}\n"));
    JitcoreEngineRef e2 = MAKE_ENGINE(MAKE_MODULE("two", "define i32 @value() {\n  ret i32 2\n}\n"));
    if (!e1 || !e2) {
        JitcoreDisposeEngine(e1);
        JitcoreDisposeEngine(e2);
        return;
    }
    uint64_t v1 = LOOKUP(e1, "value");
    uint64_t v2 = LOOKUP(e2, "value");
    CHECK(v1 != v2);
    if (v1)
        CHECK_EQ_INT(FN(int (*)(void), v1)(), 1);
    if (v2)
        CHECK_EQ_INT(FN(int (*)(void), v2)(), 2);
    JitcoreDisposeEngine(e1);
    /* disposing one engine does not disturb the other */
    if (v2)
        CHECK_EQ_INT(FN(int (*)(void), v2)(), 2);
    uint64_t v2b = LOOKUP(e2, "value");
    CHECK_EQ_U64(v2b, v2);
    JitcoreDisposeEngine(e2);
}

static void test_module_name_and_ownership_on_create(void)
{
    JitcoreModuleRef m = MAKE_MODULE("name with spaces/and.dots", SUM_IR);
    CHECK_STR_EQ(JitcoreModuleGetName(m), "name with spaces/and.dots");
    CHECK(JitcoreModuleGetName(NULL) == NULL);
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    /* the engine owns it now: the name stays readable, dispose is a no-op */
    CHECK_STR_EQ(JitcoreModuleGetName(m), "name with spaces/and.dots");
    JitcoreDisposeModule(m);
    CHECK_STR_EQ(JitcoreModuleGetName(m), "name with spaces/and.dots");
    CHECK_SUM_WORKS(ee);
    JitcoreDisposeEngine(ee);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    RUN_TEST(test_version_and_environment());
    RUN_TEST(test_sum_all_opt_levels());
    RUN_TEST(test_globals());
    RUN_TEST(test_libc_symbols());
    RUN_TEST(test_null_module_then_add());
    RUN_TEST(test_lazy_compilation());
    RUN_TEST(test_global_mapping());
    RUN_TEST(test_two_engines_independent());
    RUN_TEST(test_module_name_and_ownership_on_create());
    return tu_finish("test_engine_basic");
}
