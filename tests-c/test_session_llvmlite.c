/*
 * llvmlite's ORC scenarios (TestOrcLLJIT in llvmlite/tests/test_binding.py),
 * against jitcore's session API. llvmlite names each library after the
 * function it exports and links it with JITLibraryBuilder:
 *  - test_define_symbol: __xyzzy = 1234 as an absolute symbol, read back;
 *  - test_lookup_undefined_symbol_fails: no such library; "Symbols not found: __foobar";
 *  - test_run_code / test_add_ir_module: sum(2, -5) == -3, mul(2, -5) == -10, each
 *    library sees only its own symbols; asm_sum's globals are there with their values;
 *  - test_lib_depends: square_sum linking ["sum"]: square_sum(2, -5) == 9;
 *  - test_remove_module: removing the library's code makes the lookup fail;
 *  - test_add_object_file: the library from an object image: sum(2, 3) == 5;
 *  - test_thread_safe: threads each linking 50 libraries sum_<thread>_<i>, each
 *    under its own tracker; here every one is also looked up and called.
 */
#include "test_util.h"

static const char ASM_SUM[] =
    "; ModuleID = '<string>'\n"
    "source_filename = \"asm_sum.c\"\n"
    "%struct.glob_type = type { i64, [2 x i64]}\n"
    "%struct.glob_type_vec = type { i64, <2 x i64>}\n"
    "\n"
    "@glob = global i32 0\n"
    "@glob_b = global i8 0\n"
    "@glob_f = global float 1.5\n"
    "@glob_struct = global %struct.glob_type {i64 0, [2 x i64] [i64 0, i64 0]}\n"
    "\n"
    "define i32 @sum(i32 %.1, i32 %.2) {\n"
    "  %.3 = add i32 %.1, %.2\n"
    "  %.4 = add i32 0, %.3\n"
    "  ret i32 %.4\n"
    "}\n";

static const char ASM_MUL[] =
    "; ModuleID = '<string>'\n"
    "@mul_glob = global i32 0\n"
    "\n"
    "define i32 @mul(i32 %.1, i32 %.2) {\n"
    "  %.3 = mul i32 %.1, %.2\n"
    "  ret i32 %.3\n"
    "}\n";

static const char ASM_SQUARE_SUM[] =
    "; ModuleID = '<string>'\n"
    "@mul_glob = global i32 0\n"
    "\n"
    "declare i32 @sum(i32, i32)\n"
    "define i32 @square_sum(i32 %.1, i32 %.2) {\n"
    "  %.3 = call i32 @sum(i32 %.1, i32 %.2)\n"
    "  %.4 = mul i32 %.3, %.3\n"
    "  ret i32 %.4\n"
    "}\n";



/* llvmlite's JITLibraryBuilder().add_ir(ir).export_symbol(fn).link(lljit, fn):
   a new library named after the function; returns it (NULL on failure). */
static JitcoreDylibRef link_library(JitcoreSessionRef s, const char *name, const char *ir,
                                    JitcoreDylibRef depends_on, JitcoreResourceTrackerRef *rt_out)
{
    JitcoreDylibRef d = NULL;
    if (!CHECK_OK(JitcoreSessionCreateDylib(s, &d, name)) || !d)
        return NULL;
    CHECK_STR_EQ(JitcoreDylibGetName(d), name);
    if (depends_on)
        CHECK_OK(JitcoreDylibSetLinkOrder(d, &depends_on, 1));
    JitcoreResourceTrackerRef rt = rt_out ? JitcoreDylibCreateResourceTracker(d) : NULL;
    if (rt_out) {
        CHECK(rt != NULL);
        *rt_out = rt;
    }
    JitcoreModuleRef m = MAKE_MODULE(name, ir);
    if (m && !CHECK_OK(JitcoreDylibAddModule(d, m, rt)))
        JitcoreDisposeModule(m);
    return d;
}

static void test_define_symbol(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef foo = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &foo, "foo"));
    JitcoreSymbolDefinition def = {"__xyzzy", 1234};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(foo, &def, 1));
    uint64_t addr = 0;
    CHECK_OK(JitcoreSessionLookup(s, foo, &addr, "__xyzzy"));
    CHECK_EQ_U64(addr, 1234);
    /* Only in "foo": main does not see it. */
    CHECK_ERR(JitcoreSessionLookup(s, JitcoreSessionGetMainDylib(s), &addr, "__xyzzy"),
              JITCORE_ERROR_SYMBOL_NOT_FOUND, "__xyzzy");
    /* Defining it again is a duplicate. */
    JitcoreSymbolDefinition again = {"__xyzzy", 4321};
    CHECK_ERR(JitcoreDylibDefineAbsoluteSymbols(foo, &again, 1), JITCORE_ERROR_DUPLICATE_DEFINITION, "__xyzzy");
    CHECK_OK(JitcoreSessionLookup(s, foo, &addr, "__xyzzy"));
    CHECK_EQ_U64(addr, 1234);
    JitcoreDisposeSession(s);
}

