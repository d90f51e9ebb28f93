/*
 * Symbol sources of jitcore JITDylibs:
 *  - custom materializers (JitcoreDylibAddMaterializer): returning a module
 *    (runs once for both of its symbols; Dispose once), an object buffer, an
 *    error (JitcoreCreateError; the lookup fails with it, later lookups too,
 *    until the tracker goes); removed before use (Dispose runs, the callback
 *    never does); a duplicate symbol (Dispose runs before the call returns);
 *  - shared libraries (JitcoreDylibAddLibrarySymbols): a missing path is IO
 *    naming it; libm makes `cos` resolvable (skipped if libm is not found);
 *  - static archives (JitcoreDylibAddArchive): an archive written by hand at
 *    run time (ar format, GNU symbol table, two members) from objects the JIT
 *    compiled; only the member needed is linked; a non-archive is
 *    INVALID_OBJECT, a missing file IO.
 */
#include "test_util.h"

typedef int (*int_fn)(void);
typedef double (*dbl_fn)(double);




/* The object bytes of `ir` (compiled in a throwaway session, captured by its
   cache's Notify). `defs` are absolute symbols it needs to link. */
struct capture {
    unsigned char *bytes;
    size_t len;
    int count;
};

static void capture_notify(void *ctx, JitcoreModuleRef m, const uint8_t *obj, size_t len)
{
    (void)m;
    struct capture *c = ctx;
    c->count++;
    free(c->bytes);
    c->bytes = malloc(len);
    if (c->bytes) {
        memcpy(c->bytes, obj, len);
        c->len = len;
    }
}

static unsigned char *object_of(const char *modname, const char *ir, const char *name,
                                const JitcoreSymbolDefinition *defs, size_t ndefs, size_t *len)
{
    struct capture c = {NULL, 0, 0};
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    JitcoreSessionSetObjectCache(s, capture_notify, NULL, &c);
    if (ndefs)
        CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, defs, ndefs));
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE(modname, ir), NULL));
    SESSION_LOOKUP(s, d, name);
    JitcoreDisposeSession(s);
    CHECK_MSG(c.count == 1 && c.bytes && c.len > 64, "expected one object for %s", modname);
    *len = c.len;
    return c.bytes;
}

/* ------------------------------------------------------------------ */
/* Materializers                                                       */
/* ------------------------------------------------------------------ */

struct mat {
    atomic_int calls;
    atomic_int disposes;
    int asked_a, asked_b; /* what the first call was asked for */
    size_t asked_n;
    const char *ir;             /* module to return, or */
    const uint8_t *obj;         /* object to return, or */
    size_t obj_len;
    JitcoreErrorCode fail_code; /* an error to return (non-zero) */
};

static JitcoreErrorRef materialize(void *ctx, const char *const *syms, size_t n, JitcoreModuleRef *mod_out,
                                   JitcoreObjectBufferRef *obj_out)
{
    struct mat *m = ctx;
    CHECK_MSG(atomic_load(&m->disposes) == 0, "Materialize called after Dispose released its context");
    if (atomic_fetch_add(&m->calls, 1) == 0) {
        m->asked_n = n;
        for (size_t i = 0; i < n; i++) {
            if (syms[i] && strcmp(syms[i], "gen_a") == 0)
                m->asked_a++;
            if (syms[i] && strcmp(syms[i], "gen_b") == 0)
                m->asked_b++;
        }
    }
    if (m->fail_code)
        return JitcoreCreateError(m->fail_code, "generator refused to produce gen_err");
    if (m->obj) {
        *obj_out = JitcoreCreateObjectBufferCopy(m->obj, m->obj_len);
        return NULL;
    }
    JitcoreModuleRef mod = NULL;
    JitcoreErrorRef e = JitcoreCreateModuleFromIR(&mod, "generated", m->ir, strlen(m->ir));
    if (e)
        return e;
    *mod_out = mod;
    return NULL;
}

static void mat_dispose(void *ctx)
{
    struct mat *m = ctx;
    atomic_fetch_add(&m->disposes, 1);
}

static const char GEN_IR[] =
    "define i32 @gen_a() { ret i32 1 }\n"
    "define i32 @gen_b() { %r = call i32 @gen_a()\n %s = add i32 %r, 1\n ret i32 %s }\n";

