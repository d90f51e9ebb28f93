/*
 * test_target_data.c: JitcoreEngineGetTargetData and the type queries.
 *
 *  - pointer size 8 (on a 64-bit host), ABI sizes/alignments of IR types,
 *    cross-checked with the C compiler's sizeof/_Alignof where they map
 *  - strings that are not sized IR types -> INVALID_ARGUMENT naming them,
 *    *Result untouched
 *  - NULL arguments
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#include <stdalign.h>

#define UNTOUCHED 0xfeedfacecafebeefULL

static void check_type(JitcoreTargetDataRef td, const char *type, uint64_t size, uint64_t align, int line)
{
    uint64_t s = UNTOUCHED, a = UNTOUCHED;
    tu_check_ok(JitcoreTargetDataGetABISize(td, &s, type), type, __FILE__, line);
    tu_check_ok(JitcoreTargetDataGetABIAlignment(td, &a, type), type, __FILE__, line);
    tu_record(s == size, __FILE__, line, "expected ABI size of \"%s\" == %" PRIu64 ", got %" PRIu64, type, size, s);
    if (align)
        tu_record(a == align, __FILE__, line, "expected ABI alignment of \"%s\" == %" PRIu64 ", got %" PRIu64,
                  type, align, a);
}
#define CHECK_TYPE(td, type, size, align) check_type((td), (type), (size), (align), __LINE__)

struct i64_and_array {
    int64_t a;
    int64_t b[2];
};
struct i8_i32 {
    int8_t a;
    int32_t b;
};
struct i8_double_i16 {
    int8_t a;
    double b;
    int16_t c;
};

static void test_sizes(JitcoreTargetDataRef td)
{
    CHECK_EQ_INT(JitcoreTargetDataGetPointerSize(td), sizeof(void *));
    CHECK_EQ_INT(JitcoreTargetDataGetPointerSize(td), 8);

    CHECK_TYPE(td, "i32", 4, 4);
    CHECK_TYPE(td, "i8", 1, 1);
    CHECK_TYPE(td, "i1", 1, 1);
    CHECK_TYPE(td, "i16", 2, 2);
    CHECK_TYPE(td, "i64", 8, alignof(int64_t));
    CHECK_TYPE(td, "float", 4, 4);
    CHECK_TYPE(td, "double", 8, alignof(double));
    CHECK_TYPE(td, "ptr", sizeof(void *), alignof(void *));
    CHECK_TYPE(td, "{i64, [2 x i64]}", 24, 8);
    CHECK_TYPE(td, "{i64, [2 x i64]}", sizeof(struct i64_and_array), alignof(struct i64_and_array));
    CHECK_TYPE(td, "{i8, i32}", sizeof(struct i8_i32), alignof(struct i8_i32));
    CHECK_TYPE(td, "{i8, double, i16}", sizeof(struct i8_double_i16), alignof(struct i8_double_i16));
    CHECK_TYPE(td, "<{i8, i32}>", 5, 1); /* packed */
    CHECK_TYPE(td, "[10 x i16]", 20, 2);
    CHECK_TYPE(td, "[0 x i32]", 0, 4);
    CHECK_TYPE(td, "<4 x float>", 16, 16);
    CHECK_TYPE(td, "[3 x {i32, ptr}]", 48, 8);
}

static void test_interleaved_struct_queries(JitcoreTargetDataRef td)
{
    /* structurally different struct types queried one after another, and
       repeated: each answer must belong to the type asked about, whatever
       was asked before */
    for (int round = 0; round < 3; round++) {
        CHECK_TYPE(td, "{i8, i32}", 8, 4);
        CHECK_TYPE(td, "<{i8, i32}>", 5, 1);
        CHECK_TYPE(td, "<{i8, double}>", 9, 1);
        CHECK_TYPE(td, "{i8, i32}", 8, 4);
        CHECK_TYPE(td, "{i8, double}", 16, 8);
        CHECK_TYPE(td, "{i64, [2 x i64]}", 24, 8);
        CHECK_TYPE(td, "{i8}", 1, 1);
        CHECK_TYPE(td, "{i16, i16, i16}", 6, 2);
    }
}

