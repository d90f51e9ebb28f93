/*
 * faults.c: the disk cache and object cache under hostile conditions. In
 * every scenario each lookup must still give the right function (the
 * module is compiled when the cache cannot help), and is counted:
 *   readonly           a cache directory on a read-only mount (FAULTS_RO_DIR,
 *                      filled by `faults populate DIR` before the driver
 *                      remounted it read-only; one entry truncated)
 *   vanishing          the cache directory is deleted (and once replaced by a
 *                      regular file) between lookups while engines use it
 *   fulldisk           the cache on a 64 KiB tmpfs (FAULTS_FULL_DIR)
 *   corrupt_concurrent another process rewrites, truncates, swaps and
 *                      deletes the entry files in a loop while this one
 *                      looks modules up through fresh engines
 *   getbuffer_<kind>   a GetBuffer callback returning random bytes, a valid
 *                      object of another module, an object of another module
 *                      defining the same symbol, a truncated object, an
 *                      object claiming a huge section table, a buffer of an
 *                      impossible length (NULL from CreateObjectBufferCopy),
 *                      NULL: each is ignored (CacheRejected counts it) and
 *                      the module compiled; engine and session both
 * A scenario whose mount is not given is skipped with a message (the
 * driver mounts; it needs root). Output: "faults: <scenario>: N lookups,
 * all right" or "... M WRONG"; exit status nonzero on any wrong result.
 */
#include "deep_util.h"

#include "../tests-c/test_disk_cache.h"

#include <fcntl.h>

#define NMOD 24

static long g_wrong_total;

struct scen {
    const char *name;
    long lookups;
    long wrong;
    int skipped;
    char note[256];
};
static struct scen g_scen[32];
static int g_nscen;

static struct scen *scen(const char *name)
{
    struct scen *s = &g_scen[g_nscen++];
    memset(s, 0, sizeof *s);
    s->name = name;
    return s;
}

static int expected(int i) { return i * 31 + 5; }

/* IR of module i: fv_<i>() returns expected(i); `pad` bytes of data. */
static const char *mod_ir(char *buf, size_t cap, const char *prefix, int i, unsigned pad)
{
    char fn[48];
    snprintf(fn, sizeof fn, "%sfv_%d", prefix, i);
    return dc_value_ir(buf, cap, fn, expected(i), pad);
}

/* Adds modules [from, to) to a fresh engine on `cache` (may be NULL for
   none), looks each up and calls it; counts in `s`. */
static void engine_round(struct scen *s, JitcoreObjectCacheRef cache, const char *prefix, int from, int to,
                         unsigned pad, struct dc_reports *r)
{
    JitcoreEngineRef ee = CACHED_ENGINE(cache, JITCORE_OPT_LEVEL_O2, r);
    if (!ee) {
        s->wrong++;
        return;
    }
    for (int i = from; i < to; i++) {
        char ir[512], name[64], fn[64];
        snprintf(name, sizeof name, "%sfm_%d", prefix, i);
        snprintf(fn, sizeof fn, "%sfv_%d", prefix, i);
        s->lookups++;
        JitcoreModuleRef m = MAKE_MODULE(name, mod_ir(ir, sizeof ir, prefix, i, pad));
        if (!m || !CHECK_OK(JitcoreEngineAddModule(ee, m))) {
            JitcoreDisposeModule(m);
            s->wrong++;
            continue;
        }
        uint64_t a = LOOKUP(ee, fn);
        int got = a ? FN(int (*)(void), a)() : -1;
        if (!CHECK_MSG(got == expected(i), "%s: %s() == %d, expected %d", s->name, fn, got, expected(i)))
            s->wrong++;
    }
    JitcoreDisposeEngine(ee);
}

static void finish(struct scen *s)
{
    g_wrong_total += s->wrong;
    if (s->skipped)
        tu_note("faults: %s: SKIPPED (%s)", s->name, s->note);
    else if (s->wrong == 0)
        tu_note("faults: %s: %ld lookups, all right%s%s", s->name, s->lookups, s->note[0] ? "; " : "", s->note);
    else
        tu_note("faults: %s: %ld lookups, %ld WRONG%s%s", s->name, s->lookups, s->wrong, s->note[0] ? "; " : "",
                s->note);
}

