/*
 * test_module_lifecycle.c: ownership of modules between hosts and engines.
 * Run it under valgrind: every order of disposal here must be clean.
 *
 *  - dispose a module added to an engine (no-op), then the engine, then the
 *    module again (no-op): the documented "either order" contract
 *  - remove a module and dispose it before the engine
 *  - duplicate add -> MODULE_ALREADY_ADDED; remove twice -> MODULE_NOT_FOUND
 *  - remove then lookup -> SYMBOL_NOT_FOUND; remove then re-add -> works
 *  - moving a module between engines
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

static const char PRODUCT_IR[] =
    "define i32 @product(i32 %a, i32 %b) {\n"
    "  %r = mul i32 %a, %b\n"
    "  ret i32 %r\n"
    "}\n";

static void test_dispose_module_then_engine(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    JitcoreModuleRef a = MAKE_MODULE("order_a", SUM_IR);
    JitcoreModuleRef b = MAKE_MODULE("order_b", PRODUCT_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, a));
    CHECK_OK(JitcoreEngineAddModule(ee, b));
    CHECK_SUM_WORKS(ee);
    /* modules added to an engine belong to it: disposing them does nothing */
    JitcoreDisposeModule(a);
    JitcoreDisposeModule(b);
    CHECK_STR_EQ(JitcoreModuleGetName(a), "order_a");
    CHECK_STR_EQ(JitcoreModuleGetName(b), "order_b");
    CHECK_SUM_WORKS(ee); /* compiled before the dispose call */
    uint64_t p = LOOKUP(ee, "product"); /* compiled after it */
    if (p)
        CHECK_EQ_INT(FN(int (*)(int, int), p)(6, 7), 42);
    /* and they can still be removed, after which they are the caller's */
    CHECK_OK(JitcoreEngineRemoveModule(ee, b));
    CHECK_STR_EQ(JitcoreModuleGetName(b), "order_b");
    JitcoreDisposeEngine(ee);
    /* a was freed with the engine; b was not (it was removed) */
    CHECK(JitcoreModuleGetName(a) == NULL);
    CHECK_STR_EQ(JitcoreModuleGetName(b), "order_b");
    JitcoreDisposeModule(a); /* dead handle: ignored */
    JitcoreDisposeModule(b); /* frees it */
    CHECK(JitcoreModuleGetName(b) == NULL);
    JitcoreDisposeModule(b); /* dead handle: ignored */
}

static void test_dispose_engine_then_module(void)
{
    JitcoreModuleRef a = MAKE_MODULE("engine_first_a", SUM_IR);
    JitcoreEngineRef ee = MAKE_ENGINE(a);
    JitcoreModuleRef b = MAKE_MODULE("engine_first_b", PRODUCT_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, b));
    JitcoreModuleRef never_compiled = MAKE_MODULE("never_compiled", "define i32 @nc() {\n  ret i32 3\n}\n");
    CHECK_OK(JitcoreEngineAddModule(ee, never_compiled));
    CHECK_SUM_WORKS(ee);
    uint64_t p = LOOKUP(ee, "product");
    if (p)
        CHECK_EQ_INT(FN(int (*)(int, int), p)(-3, 5), -15);
    JitcoreDisposeEngine(ee);
    /* every handle died with the engine */
    CHECK(JitcoreModuleGetName(a) == NULL);
    CHECK(JitcoreModuleGetName(b) == NULL);
    CHECK(JitcoreModuleGetName(never_compiled) == NULL);
    JitcoreDisposeModule(a);
    JitcoreDisposeModule(b);
    JitcoreDisposeModule(never_compiled);
    /* a dead handle is rejected, not used */
    JitcoreEngineRef ee2 = MAKE_ENGINE(NULL);
    CHECK_ERR(JitcoreEngineAddModule(ee2, a), JITCORE_ERROR_INVALID_ARGUMENT, "module|handle");
    JitcoreDisposeEngine(ee2);
}

static void test_owned_module_never_added(void)
{
    JitcoreModuleRef m = MAKE_MODULE("never_added", SUM_IR);
    CHECK_STR_EQ(JitcoreModuleGetName(m), "never_added");
    JitcoreDisposeModule(m);
    CHECK(JitcoreModuleGetName(m) == NULL);
    JitcoreDisposeModule(m); /* twice: ignored */
}

