/*
 * The linked-address table (issue 13): a lookup of a symbol a lookup found
 * before is answered without asking ORC, and the answer is exact across
 * every change that can alter it:
 *  - removal (engine module, session tracker, lazily added module);
 *  - redefinition in another dylib earlier in the link order;
 *  - link-order changes; a symbol source added later; absolute symbols;
 *  - the first name and the thousandth of a large module;
 *  - concurrent lookups while another thread adds and removes the module
 *    that defines the name (each lookup either fails or gives an address
 *    of a live definition; after the removal, every lookup fails).
 */
#include "test_util.h"

typedef int (*int_fn)(void);

static int missing(JitcoreSessionRef s, JitcoreDylibRef d, const char *name)
{
    uint64_t addr = 7;
    int ok = CHECK_ERR(JitcoreSessionLookup(s, d, &addr, name), JITCORE_ERROR_SYMBOL_NOT_FOUND, name);
    return ok && CHECK_MSG(addr == 7, "a failed lookup leaves *Result alone");
}

static void test_engine_removal_and_readd(void)
{
    JitcoreModuleRef m1 = MAKE_MODULE("one", "define i32 @f() { ret i32 1 }\n");
    JitcoreEngineRef ee = MAKE_ENGINE(m1);
    uint64_t a = LOOKUP(ee, "f");
    CHECK_MSG(a != 0 && FN(int_fn, a)() == 1, "f is 1");
    for (int i = 0; i < 100; i++)
        CHECK_EQ_U64(LOOKUP(ee, "f"), a);
    CHECK_OK(JitcoreEngineRemoveModule(ee, m1));
    uint64_t out = 7;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "f"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "f");
    CHECK_ERR(JitcoreEngineGetGlobalValueAddress(ee, &out, "f"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "f");
    CHECK_MSG(out == 7, "untouched on error");
    /* Another module defines f now: its f, never the removed one's. */
    JitcoreModuleRef m2 = MAKE_MODULE("two", "define i32 @f() { ret i32 2 }\n");
    CHECK_OK(JitcoreEngineAddModule(ee, m2));
    CHECK_MSG(FN(int_fn, LOOKUP(ee, "f"))() == 2, "f is the new module's");
    /* The first module again, after the second went. */
    CHECK_OK(JitcoreEngineRemoveModule(ee, m2));
    JitcoreDisposeModule(m2);
    CHECK_OK(JitcoreEngineAddModule(ee, m1));
    CHECK_MSG(FN(int_fn, LOOKUP(ee, "f"))() == 1, "f is 1 again");
    /* A global mapping of a new name is found; lookups before it did not break it. */
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "mapped"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "mapped");
    CHECK_OK(JitcoreEngineAddGlobalMapping(ee, "mapped", 0x1234));
    CHECK_EQ_U64(LOOKUP(ee, "mapped"), 0x1234);
    CHECK_EQ_U64(LOOKUP(ee, "mapped"), 0x1234);
    JitcoreDisposeEngine(ee);
}

static void test_link_order_changes(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef app = NULL, a = NULL, b = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &app, "app"));
    CHECK_OK(JitcoreSessionCreateDylib(s, &a, "a"));
    CHECK_OK(JitcoreSessionCreateDylib(s, &b, "b"));
    JitcoreDylibRef ab[2] = {a, b}, ba[2] = {b, a};
    CHECK_OK(JitcoreDylibSetLinkOrder(app, ab, 2));
    /* Only b defines g: app finds b's. */
    CHECK_OK(JitcoreDylibAddModule(b, MAKE_MODULE("b1", "define i32 @g() { ret i32 20 }\n"), NULL));
    CHECK_MSG(SESSION_CALL_INT(s, app, "g") == 20, "g from b");
    CHECK_MSG(SESSION_CALL_INT(s, app, "g") == 20, "g from b, again");
    /* a, earlier in app's link order, defines g now: app finds a's. */
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(a);
    CHECK_OK(JitcoreDylibAddModule(a, MAKE_MODULE("a1", "define i32 @g() { ret i32 10 }\n"), rt));
    CHECK_MSG(SESSION_CALL_INT(s, app, "g") == 10, "g from a once a defines it");
    /* The link order changes: b first. */
    CHECK_OK(JitcoreDylibSetLinkOrder(app, ba, 2));
    CHECK_MSG(SESSION_CALL_INT(s, app, "g") == 20, "g from b after the order changed");
    CHECK_OK(JitcoreDylibSetLinkOrder(app, ab, 2));
    CHECK_MSG(SESSION_CALL_INT(s, app, "g") == 10, "g from a again");
    /* a's definition is removed: b's again. */
    CHECK_OK(JitcoreResourceTrackerRemove(rt));
    JitcoreDisposeResourceTracker(rt);
    CHECK_MSG(SESSION_CALL_INT(s, app, "g") == 20, "g from b after a's went");
    /* No link order: not found. */
    CHECK_OK(JitcoreDylibSetLinkOrder(app, NULL, 0));
    missing(s, app, "g");
    /* app's own definition, as an absolute symbol. */
    JitcoreSymbolDefinition def = {"g", (uint64_t)(uintptr_t)&missing};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(app, &def, 1));
    CHECK_EQ_U64(SESSION_LOOKUP(s, app, "g"), (uint64_t)(uintptr_t)&missing);
    CHECK_EQ_U64(SESSION_LOOKUP(s, app, "g"), (uint64_t)(uintptr_t)&missing);
    /* A symbol source added later: a name it supplies is found. */
    missing(s, b, "getpid");
    CHECK_OK(JitcoreDylibAddProcessSymbols(b, NULL, NULL));
    CHECK_EQ_U64(SESSION_LOOKUP(s, b, "getpid"), (uint64_t)(uintptr_t)&getpid);
    CHECK_MSG(SESSION_CALL_INT(s, b, "g") == 20, "b's own g still");
    JitcoreDisposeSession(s);
}

