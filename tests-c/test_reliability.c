/*
 * Errors, not aborts (issue: "nine ways a host can still be crashed"):
 *  - IR that parses and verifies but that the backend rejects (bad inline
 *    asm, bad module asm, an asm constraint needing more registers than
 *    exist) is a COMPILE error naming the module and LLVM's message, through
 *    the engine and the session; nothing is printed and the process does not
 *    exit; the engine and session stay usable;
 *  - deeply nested IR (types, constants) is INVALID_IR, not a stack overflow,
 *    in module creation and in target data queries;
 *  - a dylib handle whose session was disposed of is refused (NULL or
 *    INVALID_ARGUMENT), never read;
 *  - modules from materializers take the same target checks as added ones
 *    (a foreign triple: UNSUPPORTED);
 *  - a materializer that sets both out-parameters, or returns an error with
 *    a module set, leaks nothing (valgrind run) and gets a clear error;
 *  - lengths that overflow are INVALID_ARGUMENT (or NULL), and
 *    TargetDataGetABISize neither wraps nor accepts IR pasted into a type;
 *  - the hidden body of a lazily added function cannot be looked up;
 *  - non-UTF-8 paths are paths;
 *  - bitcode that crashes LLVM's reader is INVALID_IR through
 *    JitcoreCreateModuleFromUntrustedIR (the crash happens in a child).
 */
#include "test_util.h"

#include "bitcode_crashes.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>

typedef int (*int_fn)(void);

/* Runs `fn` in a child with stderr captured; returns the child's exit
   status (or 128 + signal) and writes what it printed on stderr to `err`. */
static int run_in_child(void (*fn)(void), char *err, size_t errlen)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        dup2(pipefd[1], 2);
        fn();
        fflush(stdout);
        _exit(tu_failures() == 0 ? 0 : 3);
    }
    close(pipefd[1]);
    size_t got = 0;
    ssize_t n;
    while ((n = read(pipefd[0], err + got, errlen - 1 - got)) > 0 && got + 1 < errlen)
        got += (size_t)n;
    err[got] = '\0';
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static const char BAD_INLINE_ASM[] =
    "define i32 @bad() {\n"
    "  %r = call i32 asm \"notaninstruction $0\", \"=r\"()\n"
    "  ret i32 %r\n"
    "}\n";

static const char BAD_MODULE_ASM[] =
    "module asm \"this is not an instruction\"\n"
    "define i32 @bad() { ret i32 1 }\n";

/* Seventeen outputs in general-purpose registers, all used: x86-64 has sixteen. */
static const char TOO_MANY_REGISTERS[] =
    "define i64 @bad() {\n"
    "  %r = call {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} asm sideeffect \"\", \"=r,=r,=r,=r,=r,=r,=r,=r,=r,=r,=r,=r,=r,=r,=r,=r,=r\"()\n"
    "  %v0 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 0\n"
    "  %v1 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 1\n"
    "  %v2 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 2\n"
    "  %v3 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 3\n"
    "  %v4 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 4\n"
    "  %v5 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 5\n"
    "  %v6 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 6\n"
    "  %v7 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 7\n"
    "  %v8 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 8\n"
    "  %v9 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 9\n"
    "  %v10 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 10\n"
    "  %v11 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 11\n"
    "  %v12 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 12\n"
    "  %v13 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 13\n"
    "  %v14 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 14\n"
    "  %v15 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 15\n"
    "  %v16 = extractvalue {i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64} %r, 16\n"
    "  %s1 = add i64 %v0, %v1\n"
    "  %s2 = add i64 %s1, %v2\n"
    "  %s3 = add i64 %s2, %v3\n"
    "  %s4 = add i64 %s3, %v4\n"
    "  %s5 = add i64 %s4, %v5\n"
    "  %s6 = add i64 %s5, %v6\n"
    "  %s7 = add i64 %s6, %v7\n"
    "  %s8 = add i64 %s7, %v8\n"
    "  %s9 = add i64 %s8, %v9\n"
    "  %s10 = add i64 %s9, %v10\n"
    "  %s11 = add i64 %s10, %v11\n"
    "  %s12 = add i64 %s11, %v12\n"
    "  %s13 = add i64 %s12, %v13\n"
    "  %s14 = add i64 %s13, %v14\n"
    "  %s15 = add i64 %s14, %v15\n"
    "  %s16 = add i64 %s15, %v16\n"
    "  ret i64 %s16\n"
    "}\n";