static void test_invalid_types(JitcoreTargetDataRef td)
{
    static const char *bad[] = {
        "not_a_type",
        "",
        "void",          /* not sized */
        "i32 x",         /* trailing junk */
        "{i32, i64",     /* unterminated */
        "%UndefinedStruct",
        "[4 x]",
        "label",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t r = UNTOUCHED;
        /* the message must quote the culprit (for "" any message will do) */
        char spec[64];
        snprintf(spec, sizeof spec, "%s", bad[i]);
        JitcoreErrorRef e = JitcoreTargetDataGetABISize(td, &r, bad[i]);
        if (!CHECK_MSG(e != NULL, "expected JitcoreTargetDataGetABISize(\"%s\") to fail", bad[i]))
            continue;
        CHECK_ERR(e, JITCORE_ERROR_INVALID_ARGUMENT, spec);
        CHECK_MSG(r == UNTOUCHED, "expected *Result untouched for \"%s\", got %" PRIu64, bad[i], r);
        r = UNTOUCHED;
        e = JitcoreTargetDataGetABIAlignment(td, &r, bad[i]);
        if (!CHECK_MSG(e != NULL, "expected JitcoreTargetDataGetABIAlignment(\"%s\") to fail", bad[i]))
            continue;
        CHECK_ERR(e, JITCORE_ERROR_INVALID_ARGUMENT, spec);
        CHECK_MSG(r == UNTOUCHED, "expected *Result untouched for \"%s\", got %" PRIu64, bad[i], r);
    }
    /* still answers afterwards */
    CHECK_TYPE(td, "i32", 4, 4);
}

static void test_null_arguments(JitcoreTargetDataRef td)
{
    uint64_t r = UNTOUCHED;
    CHECK_ERR(JitcoreTargetDataGetABISize(NULL, &r, "i32"), JITCORE_ERROR_INVALID_ARGUMENT, "TD");
    CHECK_ERR(JitcoreTargetDataGetABISize(td, NULL, "i32"), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    CHECK_ERR(JitcoreTargetDataGetABISize(td, &r, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "IRType");
    CHECK_ERR(JitcoreTargetDataGetABIAlignment(NULL, &r, "i32"), JITCORE_ERROR_INVALID_ARGUMENT, "TD");
    CHECK_ERR(JitcoreTargetDataGetABIAlignment(td, NULL, "i32"), JITCORE_ERROR_INVALID_ARGUMENT, "Result");
    CHECK_ERR(JitcoreTargetDataGetABIAlignment(td, &r, NULL), JITCORE_ERROR_INVALID_ARGUMENT, "IRType");
    CHECK_EQ_U64(r, UNTOUCHED);
    CHECK_EQ_INT(JitcoreTargetDataGetPointerSize(NULL), 0);
    CHECK(JitcoreEngineGetTargetData(NULL) == NULL);
}

static void test_layout_matches_jitted_code(JitcoreEngineRef ee, JitcoreTargetDataRef td)
{
    /* the offset jitted code uses for field 2 of {i8, double, i16} agrees
       with the sizes the target data reports */
    static const char IR[] =
        "define i64 @offset_of_c() {\n"
        "  %p = getelementptr {i8, double, i16}, ptr null, i32 0, i32 2\n"
        "  %i = ptrtoint ptr %p to i64\n"
        "  ret i64 %i\n"
        "}\n"
        "define i64 @size_of_s() {\n"
        "  %p = getelementptr {i8, double, i16}, ptr null, i32 1\n"
        "  %i = ptrtoint ptr %p to i64\n"
        "  ret i64 %i\n"
        "}\n";
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("layout", IR)));
    uint64_t off = LOOKUP(ee, "offset_of_c");
    uint64_t sz = LOOKUP(ee, "size_of_s");
    uint64_t reported = 0;
    CHECK_OK(JitcoreTargetDataGetABISize(td, &reported, "{i8, double, i16}"));
    if (off)
        CHECK_EQ_INT(FN(int64_t(*)(void), off)(), offsetof(struct i8_double_i16, c));
    if (sz)
        CHECK_EQ_U64((uint64_t)FN(int64_t(*)(void), sz)(), reported);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_module", SUM_IR));
    if (!ee)
        return tu_finish("test_target_data") | 1;
    JitcoreTargetDataRef td = JitcoreEngineGetTargetData(ee);
    CHECK(td != NULL);
    CHECK(JitcoreEngineGetTargetData(ee) == td); /* borrowed from the engine */
    RUN_TEST(test_sizes(td));
    RUN_TEST(test_interleaved_struct_queries(td));
    RUN_TEST(test_invalid_types(td));
    RUN_TEST(test_null_arguments(td));
    RUN_TEST(test_layout_matches_jitted_code(ee, td));
    CHECK_SUM_WORKS(ee);

    /* an engine at another opt level answers the same */
    JitcoreEngineRef e0 = MAKE_ENGINE_AT(NULL, JITCORE_OPT_LEVEL_O0);
    JitcoreTargetDataRef td0 = JitcoreEngineGetTargetData(e0);
    CHECK(td0 != NULL);
    CHECK_TYPE(td0, "{i64, [2 x i64]}", 24, 8);
    CHECK_EQ_INT(JitcoreTargetDataGetPointerSize(td0), 8);
    JitcoreDisposeEngine(e0);
    /* the first engine's target data is still valid */
    CHECK_TYPE(td, "i32", 4, 4);
    JitcoreDisposeEngine(ee);
    return tu_finish("test_target_data");
}