static void test_materializer_module(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    struct mat m;
    memset(&m, 0, sizeof m);
    m.ir = GEN_IR;
    const char *syms[2] = {"gen_a", "gen_b"};
    CHECK_OK(JitcoreDylibAddMaterializer(d, syms, 2, materialize, mat_dispose, &m, NULL));
    CHECK_EQ_INT(atomic_load(&m.calls), 0);
    CHECK_EQ_INT(atomic_load(&m.disposes), 0);

    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "gen_a"), 1);
    CHECK_EQ_INT(atomic_load(&m.calls), 1);
    CHECK_MSG(m.asked_a == 1, "expected the first call to ask for gen_a");
    CHECK_MSG(m.asked_n >= 1 && m.asked_n <= 2, "expected 1 or 2 symbols asked, got %zu", m.asked_n);
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "gen_b"), 2);
    CHECK_EQ_INT(atomic_load(&m.calls), 1);
    /* Dispose waits for the tracker (here: the session) to go. */
    CHECK_EQ_INT(atomic_load(&m.disposes), 0);
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    CHECK_EQ_U64(st.ModulesCompiled, 1);
    CHECK_EQ_U64(st.FunctionsCompiled, 2);
    JitcoreDisposeSession(s);
    CHECK_EQ_INT(atomic_load(&m.calls), 1);
    CHECK_EQ_INT(atomic_load(&m.disposes), 1);
}

/* A materializer's module goes through the object cache like any other. */
static int cache_notified;
static void count_notify(void *ctx, JitcoreModuleRef m, const uint8_t *obj, size_t len)
{
    (void)ctx;
    (void)obj;
    (void)len;
    const char *n = JitcoreModuleGetName(m);
    if (n && strcmp(n, "generated") == 0)
        cache_notified++;
}

static void test_materializer_uses_cache(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreSessionSetObjectCache(s, count_notify, NULL, NULL);
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    struct mat m;
    memset(&m, 0, sizeof m);
    m.ir = GEN_IR;
    const char *syms[2] = {"gen_a", "gen_b"};
    cache_notified = 0;
    CHECK_OK(JitcoreDylibAddMaterializer(d, syms, 2, materialize, mat_dispose, &m, NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "gen_b"), 2);
    CHECK_EQ_INT(cache_notified, 1);
    CHECK_EQ_INT(atomic_load(&m.calls), 1);
    JitcoreDisposeSession(s);
    CHECK_EQ_INT(atomic_load(&m.disposes), 1);
}

static void test_materializer_object(void)
{
    size_t len = 0;
    unsigned char *obj = object_of("objmod", "define i32 @obj_fn() { ret i32 77 }\n", "obj_fn", NULL, 0, &len);
    if (!obj)
        return;
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "objects"));
    struct mat m;
    memset(&m, 0, sizeof m);
    m.obj = obj;
    m.obj_len = len;
    const char *syms[1] = {"obj_fn"};
    CHECK_OK(JitcoreDylibAddMaterializer(d, syms, 1, materialize, mat_dispose, &m, NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "obj_fn"), 77);
    CHECK_EQ_INT(atomic_load(&m.calls), 1);
    CHECK_EQ_INT(atomic_load(&m.disposes), 0);
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    CHECK_EQ_U64(st.ModulesCompiled, 0);
    CHECK_EQ_U64(st.ObjectsLoaded, 1);
    JitcoreDisposeSession(s);
    free(obj);
}

static void test_materializer_error(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(d);
    struct mat m;
    memset(&m, 0, sizeof m);
    m.fail_code = JITCORE_ERROR_COMPILE;
    const char *syms[1] = {"gen_err"};
    CHECK_OK(JitcoreDylibAddMaterializer(d, syms, 1, materialize, mat_dispose, &m, rt));
    uint64_t x = 5;
    CHECK_ERR(JitcoreSessionLookup(s, d, &x, "gen_err"), JITCORE_ERROR_COMPILE, "generator refused to produce gen_err");
    CHECK_EQ_U64(x, 5);
    CHECK_EQ_INT(atomic_load(&m.calls), 1);
    /* The symbols were reset: a retry calls the materializer again (and
       fails again, with the same error); Dispose waits for the tracker. */
    CHECK_ERR(JitcoreSessionLookup(s, d, &x, "gen_err"), JITCORE_ERROR_COMPILE, "generator refused to produce gen_err");
    CHECK_EQ_INT(atomic_load(&m.calls), 2);
    CHECK_EQ_INT(atomic_load(&m.disposes), 0);
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    CHECK(st.MaterializationFailures >= 1);
    /* Until the tracker goes: then the name is free again. */
    CHECK_OK(JitcoreResourceTrackerRemove(rt));
    CHECK_ERR(JitcoreSessionLookup(s, d, &x, "gen_err"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "gen_err");
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("fixed", "define i32 @gen_err() { ret i32 3 }\n"), NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "gen_err"), 3);
    JitcoreDisposeResourceTracker(rt);
    JitcoreDisposeSession(s);
    CHECK_EQ_INT(atomic_load(&m.disposes), 1);
}

