/*
 * Errors of jitcore's session API:
 *  - NULL (and otherwise unusable) arguments to every session function:
 *    INVALID_ARGUMENT or NULL, never a crash; outputs untouched;
 *  - modules that cannot be added (bad IR, foreign target, added twice,
 *    duplicate symbols), bad objects;
 *  - an unresolved external at lookup: UNRESOLVED_SYMBOL naming the external
 *    and the module; defining it with JitcoreDylibDefineAbsoluteSymbols and
 *    retrying works (the module was reset);
 *  - the error reporter hears of a failed lazy compile (naming the function),
 *    before the lazy failure handler runs;
 *  - handles of another session are refused.
 */
#include "test_util.h"

typedef int (*int_fn)(void);


static JitcoreErrorRef dummy_materialize(void *ctx, const char *const *syms, size_t n, JitcoreModuleRef *mod_out,
                                         JitcoreObjectBufferRef *obj_out)
{
    (void)ctx;
    (void)syms;
    (void)n;
    (void)mod_out;
    (void)obj_out;
    return JitcoreCreateError(JITCORE_ERROR_INTERNAL, "dummy materializer must not run");
}

static int allow_all(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return 1;
}

#define BAD JITCORE_ERROR_INVALID_ARGUMENT

static void test_null_arguments(void)
{
    /* Creating and disposing. */
    CHECK_ERR(JitcoreCreateSession(NULL, NULL), BAD, "Result");
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    JitcoreSessionOptionsInit(NULL);
    o.OptLevel = (JitcoreOptLevel)7;
    JitcoreSessionRef never = (JitcoreSessionRef)(uintptr_t)0x1;
    CHECK_ERR(JitcoreCreateSession(&never, &o), BAD, "7|level|OptLevel");
    CHECK(never == (JitcoreSessionRef)(uintptr_t)0x1);
    JitcoreDisposeSession(NULL);

    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK(JitcoreSessionGetMainDylib(NULL) == NULL);
    CHECK(JitcoreDylibGetName(NULL) == NULL);
    CHECK_STR_EQ(JitcoreDylibGetName(d), "main");

    /* Dylibs. */
    JitcoreDylibRef nd = (JitcoreDylibRef)(uintptr_t)0x1;
    CHECK_ERR(JitcoreSessionCreateDylib(NULL, &nd, "x"), BAD, "session|S");
    CHECK_ERR(JitcoreSessionCreateDylib(s, NULL, "x"), BAD, "Result");
    CHECK_ERR(JitcoreSessionCreateDylib(s, &nd, NULL), BAD, "Name");
    CHECK_ERR(JitcoreSessionCreateDylib(s, &nd, ""), BAD, "empty|Name|''");
    CHECK_ERR(JitcoreSessionCreateDylib(s, &nd, "main"), BAD, "main");
    CHECK(nd == (JitcoreDylibRef)(uintptr_t)0x1);
    CHECK(JitcoreSessionGetDylibByName(NULL, "main") == NULL);
    CHECK(JitcoreSessionGetDylibByName(s, NULL) == NULL);
    CHECK(JitcoreSessionGetDylibByName(s, "main") == d);
    CHECK_ERR(JitcoreDylibSetLinkOrder(NULL, &d, 1), BAD, "dylib|D");
    CHECK_ERR(JitcoreDylibSetLinkOrder(d, NULL, 1), BAD, "Order");
    JitcoreDylibRef null_order[1] = {NULL};
    CHECK_ERR(JitcoreDylibSetLinkOrder(d, null_order, 1), BAD, "Order|dylib");
    CHECK_OK(JitcoreDylibSetLinkOrder(d, NULL, 0)); /* an empty order */

    /* Adding modules. */
    JitcoreModuleRef m = MAKE_MODULE("m", "define i32 @m_fn() { ret i32 1 }\n");
    CHECK_ERR(JitcoreDylibAddModule(NULL, m, NULL), BAD, "dylib|D");
    CHECK_ERR(JitcoreDylibAddModule(d, NULL, NULL), BAD, "module|M");
    CHECK_ERR(JitcoreDylibAddModuleLazy(NULL, m, NULL), BAD, "dylib|D");
    CHECK_ERR(JitcoreDylibAddModuleLazy(d, NULL, NULL), BAD, "module|M");
    CHECK_STR_EQ(JitcoreModuleGetName(m), "m"); /* still ours */

    /* Objects. */
    static const uint8_t junk[64] = {1, 2, 3};
    CHECK_ERR(JitcoreDylibAddObjectBuffer(NULL, junk, sizeof junk, NULL), BAD, "dylib|D");
    CHECK_ERR(JitcoreDylibAddObjectBuffer(d, NULL, 16, NULL), BAD, "Data");
    CHECK_ERR(JitcoreDylibAddObjectBuffer(d, junk, sizeof junk, NULL), JITCORE_ERROR_INVALID_OBJECT, "object");
    static const uint8_t elf_head[8] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    CHECK_ERR(JitcoreDylibAddObjectBuffer(d, elf_head, sizeof elf_head, NULL), JITCORE_ERROR_INVALID_OBJECT, "object");

    /* Absolute symbols. */
    JitcoreSymbolDefinition def = {"abs_sym", 0x1000};
    JitcoreSymbolDefinition null_name = {NULL, 0x1000};
    JitcoreSymbolDefinition empty_name = {"", 0x1000};
    CHECK_ERR(JitcoreDylibDefineAbsoluteSymbols(NULL, &def, 1), BAD, "dylib|D");
    CHECK_ERR(JitcoreDylibDefineAbsoluteSymbols(d, NULL, 1), BAD, "Symbols");
    CHECK_ERR(JitcoreDylibDefineAbsoluteSymbols(d, &null_name, 1), BAD, "Name|name");
    CHECK_ERR(JitcoreDylibDefineAbsoluteSymbols(d, &empty_name, 1), BAD, "empty");

    /* Symbol sources. */
    CHECK_ERR(JitcoreDylibAddProcessSymbols(NULL, allow_all, NULL), BAD, "dylib|D");
    CHECK_ERR(JitcoreDylibAddLibrarySymbols(NULL, "/lib/libm.so.6", NULL, NULL), BAD, "dylib|D");
    CHECK_ERR(JitcoreDylibAddLibrarySymbols(d, NULL, NULL, NULL), BAD, "Path");
    CHECK_ERR(JitcoreDylibAddArchive(NULL, "/x.a"), BAD, "dylib|D");
    CHECK_ERR(JitcoreDylibAddArchive(d, NULL), BAD, "Path");

    /* Materializers (no Dispose: what happens to it on these errors is not promised). */
    const char *syms[1] = {"mat_sym"};
    const char *null_sym[1] = {NULL};
    CHECK_ERR(JitcoreDylibAddMaterializer(NULL, syms, 1, dummy_materialize, NULL, NULL, NULL), BAD, "dylib|D");
    CHECK_ERR(JitcoreDylibAddMaterializer(d, NULL, 1, dummy_materialize, NULL, NULL, NULL), BAD, "Symbols");
    CHECK_ERR(JitcoreDylibAddMaterializer(d, syms, 0, dummy_materialize, NULL, NULL, NULL), BAD, "symbol");
    CHECK_ERR(JitcoreDylibAddMaterializer(d, syms, 1, NULL, NULL, NULL, NULL), BAD, "Materialize");
    CHECK_ERR(JitcoreDylibAddMaterializer(d, null_sym, 1, dummy_materialize, NULL, NULL, NULL), BAD, "Symbols");

    /* Lookups. */
    uint64_t addr = 0x5555;
    CHECK_ERR(JitcoreSessionLookup(NULL, d, &addr, "x"), BAD, "session|S");
    CHECK_ERR(JitcoreSessionLookup(s, NULL, &addr, "x"), BAD, "dylib|D");
    CHECK_ERR(JitcoreSessionLookup(s, d, NULL, "x"), BAD, "Result");
    CHECK_ERR(JitcoreSessionLookup(s, d, &addr, NULL), BAD, "Name");
    CHECK_EQ_U64(addr, 0x5555);
    const char *names[2] = {"a", NULL};
    uint64_t res[2] = {0x5555, 0x5555};
    CHECK_ERR(JitcoreSessionLookupMany(NULL, d, res, names, 1), BAD, "session|S");
    CHECK_ERR(JitcoreSessionLookupMany(s, NULL, res, names, 1), BAD, "dylib|D");
    CHECK_ERR(JitcoreSessionLookupMany(s, d, NULL, names, 1), BAD, "Results");
    CHECK_ERR(JitcoreSessionLookupMany(s, d, res, NULL, 1), BAD, "Names");
    CHECK_ERR(JitcoreSessionLookupMany(s, d, res, names, 2), BAD, "Names");
    CHECK(res[0] == 0x5555 && res[1] == 0x5555);

    /* Trackers, cache, reporter, statistics. */
    CHECK(JitcoreDylibCreateResourceTracker(NULL) == NULL);
    CHECK_ERR(JitcoreResourceTrackerRemove(NULL), BAD, "tracker|RT");
    JitcoreDisposeResourceTracker(NULL);
    JitcoreSessionSetObjectCache(NULL, NULL, NULL, NULL);
    JitcoreSessionSetErrorReporter(NULL, NULL, NULL);
    JitcoreStatistics st;
    memset(&st, 0xab, sizeof st);
    CHECK_ERR(JitcoreSessionGetStatistics(NULL, &st), BAD, "session|S");
    CHECK_ERR(JitcoreSessionGetStatistics(s, NULL), BAD, "Result");
    CHECK_EQ_U64(st.ModulesCompiled, 0xababababababababULL);

    /* None of that defined anything, and the session still works. */
    CHECK_ERR(JitcoreSessionLookup(s, d, &addr, "abs_sym"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "abs_sym");
    CHECK_ERR(JitcoreSessionLookup(s, d, &addr, "mat_sym"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "mat_sym");
    CHECK_OK(JitcoreDylibAddModule(d, m, NULL));
    CHECK_OK(JitcoreSessionLookup(s, d, &addr, "m_fn"));
    CHECK_EQ_INT(FN(int_fn, addr)(), 1);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    CHECK_EQ_U64(st.ModulesCompiled, 1);
    JitcoreDisposeSession(s);
}

/* Modules and objects that cannot be added. */
static void test_bad_modules(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    JitcoreDylibRef other = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &other, "other"));

    /* IR that does not parse never becomes a module. */
    static const char bad_ir[] = "define i32 @broken( {\n";
    JitcoreModuleRef bad = NULL;
    CHECK_ERR(JitcoreCreateModuleFromIR(&bad, "broken", bad_ir, strlen(bad_ir)), JITCORE_ERROR_INVALID_IR, "broken");
    CHECK(bad == NULL);
    /* IR that does not verify. */
    static const char unverified[] = "define i32 @nope() {\n  ret i64 0\n}\n";
    CHECK_ERR(JitcoreCreateModuleFromIR(&bad, "unverified", unverified, strlen(unverified)), JITCORE_ERROR_INVALID_IR,
              "unverified");

    /* A foreign target. */
#if defined(__x86_64__)
    static const char foreign[] = "target triple = \"aarch64-unknown-linux-gnu\"\ndefine i32 @foreign() { ret i32 0 }\n";
#else
    static const char foreign[] = "target triple = \"x86_64-unknown-linux-gnu\"\ndefine i32 @foreign() { ret i32 0 }\n";
#endif
    JitcoreModuleRef fm = MAKE_MODULE("foreign", foreign);
    CHECK_ERR(JitcoreDylibAddModule(d, fm, NULL), JITCORE_ERROR_UNSUPPORTED, "foreign|triple");
    CHECK_ERR(JitcoreDylibAddModuleLazy(d, fm, NULL), JITCORE_ERROR_UNSUPPORTED, "foreign|triple");
    JitcoreDisposeModule(fm);

    /* Added twice. */
    JitcoreModuleRef m = MAKE_MODULE("twice", "define i32 @twice() { ret i32 2 }\n");
    CHECK_OK(JitcoreDylibAddModule(d, m, NULL));
    CHECK_ERR(JitcoreDylibAddModule(other, m, NULL), JITCORE_ERROR_MODULE_ALREADY_ADDED, "twice");
    CHECK_ERR(JitcoreDylibAddModuleLazy(d, m, NULL), JITCORE_ERROR_MODULE_ALREADY_ADDED, "twice");

    /* Duplicate symbols (the module stays ours). */
    JitcoreModuleRef dup = MAKE_MODULE("dup", "define i32 @twice() { ret i32 3 }\n");
    CHECK_ERR(JitcoreDylibAddModule(d, dup, NULL), JITCORE_ERROR_DUPLICATE_DEFINITION, "twice");
    CHECK_ERR(JitcoreDylibAddModuleLazy(d, dup, NULL), JITCORE_ERROR_DUPLICATE_DEFINITION, "twice");
    JitcoreSymbolDefinition defs[2] = {{"fresh_abs", 0x2000}, {"twice", 0x3000}};
    CHECK_ERR(JitcoreDylibDefineAbsoluteSymbols(d, defs, 2), JITCORE_ERROR_DUPLICATE_DEFINITION, "twice");
    uint64_t addr = 0;
    /* ...then none is defined. */
    CHECK_ERR(JitcoreSessionLookup(s, d, &addr, "fresh_abs"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "fresh_abs");
    /* The duplicate is fine in another dylib. */
    CHECK_OK(JitcoreDylibAddModule(other, dup, NULL));
    CHECK_OK(JitcoreSessionLookup(s, d, &addr, "twice"));
    CHECK_EQ_INT(FN(int_fn, addr)(), 2);
    CHECK_OK(JitcoreSessionLookup(s, other, &addr, "twice"));
    CHECK_EQ_INT(FN(int_fn, addr)(), 3);
    JitcoreDisposeSession(s);
}

/* An unresolved external: named with its module; fixed by defining it. */
static int host_forty(void) { return 40; }

struct reports {
    int count;
    JitcoreErrorCode last_code;
    char last[512];
    char all[2048]; /* every message, joined with " || " */
    int any_unresolved;
};

static void reporter(void *ctx, JitcoreErrorCode code, const char *message)
{
    struct reports *r = ctx;
    r->count++;
    r->last_code = code;
    if (code == JITCORE_ERROR_UNRESOLVED_SYMBOL)
        r->any_unresolved = 1;
    snprintf(r->last, sizeof r->last, "%s", message ? message : "(null)");
    size_t used = strlen(r->all);
    snprintf(r->all + used, sizeof r->all - used, "%s%s", used ? " || " : "", r->last);
}

static void test_unresolved_then_fixed(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    struct reports rep;
    memset(&rep, 0, sizeof rep);
    JitcoreSessionSetErrorReporter(s, reporter, &rep);
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "app"));
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("needs_ext",
        "declare i32 @jc_missing_ext()\n"
        "define i32 @use_ext() {\n"
        "  %r = call i32 @jc_missing_ext()\n"
        "  %s = add i32 %r, 2\n"
        "  ret i32 %s\n"
        "}\n"), NULL));
    uint64_t addr = 0x77;
    CHECK_ERR2(JitcoreSessionLookup(s, d, &addr, "use_ext"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "jc_missing_ext",
               "needs_ext");
    CHECK_EQ_U64(addr, 0x77);
    /* Still unresolved on a retry. */
    CHECK_ERR2(JitcoreSessionLookup(s, d, &addr, "use_ext"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "jc_missing_ext",
               "needs_ext");
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    CHECK(st.MaterializationFailures >= 1);
    tu_note("  the error reporter heard %d report(s) of the failed lookups%s%s", rep.count, rep.count ? ": " : "",
            rep.all);
    CHECK_MSG(rep.count >= 1, "expected the error reporter to hear of the link failure");
    CHECK_CONTAINS(rep.all, "jc_missing_ext");

    /* Define the missing symbol; the module was reset, so a retry links. */
    JitcoreSymbolDefinition def = {"jc_missing_ext", HOST_ADDR(host_forty)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &def, 1));
    if (CHECK_OK(JitcoreSessionLookup(s, d, &addr, "use_ext")))
        CHECK_EQ_INT(FN(int_fn, addr)(), 42);
    JitcoreSessionSetErrorReporter(s, NULL, NULL);
    JitcoreDisposeSession(s);
}

