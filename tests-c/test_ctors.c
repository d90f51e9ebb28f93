/*
 * test_ctors.c: static constructors and destructors (llvm.global_ctors /
 * llvm.global_dtors) run by JitcoreEngineRunStaticConstructors and
 * JitcoreEngineRunStaticDestructors.
 *
 *  - one module, ctors listed with priorities 200 then 100: they run
 *    lowest priority number first (100, 200); dtors run highest first
 *  - several modules: equal priorities run in the order the modules were
 *    added (ctors) and most recently added first (dtors), via a trace
 *    buffer the host maps into the engine
 *  - each module's constructors run once; modules added later run theirs
 *    on the next call
 *  - a constructor whose module cannot be linked -> UNRESOLVED_SYMBOL, the
 *    constructors before it have run; once the symbol is mapped, it and
 *    the ones after it run on the next call
 *  - exit handlers the engine's code registered (__cxa_atexit, atexit) run
 *    after the static destructors, last registered first, once; removing
 *    the module drops them unrun
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

/* One module, its own trace buffer. */
static const char SINGLE_IR[] =
    "@buf = global [8 x i32] zeroinitializer\n"
    "@pos = global i32 0\n"
    "define internal void @push(i32 %v) {\n"
    "  %p = load i32, ptr @pos\n"
    "  %slot = getelementptr [8 x i32], ptr @buf, i32 0, i32 %p\n"
    "  store i32 %v, ptr %slot\n"
    "  %n = add i32 %p, 1\n"
    "  store i32 %n, ptr @pos\n"
    "  ret void\n"
    "}\n"
    "define internal void @ctor_200() {\n  call void @push(i32 200)\n  ret void\n}\n"
    "define internal void @ctor_100() {\n  call void @push(i32 100)\n  ret void\n}\n"
    "define internal void @dtor_200() {\n  call void @push(i32 -200)\n  ret void\n}\n"
    "define internal void @dtor_100() {\n  call void @push(i32 -100)\n  ret void\n}\n"
    "@llvm.global_ctors = appending global [2 x { i32, ptr, ptr }] [\n"
    "  { i32, ptr, ptr } { i32 200, ptr @ctor_200, ptr null },\n"
    "  { i32, ptr, ptr } { i32 100, ptr @ctor_100, ptr null }\n"
    "]\n"
    "@llvm.global_dtors = appending global [2 x { i32, ptr, ptr }] [\n"
    "  { i32, ptr, ptr } { i32 100, ptr @dtor_100, ptr null },\n"
    "  { i32, ptr, ptr } { i32 200, ptr @dtor_200, ptr null }\n"
    "]\n"
    "define i32 @get_pos() {\n"
    "  %p = load i32, ptr @pos\n"
    "  ret i32 %p\n"
    "}\n";

static void check_trace(const int32_t *buf, int32_t pos, const int32_t *expected, int n, int line)
{
    int ok = pos == n;
    for (int i = 0; ok && i < n; i++)
        ok = buf[i] == expected[i];
    char got[256] = "", want[256] = "";
    size_t gl = 0, wl = 0;
    for (int i = 0; i < pos && i < 16 && gl < sizeof got - 16; i++)
        gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%d", i ? "," : "", buf[i]);
    for (int i = 0; i < n && wl < sizeof want - 16; i++)
        wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%d", i ? "," : "", expected[i]);
    tu_record(ok, __FILE__, line, "expected trace [%s], got [%s]", want, got);
}
#define CHECK_TRACE(buf, pos, ...)                                                                   \
    do {                                                                                           \
        static const int32_t expected_[] = {__VA_ARGS__};                                          \
        check_trace((buf), (pos), expected_, (int)(sizeof expected_ / sizeof expected_[0]), __LINE__); \
    } while (0)