static void disk_note(struct scen *s, JitcoreObjectCacheRef c)
{
    JitcoreDiskCacheStatistics st;
    memset(&st, 0, sizeof st);
    JitcoreErrorRef e = JitcoreDiskCacheGetStatistics(c, &st);
    JitcoreConsumeError(e);
    snprintf(s->note, sizeof s->note,
             "disk cache: hits=%" PRIu64 " misses=%" PRIu64 " writes=%" PRIu64 " corrupt_dropped=%" PRIu64
             " io_errors=%" PRIu64,
             st.Hits, st.Misses, st.Writes, st.CorruptDropped, st.IOErrors);
}

/* ------------------------------------------------------------------ */
/* readonly                                                             */
/* ------------------------------------------------------------------ */

static int populate(const char *dir)
{
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    struct scen s;
    memset(&s, 0, sizeof s);
    s.name = "populate";
    engine_round(&s, c, "ro_", 0, NMOD, 0, NULL);
    JitcoreDisposeObjectCache(c);
    /* one damaged entry, which the read-only reader cannot delete */
    char ir[512];
    char *victim = ENTRY_PATH(dir, "ro_fm_0", mod_ir(ir, sizeof ir, "ro_", 0, 0), JITCORE_OPT_LEVEL_O2);
    size_t len = 0;
    unsigned char *b = victim ? tu_read_file(victim, &len) : NULL;
    int ok = b && len > 100 && tu_write_file(victim, b, len / 2);
    free(b);
    free(victim);
    printf("faults: populate %s: %ld modules, %ld wrong, entry truncated: %s\n", dir, s.lookups, s.wrong,
           ok ? "yes" : "NO");
    return (s.wrong == 0 && ok && tu_failures() == 0) ? 0 : 1;
}

static void test_readonly(void)
{
    struct scen *s = scen("readonly");
    const char *dir = getenv("FAULTS_RO_DIR");
    if (!dir || !*dir) {
        s->skipped = 1;
        snprintf(s->note, sizeof s->note, "FAULTS_RO_DIR not set: no read-only mount (needs root and mount)");
        finish(s);
        return;
    }
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/probe", dir);
    FILE *f = fopen(probe, "w");
    if (f) {
        fclose(f);
        unlink(probe);
        tu_note("faults: readonly: WARNING: %s is writable, the scenario is not read-only", dir);
        s->wrong++;
    }
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    for (int round = 0; round < 3; round++) {
        engine_round(s, c, "ro_", 0, NMOD, 0, &r);     /* cached (one damaged) */
        engine_round(s, c, "ronew_", 0, NMOD, 0, &r);  /* never cached: writes fail */
    }
    disk_note(s, c);
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    CHECK_MSG(st.Hits >= 3 * (NMOD - 1), "readonly: expected the %d good entries to hit each round, got %" PRIu64,
              NMOD - 1, st.Hits);
    CHECK_MSG(st.IOErrors > 0, "readonly: expected write failures to be counted");
    JitcoreDisposeObjectCache(c);
    dc_reports_fini(&r);
    finish(s);
}

/* ------------------------------------------------------------------ */
/* vanishing                                                            */
/* ------------------------------------------------------------------ */

static void test_vanishing(void)
{
    struct scen *s = scen("vanishing");
    char *dir = tu_make_temp_dir();
    if (!dir) {
        s->wrong++;
        finish(s);
        return;
    }
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    /* one long-lived engine, plus fresh ones that may hit */
    JitcoreEngineRef live = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, &r);
    for (int round = 0; round < 12; round++) {
        char ir[512], name[64], fn[64];
        for (int i = 0; i < 4; i++) {
            int k = round * 4 + i;
            snprintf(name, sizeof name, "va_fm_%d", k);
            snprintf(fn, sizeof fn, "va_fv_%d", k);
            s->lookups++;
            JitcoreModuleRef m = MAKE_MODULE(name, mod_ir(ir, sizeof ir, "va_", k, 0));
            if (!m || !CHECK_OK(JitcoreEngineAddModule(live, m))) {
                JitcoreDisposeModule(m);
                s->wrong++;
                continue;
            }
            uint64_t a = LOOKUP(live, fn);
            if (!CHECK(a && FN(int (*)(void), a)() == expected(k)))
                s->wrong++;
        }
        engine_round(s, c, "va_", 0, round * 4 + 4, 0, &r);
        /* the directory vanishes; every third time a file takes its place */
        dc_remove_dir(dir);
        if (round % 3 == 2)
            tu_write_file(dir, "not a directory\n", 16);
        else if (round % 3 == 1)
            mkdir(dir, 0700); /* it comes back, empty */
        engine_round(s, c, "va_", 0, round * 4 + 4, 0, &r);
        unlink(dir);
    }
    disk_note(s, c);
    JitcoreDisposeEngine(live);
    JitcoreDisposeObjectCache(c);
    dc_remove_dir(dir);
    unlink(dir);
    free(dir);
    dc_reports_fini(&r);
    finish(s);
}

