/*
 * test_objects.c: relocatable objects added with JitcoreEngineAddObjectBuffer
 * and JitcoreEngineAddObjectFile.
 *
 * The object defining `int sum(int, int)` is produced at run time by
 * JIT-compiling an IR module and saving the bytes the object cache's Notify
 * callback receives; if a C compiler (`cc`) is available, an object compiled
 * from C is used as well.
 *
 *  - an IR module declaring and calling `sum` links against the object
 *  - errors: garbage, truncated objects (several lengths), an ELF of the
 *    wrong type or machine -> INVALID_OBJECT; a missing path or a directory
 *    -> IO naming the path; a second definition -> DUPLICATE_DEFINITION;
 *    the engine works after each of them
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

struct saved_object {
    unsigned char *bytes;
    size_t len;
    int calls;
};

static void save_notify(void *ctx, JitcoreModuleRef m, const uint8_t *object, size_t len)
{
    (void)m;
    struct saved_object *s = ctx;
    s->calls++;
    free(s->bytes);
    s->bytes = malloc(len);
    memcpy(s->bytes, object, len);
    s->len = len;
}

/* The object code of IR module `ir`, by way of the object cache. */
static unsigned char *compile_to_object(const char *name, const char *ir, const char *symbol, size_t *len)
{
    struct saved_object s = {NULL, 0, 0};
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    if (!ee)
        return NULL;
    JitcoreEngineSetObjectCache(ee, save_notify, NULL, &s);
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE(name, ir)));
    CHECK(LOOKUP(ee, symbol) != 0);
    JitcoreDisposeEngine(ee);
    CHECK_EQ_INT(s.calls, 1);
    CHECK(s.bytes != NULL && s.len > 64 && memcmp(s.bytes, "\x7f" "ELF", 4) == 0);
    *len = s.len;
    return s.bytes;
}

static const char CALLER_IR[] =
    "declare i32 @sum(i32, i32)\n"
    "define i32 @call_sum(i32 %a, i32 %b) {\n"
    "  %r = call i32 @sum(i32 %a, i32 %b)\n"
    "  ret i32 %r\n"
    "}\n";

static void check_call_sum(JitcoreEngineRef ee, int line)
{
    uint64_t a = tu_lookup(ee, "call_sum", __FILE__, line);
    if (a) {
        int r = FN(tu_sum_fn, a)(2, -5);
        tu_record(r == -3, __FILE__, line, "expected call_sum(2, -5) == -3, got %d", r);
    }
    tu_check_sum_works(ee, __FILE__, line);
}
#define CHECK_CALL_SUM(ee) check_call_sum((ee), __LINE__)

static void test_object_from_memory(const unsigned char *obj, size_t len)
{
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("caller", CALLER_IR));
    if (!ee)
        return;
    /* the buffer is copied during the call: scribble over our copy after */
    unsigned char *copy = malloc(len);
    memcpy(copy, obj, len);
    CHECK_OK(JitcoreEngineAddObjectBuffer(ee, copy, len));
    memset(copy, 0, len);
    free(copy);
    CHECK_CALL_SUM(ee);
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.ObjectsLoaded, 2); /* the object and the caller module */
    CHECK_EQ_U64(st.ModulesCompiled, 1);
    JitcoreDisposeEngine(ee);

    /* the object first, then the module that uses it */
    JitcoreEngineRef e2 = MAKE_ENGINE(NULL);
    CHECK_OK(JitcoreEngineAddObjectBuffer(e2, obj, len));
    CHECK_SUM_WORKS(e2);
    CHECK_OK(JitcoreEngineAddModule(e2, MAKE_MODULE("caller", CALLER_IR)));
    CHECK_OK(JitcoreEngineFinalizeObject(e2));
    CHECK_CALL_SUM(e2);
    JitcoreDisposeEngine(e2);
}

static void test_object_from_file(const unsigned char *obj, size_t len, const char *dir)
{
    char *path = tu_path_join(dir, "sum.o");
    CHECK(tu_write_file(path, obj, len));
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("caller", CALLER_IR));
    if (ee) {
        CHECK_OK(JitcoreEngineAddObjectFile(ee, path));
        remove(path); /* read during the call: no longer needed */
        CHECK_CALL_SUM(ee);
        JitcoreDisposeEngine(ee);
    }
    remove(path);
    free(path);
}