static void test_duplicate_add_and_double_remove(void)
{
    JitcoreModuleRef m = MAKE_MODULE("dup_mod", SUM_IR);
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    if (!ee)
        return;
    CHECK_ERR(JitcoreEngineAddModule(ee, m), JITCORE_ERROR_MODULE_ALREADY_ADDED, "dup_mod");
    CHECK_SUM_WORKS(ee);

    CHECK_OK(JitcoreEngineRemoveModule(ee, m));
    CHECK_ERR(JitcoreEngineRemoveModule(ee, m), JITCORE_ERROR_MODULE_NOT_FOUND, "dup_mod");

    /* remove then lookup: the symbol is gone */
    uint64_t out = 0x1234;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "sum");
    CHECK_EQ_U64(out, 0x1234);

    /* remove then re-add: works again */
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_SUM_WORKS(ee);
    CHECK_ERR(JitcoreEngineAddModule(ee, m), JITCORE_ERROR_MODULE_ALREADY_ADDED, "dup_mod");
    /* and again, a few times */
    for (int i = 0; i < 5; i++) {
        CHECK_OK(JitcoreEngineRemoveModule(ee, m));
        CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "sum");
        CHECK_OK(JitcoreEngineAddModule(ee, m));
        CHECK_SUM_WORKS(ee);
    }
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.ModulesCompiled, 7); /* compiled again after each re-add */

    /* a module never added to this engine */
    JitcoreModuleRef stranger = MAKE_MODULE("stranger", PRODUCT_IR);
    CHECK_ERR(JitcoreEngineRemoveModule(ee, stranger), JITCORE_ERROR_MODULE_NOT_FOUND, "stranger");
    CHECK_SUM_WORKS(ee);
    JitcoreDisposeModule(stranger);
    JitcoreDisposeEngine(ee);
}

static void test_remove_frees_symbols_for_new_definitions(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    JitcoreModuleRef v1 = MAKE_MODULE("v1", "define i32 @version() {\n  ret i32 1\n}\n@data = global i32 11\n");
    JitcoreModuleRef v2 = MAKE_MODULE("v2", "define i32 @version() {\n  ret i32 2\n}\n@data = global i32 22\n");
    CHECK_OK(JitcoreEngineAddModule(ee, v1));
    CHECK_ERR(JitcoreEngineAddModule(ee, v2), JITCORE_ERROR_DUPLICATE_DEFINITION, "version|data");
    uint64_t f = LOOKUP(ee, "version");
    if (f)
        CHECK_EQ_INT(FN(int (*)(void), f)(), 1);
    CHECK_OK(JitcoreEngineRemoveModule(ee, v1));
    /* the names are free again */
    CHECK_OK(JitcoreEngineAddModule(ee, v2));
    f = LOOKUP(ee, "version");
    if (f)
        CHECK_EQ_INT(FN(int (*)(void), f)(), 2);
    uint64_t d = 0;
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &d, "data"));
    if (d)
        CHECK_EQ_INT(*(int32_t *)(uintptr_t)d, 22);
    /* and back */
    CHECK_OK(JitcoreEngineRemoveModule(ee, v2));
    CHECK_OK(JitcoreEngineAddModule(ee, v1));
    f = LOOKUP(ee, "version");
    if (f)
        CHECK_EQ_INT(FN(int (*)(void), f)(), 1);
    /* v1's global starts from its initializer again */
    CHECK_OK(JitcoreEngineGetGlobalValueAddress(ee, &d, "data"));
    if (d)
        CHECK_EQ_INT(*(int32_t *)(uintptr_t)d, 11);
    JitcoreDisposeModule(v2); /* removed: the caller's, freed here */
    JitcoreDisposeEngine(ee); /* frees v1 */
}