/* Same, with the missing symbol provided by a dylib added to the link order. */
static void test_unresolved_fixed_by_link_order(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = NULL, lib = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "app"));
    CHECK_OK(JitcoreSessionCreateDylib(s, &lib, "lib"));
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("needs_lib",
        "declare i32 @jc_lib_fn()\n"
        "define i32 @use_lib() { %r = call i32 @jc_lib_fn()\n ret i32 %r }\n"), NULL));
    uint64_t addr = 0;
    CHECK_ERR2(JitcoreSessionLookup(s, d, &addr, "use_lib"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "jc_lib_fn", "needs_lib");
    CHECK_OK(JitcoreDylibAddModule(lib, MAKE_MODULE("lib", "define i32 @jc_lib_fn() { ret i32 5 }\n"), NULL));
    CHECK_OK(JitcoreDylibSetLinkOrder(d, &lib, 1));
    if (CHECK_OK(JitcoreSessionLookup(s, d, &addr, "use_lib")))
        CHECK_EQ_INT(FN(int_fn, addr)(), 5);
    JitcoreDisposeSession(s);
}

/* Issue 8.10: a symbol source whose adding fails leaves nothing behind
   (the valgrind configuration reports a definite leak otherwise), and the
   dylib stays usable. */
static void test_failed_source_is_released(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "victim"));
    char *dir = tu_make_temp_dir();
    char *junk = dir ? tu_path_join(dir, "libjunk.so") : NULL;
    if (junk)
        CHECK(tu_write_file(junk, "not a library at all", 20));
    for (int i = 0; i < 50; i++) {
        CHECK_ERR(JitcoreDylibAddLibrarySymbols(d, "/nonexistent/libjc_absent.so", allow_all, NULL),
                  JITCORE_ERROR_IO, "libjc_absent");
        if (junk)
            CHECK_ERR(JitcoreDylibAddLibrarySymbols(d, junk, allow_all, NULL), JITCORE_ERROR_IO, "libjunk");
    }
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("still_fine", "define i32 @still_fine() { ret i32 8 }\n"), NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "still_fine"), 8);
    JitcoreDisposeSession(s);
    if (junk)
        remove(junk);
    if (dir)
        rmdir(dir);
    free(junk);
    free(dir);
}