static void test_single_module(void)
{
    JitcoreModuleRef m = MAKE_MODULE("structors", SINGLE_IR);
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    if (!ee)
        return;
    uint64_t ba = 0, pa = 0;
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &ba, "buf"));
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &pa, "pos"));
    if (!ba || !pa) {
        JitcoreDisposeEngine(ee);
        return;
    }
    int32_t *buf = (int32_t *)(uintptr_t)ba;
    int32_t *pos = (int32_t *)(uintptr_t)pa;
    CHECK_EQ_INT(*pos, 0); /* compiling does not run constructors */

    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    CHECK_TRACE(buf, *pos, 100, 200);
    uint64_t gp = LOOKUP(ee, "get_pos");
    if (gp)
        CHECK_EQ_INT(FN(int32_t(*)(void), gp)(), 2);

    /* a second call runs nothing: they have run already */
    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    CHECK_TRACE(buf, *pos, 100, 200);

    CHECK_OK(JitcoreEngineRunStaticDestructors(ee));
    CHECK_TRACE(buf, *pos, 100, 200, -200, -100);
    CHECK_OK(JitcoreEngineRunStaticDestructors(ee));
    CHECK_TRACE(buf, *pos, 100, 200, -200, -100);
    JitcoreDisposeEngine(ee);
}

static void test_ctors_without_prior_lookup(void)
{
    /* RunStaticConstructors compiles the module itself */
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("structors_lazy", SINGLE_IR)));
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.ModulesCompiled, 0);
    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    st = GET_STATS(ee);
    CHECK_EQ_U64(st.ModulesCompiled, 1);
    uint64_t ba = 0, pa = 0;
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &ba, "buf"));
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &pa, "pos"));
    if (ba && pa)
        CHECK_TRACE((int32_t *)(uintptr_t)ba, *(int32_t *)(uintptr_t)pa, 100, 200);
    /* destructors are not run by disposing the engine (nothing to check
       after it is gone but that it is clean under valgrind) */
    JitcoreDisposeEngine(ee);
}

/* Several modules share a trace buffer the host maps into the engine. */
static int32_t trace[64];
static int32_t trace_pos;

static char *structor_module(const char *tag, int base, const int *ctor_prios, int n_ctors, const int *dtor_prios,
                             int n_dtors)
{
    size_t cap = 8192;
    char *ir = malloc(cap);
    size_t l = 0;
    l += (size_t)snprintf(ir + l, cap - l,
                          "@trace = external global [64 x i32]\n"
                          "@trace_pos = external global i32\n"
                          "define internal void @push(i32 %%v) {\n"
                          "  %%p = load i32, ptr @trace_pos\n"
                          "  %%slot = getelementptr [64 x i32], ptr @trace, i32 0, i32 %%p\n"
                          "  store i32 %%v, ptr %%slot\n"
                          "  %%n = add i32 %%p, 1\n"
                          "  store i32 %%n, ptr @trace_pos\n"
                          "  ret void\n"
                          "}\n");
    /* value pushed: base + priority for ctors, -(base + priority) for dtors */
    for (int i = 0; i < n_ctors; i++)
        l += (size_t)snprintf(ir + l, cap - l, "define internal void @c%d() {\n  call void @push(i32 %d)\n  ret void\n}\n",
                              i, base + ctor_prios[i]);
    for (int i = 0; i < n_dtors; i++)
        l += (size_t)snprintf(ir + l, cap - l, "define internal void @d%d() {\n  call void @push(i32 %d)\n  ret void\n}\n",
                              i, -(base + dtor_prios[i]));
    if (n_ctors) {
        l += (size_t)snprintf(ir + l, cap - l, "@llvm.global_ctors = appending global [%d x { i32, ptr, ptr }] [", n_ctors);
        for (int i = 0; i < n_ctors; i++)
            l += (size_t)snprintf(ir + l, cap - l, "%s{ i32, ptr, ptr } { i32 %d, ptr @c%d, ptr null }", i ? ", " : "",
                                  ctor_prios[i], i);
        l += (size_t)snprintf(ir + l, cap - l, "]\n");
    }
    if (n_dtors) {
        l += (size_t)snprintf(ir + l, cap - l, "@llvm.global_dtors = appending global [%d x { i32, ptr, ptr }] [", n_dtors);
        for (int i = 0; i < n_dtors; i++)
            l += (size_t)snprintf(ir + l, cap - l, "%s{ i32, ptr, ptr } { i32 %d, ptr @d%d, ptr null }", i ? ", " : "",
                                  dtor_prios[i], i);
        l += (size_t)snprintf(ir + l, cap - l, "]\n");
    }
    l += (size_t)snprintf(ir + l, cap - l, "define i32 @tag_%s() {\n  ret i32 %d\n}\n", tag, base);
    return ir;
}

