/*
 * test_ir_parsing.c: JitcoreCreateModuleFromIR with text and bitcode.
 *
 *  - textual IR, Len honoured (no NUL terminator needed, nothing read past Len)
 *  - IR that does not parse -> INVALID_IR naming the module and "line:col"
 *  - IR that parses but does not verify -> INVALID_IR naming the module
 *  - invalid / truncated bitcode, empty data -> errors naming the module
 *  - bitcode made by llvm-as at run time (skipped if llvm-as is missing)
 *  - tests-c/data/arith.ll from the data directory (argv[1]), if given
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#define LLVM_AS "/usr/lib/llvm-22/bin/llvm-as"

static void test_len_is_honoured(void)
{
    /* a copy without a NUL terminator, followed by garbage */
    size_t len = strlen(SUM_IR);
    char *buf = malloc(len + 32);
    memcpy(buf, SUM_IR, len);
    memset(buf + len, '@', 32);
    JitcoreModuleRef m = NULL;
    CHECK_OK(JitcoreCreateModuleFromIR(&m, "unterminated", buf, len));
    free(buf); /* borrowed for the call only */
    CHECK_STR_EQ(JitcoreModuleGetName(m), "unterminated");
    JitcoreEngineRef ee = MAKE_ENGINE(m);
    CHECK_SUM_WORKS(ee);
    JitcoreDisposeEngine(ee);

    /* a Len that cuts the text inside the second function */
    static const char TWO[] =
        "define i32 @one() {\n  ret i32 1\n}\n"
        "define i32 @two() {\n  ret i32 2\n}\n";
    const char *cut = strstr(TWO, "ret i32 2");
    JitcoreModuleRef m2 = (JitcoreModuleRef)(uintptr_t)0x77;
    char *msg = TAKE_ERR(JitcoreCreateModuleFromIR(&m2, "cut_short", TWO, (size_t)(cut - TWO)),
                         JITCORE_ERROR_INVALID_IR);
    CHECK_CONTAINS(msg, "cut_short");
    CHECK_MSG(tu_has_line_col(msg, 5), "expected a line:col position on line 5 in \"%s\"", msg ? msg : "");
    free(msg);
    CHECK(m2 == (JitcoreModuleRef)(uintptr_t)0x77); /* untouched on failure */
}

static void test_parse_errors(void)
{
    struct {
        const char *name;
        const char *ir;
        int line;
    } cases[] = {
        {"bad_opcode",
         "define i32 @f(i32 %a) {\n"
         "  %x = add i32 %a, 1\n"
         "  %y = frobnicate i32 %x\n"
         "  ret i32 %y\n"
         "}\n",
         3},
        {"undefined_value",
         "define i32 @f(i32 %a) {\n"
         "  %x = add i32 %q, 1\n"
         "  ret i32 %x\n"
         "}\n",
         2},
        {"type_mismatch",
         "\n"
         "define i32 @f(i32 %a) {\n"
         "  ret i64 %a\n"
         "}\n",
         3},
        {"missing_brace",
         "define i32 @f(i32 %a) {\n"
         "  ret i32 %a\n",
         3},
        {"not_ir_at_all", "this is not LLVM IR\n", 1},
    };
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        JitcoreModuleRef m = (JitcoreModuleRef)(uintptr_t)0x99;
        char *msg = TAKE_ERR(JitcoreCreateModuleFromIR(&m, cases[i].name, cases[i].ir, strlen(cases[i].ir)),
                             JITCORE_ERROR_INVALID_IR);
        CHECK_CONTAINS(msg, cases[i].name);
        CHECK_MSG(tu_has_line_col(msg, cases[i].line), "expected a line:col position on line %d in \"%s\"",
                  cases[i].line, msg ? msg : "");
        CHECK(m == (JitcoreModuleRef)(uintptr_t)0x99);
        free(msg);
        CHECK_SUM_WORKS(ee); /* an engine is not disturbed by a failed parse */
    }
    JitcoreDisposeEngine(ee);
}