/* A materializer whose code does not define what it promised. */
static void test_materializer_broken_promise(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    struct mat m;
    memset(&m, 0, sizeof m);
    m.ir = "define i32 @something_else() { ret i32 0 }\n";
    const char *syms[1] = {"promised"};
    CHECK_OK(JitcoreDylibAddMaterializer(d, syms, 1, materialize, mat_dispose, &m, NULL));
    uint64_t x = 0;
    JitcoreErrorRef e = JitcoreSessionLookup(s, d, &x, "promised");
    CHECK_MSG(e != NULL, "expected the lookup of a symbol the materializer did not define to fail");
    if (e) {
        char *msg = JitcoreGetErrorMessage(e);
        CHECK_CONTAINS(msg, "promised");
        JitcoreDisposeErrorMessage(msg);
    }
    CHECK_EQ_INT(atomic_load(&m.calls), 1);
    JitcoreDisposeSession(s);
    CHECK_EQ_INT(atomic_load(&m.disposes), 1);
}

static void test_materializer_removed_before_use(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(d);
    struct mat m;
    memset(&m, 0, sizeof m);
    m.ir = GEN_IR;
    const char *syms[2] = {"gen_a", "gen_b"};
    CHECK_OK(JitcoreDylibAddMaterializer(d, syms, 2, materialize, mat_dispose, &m, rt));
    CHECK_OK(JitcoreResourceTrackerRemove(rt));
    CHECK_EQ_INT(atomic_load(&m.disposes), 1);
    uint64_t x = 0;
    CHECK_ERR(JitcoreSessionLookup(s, d, &x, "gen_a"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "gen_a");
    CHECK_EQ_INT(atomic_load(&m.calls), 0);
    JitcoreDisposeResourceTracker(rt);
    JitcoreDisposeSession(s);
    CHECK_EQ_INT(atomic_load(&m.calls), 0);
    CHECK_EQ_INT(atomic_load(&m.disposes), 1);
}

/* Never looked up: Dispose runs with the session. */
static void test_materializer_unused(void)
{
    struct mat m;
    memset(&m, 0, sizeof m);
    m.ir = GEN_IR;
    JitcoreSessionRef s = NEW_SESSION();
    const char *syms[2] = {"gen_a", "gen_b"};
    CHECK_OK(JitcoreDylibAddMaterializer(JitcoreSessionGetMainDylib(s), syms, 2, materialize, mat_dispose, &m, NULL));
    JitcoreDisposeSession(s);
    CHECK_EQ_INT(atomic_load(&m.calls), 0);
    CHECK_EQ_INT(atomic_load(&m.disposes), 1);
}

static void test_materializer_duplicate(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("has_a", "define i32 @gen_a() { ret i32 9 }\n"), NULL));
    struct mat m;
    memset(&m, 0, sizeof m);
    m.ir = GEN_IR;
    const char *syms[2] = {"gen_b", "gen_a"};
    CHECK_ERR(JitcoreDylibAddMaterializer(d, syms, 2, materialize, mat_dispose, &m, NULL),
              JITCORE_ERROR_DUPLICATE_DEFINITION, "gen_a");
    CHECK_EQ_INT(atomic_load(&m.disposes), 1);
    CHECK_EQ_INT(atomic_load(&m.calls), 0);
    uint64_t x = 0;
    CHECK_ERR(JitcoreSessionLookup(s, d, &x, "gen_b"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "gen_b");
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "gen_a"), 9);
    JitcoreDisposeSession(s);
    CHECK_EQ_INT(atomic_load(&m.disposes), 1);
}

static void test_create_error(void)
{
    JitcoreErrorRef e = JitcoreCreateError(JITCORE_ERROR_IO, "disk on fire");
    CHECK_EQ_INT(JitcoreGetErrorCode(e), JITCORE_ERROR_IO);
    char *msg = JitcoreGetErrorMessage(e);
    CHECK_STR_EQ(msg, "disk on fire");
    JitcoreDisposeErrorMessage(msg);
    e = JitcoreCreateError(9999, "odd code");
    CHECK_EQ_INT(JitcoreGetErrorCode(e), JITCORE_ERROR_INTERNAL);
    JitcoreConsumeError(e);
    e = JitcoreCreateError(JITCORE_ERROR_LINK, NULL);
    CHECK_EQ_INT(JitcoreGetErrorCode(e), JITCORE_ERROR_LINK);
    msg = JitcoreGetErrorMessage(e);
    CHECK_STR_EQ(msg, "");
    JitcoreDisposeErrorMessage(msg);
}