/* Issue 8.10: defining absolute symbols, adding sources and changing link
   orders take the lock every structural change takes, so they never
   interleave with the reset a failed lookup does. One thread keeps failing
   a lookup (each failure resets the module); two others change the dylib's
   definitions, sources and link order. Every lookup fails cleanly until the
   missing symbol is defined, then the module links. */
struct churn {
    JitcoreSessionRef s;
    JitcoreDylibRef app, lib1, lib2;
    atomic_int stop;
    atomic_int lookups, changes, bad, generic;
};

static void *churn_lookups(void *p)
{
    struct churn *c = p;
    while (!atomic_load(&c->stop)) {
        uint64_t addr = 0;
        JitcoreErrorRef e = JitcoreSessionLookup(c->s, c->app, &addr, "churn_user");
        if (!e) {
            atomic_fetch_add(&c->bad, 1); /* jc_churn_missing is never defined while this runs */
        } else {
            /* The cause, or (rarely, when another thread's failure of the
               same unit was reset meanwhile) ORC's failure of the symbol. */
            JitcoreErrorCode code = JitcoreGetErrorCode(e);
            if (code == JITCORE_ERROR_LINK)
                atomic_fetch_add(&c->generic, 1);
            if (code != JITCORE_ERROR_UNRESOLVED_SYMBOL && code != JITCORE_ERROR_LINK &&
                atomic_fetch_add(&c->bad, 1) < 3) {
                char *m = JitcoreGetErrorMessage(e);
                tu_note("  unexpected lookup error: %s", m);
                JitcoreDisposeErrorMessage(m);
            } else
                JitcoreConsumeError(e);
        }
        atomic_fetch_add(&c->lookups, 1);
    }
    return NULL;
}