static void test_object_from_c_compiler(const char *dir)
{
    if (system("cc --version >/dev/null 2>&1") != 0) {
        tu_note("  SKIP C-compiled object: no `cc`");
        return;
    }
    static const char SRC[] =
        "int sum(int a, int b) { return a + b; }\n"
        "long product(long a, long b) { return a * b; }\n"
        "int counter_c = 5;\n"
        "int bump_c(void) { return ++counter_c; }\n";
    char *c = tu_path_join(dir, "c_sum.c");
    char *o = tu_path_join(dir, "c_sum.o");
    CHECK(tu_write_file(c, SRC, strlen(SRC)));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cc -c -fPIC -O1 -o '%s' '%s'", o, c);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "expected `%s` to succeed, got %d", cmd, rc);
    if (rc == 0) {
        static const char USER_IR[] =
            "declare i32 @sum(i32, i32)\n"
            "declare i64 @product(i64, i64)\n"
            "declare i32 @bump_c()\n"
            "@counter_c = external global i32\n"
            "define i32 @call_sum(i32 %a, i32 %b) {\n"
            "  %r = call i32 @sum(i32 %a, i32 %b)\n"
            "  ret i32 %r\n"
            "}\n"
            "define i64 @call_product(i64 %a, i64 %b) {\n"
            "  %r = call i64 @product(i64 %a, i64 %b)\n"
            "  ret i64 %r\n"
            "}\n"
            "define i32 @bump_twice() {\n"
            "  %a = call i32 @bump_c()\n"
            "  %b = call i32 @bump_c()\n"
            "  %v = load i32, ptr @counter_c\n"
            "  ret i32 %v\n"
            "}\n";
        /* from the path */
        JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("c_user", USER_IR));
        CHECK_OK(JitcoreEngineAddObjectFile(ee, o));
        CHECK_CALL_SUM(ee);
        uint64_t p = LOOKUP(ee, "call_product");
        if (p)
            CHECK_EQ_INT(FN(int64_t(*)(int64_t, int64_t), p)(-6, 7), -42);
        uint64_t bt = LOOKUP(ee, "bump_twice");
        if (bt)
            CHECK_EQ_INT(FN(int (*)(void), bt)(), 7);
        JitcoreDisposeEngine(ee);
        /* from memory */
        size_t n = 0;
        unsigned char *bytes = tu_read_file(o, &n);
        CHECK(bytes != NULL);
        if (bytes) {
            JitcoreEngineRef e2 = MAKE_ENGINE(MAKE_MODULE("c_user", USER_IR));
            CHECK_OK(JitcoreEngineAddObjectBuffer(e2, bytes, n));
            CHECK_CALL_SUM(e2);
            uint64_t bt2 = LOOKUP(e2, "bump_twice");
            if (bt2)
                CHECK_EQ_INT(FN(int (*)(void), bt2)(), 7); /* a fresh copy of counter_c */
            JitcoreDisposeEngine(e2);
            free(bytes);
        }
    }
    remove(c);
    remove(o);
    free(c);
    free(o);
}

