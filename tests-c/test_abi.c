/*
 * test_abi.c: the extensible structs are size-versioned (issue 11.2).
 *
 * A host built against an older header has smaller JitcoreSessionOptions,
 * JitcoreStatistics and JitcoreDiskCacheStatistics. Each test lays out a
 * deliberately truncated copy of a struct with canary bytes right after it
 * and passes the truncated size to the ...Sized function: the library reads
 * and writes only that many bytes (the canaries are intact; fields it did
 * not read take their defaults), and a host struct larger than the
 * library's gets its unknown tail zeroed. The macros with the old names
 * pass sizeof() of the header's struct.
 */
#define _POSIX_C_SOURCE 200809L /* before any system header: see test_util.h */
#include "test_util.h"

#define CANARY 0xA5
#define CANARY_BYTES 64

/* An old host's statistics: only the first two fields. */
struct old_stats {
    uint64_t ModulesCompiled;
    uint64_t FunctionsCompiled;
};

struct stats_probe {
    struct old_stats s;
    unsigned char canary[CANARY_BYTES];
};

static void check_canary(const unsigned char *c, size_t n, const char *what)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += c[i] != CANARY;
    CHECK_MSG(bad == 0, "%s: %zu canary byte(s) past the truncated struct were written", what, bad);
}

static void test_truncated_statistics(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("sum_mod", SUM_IR));
    if (!ee)
        return;
    CHECK_SUM_WORKS(ee);
    struct stats_probe p;
    memset(&p, CANARY, sizeof p);
    CHECK_OK(JitcoreEngineGetStatisticsSized(ee, (JitcoreStatistics *)(void *)&p, sizeof p.s));
    CHECK_EQ_U64(p.s.ModulesCompiled, 1);
    CHECK_EQ_U64(p.s.FunctionsCompiled, 1);
    check_canary(p.canary, sizeof p.canary, "engine statistics");

    JitcoreSessionRef s = NEW_SESSION();
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("sum_mod", SUM_IR), NULL));
    SESSION_LOOKUP(s, d, "sum");
    memset(&p, CANARY, sizeof p);
    CHECK_OK(JitcoreSessionGetStatisticsSized(s, (JitcoreStatistics *)(void *)&p, sizeof p.s));
    CHECK_EQ_U64(p.s.ModulesCompiled, 1);
    check_canary(p.canary, sizeof p.canary, "session statistics");
    /* Even one field. */
    memset(&p, CANARY, sizeof p);
    CHECK_OK(JitcoreSessionGetStatisticsSized(s, (JitcoreStatistics *)(void *)&p, sizeof(uint64_t)));
    CHECK_EQ_U64(p.s.ModulesCompiled, 1);
    check_canary((const unsigned char *)&p.s.FunctionsCompiled, sizeof(uint64_t), "one-field statistics");

    /* A newer host's larger struct: the tail the library does not know is zeroed. */
    struct {
        JitcoreStatistics st;
        uint64_t newer[4];
    } big;
    memset(&big, CANARY, sizeof big);
    CHECK_OK(JitcoreSessionGetStatisticsSized(s, &big.st, sizeof big));
    CHECK_EQ_U64(big.st.ModulesCompiled, 1);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_U64(big.newer[i], 0);

    /* The old names pass sizeof(JitcoreStatistics). */
    JitcoreStatistics full;
    memset(&full, CANARY, sizeof full);
    CHECK_OK(JitcoreSessionGetStatistics(s, &full));
    CHECK_EQ_U64(full.ModulesCompiled, 1);
    CHECK(full.CodeBytesLive > 0 && full.CodeBytesLive < (1u << 30));

    /* Bad sizes. */
    CHECK_ERR(JitcoreSessionGetStatisticsSized(s, &full, 0), JITCORE_ERROR_INVALID_ARGUMENT, "size");
    CHECK_ERR(JitcoreSessionGetStatisticsSized(s, &full, (size_t)1 << 40), JITCORE_ERROR_INVALID_ARGUMENT, "size");
    JitcoreDisposeSession(s);
    JitcoreDisposeEngine(ee);
}

