/*
 * LLVM's OrcV2 C-bindings examples (llvm/examples/OrcV2Examples/OrcV2CBindings*),
 * ported to jitcore's session API, with their printed results turned into checks:
 *  - BasicUsage: sum(1, 2) == 3 from the main JITDylib;
 *  - AddObjectFile: the object bytes of the sum module (captured by a throwaway
 *    session's object cache) added to a fresh session with JitcoreDylibAddObjectBuffer;
 *  - Lazy: foo_body / bar_body / entry(argc) added lazily; only what runs compiles;
 *  - RemovableCode: a module under a tracker; remove it, the lookup fails; re-add;
 *  - ReflectProcessSymbols: host add/mul as absolute symbols (the harness cannot link
 *    with -rdynamic), and the process's libc through a filter allowing abs/labs only;
 *  - DumpObjects: the object cache's Notify sees every compiled object (ELF, ET_REL).
 */
#include "test_util.h"

typedef int (*int_fn)(void);
typedef int (*int1_fn)(int);
typedef int (*int3_fn)(int, int, int);
typedef int (*str_fn)(const char *);
typedef long (*long1_fn)(long);



static JitcoreStatistics stats(JitcoreSessionRef s)
{
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    return st;
}

/* ------------------------------------------------------------------ */
/* BasicUsage                                                          */
/* ------------------------------------------------------------------ */

static void test_basic_usage(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    CHECK(main_jd != NULL);
    CHECK_STR_EQ(JitcoreDylibGetName(main_jd), "main");
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("demo", SUM_IR), NULL));
    uint64_t addr = SESSION_LOOKUP(s, main_jd, "sum");
    if (addr) {
        int r = FN(tu_sum_fn, addr)(1, 2);
        CHECK_MSG(r == 3, "BasicUsage: expected 1 + 2 = 3, got %d", r);
    }
    JitcoreStatistics st = stats(s);
    CHECK_EQ_U64(st.ModulesCompiled, 1);
    CHECK_EQ_U64(st.FunctionsCompiled, 1);
    CHECK(st.ObjectBytesEmitted > 0);
    CHECK(st.CodeBytesLive > 0);
    CHECK_EQ_U64(st.MaterializationFailures, 0);
    JitcoreDisposeSession(s);
}

/* ------------------------------------------------------------------ */
/* AddObjectFile                                                       */
/* ------------------------------------------------------------------ */

struct captured {
    int count;
    unsigned char *bytes; /* the last object seen */
    size_t len;
    char names[8][32];    /* module names, in order */
    int elf_ok;           /* objects that were ELF relocatables */
};

static void capture_notify(void *ctx, JitcoreModuleRef m, const uint8_t *obj, size_t len)
{
    struct captured *c = ctx;
    if (c->count < 8) {
        const char *n = JitcoreModuleGetName(m);
        snprintf(c->names[c->count], sizeof c->names[0], "%s", n ? n : "(null)");
    }
    c->count++;
    /* ELF magic, and e_type (bytes 16..17, little endian on our hosts) == ET_REL. */
    if (len > 18 && obj && memcmp(obj, "\x7f" "ELF", 4) == 0 && obj[16] == 1 && obj[17] == 0)
        c->elf_ok++;
    free(c->bytes);
    c->bytes = malloc(len);
    if (c->bytes) {
        memcpy(c->bytes, obj, len);
        c->len = len;
    }
}

/* Compiles `ir` (defining `name`) in a throwaway session; returns its object bytes. */
static unsigned char *object_of(const char *modname, const char *ir, const char *name, size_t *len)
{
    struct captured c;
    memset(&c, 0, sizeof c);
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreSessionSetObjectCache(s, capture_notify, NULL, &c);
    CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(s), MAKE_MODULE(modname, ir), NULL));
    SESSION_LOOKUP(s, JitcoreSessionGetMainDylib(s), name);
    JitcoreDisposeSession(s);
    CHECK_MSG(c.count == 1, "expected one object from the throwaway session, got %d", c.count);
    CHECK_MSG(c.elf_ok == 1, "expected the object to be an ELF relocatable");
    *len = c.len;
    return c.bytes;
}