static const char FORTY_TWO[] = "define i32 @answer() { ret i32 42 }\n";

static void backend_error_through_engine(const char *what, const char *ir, const char *sym)
{
    JitcoreModuleRef m = MAKE_MODULE(what, ir);
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    if (!ee)
        return;
    uint64_t addr = 7;
    char *msg = TAKE_ERR(JitcoreEngineGetFunctionAddress(ee, &addr, sym), JITCORE_ERROR_COMPILE);
    CHECK_CONTAINS(msg, what);
    CHECK(addr == 7);
    JitcoreDisposeErrorMessage(msg);
    /* The engine stays usable. */
    JitcoreModuleRef good = MAKE_MODULE("good", FORTY_TWO);
    CHECK_OK(JitcoreEngineAddModule(ee, good));
    uint64_t a = LOOKUP(ee, "answer");
    CHECK(a && FN(int_fn, a)() == 42);
    JitcoreDisposeEngine(ee);
}

static void backend_errors_child(void)
{
    backend_error_through_engine("bad_inline_asm", BAD_INLINE_ASM, "bad");
    backend_error_through_engine("bad_module_asm", BAD_MODULE_ASM, "bad");
    backend_error_through_engine("too_many_registers", TOO_MANY_REGISTERS, "bad");

    /* Through a session, with a compile thread. */
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.CompileThreads = 1;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("session_bad_asm", BAD_INLINE_ASM), NULL));
    uint64_t addr = 0;
    char *msg = TAKE_ERR(JitcoreSessionLookup(s, d, &addr, "bad"), JITCORE_ERROR_COMPILE);
    CHECK_CONTAINS(msg, "session_bad_asm");
    CHECK_CONTAINS(msg, "notaninstruction|invalid instruction");
    JitcoreDisposeErrorMessage(msg);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("good", FORTY_TWO), NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "answer"), 42);
    JitcoreDisposeSession(s);
}

static void test_backend_errors_do_not_exit(void)
{
    char err[4096];
    int status = run_in_child(backend_errors_child, err, sizeof err);
    CHECK_MSG(status == 0, "child exited with %d (expected 0); its stderr: %s", status, err);
    CHECK_MSG(err[0] == '\0', "the library printed on stderr: %s", err);
}

/* IR nested `depth` levels deep: a type ([1 x [1 x ... i8]]) or a constant. */
static char *nested_type(int depth)
{
    size_t n = (size_t)depth * 8 + 64;
    char *s = malloc(n), *p = s;
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "[1 x ");
    p += sprintf(p, "i8");
    for (int i = 0; i < depth; i++)
        *p++ = ']';
    *p = '\0';
    return s;
}

static void test_deep_nesting(void)
{
    int depth = 30000;
    char *ty = nested_type(depth);
    size_t n = strlen(ty) * 2 + 128;
    char *ir = malloc(n);
    snprintf(ir, n, "@g = global %s zeroinitializer\n", ty);
    JitcoreModuleRef m = NULL;
    char *msg = TAKE_ERR(JitcoreCreateModuleFromIR(&m, "deep", ir, strlen(ir)), JITCORE_ERROR_INVALID_IR);
    CHECK_CONTAINS(msg, "nest");
    CHECK_CONTAINS(msg, "deep");
    JitcoreDisposeErrorMessage(msg);
    CHECK(m == NULL);

    /* Nested constant expressions. */
    char *p = ir;
    p += sprintf(p, "@h = global i64 ");
    for (int i = 0; i < depth && (size_t)(p - ir) + 64 < n; i++)
        p += sprintf(p, "add (");
    CHECK_ERR(JitcoreCreateModuleFromIR(&m, "deepconst", ir, strlen(ir)), JITCORE_ERROR_INVALID_IR, "nest");

    /* The same type in a target data query. */
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("td", FORTY_TWO));
    JitcoreTargetDataRef td = JitcoreEngineGetTargetData(ee);
    uint64_t size = 99;
    CHECK_ERR(JitcoreTargetDataGetABISize(td, &size, ty), JITCORE_ERROR_INVALID_ARGUMENT, "nest");
    CHECK(size == 99);
    free(ty);

    /* Moderate nesting, as real code has, is fine. */
    ty = nested_type(200);
    CHECK_OK(JitcoreTargetDataGetABISize(td, &size, ty));
    CHECK_EQ_U64(size, 1);
    free(ty);
    free(ir);
    JitcoreDisposeEngine(ee);
}