/* ------------------------------------------------------------------ */
/* Shared libraries                                                    */
/* ------------------------------------------------------------------ */

struct libfilter {
    atomic_int asked_cos;
};

static int only_cos(void *ctx, const char *name)
{
    struct libfilter *f = ctx;
    if (strcmp(name, "cos") == 0) {
        atomic_fetch_add(&f->asked_cos, 1);
        return 1;
    }
    return 0;
}

static void test_library_symbols(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "mathlib"));
    CHECK_ERR(JitcoreDylibAddLibrarySymbols(d, "/nonexistent/libx.so", NULL, NULL), JITCORE_ERROR_IO,
              "/nonexistent/libx.so");

    static const char *const candidates[] = {
        "/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/aarch64-linux-gnu/libm.so.6", "/usr/lib/aarch64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",                 "/usr/lib64/libm.so.6",
    };
    const char *libm = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && !libm; i++)
        if (access(candidates[i], R_OK) == 0)
            libm = candidates[i];
    if (!libm) {
        tu_note("  libm not found in the usual places: skipping the libm part");
        JitcoreDisposeSession(s);
        return;
    }
    struct libfilter f;
    atomic_init(&f.asked_cos, 0);
    CHECK_OK(JitcoreDylibAddLibrarySymbols(d, libm, only_cos, &f));
    /* nobuiltin: a real call to cos, not a constant fold or an intrinsic. */
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("use_cos",
        "declare double @cos(double)\n"
        "define double @my_cos(double %x) {\n"
        "  %r = call double @cos(double %x) #0\n"
        "  ret double %r\n"
        "}\n"
        "attributes #0 = { nobuiltin }\n"), NULL));
    uint64_t a = SESSION_LOOKUP(s, d, "my_cos");
    if (a) {
        double r = FN(dbl_fn, a)(0.0);
        CHECK_MSG(r == 1.0, "expected cos(0) == 1, got %g", r);
        double r2 = FN(dbl_fn, a)(3.141592653589793);
        CHECK_MSG(r2 < -0.999999 && r2 > -1.000001, "expected cos(pi) == -1, got %g", r2);
    }
    uint64_t c = SESSION_LOOKUP(s, d, "cos");
    if (c)
        CHECK_MSG(FN(dbl_fn, c)(0.0) == 1.0, "expected the looked-up cos(0) == 1");
    CHECK_MSG(atomic_load(&f.asked_cos) >= 1, "expected the library's filter to be asked about cos");
    JitcoreDisposeSession(s);
}

/* ------------------------------------------------------------------ */
/* Static archives                                                     */
/* ------------------------------------------------------------------ */

static void put_field(unsigned char *dst, size_t width, const char *text)
{
    size_t n = strlen(text);
    memset(dst, ' ', width);
    memcpy(dst, text, n < width ? n : width);
}