static void test_add_object_file(void)
{
    size_t len = 0;
    unsigned char *obj = object_of("demo", SUM_IR, "sum", &len);
    if (!CHECK(obj != NULL && len > 64)) {
        free(obj);
        return;
    }
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddObjectBuffer(main_jd, obj, len, NULL));
    /* The bytes were copied during the call. */
    memset(obj, 0, len);
    free(obj);
    uint64_t addr = SESSION_LOOKUP(s, main_jd, "sum");
    if (addr) {
        int r = FN(tu_sum_fn, addr)(1, 2);
        CHECK_MSG(r == 3, "AddObjectFile: expected 1 + 2 = 3, got %d", r);
    }
    JitcoreStatistics st = stats(s);
    CHECK_EQ_U64(st.ModulesCompiled, 0);
    CHECK_EQ_U64(st.ObjectsLoaded, 1);
    CHECK(st.CodeBytesLive > 0);
    /* The same object again in the same dylib: sum is defined twice. */
    size_t len2 = 0;
    unsigned char *obj2 = object_of("demo", SUM_IR, "sum", &len2);
    if (obj2)
        CHECK_ERR(JitcoreDylibAddObjectBuffer(main_jd, obj2, len2, NULL), JITCORE_ERROR_DUPLICATE_DEFINITION, "sum");
    free(obj2);
    JitcoreDisposeSession(s);
}

/* ------------------------------------------------------------------ */
/* Lazy                                                                */
/* ------------------------------------------------------------------ */

static const char FOO_IR[] = "define i32 @foo_body() {\nentry:\n  ret i32 1\n}\n";
static const char BAR_IR[] = "define i32 @bar_body() {\nentry:\n  ret i32 2\n}\n";
static const char ENTRY_IR[] =
    "declare i32 @foo_body()\n"
    "declare i32 @bar_body()\n"
    "define i32 @entry(i32 %argc) {\n"
    "entry:\n"
    "  %and = and i32 %argc, 1\n"
    "  %tobool = icmp eq i32 %and, 0\n"
    "  br i1 %tobool, label %if.end, label %if.then\n"
    "if.then:\n"
    "  %call = tail call i32 @foo_body()\n"
    "  br label %return\n"
    "if.end:\n"
    "  %call1 = tail call i32 @bar_body()\n"
    "  br label %return\n"
    "return:\n"
    "  %retval = phi i32 [ %call, %if.then ], [ %call1, %if.end ]\n"
    "  ret i32 %retval\n"
    "}\n";

static void test_lazy(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModuleLazy(main_jd, MAKE_MODULE("foo-mod", FOO_IR), NULL));
    CHECK_OK(JitcoreDylibAddModuleLazy(main_jd, MAKE_MODULE("bar-mod", BAR_IR), NULL));
    CHECK_OK(JitcoreDylibAddModuleLazy(main_jd, MAKE_MODULE("main-mod", ENTRY_IR), NULL));

    uint64_t entry = SESSION_LOOKUP(s, main_jd, "entry");
    JitcoreStatistics st = stats(s);
    CHECK_MSG(st.FunctionsCompiled == 0, "a lazy lookup returns a stub: expected 0 functions compiled, got %" PRIu64,
              st.FunctionsCompiled);
    if (!entry) {
        JitcoreDisposeSession(s);
        return;
    }
    int r1 = FN(int1_fn, entry)(1);
    CHECK_MSG(r1 == 1, "Lazy: expected entry(1) = 1, got %d", r1);
    st = stats(s);
    CHECK_MSG(st.FunctionsCompiled == 2, "after entry(1): expected entry and foo_body compiled (2), got %" PRIu64,
              st.FunctionsCompiled);
    int r2 = FN(int1_fn, entry)(2);
    CHECK_MSG(r2 == 2, "Lazy: expected entry(2) = 2, got %d", r2);
    st = stats(s);
    CHECK_MSG(st.FunctionsCompiled == 3, "after entry(2): expected bar_body compiled too (3), got %" PRIu64,
              st.FunctionsCompiled);
    /* Calling again compiles nothing more. */
    CHECK_EQ_INT(FN(int1_fn, entry)(3), 1);
    CHECK_EQ_INT(FN(int1_fn, entry)(4), 2);
    st = stats(s);
    CHECK_EQ_U64(st.FunctionsCompiled, 3);
    CHECK_EQ_U64(st.MaterializationFailures, 0);
    /* The stubs of foo_body/bar_body are reachable by lookup too. */
    uint64_t foo = SESSION_LOOKUP(s, main_jd, "foo_body");
    if (foo)
        CHECK_EQ_INT(FN(int_fn, foo)(), 1);
    JitcoreDisposeSession(s);
}