/* ------------------------------------------------------------------ */
/* fulldisk                                                             */
/* ------------------------------------------------------------------ */

static void test_fulldisk(void)
{
    struct scen *s = scen("fulldisk");
    const char *dir = getenv("FAULTS_FULL_DIR");
    if (!dir || !*dir) {
        s->skipped = 1;
        snprintf(s->note, sizeof s->note, "FAULTS_FULL_DIR not set: no small tmpfs (needs root and mount)");
        finish(s);
        return;
    }
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    for (int round = 0; round < 3; round++)
        engine_round(s, c, "full_", 0, NMOD, 8192, &r); /* ~10 KiB objects: 64 KiB fills up */
    disk_note(s, c);
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    CHECK_MSG(st.IOErrors > 0, "fulldisk: expected write failures (ENOSPC) to be counted");
    CHECK_MSG(st.Hits > 0, "fulldisk: expected the entries that fit to hit");
    JitcoreDisposeObjectCache(c);
    /* nothing half-written left behind as an entry */
    struct dc_listing l = dc_list(dir);
    CHECK_EQ_INT(l.temps, 0);
    dc_reports_fini(&r);
    finish(s);
}

/* ------------------------------------------------------------------ */
/* corrupt_concurrent                                                   */
/* ------------------------------------------------------------------ */

static char *g_corrupt_dir;
static pid_t g_corrupter;
static int g_corrupter_go[2];

/* The child: plain file operations only (forked before any LLVM use). */
static void corrupter_main(const char *dir)
{
    char c;
    if (read(g_corrupter_go[0], &c, 1) != 1)
        _exit(0);
    uint64_t rng = 0x1234567;
    unsigned char buf[4096];
    long actions = 0;
    pid_t parent = getppid();
    while (getppid() == parent) {
        DIR *d = opendir(dir);
        if (!d) {
            dc_sleep_ms(1);
            continue;
        }
        struct dirent *e;
        char first[4096] = "";
        while ((e = readdir(d)) != NULL) {
            if (!dc_is_entry_name(e->d_name))
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (!first[0])
                snprintf(first, sizeof first, "%s", path);
            int fd;
            switch (du_rand(&rng) % 16) {
            case 0: /* truncate to a random length */
                if (truncate(path, (off_t)(du_rand(&rng) % 2048)) == 0)
                    actions++;
                break;
            case 1: /* flip bytes in place */
                fd = open(path, O_RDWR);
                if (fd >= 0) {
                    for (int k = 0; k < 4; k++) {
                        off_t at = (off_t)(du_rand(&rng) % 4096);
                        unsigned char b = (unsigned char)du_rand(&rng);
                        if (pwrite(fd, &b, 1, at) == 1)
                            actions++;
                    }
                    close(fd);
                }
                break;
            case 2: /* rewrite with garbage */
                for (size_t k = 0; k < sizeof buf; k++)
                    buf[k] = (unsigned char)du_rand(&rng);
                fd = open(path, O_WRONLY | O_TRUNC);
                if (fd >= 0) {
                    if (write(fd, buf, 100 + du_rand(&rng) % 3000) > 0)
                        actions++;
                    close(fd);
                }
                break;
            case 3: /* another entry's content under this name */
                if (first[0] && strcmp(first, path) != 0) {
                    int in = open(first, O_RDONLY);
                    fd = open(path, O_WRONLY | O_TRUNC);
                    if (in >= 0 && fd >= 0) {
                        ssize_t n;
                        while ((n = read(in, buf, sizeof buf)) > 0)
                            if (write(fd, buf, (size_t)n) != n)
                                break;
                        actions++;
                    }
                    if (in >= 0)
                        close(in);
                    if (fd >= 0)
                        close(fd);
                }
                break;
            case 4: /* delete */
                if (unlink(path) == 0)
                    actions++;
                break;
            default: /* leave it */
                break;
            }
        }
        closedir(d);
        dc_sleep_ms(1);
    }
    _exit(0);
}