static void test_target_data_sizes(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("td", FORTY_TWO));
    JitcoreTargetDataRef td = JitcoreEngineGetTargetData(ee);
    uint64_t size = 99;
    CHECK_ERR(JitcoreTargetDataGetABISize(td, &size, "[4294967296 x [4294967296 x i64]]"),
              JITCORE_ERROR_INVALID_ARGUMENT, "too large|overflow");
    CHECK(size == 99);
    CHECK_ERR(JitcoreTargetDataGetABISize(td, &size, "i32\n@x = global i32 0"), JITCORE_ERROR_INVALID_ARGUMENT,
              "not an IR type");
    CHECK_ERR(JitcoreTargetDataGetABISize(td, &size, "i32 0 ; comment"), JITCORE_ERROR_INVALID_ARGUMENT,
              "not an IR type");
    CHECK(size == 99);
    CHECK_OK(JitcoreTargetDataGetABISize(td, &size, "[1048576 x [1048576 x i64]]"));
    CHECK_EQ_U64(size, 8ull << 40);
    CHECK_OK(JitcoreTargetDataGetABISize(td, &size, "{i8, i64}"));
    CHECK_EQ_U64(size, 16);
    CHECK_OK(JitcoreTargetDataGetABISize(td, &size, "ptr addrspace(1)"));
    CHECK_EQ_U64(size, 8);
    JitcoreDisposeEngine(ee);
}

static void test_dylib_after_session(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "lib"));
    JitcoreDylibRef main = JitcoreSessionGetMainDylib(s);
    JitcoreDisposeSession(s);
    CHECK(JitcoreDylibCreateResourceTracker(d) == NULL);
    CHECK(JitcoreDylibCreateResourceTracker(main) == NULL);
    CHECK(JitcoreDylibGetName(d) == NULL);
    CHECK_ERR(JitcoreDylibAddModule(d, NULL, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "dylib");
    JitcoreSymbolDefinition def = {"x", 1};
    CHECK_ERR(JitcoreDylibDefineAbsoluteSymbols(d, &def, 1), JITCORE_ERROR_INVALID_ARGUMENT, "dylib");
}

/* Materializers whose module must take the target checks. */
static const char *materializer_ir;
static JitcoreErrorRef module_materializer(void *ctx, const char *const *syms, size_t n, JitcoreModuleRef *mod_out,
                                           JitcoreObjectBufferRef *obj_out)
{
    (void)ctx;
    (void)syms;
    (void)n;
    (void)obj_out;
    return JitcoreCreateModuleFromIR(mod_out, "from_materializer", materializer_ir, strlen(materializer_ir));
}

static void check_materializer_refused(const char *ir, const char *spec)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    const char *names[] = {"get"};
    materializer_ir = ir;
    CHECK_OK(JitcoreDylibAddMaterializer(d, names, 1, module_materializer, NULL, NULL, NULL));
    uint64_t addr = 0;
    CHECK_ERR(JitcoreSessionLookup(s, d, &addr, "get"), JITCORE_ERROR_UNSUPPORTED, spec);
    CHECK(addr == 0);
    JitcoreDisposeSession(s);
}

static void test_materializer_modules_are_checked(void)
{
    check_materializer_refused("target triple = \"aarch64-unknown-linux-gnu\"\n"
                               "define i32 @get() { ret i32 42 }\n",
                               "aarch64");
}