static void *churn_changes(void *p)
{
    struct churn *c = p;
    for (int i = 0; !atomic_load(&c->stop); i++) {
        char name[64];
        snprintf(name, sizeof name, "jc_churn_abs_%d_%lu", i, (unsigned long)(uintptr_t)&name);
        JitcoreSymbolDefinition def = {name, 0x1000 + (uint64_t)i};
        JitcoreErrorRef e = JitcoreDylibDefineAbsoluteSymbols(c->app, &def, 1);
        if (e) {
            if (atomic_fetch_add(&c->bad, 1) < 3) {
                char *m = JitcoreGetErrorMessage(e);
                tu_note("  unexpected error: %s", m);
                JitcoreDisposeErrorMessage(m);
            } else
                JitcoreConsumeError(e);
        }
        JitcoreDylibRef order[2] = {(i & 1) ? c->lib1 : c->lib2, (i & 1) ? c->lib2 : c->lib1};
        e = JitcoreDylibSetLinkOrder(c->app, order, (size_t)(i % 3));
        if (e) {
            if (atomic_fetch_add(&c->bad, 1) < 3) {
                char *m = JitcoreGetErrorMessage(e);
                tu_note("  unexpected error: %s", m);
                JitcoreDisposeErrorMessage(m);
            } else
                JitcoreConsumeError(e);
        }
        if (i % 16 == 0) {
            e = JitcoreDylibAddProcessSymbols((i & 16) ? c->lib1 : c->lib2, allow_all, NULL);
            if (e) {
                atomic_fetch_add(&c->bad, 1);
                JitcoreConsumeError(e);
            }
        }
        atomic_fetch_add(&c->changes, 1);
    }
    return NULL;
}