/* One 60-byte ar member header. */
static void ar_header(unsigned char h[60], const char *name, size_t size)
{
    char num[32];
    put_field(h, 16, name);
    put_field(h + 16, 12, "0");
    put_field(h + 28, 6, "0");
    put_field(h + 34, 6, "0");
    put_field(h + 40, 8, "644");
    snprintf(num, sizeof num, "%zu", size);
    put_field(h + 48, 10, num);
    h[58] = '`';
    h[59] = '\n';
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes a GNU ar archive: a symbol table ("/") naming sym1 in member 1 and
   sym2 in member 2, then the two members. Returns 1 on success. */
static int write_archive(const char *path, const char *name1, const unsigned char *obj1, size_t len1,
                         const char *sym1, const char *name2, const unsigned char *obj2, size_t len2,
                         const char *sym2)
{
    size_t symtab_len = 4 + 2 * 4 + strlen(sym1) + 1 + strlen(sym2) + 1;
    size_t symtab_padded = symtab_len + (symtab_len & 1);
    size_t off1 = 8 + 60 + symtab_padded;
    size_t off2 = off1 + 60 + len1 + (len1 & 1);
    size_t total = off2 + 60 + len2 + (len2 & 1);
    unsigned char *buf = calloc(1, total);
    if (!buf)
        return 0;
    unsigned char *p = buf;
    memcpy(p, "!<arch>\n", 8);
    p += 8;
    ar_header(p, "/", symtab_len);
    p += 60;
    be32(p, 2);
    be32(p + 4, (uint32_t)off1);
    be32(p + 8, (uint32_t)off2);
    p += 12;
    memcpy(p, sym1, strlen(sym1) + 1);
    p += strlen(sym1) + 1;
    memcpy(p, sym2, strlen(sym2) + 1);
    p += strlen(sym2) + 1;
    if (symtab_len & 1)
        *p++ = '\n';
    ar_header(p, name1, len1);
    p += 60;
    memcpy(p, obj1, len1);
    p += len1;
    if (len1 & 1)
        *p++ = '\n';
    ar_header(p, name2, len2);
    p += 60;
    memcpy(p, obj2, len2);
    p += len2;
    if (len2 & 1)
        *p++ = '\n';
    int ok = (size_t)(p - buf) == total && tu_write_file(path, buf, total);
    free(buf);
    return ok;
}

static int host_missing_ext(void) { return 0; }

static void test_archive(void)
{
    size_t len1 = 0, len2 = 0;
    unsigned char *sum_o = object_of("sum.o", SUM_IR, "sum", NULL, 0, &len1);
    /* bad.o needs jc_archive_missing, which nobody provides where it is used:
       linking it would fail, so it must not be pulled in unless asked for. */
    JitcoreSymbolDefinition ext = {"jc_archive_missing", HOST_ADDR(host_missing_ext)};
    unsigned char *bad_o = object_of("bad.o",
                                     "declare i32 @jc_archive_missing()\n"
                                     "define i32 @bad_fn() { %r = call i32 @jc_archive_missing()\n ret i32 %r }\n",
                                     "bad_fn", &ext, 1, &len2);
    char *dir = tu_make_temp_dir();
    if (!CHECK(dir != NULL) || !sum_o || !bad_o) {
        free(sum_o);
        free(bad_o);
        free(dir);
        return;
    }
    char *ar_path = tu_path_join(dir, "libsum.a");
    char *junk_path = tu_path_join(dir, "notanarchive.a");
    char *missing_path = tu_path_join(dir, "missing.a");
    CHECK(write_archive(ar_path, "sum.o/", sum_o, len1, "sum", "bad.o/", bad_o, len2, "bad_fn"));
    CHECK(tu_write_file(junk_path, "this is not an archive\n", 23));

    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "app"));
    CHECK_ERR(JitcoreDylibAddArchive(d, junk_path), JITCORE_ERROR_INVALID_OBJECT, "notanarchive.a");
    CHECK_ERR(JitcoreDylibAddArchive(d, missing_path), JITCORE_ERROR_IO, "missing.a");
    CHECK_OK(JitcoreDylibAddArchive(d, ar_path));
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("uses_sum",
        "declare i32 @sum(i32, i32)\n"
        "define i32 @use_sum() { %r = call i32 @sum(i32 40, i32 2)\n ret i32 %r }\n"), NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "use_sum"), 42);
    uint64_t a = SESSION_LOOKUP(s, d, "sum");
    if (a)
        CHECK_EQ_INT(FN(tu_sum_fn, a)(2, -5), -3);
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    CHECK_OK(JitcoreSessionGetStatistics(s, &st));
    CHECK_MSG(st.MaterializationFailures == 0, "only sum.o is linked: expected no failures, got %" PRIu64,
              st.MaterializationFailures);
    /* Code that needs bad_fn pulls bad.o in, which cannot link here. */
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("uses_bad",
        "declare i32 @bad_fn()\n"
        "define i32 @use_bad() { %r = call i32 @bad_fn()\n ret i32 %r }\n"), NULL));
    uint64_t x = 0;
    CHECK_ERR(JitcoreSessionLookup(s, d, &x, "use_bad"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "jc_archive_missing");
    /* sum is still fine. */
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "use_sum"), 42);
    JitcoreDisposeSession(s);

    remove(ar_path);
    remove(junk_path);
    rmdir(dir);
    free(ar_path);
    free(junk_path);
    free(missing_path);
    free(dir);
    free(sum_o);
    free(bad_o);
}

int main(void)
{
    RUN_TEST(test_create_error());
    RUN_TEST(test_materializer_module());
    RUN_TEST(test_materializer_uses_cache());
    RUN_TEST(test_materializer_object());
    RUN_TEST(test_materializer_error());
    RUN_TEST(test_materializer_broken_promise());
    RUN_TEST(test_materializer_removed_before_use());
    RUN_TEST(test_materializer_unused());
    RUN_TEST(test_materializer_duplicate());
    RUN_TEST(test_library_symbols());
    RUN_TEST(test_archive());
    return tu_finish("test_session_sources");
}