static void start_corrupter(void)
{
    g_corrupt_dir = tu_make_temp_dir();
    if (!g_corrupt_dir || pipe(g_corrupter_go) != 0)
        return;
    fflush(stdout);
    g_corrupter = fork();
    if (g_corrupter == 0)
        corrupter_main(g_corrupt_dir);
}

static void test_corrupt_concurrent(void)
{
    struct scen *s = scen("corrupt_concurrent");
    if (!g_corrupt_dir || g_corrupter <= 0) {
        s->wrong++;
        snprintf(s->note, sizeof s->note, "could not start the corrupting process");
        finish(s);
        return;
    }
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(g_corrupt_dir, 0);
    engine_round(s, c, "cc_", 0, NMOD, 2048, &r); /* fill it */
    if (write(g_corrupter_go[1], "g", 1) != 1)
        s->wrong++;
    for (int round = 0; round < 15; round++)
        engine_round(s, c, "cc_", 0, NMOD, 2048, &r);
    kill(g_corrupter, SIGKILL);
    dc_wait(g_corrupter);
    disk_note(s, c);
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    CHECK_MSG(st.CorruptDropped > 0, "corrupt_concurrent: expected some corrupt entries to be dropped");
    JitcoreDisposeObjectCache(c);
    dc_remove_dir(g_corrupt_dir);
    free(g_corrupt_dir);
    dc_reports_fini(&r);
    finish(s);
}

/* ------------------------------------------------------------------ */
/* hostile GetBuffer                                                    */
/* ------------------------------------------------------------------ */

enum gb_kind { GB_RANDOM, GB_OTHER, GB_SAME_SYMBOL, GB_TRUNCATED, GB_HUGE_SECTIONS, GB_IMPOSSIBLE_LEN, GB_NULL, GB_N };
static const char *gb_name[GB_N] = {"getbuffer_random",    "getbuffer_other_module", "getbuffer_same_symbol",
                                    "getbuffer_truncated", "getbuffer_huge_sections", "getbuffer_impossible_len",
                                    "getbuffer_null"};
/* whether CacheRejected must count it */
static const int gb_rejects[GB_N] = {1, 1, 1, 1, 1, 0, 0};

static unsigned char *g_obj[NMOD], *g_evil[NMOD];
static size_t g_obj_len[NMOD], g_evil_len[NMOD];
static enum gb_kind g_mode;
static atomic_int g_getbuffer_calls;

static int index_of(const char *name)
{
    const char *p = strrchr(name ? name : "", '_');
    return p ? atoi(p + 1) % NMOD : 0;
}

static void save_notify(void *ctx, JitcoreModuleRef m, const uint8_t *obj, size_t len)
{
    const char *name = JitcoreModuleGetName(m);
    int i = index_of(name);
    unsigned char **slot = ctx ? &g_evil[i] : &g_obj[i];
    size_t *slot_len = ctx ? &g_evil_len[i] : &g_obj_len[i];
    if (*slot)
        return;
    *slot = malloc(len);
    if (*slot) {
        memcpy(*slot, obj, len);
        *slot_len = len;
    }
}