static void test_structural_changes_race_resets(void)
{
    struct churn c;
    memset(&c, 0, sizeof c);
    c.s = NEW_SESSION();
    CHECK_OK(JitcoreSessionCreateDylib(c.s, &c.app, "churn_app"));
    CHECK_OK(JitcoreSessionCreateDylib(c.s, &c.lib1, "churn_lib1"));
    CHECK_OK(JitcoreSessionCreateDylib(c.s, &c.lib2, "churn_lib2"));
    CHECK_OK(JitcoreDylibAddModule(c.app, MAKE_MODULE("churn_user",
        "declare i32 @jc_churn_missing()\n"
        "define i32 @churn_user() {\n"
        "  %r = call i32 @jc_churn_missing()\n"
        "  ret i32 %r\n"
        "}\n"), NULL));
    pthread_t t[3];
    pthread_create(&t[0], NULL, churn_lookups, &c);
    pthread_create(&t[1], NULL, churn_lookups, &c);
    pthread_create(&t[2], NULL, churn_changes, &c);
    struct timespec ts = {1, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    atomic_store(&c.stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    tu_note("  %d failed lookups (each a reset; %d without the cause) against %d structural changes",
            atomic_load(&c.lookups), atomic_load(&c.generic), atomic_load(&c.changes));
    CHECK(atomic_load(&c.generic) * 10 < atomic_load(&c.lookups));
    CHECK_EQ_INT(atomic_load(&c.bad), 0);
    CHECK(atomic_load(&c.lookups) > 0 && atomic_load(&c.changes) > 0);
    /* Now the missing symbol comes: the module was reset, it links. */
    JitcoreSymbolDefinition def = {"jc_churn_missing", HOST_ADDR(host_forty)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(c.app, &def, 1));
    CHECK_EQ_INT(SESSION_CALL_INT(c.s, c.app, "churn_user"), 40);
    JitcoreDisposeSession(c.s);
}

/* A lazy compile that fails is reported (naming the function and the
   cause) before the lazy failure handler runs; this handler records and
   returns, so the call returns 0, as documented. */
static void record_lazy_failure(void *ctx, const char *function, JitcoreErrorRef err)
{
    int *calls = ctx;
    (*calls)++;
    CHECK_STR_EQ(function, "lazy_bad");
    CHECK_ERR(err, JITCORE_ERROR_UNRESOLVED_SYMBOL, "jc_lazy_missing");
}

static void test_reporter_lazy_failure(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    struct reports rep;
    memset(&rep, 0, sizeof rep);
    int handled = 0;
    JitcoreSessionSetErrorReporter(s, reporter, &rep);
    JitcoreSessionSetLazyFailureHandler(s, record_lazy_failure, &handled);
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "lazyapp"));
    CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("lazy_needs",
        "declare i32 @jc_lazy_missing()\n"
        "define i32 @lazy_bad() { %r = call i32 @jc_lazy_missing()\n ret i32 %r }\n"
        "define i32 @lazy_good() { ret i32 6 }\n"), NULL));
    uint64_t bad = 0, good = 0;
    CHECK_OK(JitcoreSessionLookup(s, d, &good, "lazy_good"));
    CHECK_OK(JitcoreSessionLookup(s, d, &bad, "lazy_bad"));
    CHECK_EQ_INT(rep.count, 0);
    if (good)
        CHECK_EQ_INT(FN(int_fn, good)(), 6);
    if (bad) {
        int r = FN(int_fn, bad)();
        CHECK_MSG(r == 0, "expected a failed lazy call whose handler returns to return 0, got %d", r);
    }
    CHECK_EQ_INT(handled, 1);
    CHECK_MSG(rep.count >= 1, "expected the reporter to hear of the failed lazy compile");
    tu_note("  reports of the failed lazy compile: %s", rep.all);
    CHECK_CONTAINS(rep.all, "lazy_bad");
    /* The cause, not only ORC's "Failed to materialize symbols". */
    CHECK_CONTAINS(rep.all, "jc_lazy_missing");
    CHECK_MSG(rep.any_unresolved, "expected a report with code UNRESOLVED_SYMBOL");
    JitcoreSessionSetErrorReporter(s, NULL, NULL);
    JitcoreDisposeSession(s);
}