/* An engine with an empty trace buffer mapped into it (NULL on failure). */
static JitcoreEngineRef trace_engine(void)
{
    memset(trace, 0, sizeof trace);
    trace_pos = 0;
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return NULL;
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "trace", HOST_ADDR(trace)));
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "trace_pos", HOST_ADDR(&trace_pos)));
    return ee;
}

static void test_several_modules(void)
{
    JitcoreEngineRef ee = trace_engine();
    if (!ee)
        return;
    /* module A (base 1000): ctors 200, 100; dtors 200, 100
       module B (base 2000): ctors 100, 150; dtors 100, 150 */
    static const int a_c[] = {200, 100}, a_d[] = {200, 100};
    static const int b_c[] = {100, 150}, b_d[] = {100, 150};
    char *a_ir = structor_module("a", 1000, a_c, 2, a_d, 2);
    char *b_ir = structor_module("b", 2000, b_c, 2, b_d, 2);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("module_a", a_ir)));
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("module_b", b_ir)));
    free(a_ir);
    free(b_ir);

    /* lowest priority first; on equal priority, the order of addition */
    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    CHECK_TRACE(trace, trace_pos, 1100, 2100, 2150, 1200);

    /* a module added later: only its constructors run now */
    static const int c_c[] = {50}, c_d[] = {50};
    char *c_ir = structor_module("c", 3000, c_c, 1, c_d, 1);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("module_c", c_ir)));
    free(c_ir);
    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    CHECK_TRACE(trace, trace_pos, 1100, 2100, 2150, 1200, 3050);

    /* destructors: highest priority first; on equal priority, the most
       recently added module first */
    trace_pos = 0;
    memset(trace, 0, sizeof trace);
    CHECK_OK(JitcoreEngineRunStaticDestructors(ee));
    CHECK_TRACE(trace, trace_pos, -1200, -2150, -2100, -1100, -3050);
    CHECK_OK(JitcoreEngineRunStaticDestructors(ee));
    CHECK_EQ_INT(trace_pos, 5);

    uint64_t ta = LOOKUP(ee, "tag_a");
    if (ta)
        CHECK_EQ_INT(FN(int (*)(void), ta)(), 1000);
    JitcoreDisposeEngine(ee);
}

static void nobody_defines_this(void)
{
    trace[trace_pos++] = 99;
}

static void test_ctor_with_unresolved_symbol(void)
{
    JitcoreEngineRef ee = trace_engine();
    if (!ee)
        return;
    static const int good_c[] = {10}, after_c[] = {30};
    char *good = structor_module("good", 100, good_c, 1, NULL, 0);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("good_ctor", good)));
    free(good);
    static const char BAD[] =
        "declare void @nobody_defines_this()\n"
        "define internal void @bad_ctor() {\n"
        "  call void @nobody_defines_this()\n"
        "  ret void\n"
        "}\n"
        "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [\n"
        "  { i32, ptr, ptr } { i32 20, ptr @bad_ctor, ptr null }\n"
        "]\n";
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("bad_ctor_module", BAD)));
    char *after = structor_module("after", 300, after_c, 1, NULL, 0);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("after_ctor", after)));
    free(after);
    CHECK_ERR2(JitcoreEngineRunStaticConstructors(ee), JITCORE_ERROR_UNRESOLVED_SYMBOL, "nobody_defines_this",
               "bad_ctor_module");
    /* the constructor before it (priority 10) has run, not the one after */
    CHECK_TRACE(trace, trace_pos, 110);
    /* the engine is still usable */
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("sum_module", SUM_IR)));
    CHECK_SUM_WORKS(ee);
    /* once the symbol exists, the failed constructor and the one after it
       run (and the one before does not run again) */
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "nobody_defines_this", HOST_ADDR(nobody_defines_this)));
    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    CHECK_TRACE(trace, trace_pos, 110, 99, 330);
    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    CHECK_TRACE(trace, trace_pos, 110, 99, 330);
    JitcoreDisposeEngine(ee);
}