/* LazyByDefault: JitcoreDylibAddModule behaves as the lazy add. */
static void test_lazy_by_default(void)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    CHECK_EQ_INT(o.LazyByDefault, 0);
    o.LazyByDefault = 1;
    JitcoreSessionRef s = NULL;
    if (!CHECK_OK(JitcoreCreateSession(&s, &o)))
        return;
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("foo-mod", FOO_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("bar-mod", BAR_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("main-mod", ENTRY_IR), NULL));
    uint64_t entry = SESSION_LOOKUP(s, main_jd, "entry");
    CHECK_EQ_U64(stats(s).FunctionsCompiled, 0);
    if (entry)
        CHECK_EQ_INT(FN(int1_fn, entry)(1), 1);
    CHECK_EQ_U64(stats(s).FunctionsCompiled, 2);
    JitcoreDisposeSession(s);
}

/* ------------------------------------------------------------------ */
/* RemovableCode                                                       */
/* ------------------------------------------------------------------ */

static void test_removable_code(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(main_jd);
    CHECK(rt != NULL);
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("demo", SUM_IR), rt));
    /* "Looking up before removal..." */
    uint64_t addr = SESSION_LOOKUP(s, main_jd, "sum");
    if (addr)
        CHECK_EQ_INT(FN(tu_sum_fn, addr)(1, 2), 3);
    /* "Attempting to remove code / symbols..." */
    CHECK_OK(JitcoreResourceTrackerRemove(rt));
    uint64_t again = 0xdeadbeef;
    CHECK_ERR(JitcoreSessionLookup(s, main_jd, &again, "sum"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "sum");
    CHECK_EQ_U64(again, 0xdeadbeef); /* untouched on error */
    JitcoreDisposeResourceTracker(rt);

    /* Re-adding works, under a fresh tracker. */
    JitcoreResourceTrackerRef rt2 = JitcoreDylibCreateResourceTracker(main_jd);
    CHECK(rt2 != NULL);
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("demo", SUM_IR), rt2));
    addr = SESSION_LOOKUP(s, main_jd, "sum");
    if (addr)
        CHECK_EQ_INT(FN(tu_sum_fn, addr)(1, 2), 3);
    JitcoreDisposeResourceTracker(rt2);
    JitcoreDisposeSession(s);
}

/* ------------------------------------------------------------------ */
/* ReflectProcessSymbols                                               */
/* ------------------------------------------------------------------ */

static int32_t host_add(int32_t x, int32_t y) { return x + y; }
static int32_t host_mul(int32_t x, int32_t y) { return x * y; }
static int host_fake_atoi(const char *s)
{
    (void)s;
    return 4242;
}
static int host_fake_abs(int x)
{
    (void)x;
    return -999;
}

static const char MUL_ADD_IR[] =
    "declare i32 @add(i32, i32)\n"
    "declare i32 @mul(i32, i32)\n"
    "define i32 @mul_add(i32 %0, i32 %1, i32 %2) {\n"
    "  %t = call i32 @mul(i32 %0, i32 %1)\n"
    "  %r = call i32 @add(i32 %t, i32 %2)\n"
    "  ret i32 %r\n"
    "}\n";

static void test_reflect_host_symbols(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    JitcoreSymbolDefinition defs[2] = {{"add", HOST_ADDR(host_add)}, {"mul", HOST_ADDR(host_mul)}};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(main_jd, defs, 2));
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("mul_add", MUL_ADD_IR), NULL));
    uint64_t addr = SESSION_LOOKUP(s, main_jd, "mul_add");
    if (addr) {
        int r = FN(int3_fn, addr)(3, 4, 5);
        CHECK_MSG(r == 17, "ReflectProcessSymbols: expected 3 * 4 + 5 = 17, got %d", r);
    }
    /* The absolute symbols read back as their addresses. */
    CHECK_EQ_U64(SESSION_LOOKUP(s, main_jd, "add"), HOST_ADDR(host_add));
    CHECK_EQ_U64(SESSION_LOOKUP(s, main_jd, "mul"), HOST_ADDR(host_mul));
    JitcoreDisposeSession(s);
}