static JitcoreErrorRef both_out(void *ctx, const char *const *syms, size_t n, JitcoreModuleRef *mod_out,
                                JitcoreObjectBufferRef *obj_out)
{
    (void)ctx;
    (void)syms;
    (void)n;
    static const uint8_t junk[16] = {0x7f, 'E', 'L', 'F'};
    *obj_out = JitcoreCreateObjectBufferCopy(junk, sizeof junk);
    return JitcoreCreateModuleFromIR(mod_out, "both", "define i32 @get() { ret i32 1 }\n", 31);
}

static JitcoreErrorRef error_with_module(void *ctx, const char *const *syms, size_t n, JitcoreModuleRef *mod_out,
                                         JitcoreObjectBufferRef *obj_out)
{
    (void)ctx;
    (void)syms;
    (void)n;
    (void)obj_out;
    JitcoreErrorRef e = JitcoreCreateModuleFromIR(mod_out, "orphan", "define i32 @get() { ret i32 1 }\n", 31);
    if (e)
        return e;
    return JitcoreCreateError(JITCORE_ERROR_COMPILE, "host says no");
}

static void test_materializer_out_parameters(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    const char *names[] = {"get"};
    CHECK_OK(JitcoreDylibAddMaterializer(d, names, 1, both_out, NULL, NULL, NULL));
    uint64_t addr = 0;
    CHECK_ERR(JitcoreSessionLookup(s, d, &addr, "get"), JITCORE_ERROR_INVALID_ARGUMENT, "both|exactly one");
    JitcoreDisposeSession(s);

    s = NEW_SESSION();
    d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddMaterializer(d, names, 1, error_with_module, NULL, NULL, NULL));
    CHECK_ERR(JitcoreSessionLookup(s, d, &addr, "get"), JITCORE_ERROR_COMPILE, "host says no");
    JitcoreDisposeSession(s);
}

static void test_huge_lengths(void)
{
    static const uint8_t byte = 0;
    /* Lengths no allocation can satisfy: NULL, not an abort. */
    CHECK(JitcoreCreateObjectBufferCopy(&byte, (size_t)PTRDIFF_MAX + 1) == NULL);
    JitcoreModuleRef m = NULL;
    CHECK_ERR(JitcoreCreateModuleFromIR(&m, "huge", (const char *)&byte, (size_t)PTRDIFF_MAX + 1),
              JITCORE_ERROR_INVALID_ARGUMENT, "Len|length|large");
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    JitcoreDylibRef order[1] = {d};
    CHECK_ERR(JitcoreDylibSetLinkOrder(d, order, (size_t)PTRDIFF_MAX / 4), JITCORE_ERROR_INVALID_ARGUMENT,
              "large|length|count");
    JitcoreSymbolDefinition def = {"x", 1};
    CHECK_ERR(JitcoreDylibDefineAbsoluteSymbols(d, &def, SIZE_MAX / 2), JITCORE_ERROR_INVALID_ARGUMENT,
              "large|length|count");
    const char *names[1] = {"x"};
    uint64_t addrs[1];
    CHECK_ERR(JitcoreSessionLookupMany(s, d, addrs, names, SIZE_MAX / 4), JITCORE_ERROR_INVALID_ARGUMENT,
              "large|length|count");
    JitcoreDisposeSession(s);
}

static void test_lazy_body_is_hidden(void)
{
    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("lazy", "define i32 @f() { ret i32 5 }\n"
                                                              "define i32 @g() { %v = call i32 @f()\n ret i32 %v }\n"),
                                       NULL));
    CHECK_EQ_INT(SESSION_CALL_INT(s, d, "g"), 5);
    uint64_t addr = 0;
    CHECK_ERR(JitcoreSessionLookup(s, d, &addr, "f.jitcore.body"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "f.jitcore.body");
    CHECK(addr == 0);
    JitcoreDisposeSession(s);
}

/* Linux paths are bytes: a non-UTF-8 directory works as a cache directory,
   and a missing non-UTF-8 object file is IO (not INVALID_ARGUMENT). */