static void test_verify_errors(void)
{
    /* parses, but an instruction does not dominate its use */
    static const char DOMINANCE[] =
        "define i32 @f(i32 %a) {\n"
        "entry:\n"
        "  br label %next\n"
        "next:\n"
        "  %x = add i32 %y, 1\n"
        "  %y = add i32 %a, 1\n"
        "  ret i32 %x\n"
        "}\n";
    JitcoreModuleRef m = (JitcoreModuleRef)(uintptr_t)0x99;
    char *msg = TAKE_ERR(JitcoreCreateModuleFromIR(&m, "does_not_verify", DOMINANCE, strlen(DOMINANCE)),
                         JITCORE_ERROR_INVALID_IR);
    CHECK_CONTAINS(msg, "does_not_verify");
    CHECK(m == (JitcoreModuleRef)(uintptr_t)0x99);
    free(msg);

    /* parses, but a PHI does not list its predecessors */
    static const char PHI[] =
        "define i32 @g(i1 %c) {\n"
        "entry:\n"
        "  br i1 %c, label %a, label %b\n"
        "a:\n"
        "  br label %b\n"
        "b:\n"
        "  %p = phi i32 [ 1, %a ]\n"
        "  ret i32 %p\n"
        "}\n";
    msg = TAKE_ERR(JitcoreCreateModuleFromIR(&m, "bad_phi", PHI, strlen(PHI)), JITCORE_ERROR_INVALID_IR);
    CHECK_CONTAINS(msg, "bad_phi");
    free(msg);
    CHECK(m == (JitcoreModuleRef)(uintptr_t)0x99);
}

static void test_bad_bitcode_and_empty(void)
{
    unsigned char bc[96];
    for (size_t i = 0; i < sizeof bc; i++)
        bc[i] = (unsigned char)(i * 37 + 11);
    bc[0] = 'B';
    bc[1] = 'C';
    bc[2] = 0xC0;
    bc[3] = 0xDE;
    JitcoreModuleRef m = (JitcoreModuleRef)(uintptr_t)0x99;
    CHECK_ERR(JitcoreCreateModuleFromIR(&m, "garbage_bitcode", (const char *)bc, sizeof bc),
              JITCORE_ERROR_INVALID_IR, "garbage_bitcode");
    /* only the magic number */
    CHECK_ERR(JitcoreCreateModuleFromIR(&m, "magic_only", (const char *)bc, 4), JITCORE_ERROR_INVALID_IR,
              "magic_only");
    /* the bitcode wrapper magic (0x0B17C0DE, little-endian) with garbage */
    bc[0] = 0xDE;
    bc[1] = 0xC0;
    bc[2] = 0x17;
    bc[3] = 0x0B;
    CHECK_ERR(JitcoreCreateModuleFromIR(&m, "garbage_wrapper", (const char *)bc, sizeof bc),
              JITCORE_ERROR_INVALID_IR, "garbage_wrapper");
    /* binary garbage that is not bitcode at all */
    bc[0] = 0x01;
    CHECK_ERR(JitcoreCreateModuleFromIR(&m, "binary_garbage", (const char *)bc, sizeof bc),
              JITCORE_ERROR_INVALID_IR, "binary_garbage");
    CHECK(m == (JitcoreModuleRef)(uintptr_t)0x99);

    /* empty data: not a module */
    JitcoreErrorRef e = JitcoreCreateModuleFromIR(&m, "empty_mod", "", 0);
    JitcoreErrorCode code = JitcoreGetErrorCode(e);
    CHECK_MSG(code == JITCORE_ERROR_INVALID_IR || code == JITCORE_ERROR_INVALID_ARGUMENT,
              "expected empty data to fail with INVALID_IR or INVALID_ARGUMENT, got %s", tu_code_name(code));
    char *msg = JitcoreGetErrorMessage(e);
    CHECK_CONTAINS(msg, "empty_mod");
    JitcoreDisposeErrorMessage(msg);
    CHECK(m == (JitcoreModuleRef)(uintptr_t)0x99);
}