static void test_invalid_objects(const unsigned char *obj, size_t len, const char *dir)
{
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("caller", CALLER_IR));
    if (!ee)
        return;
    CHECK_OK(JitcoreEngineAddObjectBuffer(ee, obj, len));
    CHECK_CALL_SUM(ee);

    /* garbage */
    unsigned char junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 73 + 1);
    CHECK_ERR(JitcoreEngineAddObjectBuffer(ee, junk, sizeof junk), JITCORE_ERROR_INVALID_OBJECT, "object");
    CHECK_CALL_SUM(ee);
    /* garbage behind a valid ELF magic */
    memcpy(junk, "\x7f" "ELF", 4);
    CHECK_ERR(JitcoreEngineAddObjectBuffer(ee, junk, sizeof junk), JITCORE_ERROR_INVALID_OBJECT, "object");

    /* truncated copies of the real object: empty, inside the ELF header,
       inside the section data, one byte short of the section headers */
    size_t cuts[] = {0, 1, 4, 16, 52, 63, 64, 65, 100, len / 4, len / 2, len - 64, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t cut = cuts[i];
        /* a buffer of exactly `cut` bytes, so valgrind sees any over-read */
        unsigned char *t = malloc(cut ? cut : 1);
        memcpy(t, obj, cut);
        JitcoreErrorRef e = JitcoreEngineAddObjectBuffer(ee, t, cut);
        JitcoreErrorCode code = JitcoreGetErrorCode(e);
        CHECK_MSG(code == JITCORE_ERROR_INVALID_OBJECT,
                  "expected the object truncated to %zu of %zu bytes to fail with INVALID_OBJECT, got %s", cut, len,
                  tu_code_name(code));
        char *msg = JitcoreGetErrorMessage(e);
        if (getenv("TU_VERBOSE"))
            tu_note("  truncated to %zu: [%s] %s", cut, tu_code_name(code), msg ? msg : "(null)");
        JitcoreDisposeErrorMessage(msg);
        free(t);
        CHECK_CALL_SUM(ee);
    }

    /* an ELF object for another machine */
    unsigned char *foreign = malloc(len);
    memcpy(foreign, obj, len);
    uint16_t other_machine = foreign[18] == 62 ? 183 : 62; /* x86-64 <-> AArch64 */
    foreign[18] = (unsigned char)(other_machine & 0xff);
    foreign[19] = (unsigned char)(other_machine >> 8);
    CHECK_ERR(JitcoreEngineAddObjectBuffer(ee, foreign, len), JITCORE_ERROR_INVALID_OBJECT, "object");
    /* an ELF file that is not relocatable (ET_DYN) */
    memcpy(foreign, obj, len);
    foreign[16] = 3;
    CHECK_ERR(JitcoreEngineAddObjectBuffer(ee, foreign, len), JITCORE_ERROR_INVALID_OBJECT, "object");
    /* a 32-bit ELF class */
    memcpy(foreign, obj, len);
    foreign[4] = 1;
    CHECK_ERR(JitcoreEngineAddObjectBuffer(ee, foreign, len), JITCORE_ERROR_INVALID_OBJECT, "object");
    free(foreign);
    CHECK_CALL_SUM(ee);

    /* files */
    char *missing = tu_path_join(dir, "does-not-exist.o");
    CHECK_ERR(JitcoreEngineAddObjectFile(ee, missing), JITCORE_ERROR_IO, missing);
    CHECK_ERR(JitcoreEngineAddObjectFile(ee, dir), JITCORE_ERROR_IO, dir);
    char *garbage_path = tu_path_join(dir, "garbage.o");
    CHECK(tu_write_file(garbage_path, junk, sizeof junk));
    CHECK_ERR(JitcoreEngineAddObjectFile(ee, garbage_path), JITCORE_ERROR_INVALID_OBJECT, garbage_path);
    char *trunc_path = tu_path_join(dir, "truncated.o");
    CHECK(tu_write_file(trunc_path, obj, len / 2));
    CHECK_ERR(JitcoreEngineAddObjectFile(ee, trunc_path), JITCORE_ERROR_INVALID_OBJECT, trunc_path);
    char *empty_path = tu_path_join(dir, "empty.o");
    CHECK(tu_write_file(empty_path, "", 0));
    CHECK_ERR(JitcoreEngineAddObjectFile(ee, empty_path), JITCORE_ERROR_INVALID_OBJECT, empty_path);
    /* an executable is an ELF file but not a relocatable object */
    CHECK_ERR(JitcoreEngineAddObjectFile(ee, "/proc/self/exe"), JITCORE_ERROR_INVALID_OBJECT, "/proc/self/exe");
    CHECK_CALL_SUM(ee);

    /* a second definition of sum */
    CHECK_ERR(JitcoreEngineAddObjectBuffer(ee, obj, len), JITCORE_ERROR_DUPLICATE_DEFINITION, "sum");
    char *dup_path = tu_path_join(dir, "dup.o");
    CHECK(tu_write_file(dup_path, obj, len));
    CHECK_ERR(JitcoreEngineAddObjectFile(ee, dup_path), JITCORE_ERROR_DUPLICATE_DEFINITION, "sum");
    CHECK_CALL_SUM(ee);

    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.ObjectsLoaded, 2); /* only the good object and the module */

    remove(garbage_path);
    remove(trunc_path);
    remove(empty_path);
    remove(dup_path);
    free(missing);
    free(garbage_path);
    free(trunc_path);
    free(empty_path);
    free(dup_path);
    JitcoreDisposeEngine(ee);
}