static JitcoreObjectBufferRef hostile_getbuffer(void *ctx, JitcoreModuleRef m)
{
    (void)ctx;
    atomic_fetch_add(&g_getbuffer_calls, 1);
    int i = index_of(JitcoreModuleGetName(m));
    static const uint8_t one = 0;
    switch (g_mode) {
    case GB_RANDOM: {
        uint64_t rng = 0xABCDEF + (uint64_t)i;
        uint8_t junk[3000];
        for (size_t k = 0; k < sizeof junk; k++)
            junk[k] = (uint8_t)du_rand(&rng);
        if (i % 2)
            memcpy(junk, "\x7f" "ELF\x02\x01\x01", 7); /* an ELF-looking start */
        return JitcoreCreateObjectBufferCopy(junk, sizeof junk);
    }
    case GB_OTHER: {
        int o = (i + 1) % NMOD;
        return g_obj[o] ? JitcoreCreateObjectBufferCopy(g_obj[o], g_obj_len[o]) : NULL;
    }
    case GB_SAME_SYMBOL:
        return g_evil[i] ? JitcoreCreateObjectBufferCopy(g_evil[i], g_evil_len[i]) : NULL;
    case GB_TRUNCATED:
        return g_obj[i] ? JitcoreCreateObjectBufferCopy(g_obj[i], g_obj_len[i] / 2 + (size_t)i) : NULL;
    case GB_HUGE_SECTIONS: {
        if (!g_obj[i] || g_obj_len[i] < 64)
            return NULL;
        uint8_t *b = malloc(g_obj_len[i]);
        memcpy(b, g_obj[i], g_obj_len[i]);
        uint64_t huge = 0x7ffffffffffff000ULL;
        if (i % 2)
            memcpy(b + 40, &huge, 8); /* e_shoff far past the end */
        else
            memset(b + 60, 0xff, 2); /* e_shnum = 65535 */
        JitcoreObjectBufferRef r = JitcoreCreateObjectBufferCopy(b, g_obj_len[i]);
        free(b);
        return r;
    }
    case GB_IMPOSSIBLE_LEN:
        return JitcoreCreateObjectBufferCopy(&one, SIZE_MAX - (size_t)i); /* NULL: compile */
    case GB_NULL:
    case GB_N:
        break;
    }
    return NULL;
}

static void capture_objects(void)
{
    JitcoreEngineRef ee = MAKE_ENGINE(NULL);
    JitcoreEngineRef evil = MAKE_ENGINE(NULL);
    if (!ee || !evil)
        return;
    JitcoreEngineSetObjectCache(ee, save_notify, NULL, NULL);
    JitcoreEngineSetObjectCache(evil, save_notify, NULL, (void *)1);
    for (int i = 0; i < NMOD; i++) {
        char ir[512], name[64], fn[64];
        snprintf(name, sizeof name, "gb_fm_%d", i);
        snprintf(fn, sizeof fn, "gb_fv_%d", i);
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE(name, mod_ir(ir, sizeof ir, "gb_", i, 0))));
        LOOKUP(ee, fn);
        /* another module defining the same symbol, returning something else */
        snprintf(name, sizeof name, "evil_fm_%d", i);
        snprintf(ir, sizeof ir, "define i32 @%s() {\n  ret i32 %d\n}\n", fn, -expected(i));
        CHECK_OK(JitcoreEngineAddModule(evil, MAKE_MODULE(name, ir)));
        LOOKUP(evil, fn);
    }
    JitcoreDisposeEngine(ee);
    JitcoreDisposeEngine(evil);
}