static void test_lookup_undefined_symbol_fails(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    /* 'No such library' */
    CHECK(JitcoreSessionGetDylibByName(s, "foo") == NULL);
    JitcoreDylibRef foo = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &foo, "foo"));
    JitcoreSymbolDefinition def = {"__xyzzy", 1234};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(foo, &def, 1));
    CHECK(JitcoreSessionGetDylibByName(s, "foo") == foo);
    uint64_t addr = 0;
    CHECK_OK(JitcoreSessionLookup(s, foo, &addr, "__xyzzy"));
    CHECK(addr != 0);
    /* 'Symbols not found.*__foobar' */
    uint64_t miss = 77;
    CHECK_ERR2(JitcoreSessionLookup(s, foo, &miss, "__foobar"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "__foobar", "foo");
    CHECK_EQ_U64(miss, 77);
    /* A library name cannot be reused. */
    JitcoreDylibRef again = NULL;
    CHECK_ERR(JitcoreSessionCreateDylib(s, &again, "foo"), JITCORE_ERROR_INVALID_ARGUMENT, "foo");
    CHECK(again == NULL);
    JitcoreDisposeSession(s);
}

typedef int (*int2_fn)(int, int);

static void test_run_code_and_add_ir_module(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef sum = link_library(s, "sum", ASM_SUM, NULL, NULL);
    JitcoreDylibRef mul = link_library(s, "mul", ASM_MUL, NULL, NULL);
    if (!sum || !mul) {
        JitcoreDisposeSession(s);
        return;
    }
    uint64_t a = SESSION_LOOKUP(s, sum, "sum");
    if (a)
        CHECK_EQ_INT(FN(int2_fn, a)(2, -5), -3);
    uint64_t m = SESSION_LOOKUP(s, mul, "mul");
    if (m)
        CHECK_EQ_INT(FN(int2_fn, m)(2, -5), -10);
    /* Each library sees its own symbols only. */
    uint64_t x = 0;
    CHECK_ERR(JitcoreSessionLookup(s, sum, &x, "mul"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "mul");
    CHECK_ERR(JitcoreSessionLookup(s, mul, &x, "sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "sum");
    /* asm_sum's globals, with their initial values. */
    uint64_t g = SESSION_LOOKUP(s, sum, "glob");
    if (g)
        CHECK_EQ_INT(*(int32_t *)(uintptr_t)g, 0);
    uint64_t gf = SESSION_LOOKUP(s, sum, "glob_f");
    if (gf)
        CHECK_MSG(*(float *)(uintptr_t)gf == 1.5f, "expected glob_f == 1.5");
    uint64_t gs = SESSION_LOOKUP(s, sum, "glob_struct");
    if (gs) {
        const int64_t *p = (const int64_t *)(uintptr_t)gs;
        CHECK_MSG(p[0] == 0 && p[1] == 0 && p[2] == 0, "expected glob_struct zeroed");
        CHECK_MSG(gs % 8 == 0, "expected glob_struct 8-byte aligned");
    }
    CHECK(SESSION_LOOKUP(s, sum, "glob_b") != 0);
    /* Both define a global the other lacks: mul_glob is mul's only. */
    CHECK(SESSION_LOOKUP(s, mul, "mul_glob") != 0);
    CHECK_ERR(JitcoreSessionLookup(s, sum, &x, "mul_glob"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "mul_glob");
    JitcoreDisposeSession(s);
}

static void test_lib_depends(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef sum = link_library(s, "sum", ASM_SUM, NULL, NULL);
    JitcoreDylibRef sq = link_library(s, "square_sum", ASM_SQUARE_SUM, sum, NULL);
    if (sum && sq) {
        uint64_t a = SESSION_LOOKUP(s, sq, "square_sum");
        if (a)
            CHECK_EQ_INT(FN(int2_fn, a)(2, -5), 9);
        /* square_sum has its own mul_glob; sum is reachable through the link order. */
        uint64_t ss = SESSION_LOOKUP(s, sq, "sum");
        CHECK_EQ_U64(ss, SESSION_LOOKUP(s, sum, "sum"));
    }
    /* Without the dependency, square_sum cannot be linked: unresolved sum. */
    JitcoreDylibRef lone = link_library(s, "square_sum_alone", ASM_SQUARE_SUM, NULL, NULL);
    if (lone) {
        uint64_t x = 0;
        CHECK_ERR2(JitcoreSessionLookup(s, lone, &x, "square_sum"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "sum",
                   "square_sum_alone");
    }
    JitcoreDisposeSession(s);
}

static void test_remove_module(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreResourceTrackerRef rt = NULL;
    JitcoreDylibRef sum = link_library(s, "sum", ASM_SUM, NULL, &rt);
    if (sum) {
        uint64_t a = SESSION_LOOKUP(s, sum, "sum");
        if (a)
            CHECK_EQ_INT(FN(int2_fn, a)(2, -5), -3);
        CHECK_OK(JitcoreResourceTrackerRemove(rt));
        uint64_t x = 0;
        CHECK_ERR(JitcoreSessionLookup(s, sum, &x, "sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "sum");
        /* (not "glob": libc has a glob, which the process fallback finds) */
        CHECK_ERR(JitcoreSessionLookup(s, sum, &x, "glob_f"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "glob_f");
        /* The library itself remains, empty but usable; its name stays taken. */
        CHECK(JitcoreSessionGetDylibByName(s, "sum") == sum);
        CHECK_OK(JitcoreDylibAddModule(sum, MAKE_MODULE("sum2", ASM_SUM), NULL));
        a = SESSION_LOOKUP(s, sum, "sum");
        if (a)
            CHECK_EQ_INT(FN(int2_fn, a)(20, 22), 42);
    }
    JitcoreDisposeResourceTracker(rt);
    JitcoreDisposeSession(s);
}

/* A dependent library's code keeps its binding when the library it links
   against is removed and re-populated? Not specified; instead: removing the
   leaf (square_sum) leaves sum alone. */
static void test_remove_leaf_library(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef sum = link_library(s, "sum", ASM_SUM, NULL, NULL);
    JitcoreResourceTrackerRef rt = NULL;
    JitcoreDylibRef sq = link_library(s, "square_sum", ASM_SQUARE_SUM, sum, &rt);
    if (sum && sq) {
        uint64_t a = SESSION_LOOKUP(s, sq, "square_sum");
        if (a)
            CHECK_EQ_INT(FN(int2_fn, a)(3, 4), 49);
        CHECK_OK(JitcoreResourceTrackerRemove(rt));
        uint64_t x = 0;
        CHECK_ERR(JitcoreSessionLookup(s, sq, &x, "square_sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "square_sum");
        uint64_t b = SESSION_LOOKUP(s, sum, "sum");
        if (b)
            CHECK_EQ_INT(FN(int2_fn, b)(3, 4), 7);
        /* Re-link square_sum: it binds to sum again. */
        CHECK_OK(JitcoreDylibAddModule(sq, MAKE_MODULE("square_sum2", ASM_SQUARE_SUM), NULL));
        a = SESSION_LOOKUP(s, sq, "square_sum");
        if (a)
            CHECK_EQ_INT(FN(int2_fn, a)(1, 2), 9);
    }
    JitcoreDisposeResourceTracker(rt);
    JitcoreDisposeSession(s);
}

/* test_add_object_file: target_machine.emit_object(mod) is, here, the
   object a session's cache hears of. */
struct obj_capture {
    unsigned char *bytes;
    size_t len;
    int count;
};

static void capture(void *ctx, JitcoreModuleRef m, const uint8_t *obj, size_t len)
{
    (void)m;
    struct obj_capture *c = ctx;
    c->count++;
    free(c->bytes);
    c->bytes = malloc(len);
    if (c->bytes) {
        memcpy(c->bytes, obj, len);
        c->len = len;
    }
}

static void test_add_object_file(void)
{
    struct obj_capture c = {NULL, 0, 0};
    JitcoreSessionRef tmp = NEW_SESSION();
    JitcoreSessionSetObjectCache(tmp, capture, NULL, &c);
    CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(tmp), MAKE_MODULE("asm_sum", ASM_SUM), NULL));
    SESSION_LOOKUP(tmp, JitcoreSessionGetMainDylib(tmp), "sum");
    JitcoreDisposeSession(tmp);
    CHECK_EQ_INT(c.count, 1);
    if (!CHECK(c.bytes != NULL))
        return;

    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef sum = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &sum, "sum"));
    CHECK_OK(JitcoreDylibAddObjectBuffer(sum, c.bytes, c.len, NULL));
    free(c.bytes);
    uint64_t a = SESSION_LOOKUP(s, sum, "sum");
    if (a)
        CHECK_EQ_INT(FN(int2_fn, a)(2, 3), 5);
    uint64_t gf = SESSION_LOOKUP(s, sum, "glob_f");
    if (gf)
        CHECK_MSG(*(float *)(uintptr_t)gf == 1.5f, "expected glob_f == 1.5 from the object");
    JitcoreDisposeSession(s);
}

/* test_thread_safe: each thread links 50 libraries sum_<t>_<i>. */
#define LIBS_PER_THREAD 50
#define NUM_THREADS 2

struct thread_arg {
    JitcoreSessionRef s;
    int id;
};

static void *compile_many(void *p)
{
    struct thread_arg *arg = p;
    JitcoreResourceTrackerRef rts[LIBS_PER_THREAD];
    int good = 0;
    for (int i = 0; i < LIBS_PER_THREAD; i++) {
        char name[64];
        snprintf(name, sizeof name, "sum_%d_%d", arg->id, i);
        JitcoreDylibRef d = NULL;
        rts[i] = NULL;
        if (!CHECK_OK(JitcoreSessionCreateDylib(arg->s, &d, name)) || !d)
            continue;
        rts[i] = JitcoreDylibCreateResourceTracker(d);
        CHECK(rts[i] != NULL);
        JitcoreModuleRef m = MAKE_MODULE(name, ASM_SUM);
        if (m && !CHECK_OK(JitcoreDylibAddModule(d, m, rts[i])))
            JitcoreDisposeModule(m);
        uint64_t a = 0;
        if (CHECK_OK(JitcoreSessionLookup(arg->s, d, &a, "sum")) && a) {
            int r = FN(int2_fn, a)(arg->id * 1000 + i, -5);
            if (CHECK_MSG(r == arg->id * 1000 + i - 5, "%s: expected sum(%d, -5) == %d, got %d", name,
                          arg->id * 1000 + i, arg->id * 1000 + i - 5, r))
                good++;
        }
    }
    /* Every library is still there, each with its own sum. */
    for (int i = 0; i < LIBS_PER_THREAD; i++) {
        char name[64];
        snprintf(name, sizeof name, "sum_%d_%d", arg->id, i);
        JitcoreDylibRef d = JitcoreSessionGetDylibByName(arg->s, name);
        uint64_t a = 0;
        if (CHECK_MSG(d != NULL, "library %s exists", name) && CHECK_OK(JitcoreSessionLookup(arg->s, d, &a, "sum")))
            CHECK_EQ_INT(FN(int2_fn, a)(i, i), 2 * i);
    }
    for (int i = 0; i < LIBS_PER_THREAD; i++)
        JitcoreDisposeResourceTracker(rts[i]);
    CHECK_EQ_INT(good, LIBS_PER_THREAD);
    return NULL;
}

static void test_thread_safe(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    pthread_t th[NUM_THREADS];
    struct thread_arg args[NUM_THREADS];
    int started[NUM_THREADS];
    for (int t = 0; t < NUM_THREADS; t++) {
        args[t].s = s;
        args[t].id = t;
        started[t] = pthread_create(&th[t], NULL, compile_many, &args[t]) == 0;
        CHECK(started[t]);
    }
    for (int t = 0; t < NUM_THREADS; t++)
        if (started[t])
            pthread_join(th[t], NULL);
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    CHECK_EQ_U64(st.ModulesCompiled, NUM_THREADS * LIBS_PER_THREAD);
    CHECK_EQ_U64(st.MaterializationFailures, 0);
    JitcoreDisposeSession(s);
}

int main(void)
{
    RUN_TEST(test_define_symbol());
    RUN_TEST(test_lookup_undefined_symbol_fails());
    RUN_TEST(test_run_code_and_add_ir_module());
    RUN_TEST(test_lib_depends());
    RUN_TEST(test_remove_module());
    RUN_TEST(test_remove_leaf_library());
    RUN_TEST(test_add_object_file());
    RUN_TEST(test_thread_safe());
    return tu_finish("test_session_llvmlite");
}