static void test_non_utf8_paths(void)
{
    char *base = tu_make_temp_dir();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/caf\xe9", base);
    JitcoreObjectCacheRef cache = NULL;
    CHECK_OK(JitcoreCreateDiskCache(&cache, dir, 0));
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("answer", FORTY_TWO));
    JitcoreEngineSetDiskCache(ee, cache);
    uint64_t a = LOOKUP(ee, "answer");
    CHECK(a && FN(int_fn, a)() == 42);
    JitcoreDisposeEngine(ee);
    JitcoreDiskCacheStatistics st;
    CHECK_OK(JitcoreDiskCacheGetStatistics(cache, &st));
    CHECK_EQ_U64(st.Writes, 1);
    JitcoreDisposeObjectCache(cache);
    struct stat sb;
    CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));

    ee = MAKE_ENGINE(MAKE_MODULE("answer", FORTY_TWO));
    char file[4096];
    snprintf(file, sizeof file, "%s/missing\xff.o", base);
    CHECK_ERR(JitcoreEngineAddObjectFile(ee, file), JITCORE_ERROR_IO, "missing");
    JitcoreDisposeEngine(ee);
    JitcoreSessionRef s = NEW_SESSION();
    CHECK_ERR(JitcoreDylibAddArchive(JitcoreSessionGetMainDylib(s), file), JITCORE_ERROR_IO, "missing");
    CHECK_ERR(JitcoreDylibAddLibrarySymbols(JitcoreSessionGetMainDylib(s), file, NULL, NULL), JITCORE_ERROR_IO,
              "missing");
    JitcoreDisposeSession(s);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    CHECK(system(cmd) == 0);
    free(base);
}

/* Malformed bitcode that crashes LLVM's reader: the untrusted-input
   parser turns the crash (in a child) into INVALID_IR; good input parses
   the same as with JitcoreCreateModuleFromIR. */
static void test_untrusted_bitcode(void)
{
    JitcoreModuleRef m = NULL;
    const struct { const unsigned char *data; unsigned len; } crashes[] = {
        {bc_crash_gep_1_bc, bc_crash_gep_1_bc_len},
        {bc_crash_gep_2_bc, bc_crash_gep_2_bc_len},
    };
    for (size_t i = 0; i < sizeof crashes / sizeof crashes[0]; i++) {
        char *msg = TAKE_ERR(JitcoreCreateModuleFromUntrustedIR(&m, "evil.bc", (const char *)crashes[i].data,
                                                                 crashes[i].len),
                             JITCORE_ERROR_INVALID_IR);
        CHECK_CONTAINS(msg, "evil.bc");
        CHECK_CONTAINS(msg, "crashed");
        JitcoreDisposeErrorMessage(msg);
        CHECK(m == NULL);
    }
    /* Good bitcode and text parse and run. */
    CHECK_OK(JitcoreCreateModuleFromUntrustedIR(&m, "seed.bc", (const char *)seed_bc, seed_bc_len));
    JitcoreDisposeModule(m);
    m = NULL;
    CHECK_OK(JitcoreCreateModuleFromUntrustedIR(&m, "answer", FORTY_TWO, strlen(FORTY_TWO)));
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    uint64_t a = LOOKUP(ee, "answer");
    CHECK(a && FN(int_fn, a)() == 42);
    JitcoreDisposeEngine(ee);
    /* Ordinary errors keep their line and column. */
    char *msg = TAKE_ERR(JitcoreCreateModuleFromUntrustedIR(&m, "broken", "define i32 @f( {\n", 17),
                         JITCORE_ERROR_INVALID_IR);
    CHECK_CONTAINS(msg, "broken:2:1");
    JitcoreDisposeErrorMessage(msg);
}

int main(void)
{
    RUN_TEST(test_backend_errors_do_not_exit());
    RUN_TEST(test_deep_nesting());
    RUN_TEST(test_target_data_sizes());
    RUN_TEST(test_dylib_after_session());
    RUN_TEST(test_materializer_modules_are_checked());
    RUN_TEST(test_materializer_out_parameters());
    RUN_TEST(test_huge_lengths());
    RUN_TEST(test_lazy_body_is_hidden());
    RUN_TEST(test_non_utf8_paths());
    RUN_TEST(test_untrusted_bitcode());
    return tu_finish("test_reliability");
}