static void test_getbuffer(enum gb_kind k, int on_session)
{
    char label[64];
    snprintf(label, sizeof label, "%s%s", gb_name[k], on_session ? "_session" : "_engine");
    struct scen *s = scen(strdup(label));
    g_mode = k;
    atomic_store(&g_getbuffer_calls, 0);
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    for (int round = 0; round < 3; round++) {
        JitcoreEngineRef ee = NULL;
        JitcoreSessionRef ss = NULL;
        if (on_session) {
            ss = NEW_SESSION();
            JitcoreSessionSetErrorReporter(ss, dc_reporter, &r);
            JitcoreSessionSetObjectCache(ss, NULL, hostile_getbuffer, NULL);
        } else {
            ee = MAKE_ENGINE(NULL);
            JitcoreEngineSetErrorReporter(ee, dc_reporter, &r);
            JitcoreEngineSetObjectCache(ee, NULL, hostile_getbuffer, NULL);
        }
        for (int i = 0; i < NMOD; i++) {
            char ir[512], name[64], fn[64];
            snprintf(name, sizeof name, "gb_fm_%d", i);
            snprintf(fn, sizeof fn, "gb_fv_%d", i);
            s->lookups++;
            JitcoreModuleRef m = MAKE_MODULE(name, mod_ir(ir, sizeof ir, "gb_", i, 0));
            JitcoreErrorRef e = !m ? NULL
                                : on_session ? JitcoreDylibAddModule(JitcoreSessionGetMainDylib(ss), m, NULL)
                                             : JitcoreEngineAddModule(ee, m);
            if (!m || !CHECK_OK(e)) {
                JitcoreDisposeModule(m);
                s->wrong++;
                continue;
            }
            uint64_t a = on_session ? SESSION_LOOKUP(ss, JitcoreSessionGetMainDylib(ss), fn) : LOOKUP(ee, fn);
            int got = a ? FN(int (*)(void), a)() : -1;
            if (!CHECK_MSG(got == expected(i), "%s: %s() == %d, expected %d", label, fn, got, expected(i)))
                s->wrong++;
        }
        JitcoreStatistics one;
        memset(&one, 0, sizeof one);
        if (on_session)
            CHECK_OK(JitcoreSessionGetStatistics(ss, &one));
        else
            CHECK_OK(JitcoreEngineGetStatistics(ee, &one));
        st.CacheRejected += one.CacheRejected;
        st.CacheHits += one.CacheHits;
        st.ModulesCompiled += one.ModulesCompiled;
        JitcoreDisposeEngine(ee);
        JitcoreDisposeSession(ss);
    }
    uint64_t n = (uint64_t)s->lookups;
    CHECK_MSG(st.CacheHits == 0, "%s: expected no cache hits, got %" PRIu64, label, st.CacheHits);
    CHECK_MSG(st.ModulesCompiled == n, "%s: expected %" PRIu64 " modules compiled, got %" PRIu64, label, n,
              st.ModulesCompiled);
    CHECK_MSG(st.CacheRejected == (gb_rejects[k] ? n : 0), "%s: expected %" PRIu64 " rejected, got %" PRIu64, label,
              gb_rejects[k] ? n : 0, st.CacheRejected);
    CHECK_MSG(atomic_load(&r.cache) == (gb_rejects[k] ? (int)n : 0), "%s: expected %d CACHE reports, got %d", label,
              gb_rejects[k] ? (int)n : 0, atomic_load(&r.cache));
    snprintf(s->note, sizeof s->note, "rejected=%" PRIu64 " compiled=%" PRIu64 " cache reports=%d", st.CacheRejected,
             st.ModulesCompiled, atomic_load(&r.cache));
    dc_reports_fini(&r);
    finish(s);
}

/* GetBuffer hands the engine another module's object. By the engine's
   contract (JitcoreEngineSetObjectCache, as in llvmlite's MCJIT) a valid
   object stands for the module it was asked for entirely, whatever module
   it came from: the module's own symbols are then not found, and a later
   module defining what the object defines is a duplicate. Hostile or not,
   the engine must keep to that: no call reaches another module's code under
   a name, every failure has its documented code, and the engine stays
   usable. (A session rejects such objects: the loop above checks it.) */