static void test_lazy_removal(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    for (int round = 0; round < 3; round++) {
        JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(d);
        char ir[128];
        snprintf(ir, sizeof ir, "define i32 @h() { ret i32 %d }\ndefine i32 @k() { ret i32 5 }\n", round);
        CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("lazy", ir), rt));
        uint64_t stub = SESSION_LOOKUP(s, d, "h");
        CHECK_EQ_U64(SESSION_LOOKUP(s, d, "h"), stub);
        CHECK_MSG(FN(int_fn, stub)() == round, "round %d: h", round);
        CHECK_EQ_U64(SESSION_LOOKUP(s, d, "h"), stub);
        CHECK_OK(JitcoreResourceTrackerRemove(rt));
        JitcoreDisposeResourceTracker(rt);
        missing(s, d, "h");
        missing(s, d, "k");
    }
    JitcoreDisposeSession(s);
}

static void test_first_and_thousandth(void)
{
    size_t cap = 1 << 18, len = 0;
    char *ir = malloc(cap);
    for (int i = 0; i < 1200; i++)
        len += (size_t)snprintf(ir + len, cap - len, "define i32 @n%d() { ret i32 %d }\n", i, i);
    JitcoreModuleRef m = NULL;
    CHECK_OK(JitcoreCreateModuleFromIR(&m, "many", ir, len));
    free(ir);
    JitcoreEngineRef ee = MAKE_ENGINE_AT(m, JITCORE_OPT_LEVEL_O0);
    uint64_t addrs[1200];
    for (int i = 0; i < 1200; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        addrs[i] = LOOKUP(ee, name);
    }
    for (int rep = 0; rep < 3; rep++)
        for (int i = 0; i < 1200; i++) {
            char name[16];
            snprintf(name, sizeof name, "n%d", i);
            uint64_t a = LOOKUP(ee, name);
            if (!CHECK_EQ_U64(a, addrs[i]) || !CHECK_MSG(FN(int_fn, a)() == i, "n%d returns %d", i, i))
                break;
        }
    /* Names the table must tell apart from the ones it holds. */
    uint64_t out = 7;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "n12000"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "n12000");
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "n"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "'n'");
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, ""), JITCORE_ERROR_SYMBOL_NOT_FOUND, NULL);
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "n1\xff"), JITCORE_ERROR_INVALID_ARGUMENT, "UTF-8");
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "Name");
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, NULL, "n1"), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    CHECK_MSG(out == 7, "untouched on error");
    JitcoreDisposeEngine(ee);
}

/* Concurrency: readers look "f" (and a stable "s") up while a writer adds
 * and removes the module defining f. */
struct race {
    JitcoreSessionRef s;
    JitcoreDylibRef d;
    atomic_int stop;
    atomic_long found, not_found, bad;
};

static void *reader(void *arg)
{
    struct race *r = arg;
    uint64_t stable = 0;
    if (!CHECK_OK(JitcoreSessionLookup(r->s, r->d, &stable, "s")))
        return NULL;
    while (!atomic_load(&r->stop)) {
        uint64_t a = 0;
        JitcoreErrorRef e = JitcoreSessionLookup(r->s, r->d, &a, "f");
        if (!e)
            atomic_fetch_add(&r->found, 1);
        else if (JitcoreGetErrorCode(e) == JITCORE_ERROR_SYMBOL_NOT_FOUND)
            atomic_fetch_add(&r->not_found, 1);
        else
            atomic_fetch_add(&r->bad, 1);
        JitcoreConsumeError(e);
        uint64_t b = 0;
        if (JitcoreSessionLookup(r->s, r->d, &b, "s") == NULL && b != stable)
            atomic_fetch_add(&r->bad, 1);
    }
    return NULL;
}

static void test_concurrent_removal(void)
{
    struct race r = {.s = NEW_SESSION()};
    r.d = JitcoreSessionGetMainDylib(r.s);
    CHECK_OK(JitcoreDylibAddModule(r.d, MAKE_MODULE("stable", "define i32 @s() { ret i32 99 }\n"), NULL));
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader, &r);
    for (int round = 0; round < 200; round++) {
        JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(r.d);
        char ir[64];
        snprintf(ir, sizeof ir, "define i32 @f() { ret i32 %d }\n", round);
        CHECK_OK(JitcoreDylibAddModule(r.d, MAKE_MODULE("f", ir), rt));
        if (!CHECK_MSG(SESSION_CALL_INT(r.s, r.d, "f") == round, "round %d: f is this round's", round))
            break;
        CHECK_OK(JitcoreResourceTrackerRemove(rt));
        JitcoreDisposeResourceTracker(rt);
        if (!missing(r.s, r.d, "f"))
            break;
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK_MSG(atomic_load(&r.bad) == 0, "%ld lookups gave neither an address nor SYMBOL_NOT_FOUND",
              atomic_load(&r.bad));
    tu_note("readers: %ld found, %ld not found", atomic_load(&r.found), atomic_load(&r.not_found));
    JitcoreDisposeSession(r.s);
}

int main(void)
{
    RUN_TEST(test_engine_removal_and_readd());
    RUN_TEST(test_link_order_changes());
    RUN_TEST(test_lazy_removal());
    RUN_TEST(test_first_and_thousandth());
    RUN_TEST(test_concurrent_removal());
    return tu_finish("test_lookup_table");
}