struct old_disk_stats {
    uint64_t Hits;
    uint64_t Misses;
    uint64_t Writes;
};

static void test_truncated_disk_statistics(void)
{
    char *dir = tu_make_temp_dir();
    if (!dir)
        return;
    JitcoreObjectCacheRef c = NULL;
    CHECK_OK(JitcoreCreateDiskCache(&c, dir, 0));
    JitcoreEngineRef ee = MAKE_ENGINE(MAKE_MODULE("disk_mod", SUM_IR));
    if (c && ee) {
        JitcoreEngineSetDiskCache(ee, c);
        CHECK_SUM_WORKS(ee);
        struct {
            struct old_disk_stats s;
            unsigned char canary[CANARY_BYTES];
        } p;
        memset(&p, CANARY, sizeof p);
        CHECK_OK(JitcoreDiskCacheGetStatisticsSized(c, (JitcoreDiskCacheStatistics *)(void *)&p, sizeof p.s));
        CHECK_EQ_U64(p.s.Misses, 1);
        CHECK_EQ_U64(p.s.Writes, 1);
        check_canary(p.canary, sizeof p.canary, "disk cache statistics");
        JitcoreDiskCacheStatistics full;
        CHECK_OK(JitcoreDiskCacheGetStatistics(c, &full));
        CHECK_EQ_U64(full.Entries, 1);
    }
    JitcoreDisposeEngine(ee);
    JitcoreDisposeObjectCache(c);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    free(dir);
}

/* An old host's options: only the opt level. */
struct old_options {
    JitcoreOptLevel OptLevel;
};

static void test_truncated_options(void)
{
    /* Init writes only the old struct. */
    struct {
        struct old_options o;
        unsigned char canary[CANARY_BYTES];
    } p;
    memset(&p, CANARY, sizeof p);
    JitcoreSessionOptionsInitSized((JitcoreSessionOptions *)(void *)&p, sizeof p.o);
    CHECK_EQ_INT(p.o.OptLevel, JITCORE_OPT_LEVEL_O2);
    check_canary(p.canary, sizeof p.canary, "JitcoreSessionOptionsInitSized");

    /* Create reads only the old struct: the canary bytes, which would read
       as LazyByDefault != 0 and a huge CompileThreads, are not looked at. */
    p.o.OptLevel = JITCORE_OPT_LEVEL_O1;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSessionSized(&s, (const JitcoreSessionOptions *)(const void *)&p, sizeof p.o));
    if (s) {
        JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
        CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("eager", SUM_IR), NULL));
        uint64_t a = SESSION_LOOKUP(s, d, "sum");
        if (a)
            CHECK_EQ_INT(FN(tu_sum_fn, a)(2, 3), 5);
        JitcoreStatistics st;
        CHECK_OK(JitcoreSessionGetStatistics(s, &st));
        /* eager (the default), so the lookup compiled the module */
        CHECK_EQ_U64(st.ModulesCompiled, 1);
        JitcoreDisposeSession(s);
    }
    /* The full struct through the macros. */
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    CHECK_EQ_INT(o.CompileThreads, 0);
    o.CompileThreads = 1;
    s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    JitcoreDisposeSession(s);
    s = (JitcoreSessionRef)0x1;
    CHECK_ERR(JitcoreCreateSessionSized(&s, &o, 0), JITCORE_ERROR_INVALID_ARGUMENT, "OptionsSize");
    CHECK(s == (JitcoreSessionRef)0x1);
    /* NULL options need no size. */
    s = NULL;
    CHECK_OK(JitcoreCreateSessionSized(&s, NULL, 0));
    JitcoreDisposeSession(s);
}

int main(void)
{
    RUN_TEST(test_truncated_statistics());
    RUN_TEST(test_truncated_disk_statistics());
    RUN_TEST(test_truncated_options());
    return tu_finish("test_abi");
}