static void test_move_between_engines(void)
{
    JitcoreEngineRef e1 = MAKE_ENGINE(NULL);
    JitcoreEngineRef e2 = MAKE_ENGINE(NULL);
    JitcoreModuleRef m = MAKE_MODULE("traveller", SUM_IR);
    CHECK_OK(JitcoreEngineAddModule(e1, m));
    CHECK_ERR(JitcoreEngineAddModule(e2, m), JITCORE_ERROR_MODULE_ALREADY_ADDED, "traveller");
    CHECK_ERR(JitcoreEngineRemoveModule(e2, m), JITCORE_ERROR_MODULE_NOT_FOUND, "traveller");
    CHECK_SUM_WORKS(e1);
    CHECK_OK(JitcoreEngineRemoveModule(e1, m));
    CHECK_OK(JitcoreEngineAddModule(e2, m));
    CHECK_SUM_WORKS(e2);
    uint64_t out = 0;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(e1, &out, "sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "sum");
    CHECK_ERR(JitcoreEngineRemoveModule(e1, m), JITCORE_ERROR_MODULE_NOT_FOUND, "traveller");
    /* disposing the first engine leaves the module alone */
    JitcoreDisposeEngine(e1);
    CHECK_STR_EQ(JitcoreModuleGetName(m), "traveller");
    CHECK_SUM_WORKS(e2);
    JitcoreDisposeEngine(e2);
    CHECK(JitcoreModuleGetName(m) == NULL);
    JitcoreDisposeModule(m);
}

static void test_remove_uncompiled_module(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    JitcoreModuleRef m = MAKE_MODULE("uncompiled", SUM_IR);
    CHECK_OK(JitcoreEngineAddModule(ee, m));
    CHECK_OK(JitcoreEngineRemoveModule(ee, m));
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.ModulesCompiled, 0);
    uint64_t out = 0;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "sum");
    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    JitcoreDisposeModule(m);
    CHECK(JitcoreModuleGetName(m) == NULL);
    JitcoreDisposeEngine(ee);
}

static void test_module_with_only_declarations(void)
{
    /* a module that defines nothing can be added, removed and disposed */
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    JitcoreModuleRef decl = MAKE_MODULE("declarations_only", "declare i32 @puts(ptr)\n");
    JitcoreModuleRef empty = MAKE_MODULE("comment_only", "; nothing here\n");
    CHECK_OK(JitcoreEngineAddModule(ee, decl));
    CHECK_OK(JitcoreEngineAddModule(ee, empty));
    CHECK_OK(JitcoreEngineFinalizeObject(ee));
    CHECK_SUM_WORKS(ee);
    CHECK_OK(JitcoreEngineRemoveModule(ee, decl));
    CHECK_ERR(JitcoreEngineRemoveModule(ee, decl), JITCORE_ERROR_MODULE_NOT_FOUND, "declarations_only");
    JitcoreDisposeModule(decl);
    JitcoreDisposeEngine(ee); /* frees `empty` */
    CHECK(JitcoreModuleGetName(empty) == NULL);
}

/* Issue 11.1: a module handle is a real pointer to memory jitcore owns
   (a binding may keep it as an integer and turn it back: Go's checkptr, ASan
   and valgrind see a valid address), also after it died, and a dead handle
   is recognized. */
static void test_handles_are_real_pointers(void)
{
    enum { N = 64 };
    JitcoreModuleRef m[N];
    for (int i = 0; i < N; i++) {
        m[i] = MAKE_MODULE("h", SUM_IR);
        uintptr_t a = (uintptr_t)m[i];
        CHECK_MSG(a >= 65536 && a % 16 == 0, "handle %p is not an aligned address", (void *)m[i]);
        for (int j = 0; j < i; j++)
            CHECK(m[i] != m[j]);
        unsigned char bytes[16];
        memcpy(bytes, (const void *)m[i], sizeof bytes); /* readable memory (checked by ASan, valgrind) */
        (void)bytes;
    }
    for (int i = 0; i < N; i++)
        JitcoreDisposeModule(m[i]);
    for (int i = 0; i < N; i++) {
        unsigned char bytes[16];
        memcpy(bytes, (const void *)m[i], sizeof bytes); /* still jitcore's memory after death */
        (void)bytes;
        CHECK(JitcoreModuleGetName(m[i]) == NULL); /* recognized as dead */
        JitcoreDisposeModule(m[i]);                /* and never freed twice */
    }
    /* New modules do not reuse the dead handles soon. */
    JitcoreModuleRef fresh = MAKE_MODULE("fresh", SUM_IR);
    for (int i = 0; i < N; i++)
        CHECK(fresh != m[i]);
    JitcoreDisposeModule(fresh);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    RUN_TEST(test_dispose_module_then_engine());
    RUN_TEST(test_dispose_engine_then_module());
    RUN_TEST(test_owned_module_never_added());
    RUN_TEST(test_duplicate_add_and_double_remove());
    RUN_TEST(test_remove_frees_symbols_for_new_definitions());
    RUN_TEST(test_move_between_engines());
    RUN_TEST(test_remove_uncompiled_module());
    RUN_TEST(test_module_with_only_declarations());
    RUN_TEST(test_handles_are_real_pointers());
    return tu_finish("test_module_lifecycle");
}