/* A C++-style module: its constructor registers the destructor of a
   global object with __cxa_atexit (and a handler with atexit). */
static const char CXA_IR[] =
    "@trace = external global [64 x i32]\n"
    "@trace_pos = external global i32\n"
    "@__dso_handle = external hidden global i8\n"
    "@obj = global i32 0\n"
    "declare i32 @__cxa_atexit(ptr, ptr, ptr)\n"
    "declare i32 @atexit(ptr)\n"
    "define internal void @push(i32 %v) {\n"
    "  %p = load i32, ptr @trace_pos\n"
    "  %slot = getelementptr [64 x i32], ptr @trace, i32 0, i32 %p\n"
    "  store i32 %v, ptr %slot\n"
    "  %n = add i32 %p, 1\n"
    "  store i32 %n, ptr @trace_pos\n"
    "  ret void\n"
    "}\n"
    "define internal void @obj_dtor(ptr %o) {\n"
    "  %v = load i32, ptr %o\n"
    "  %neg = sub i32 0, %v\n"
    "  call void @push(i32 %neg)\n"
    "  ret void\n"
    "}\n"
    "define internal void @bye() {\n"
    "  call void @push(i32 77)\n"
    "  ret void\n"
    "}\n"
    "define internal void @init() {\n"
    "  store i32 5, ptr @obj\n"
    "  call void @push(i32 5)\n"
    "  %r = call i32 @__cxa_atexit(ptr @obj_dtor, ptr @obj, ptr @__dso_handle)\n"
    "  %s = call i32 @atexit(ptr @bye)\n"
    "  ret void\n"
    "}\n"
    "define internal void @fini() {\n"
    "  call void @push(i32 -1000)\n"
    "  ret void\n"
    "}\n"
    "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]\n"
    "@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @fini, ptr null }]\n"
    "define i32 @cxa_tag() {\n  ret i32 1\n}\n";

static void test_exit_handlers_after_destructors(void)
{
    JitcoreEngineRef ee = trace_engine();
    if (!ee)
        return;
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("cxa", CXA_IR)));
    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    CHECK_TRACE(trace, trace_pos, 5);
    /* MCJIT's order: static destructors, then the exit handlers, last
       registered first; each once */
    CHECK_OK(JitcoreEngineRunStaticDestructors(ee));
    CHECK_TRACE(trace, trace_pos, 5, -1000, 77, -5);
    CHECK_OK(JitcoreEngineRunStaticDestructors(ee));
    CHECK_TRACE(trace, trace_pos, 5, -1000, 77, -5);
    JitcoreDisposeEngine(ee);
}

static void test_removed_module_drops_its_handlers(void)
{
    JitcoreEngineRef ee = trace_engine();
    if (!ee)
        return;
    JitcoreModuleRef m = MAKE_MODULE("cxa", CXA_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    CHECK_TRACE(trace, trace_pos, 5);
    /* its destructor and handlers go with its code, unrun */
    CHECK_OK(JitcoreEngineRemoveModule(ee, m));
    CHECK_OK(JitcoreEngineRunStaticDestructors(ee));
    CHECK_TRACE(trace, trace_pos, 5);
    /* added again, it is initialized again */
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_OK(JitcoreEngineRunStaticConstructors(ee));
    CHECK_OK(JitcoreEngineRunStaticDestructors(ee));
    CHECK_TRACE(trace, trace_pos, 5, 5, -1000, 77, -5);
    JitcoreDisposeEngine(ee);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    RUN_TEST(test_single_module());
    RUN_TEST(test_ctors_without_prior_lookup());
    RUN_TEST(test_several_modules());
    RUN_TEST(test_ctor_with_unresolved_symbol());
    RUN_TEST(test_exit_handlers_after_destructors());
    RUN_TEST(test_removed_module_drops_its_handlers());
    return tu_finish("test_ctors");
}