static void test_object_clashes_with_module(const unsigned char *obj, size_t len)
{
    /* an IR module already defines sum: the object is a duplicate */
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    if (!ee)
        return;
    CHECK_ERR(JitcoreEngineAddObjectBuffer(ee, obj, len), JITCORE_ERROR_DUPLICATE_DEFINITION, "sum");
    CHECK_SUM_WORKS(ee);
    /* and the other way round */
    JitcoreEngineRef e2 = MAKE_ENGINE(NULL);
    CHECK_OK(JitcoreEngineAddObjectBuffer(e2, obj, len));
    JitcoreModuleRef m = MAKE_MODULE("sum_module_2", SUM_IR);
    CHECK_ERR(JitcoreEngineAddModule(e2, m), JITCORE_ERROR_DUPLICATE_DEFINITION, "sum");
    JitcoreDisposeModule(m);
    CHECK_SUM_WORKS(e2);
    JitcoreDisposeEngine(e2);
    JitcoreDisposeEngine(ee);
}

static int32_t host_identity(int32_t x)
{
    return x;
}

static void test_object_with_unresolved_reference(void)
{
    static const char IR[] =
        "declare i32 @nobody_defines_this(i32)\n"
        "define i32 @obj_use_ext(i32 %x) {\n"
        "  %r = call i32 @nobody_defines_this(i32 %x)\n"
        "  ret i32 %r\n"
        "}\n";
    /* compile it where the external exists, to get an object referencing it */
    struct saved_object s = {NULL, 0, 0};
    JitcoreEngineRef maker = MAKE_ENGINE(NULL);
    JitcoreEngineSetObjectCache(maker, save_notify, NULL, &s);
    CHECK_OK(JitcoreEngineAddModule(maker, MAKE_MODULE("ext_user", IR)));
    /* Resolve the external with a host function, so that ext_user is the
       only module compiled (and the only object the cache hears of). */
    CHECK_OK(JitcoreEngineAddGlobalMapping(maker, "nobody_defines_this", (uint64_t)(uintptr_t)host_identity));
    CHECK(LOOKUP(maker, "obj_use_ext") != 0);
    CHECK_EQ_INT(s.calls, 1);
    JitcoreDisposeEngine(maker);
    if (!s.bytes)
        return;
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    CHECK_OK(JitcoreEngineAddObjectBuffer(ee, s.bytes, s.len));
    uint64_t out = 0x77;
    CHECK_ERR(JitcoreEngineGetFunctionAddress(ee, &out, "obj_use_ext"), JITCORE_ERROR_UNRESOLVED_SYMBOL,
              "nobody_defines_this");
    CHECK_EQ_U64(out, 0x77);
    CHECK_SUM_WORKS(ee);
    JitcoreDisposeEngine(ee);
    free(s.bytes);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    size_t len = 0;
    unsigned char *obj = compile_to_object("sum_provider", SUM_IR, "sum", &len);
    char *dir = tu_make_temp_dir();
    CHECK_MSG(dir != NULL, "expected a temporary directory");
    if (obj && dir) {
        RUN_TEST(test_object_from_memory(obj, len));
        RUN_TEST(test_object_from_file(obj, len, dir));
        RUN_TEST(test_object_from_c_compiler(dir));
        RUN_TEST(test_invalid_objects(obj, len, dir));
        RUN_TEST(test_object_clashes_with_module(obj, len));
        RUN_TEST(test_object_with_unresolved_reference());
    }
    if (dir)
        rmdir(dir);
    free(dir);
    free(obj);
    return tu_finish("test_objects");
}