/* Runs llvm-as on `ir` in `dir`; returns malloc'ed bitcode or NULL. */
static unsigned char *assemble(const char *dir, const char *ir, size_t ir_len, size_t *bc_len)
{
    char *ll = tu_path_join(dir, "input.ll");
    char *bcp = tu_path_join(dir, "output.bc");
    unsigned char *bc = NULL;
    if (tu_write_file(ll, ir, ir_len)) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "'%s' '%s' -o '%s'", LLVM_AS, ll, bcp);
        int rc = system(cmd);
        CHECK_MSG(rc == 0, "expected `%s` to succeed, got status %d", cmd, rc);
        if (rc == 0)
            bc = tu_read_file(bcp, bc_len);
    }
    remove(ll);
    remove(bcp);
    free(ll);
    free(bcp);
    return bc;
}

static void test_bitcode_from_llvm_as(void)
{
    if (!tu_is_executable(LLVM_AS)) {
        tu_note("  SKIP bitcode checks: %s not found", LLVM_AS);
        return;
    }
    char *dir = tu_make_temp_dir();
    CHECK(dir != NULL);
    if (!dir)
        return;
    static const char IR[] =
        "@base = global i32 1000\n"
        "define i32 @sum(i32 %a, i32 %b) {\n"
        "  %r = add i32 %a, %b\n"
        "  ret i32 %r\n"
        "}\n"
        "define i32 @plus_base(i32 %x) {\n"
        "  %b = load i32, ptr @base\n"
        "  %r = add i32 %x, %b\n"
        "  ret i32 %r\n"
        "}\n";
    size_t len = 0;
    unsigned char *bc = assemble(dir, IR, strlen(IR), &len);
    CHECK(bc != NULL);
    if (bc) {
        CHECK(len > 4 && bc[0] == 'B' && bc[1] == 'C' && bc[2] == 0xC0 && bc[3] == 0xDE);
        JitcoreModuleRef m = NULL;
        CHECK_OK(JitcoreCreateModuleFromIR(&m, "from_bitcode", (const char *)bc, len));
        CHECK_STR_EQ(JitcoreModuleGetName(m), "from_bitcode");
        JitcoreEngineRef ee = MAKE_ENGINE(m);
        CHECK_SUM_WORKS(ee);
        uint64_t pb = LOOKUP(ee, "plus_base");
        if (pb)
            CHECK_EQ_INT(FN(int (*)(int), pb)(-1), 999);
        JitcoreDisposeEngine(ee);

        /* truncated bitcode */
        size_t cuts[] = {len / 2, len - 1, 8, 5};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            JitcoreModuleRef t = (JitcoreModuleRef)(uintptr_t)0x99;
            char *msg = TAKE_ERR(JitcoreCreateModuleFromIR(&t, "truncated_bitcode", (const char *)bc, cuts[i]),
                                 JITCORE_ERROR_INVALID_IR);
            CHECK_MSG(tu_contains_any(msg, "truncated_bitcode"),
                      "expected the message for bitcode cut at %zu of %zu to name the module, got \"%s\"", cuts[i],
                      len, msg ? msg : "");
            CHECK(t == (JitcoreModuleRef)(uintptr_t)0x99);
            free(msg);
        }
        /* corrupted bitcode: flip bytes after the magic */
        unsigned char *bad = malloc(len);
        memcpy(bad, bc, len);
        for (size_t i = 8; i < len; i += 3)
            bad[i] ^= 0x5a;
        JitcoreModuleRef t = NULL;
        JitcoreErrorRef e = JitcoreCreateModuleFromIR(&t, "corrupt_bitcode", (const char *)bad, len);
        CHECK_ERR(e, JITCORE_ERROR_INVALID_IR, "corrupt_bitcode");
        free(bad);
        free(bc);
    }
    /* bitcode that does not verify: llvm-as verifies by default, so use
       --disable-verify to produce it */
    static const char UNVERIFIED[] =
        "define i32 @f(i32 %a) {\n"
        "entry:\n"
        "  br label %next\n"
        "next:\n"
        "  %x = add i32 %y, 1\n"
        "  %y = add i32 %a, 1\n"
        "  ret i32 %x\n"
        "}\n";
    char *ll = tu_path_join(dir, "unverified.ll");
    char *bcp = tu_path_join(dir, "unverified.bc");
    if (tu_write_file(ll, UNVERIFIED, strlen(UNVERIFIED))) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "'%s' --disable-verify '%s' -o '%s'", LLVM_AS, ll, bcp);
        if (system(cmd) == 0) {
            size_t n = 0;
            unsigned char *ub = tu_read_file(bcp, &n);
            if (ub) {
                JitcoreModuleRef t = NULL;
                CHECK_ERR(JitcoreCreateModuleFromIR(&t, "unverified_bitcode", (const char *)ub, n),
                          JITCORE_ERROR_INVALID_IR, "unverified_bitcode");
                free(ub);
            }
        } else {
            tu_note("  SKIP unverified bitcode: `%s` failed", cmd);
        }
    }
    remove(ll);
    remove(bcp);
    free(ll);
    free(bcp);
    rmdir(dir);
    free(dir);
}