static void test_getbuffer_other_engine(void)
{
    struct scen *s = scen("getbuffer_other_module_engine");
    g_mode = GB_OTHER;
    long stood_in = 0, duplicates = 0, right = 0;
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    for (int round = 0; round < 3; round++) {
        JitcoreEngineRef ee = MAKE_ENGINE(NULL);
        if (!ee)
            return;
        JitcoreEngineSetObjectCache(ee, NULL, hostile_getbuffer, NULL);
        for (int i = 0; i < NMOD; i++) {
            char ir[512], name[64], fn[64], msg[512];
            snprintf(name, sizeof name, "gb_fm_%d", i);
            snprintf(fn, sizeof fn, "gb_fv_%d", i);
            s->lookups++;
            JitcoreModuleRef m = MAKE_MODULE(name, mod_ir(ir, sizeof ir, "gb_", i, 0));
            if (!m) {
                s->wrong++;
                continue;
            }
            JitcoreErrorRef e = JitcoreEngineAddModule(ee, m);
            if (e) {
                /* what an earlier module's stand-in defines already */
                if (!CHECK_MSG(du_err_is(e, JITCORE_ERROR_DUPLICATE_DEFINITION, fn, msg, sizeof msg),
                               "adding %s: %s", name, msg))
                    s->wrong++;
                duplicates++;
                JitcoreDisposeModule(m);
                continue;
            }
            uint64_t a = 0;
            e = JitcoreEngineGetFunctionAddress(ee, &a, fn);
            if (e) {
                /* the object stood for the module and does not define it */
                if (!CHECK_MSG(du_err_is(e, JITCORE_ERROR_SYMBOL_NOT_FOUND, "stands for the module", msg, sizeof msg),
                               "looking up %s: %s", fn, msg))
                    s->wrong++;
                stood_in++;
                continue;
            }
            int got = FN(int (*)(void), a)();
            if (!CHECK_MSG(got == expected(i), "getbuffer_other_module_engine: %s() == %d, expected %d", fn, got,
                           expected(i)))
                s->wrong++;
            right++;
        }
        /* Still usable (compiled: the cache is removed first). */
        JitcoreEngineSetObjectCache(ee, NULL, NULL, NULL);
        JitcoreModuleRef after = MAKE_MODULE("gb_after", "define i32 @gb_after() {\n  ret i32 77\n}\n");
        if (after && CHECK_OK(JitcoreEngineAddModule(ee, after)))
            CHECK_EQ_INT(FN(int (*)(void), LOOKUP(ee, "gb_after"))(), 77);
        JitcoreStatistics one;
        memset(&one, 0, sizeof one);
        CHECK_OK(JitcoreEngineGetStatistics(ee, &one));
        st.CacheHits += one.CacheHits;
        st.CacheRejected += one.CacheRejected;
        JitcoreDisposeEngine(ee);
    }
    /* Every other module's object stood in (none was rejected). */
    CHECK_MSG(stood_in > 0 && st.CacheHits >= (uint64_t)stood_in && st.CacheRejected == 0,
              "getbuffer_other_module_engine: %ld stood in, %" PRIu64 " hits, %" PRIu64 " rejected", stood_in,
              st.CacheHits, st.CacheRejected);
    snprintf(s->note, sizeof s->note, "stood in=%ld duplicates=%ld compiled and right=%ld hits=%" PRIu64, stood_in,
             duplicates, right, st.CacheHits);
    finish(s);
}

int main(int argc, char **argv)
{
    du_install_crash_handler("faults");
    if (argc == 3 && strcmp(argv[1], "populate") == 0)
        return populate(argv[2]);
    start_corrupter(); /* fork before any LLVM use */

    long checks_before = 0;
    RUN_TEST(test_readonly());
    RUN_TEST(test_vanishing());
    RUN_TEST(test_fulldisk());
    RUN_TEST(test_corrupt_concurrent());
    capture_objects();
    for (int k = 0; k < GB_N; k++) {
        /* Not hostile by jitcore's contract: a valid object that defines the
           module's symbols stands for the module (as in llvmlite's MCJIT,
           whose test_object_cache_getbuffer relies on it); the host's cache
           vouches for what it returns. See JitcoreObjectCacheGetBufferFunction. */
        if (k == GB_SAME_SYMBOL)
            continue;
        if (k == GB_OTHER)
            RUN_TEST(test_getbuffer_other_engine());
        else
            RUN_TEST(test_getbuffer((enum gb_kind)k, 0));
        RUN_TEST(test_getbuffer((enum gb_kind)k, 1));
    }
    if (g_corrupter > 0) {
        kill(g_corrupter, SIGKILL);
        dc_wait(g_corrupter);
    }
    for (int i = 0; i < NMOD; i++) {
        free(g_obj[i]);
        free(g_evil[i]);
    }
    (void)checks_before;
    long skipped = 0, lookups = 0;
    for (int i = 0; i < g_nscen; i++) {
        skipped += g_scen[i].skipped;
        lookups += g_scen[i].lookups;
    }
    printf("faults: %d scenarios (%ld skipped), %ld lookups, %ld wrong results, %ld failed checks\n", g_nscen, skipped,
           lookups, g_wrong_total, tu_failures());
    fflush(stdout);
    return (g_wrong_total != 0 || tu_failures() != 0) ? 1 : 0;
}