struct filter_log {
    atomic_int asked_abs, asked_labs, asked_atoi, allowed, refused;
};

static int allow_abs_labs(void *ctx, const char *name)
{
    struct filter_log *f = ctx;
    int ok = strcmp(name, "abs") == 0 || strcmp(name, "labs") == 0;
    if (strcmp(name, "abs") == 0)
        atomic_fetch_add(&f->asked_abs, 1);
    if (strcmp(name, "labs") == 0)
        atomic_fetch_add(&f->asked_labs, 1);
    if (strcmp(name, "atoi") == 0)
        atomic_fetch_add(&f->asked_atoi, 1);
    atomic_fetch_add(ok ? &f->allowed : &f->refused, 1);
    return ok;
}

/* nobuiltin: keep the optimizer from expanding abs/labs/atoi inline, so the
   calls really need the symbols. */
static const char LIBC_IR[] =
    "declare i32 @abs(i32)\n"
    "declare i64 @labs(i64)\n"
    "declare i32 @atoi(ptr)\n"
    "define i32 @call_abs(i32 %x) {\n"
    "  %r = call i32 @abs(i32 %x) #0\n"
    "  ret i32 %r\n"
    "}\n"
    "define i64 @call_labs(i64 %x) {\n"
    "  %r = call i64 @labs(i64 %x) #0\n"
    "  ret i64 %r\n"
    "}\n"
    "attributes #0 = { nobuiltin }\n";

static const char ATOI_IR[] =
    "declare i32 @atoi(ptr)\n"
    "define i32 @call_atoi(ptr %s) {\n"
    "  %r = call i32 @atoi(ptr %s) #0\n"
    "  ret i32 %r\n"
    "}\n"
    "attributes #0 = { nobuiltin }\n";

/*
 * The filter of JitcoreDylibAddProcessSymbols. Dylibs made by the session
 * fall back to the process's symbols after their link order anyway (see
 * JitcoreCreateSession), so a refused name is not unresolved: it is looked
 * for further on. To see the filter at work, a dylib "shim" defines fake
 * atoi/abs and "app" links [shim]: the filter's allowed abs (app's own
 * source) comes before shim's, and the refused atoi binds to shim's.
 */