/* Handles of another session. */
static void test_foreign_session(void)
{
    JitcoreSessionRef s1 = NEW_SESSION();
    JitcoreSessionRef s2 = NEW_SESSION();
    JitcoreDylibRef d1 = NULL, d2 = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s1, &d1, "one"));
    CHECK_OK(JitcoreSessionCreateDylib(s2, &d2, "two"));
    CHECK_OK(JitcoreDylibAddModule(d2, MAKE_MODULE("two", "define i32 @in_two() { ret i32 2 }\n"), NULL));
    uint64_t addr = 0x99;
    CHECK_ERR(JitcoreSessionLookup(s1, d2, &addr, "in_two"), BAD, "session");
    CHECK_EQ_U64(addr, 0x99);
    const char *names[1] = {"in_two"};
    CHECK_ERR(JitcoreSessionLookupMany(s1, d2, &addr, names, 1), BAD, "session");
    CHECK_ERR(JitcoreSessionLookup(s1, JitcoreSessionGetMainDylib(s2), &addr, "in_two"), BAD, "session");
    CHECK_ERR(JitcoreDylibSetLinkOrder(d1, &d2, 1), BAD, "session|two");
    /* A tracker of another session's dylib. */
    JitcoreResourceTrackerRef rt2 = JitcoreDylibCreateResourceTracker(d2);
    JitcoreModuleRef m = MAKE_MODULE("m1", "define i32 @in_one() { ret i32 1 }\n");
    CHECK_ERR(JitcoreDylibAddModule(d1, m, rt2), BAD, "tracker");
    JitcoreDisposeModule(m);
    /* The right pairing works. */
    CHECK_OK(JitcoreSessionLookup(s2, d2, &addr, "in_two"));
    CHECK_EQ_INT(FN(int_fn, addr)(), 2);
    JitcoreDisposeResourceTracker(rt2);
    JitcoreDisposeSession(s1);
    JitcoreDisposeSession(s2);
}

int main(void)
{
    RUN_TEST(test_null_arguments());
    RUN_TEST(test_bad_modules());
    RUN_TEST(test_unresolved_then_fixed());
    RUN_TEST(test_unresolved_fixed_by_link_order());
    RUN_TEST(test_foreign_session());
    RUN_TEST(test_reporter_lazy_failure());
    RUN_TEST(test_failed_source_is_released());
    RUN_TEST(test_structural_changes_race_resets());
    return tu_finish("test_session_errors");
}