static void test_data_directory(const char *data_dir)
{
    if (!data_dir) {
        tu_note("  SKIP data directory checks: no data directory argument");
        return;
    }
    char *path = tu_path_join(data_dir, "arith.ll");
    size_t len = 0;
    unsigned char *ir = tu_read_file(path, &len);
    CHECK_MSG(ir != NULL, "expected to read %s", path);
    if (ir) {
        JitcoreModuleRef m = NULL;
        CHECK_OK(JitcoreCreateModuleFromIR(&m, "arith.ll", (const char *)ir, len));
        JitcoreEngineRef ee = MAKE_ENGINE(m);
        uint64_t gcd = LOOKUP(ee, "gcd");
        if (gcd) {
            CHECK_EQ_INT(FN(int64_t(*)(int64_t, int64_t), gcd)(1071, 462), 21);
            CHECK_EQ_INT(FN(int64_t(*)(int64_t, int64_t), gcd)(17, 0), 17);
        }
        uint64_t sc = LOOKUP(ee, "scaled");
        if (sc)
            CHECK_EQ_INT(FN(int64_t(*)(int64_t), sc)(14), 42);
        JitcoreDisposeEngine(ee);

        /* the same file as bitcode */
        if (tu_is_executable(LLVM_AS)) {
            char *dir = tu_make_temp_dir();
            size_t bl = 0;
            unsigned char *bc = dir ? assemble(dir, (const char *)ir, len, &bl) : NULL;
            if (bc) {
                JitcoreModuleRef mb = NULL;
                CHECK_OK(JitcoreCreateModuleFromIR(&mb, "arith.bc", (const char *)bc, bl));
                JitcoreEngineRef eb = MAKE_ENGINE(mb);
                uint64_t g2 = LOOKUP(eb, "gcd");
                if (g2)
                    CHECK_EQ_INT(FN(int64_t(*)(int64_t, int64_t), g2)(48, 18), 6);
                JitcoreDisposeEngine(eb);
                free(bc);
            }
            if (dir)
                rmdir(dir);
            free(dir);
        }
        free(ir);
    }
    free(path);
}

int main(int argc, char **argv)
{
    RUN_TEST(test_len_is_honoured());
    RUN_TEST(test_parse_errors());
    RUN_TEST(test_verify_errors());
    RUN_TEST(test_bad_bitcode_and_empty());
    RUN_TEST(test_bitcode_from_llvm_as());
    RUN_TEST(test_data_directory(argc > 1 ? argv[1] : NULL));
    return tu_finish("test_ir_parsing");
}