static void test_reflect_process_symbols(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef shim = NULL, app = NULL, all = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &shim, "shim"));
    CHECK_OK(JitcoreSessionCreateDylib(s, &app, "app"));
    CHECK_OK(JitcoreSessionCreateDylib(s, &all, "all"));
    if (!shim || !app || !all) {
        JitcoreDisposeSession(s);
        return;
    }
    JitcoreSymbolDefinition fakes[2] = {{"atoi", HOST_ADDR(host_fake_atoi)}, {"abs", HOST_ADDR(host_fake_abs)}};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(shim, fakes, 2));
    CHECK_OK(JitcoreDylibSetLinkOrder(app, &shim, 1));
    CHECK_OK(JitcoreDylibSetLinkOrder(all, &shim, 1));

    struct filter_log log;
    memset(&log, 0, sizeof log);
    CHECK_OK(JitcoreDylibAddProcessSymbols(app, allow_abs_labs, &log));
    CHECK_OK(JitcoreDylibAddProcessSymbols(all, NULL, NULL));

    CHECK_OK(JitcoreDylibAddModule(app, MAKE_MODULE("libc-calls", LIBC_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(app, MAKE_MODULE("atoi-call", ATOI_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(all, MAKE_MODULE("atoi-call-all", ATOI_IR), NULL));

    uint64_t a = SESSION_LOOKUP(s, app, "call_abs");
    if (a) {
        int r = FN(int1_fn, a)(-5);
        CHECK_MSG(r == 5, "abs allowed by the filter: expected libc's abs(-5) = 5, got %d (-999: the shim's)", r);
    }
    uint64_t l = SESSION_LOOKUP(s, app, "call_labs");
    if (l)
        CHECK_MSG(FN(long1_fn, l)(-7L) == 7L, "labs allowed by the filter: expected labs(-7) = 7");
    CHECK_MSG(atomic_load(&log.asked_abs) >= 1, "expected the filter to be asked about abs");
    CHECK_MSG(atomic_load(&log.asked_labs) >= 1, "expected the filter to be asked about labs");

    uint64_t t = SESSION_LOOKUP(s, app, "call_atoi");
    if (t) {
        int r = FN(str_fn, t)("123");
        CHECK_MSG(r == 4242, "atoi refused by the filter: expected the shim's atoi (4242), got %d", r);
    }
    CHECK_MSG(atomic_load(&log.asked_atoi) >= 1, "expected the filter to be asked about atoi (and refuse it)");
    /* A direct lookup of atoi from app binds the same way. */
    CHECK_EQ_U64(SESSION_LOOKUP(s, app, "atoi"), HOST_ADDR(host_fake_atoi));

    /* Without a filter the process's atoi comes first. */
    uint64_t t2 = SESSION_LOOKUP(s, all, "call_atoi");
    if (t2) {
        int r = FN(str_fn, t2)("123");
        CHECK_MSG(r == 123, "no filter: expected libc's atoi(\"123\") = 123, got %d", r);
    }
    JitcoreDisposeSession(s);
}

/* ------------------------------------------------------------------ */
/* DumpObjects                                                         */
/* ------------------------------------------------------------------ */

static void test_dump_objects(void)
{
    struct captured c;
    memset(&c, 0, sizeof c);
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreSessionSetObjectCache(s, capture_notify, NULL, &c);
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    JitcoreDylibRef other = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &other, "other"));
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("dump-sum", SUM_IR), NULL));
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("dump-two", "define i32 @two() { ret i32 2 }\n"), NULL));
    CHECK_OK(JitcoreDylibAddModule(other, MAKE_MODULE("dump-three", "define i32 @three() { ret i32 3 }\n"), NULL));
    CHECK_EQ_INT(c.count, 0); /* nothing compiled before a lookup */

    uint64_t addr = SESSION_LOOKUP(s, main_jd, "sum");
    if (addr)
        CHECK_EQ_INT(FN(tu_sum_fn, addr)(1, 2), 3);
    CHECK_EQ_INT(c.count, 1);
    CHECK_STR_EQ(c.names[0], "dump-sum");
    addr = SESSION_LOOKUP(s, main_jd, "two");
    if (addr)
        CHECK_EQ_INT(FN(int_fn, addr)(), 2);
    addr = SESSION_LOOKUP(s, other, "three");
    if (addr)
        CHECK_EQ_INT(FN(int_fn, addr)(), 3);
    CHECK_EQ_INT(c.count, 3);
    CHECK_EQ_INT(c.elf_ok, 3);
    CHECK_STR_EQ(c.names[1], "dump-two");
    CHECK_STR_EQ(c.names[2], "dump-three");
    /* Looking up again compiles (and dumps) nothing more. */
    SESSION_LOOKUP(s, main_jd, "sum");
    CHECK_EQ_INT(c.count, 3);
    JitcoreStatistics st = stats(s);
    CHECK_EQ_U64(st.ModulesCompiled, 3);
    CHECK_EQ_U64(st.CacheMisses, 3);
    CHECK_EQ_U64(st.CacheHits, 0);

    /* Removing the cache: later compiles are not seen. */
    JitcoreSessionSetObjectCache(s, NULL, NULL, NULL);
    CHECK_OK(JitcoreDylibAddModule(main_jd, MAKE_MODULE("dump-four", "define i32 @four() { ret i32 4 }\n"), NULL));
    addr = SESSION_LOOKUP(s, main_jd, "four");
    if (addr)
        CHECK_EQ_INT(FN(int_fn, addr)(), 4);
    CHECK_EQ_INT(c.count, 3);
    JitcoreDisposeSession(s);
    free(c.bytes);
}

int main(void)
{
    RUN_TEST(test_basic_usage());
    RUN_TEST(test_add_object_file());
    RUN_TEST(test_removable_code());
    RUN_TEST(test_reflect_host_symbols());
    RUN_TEST(test_reflect_process_symbols());
    RUN_TEST(test_dump_objects());
    RUN_TEST(test_lazy());
    RUN_TEST(test_lazy_by_default());
    return tu_finish("test_session_orc_examples");
}
