/*
 * test_disk_cache_corrupt.c: damaged disk cache entries are never loaded.
 * Each case damages the entry of module "victim" (sum = a + b) on disk;
 * the next run must drop it (delete it, count it, report it as a CACHE
 * error naming the file), compile, store a good entry again, and compute
 * 2 + -5 = -3. Where the damage could smuggle in working code of another
 * module ("evil": sum = a - b, whose valid entry sits in the same
 * directory), loading it would give 7 instead. Also: files that are not
 * entries are left alone, and writers killed in the middle of a write
 * (by the file size limit, deterministically, and by SIGKILL at random
 * points) leave nothing that is ever served.
 */
#include "test_disk_cache.h"

static const char EVIL_IR[] =
    "define i32 @sum(i32 %a, i32 %b) {\n"
    "  %r = sub i32 %a, %b\n"
    "  ret i32 %r\n"
    "}\n";

/* Compiles `name`/`ir` with an engine on cache `c`; checks that sum(2, -5)
   is `expect`; returns the engine's number of cache hits. */
static uint64_t run_sum(JitcoreObjectCacheRef c, const char *name, const char *ir, int expect, struct dc_reports *r)
{
    JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, r);
    if (!ee)
        return 0;
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE(name, ir)));
    uint64_t a = LOOKUP(ee, "sum");
    if (a) {
        int got = FN(tu_sum_fn, a)(2, -5);
        CHECK_MSG(got == expect, "module '%s': expected sum(2, -5) == %d, got %d", name, expect, got);
    }
    JitcoreStatistics st = GET_STATS(ee);
    CHECK_EQ_U64(st.CacheHits + st.ModulesCompiled, 1);
    JitcoreDisposeEngine(ee);
    return st.CacheHits;
}

/* ------------------------------------------------------------------ */
/* Damage                                                              */
/* ------------------------------------------------------------------ */

enum damage_kind {
    TRUNCATE_HALF,
    TRUNCATE_ONE,
    TRUNCATE_TO_HEADER,
    TRUNCATE_IN_HEADER,
    ZERO_LENGTH,
    APPEND_GARBAGE,
    FLIP_OBJECT_START,
    FLIP_OBJECT_MIDDLE,
    FLIP_OBJECT_LAST,
    FLIP_HEADER_MAGIC,
    FLIP_HEADER_VERSION,
    FLIP_HEADER_KEY,
    FLIP_HEADER_LENGTH,
    FLIP_HEADER_CHECKSUM,
    WRONG_KEY,
    FOREIGN_OBJECT,
    FOREIGN_TEXT,
    FIFO_AT_ENTRY,
    SPARSE_EXTENDED,
    SPARSE_CLAIMS_ALL,
};

/* 3.5 GiB: sparse entries this big once cost 17-28 s and 3.6 GiB of memory
   per lookup (the file was read whole before its header was checked). */
#define SPARSE_BYTES (7ull << 29)

static const char *damage_name(enum damage_kind k)
{
    switch (k) {
    case TRUNCATE_HALF: return "truncated to half";
    case TRUNCATE_ONE: return "truncated by one byte";
    case TRUNCATE_TO_HEADER: return "truncated to its header";
    case TRUNCATE_IN_HEADER: return "truncated inside the header";
    case ZERO_LENGTH: return "zero-length file";
    case APPEND_GARBAGE: return "garbage appended";
    case FLIP_OBJECT_START: return "flipped byte in the object's ELF header";
    case FLIP_OBJECT_MIDDLE: return "flipped byte in the middle of the object";
    case FLIP_OBJECT_LAST: return "flipped last byte of the object";
    case FLIP_HEADER_MAGIC: return "flipped byte in the header's magic";
    case FLIP_HEADER_VERSION: return "flipped byte in the header's format version";
    case FLIP_HEADER_KEY: return "flipped byte in the header's key";
    case FLIP_HEADER_LENGTH: return "flipped byte in the header's length";
    case FLIP_HEADER_CHECKSUM: return "flipped byte in the header's checksum";
    case WRONG_KEY: return "another module's valid entry under this key (wrong key)";
    case FOREIGN_OBJECT: return "foreign file: a bare ELF object that defines sum";
    case FOREIGN_TEXT: return "foreign file: text";
    case FIFO_AT_ENTRY: return "a FIFO where the entry was (must not hang the lookup)";
    case SPARSE_EXTENDED: return "extended to a sparse 3.5 GiB (must not be read)";
    case SPARSE_CLAIMS_ALL: return "sparse 3.5 GiB whose header claims all of it (must not be read)";
    }
    return "?";
}

static int damage(enum damage_kind k, const char *path, const char *evil_path)
{
    size_t len = 0;
    unsigned char *b = tu_read_file(path, &len);
    if (!b)
        return 0;
    int ok = 1;
    size_t obj = len - DC_HEADER_LEN;
    switch (k) {
    case TRUNCATE_HALF: ok = tu_write_file(path, b, len / 2); break;
    case TRUNCATE_ONE: ok = tu_write_file(path, b, len - 1); break;
    case TRUNCATE_TO_HEADER: ok = tu_write_file(path, b, DC_HEADER_LEN); break;
    case TRUNCATE_IN_HEADER: ok = tu_write_file(path, b, 40); break;
    case ZERO_LENGTH: ok = tu_write_file(path, b, 0); break;
    case APPEND_GARBAGE: {
        unsigned char *nb = realloc(b, len + 16);
        if (!nb) {
            ok = 0;
            break;
        }
        b = nb;
        memset(b + len, 0xAB, 16);
        ok = tu_write_file(path, b, len + 16);
        break;
    }
    case FLIP_OBJECT_START: b[DC_HEADER_LEN + 24] ^= 0x01; ok = tu_write_file(path, b, len); break;
    case FLIP_OBJECT_MIDDLE: b[DC_HEADER_LEN + obj / 2] ^= 0x10; ok = tu_write_file(path, b, len); break;
    case FLIP_OBJECT_LAST: b[len - 1] ^= 0x80; ok = tu_write_file(path, b, len); break;
    case FLIP_HEADER_MAGIC: b[1] ^= 0x20; ok = tu_write_file(path, b, len); break;
    case FLIP_HEADER_VERSION: b[8] ^= 0x02; ok = tu_write_file(path, b, len); break;
    case FLIP_HEADER_KEY: b[20] ^= 0x04; ok = tu_write_file(path, b, len); break;
    case FLIP_HEADER_LENGTH: b[48] ^= 0x01; ok = tu_write_file(path, b, len); break;
    case FLIP_HEADER_CHECKSUM: b[70] ^= 0x40; ok = tu_write_file(path, b, len); break;
    case WRONG_KEY: ok = dc_copy_file(evil_path, path); break;
    case FOREIGN_OBJECT: {
        size_t elen = 0;
        unsigned char *e = tu_read_file(evil_path, &elen);
        ok = e && elen > DC_HEADER_LEN && tu_write_file(path, e + DC_HEADER_LEN, elen - DC_HEADER_LEN);
        free(e);
        break;
    }
    case FOREIGN_TEXT: {
        const char text[] = "this is not a cache entry\n";
        ok = tu_write_file(path, text, sizeof text - 1);
        break;
    }
    case FIFO_AT_ENTRY: ok = unlink(path) == 0 && mkfifo(path, 0644) == 0; break;
    case SPARSE_EXTENDED: ok = truncate(path, (off_t)SPARSE_BYTES) == 0; break;
    case SPARSE_CLAIMS_ALL: {
        uint64_t claim = SPARSE_BYTES - DC_HEADER_LEN;
        for (int i = 0; i < 8; i++)
            b[48 + i] = (unsigned char)(claim >> (8 * i));
        ok = tu_write_file(path, b, len) && truncate(path, (off_t)SPARSE_BYTES) == 0;
        break;
    }
    }
    free(b);
    return ok;
}

static void corrupt_entry(enum damage_kind k)
{
    tu_note("  damage: %s", damage_name(k));
    char *dir = tu_make_temp_dir();
    char *victim = ENTRY_PATH(dir, "victim", SUM_IR, JITCORE_OPT_LEVEL_O2);
    char *evil = ENTRY_PATH(dir, "victim", EVIL_IR, JITCORE_OPT_LEVEL_O2);
    if (!dir || !victim || !evil)
        goto out;

    /* a good cache: both entries, each a hit */
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    run_sum(c, "victim", SUM_IR, -3, NULL);
    run_sum(c, "victim", EVIL_IR, 7, NULL);
    CHECK_EQ_U64(run_sum(c, "victim", SUM_IR, -3, NULL), 1);
    JitcoreDisposeObjectCache(c);
    CHECK(dc_exists(victim) && dc_exists(evil));
    CHECK_MSG(damage(k, victim, evil), "cannot damage %s", victim);

    /* the damaged entry is dropped, the module compiled and stored again */
    struct dc_reports r;
    dc_reports_init(&r);
    c = MAKE_DISK_CACHE(dir, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ_U64(run_sum(c, "victim", SUM_IR, -3, &r), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (k == SPARSE_EXTENDED || k == SPARSE_CLAIMS_ALL) {
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        /* generous for valgrind; reading 3.5 GiB took 17 s and more */
        CHECK_MSG(secs < 8.0, "%s: the lookup took %.1f s", damage_name(k), secs);
    }
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    CHECK_MSG(st.CorruptDropped == 1, "%s: expected 1 corrupt entry dropped, got %" PRIu64, damage_name(k),
              st.CorruptDropped);
    CHECK_EQ_U64(st.Hits, 0);
    CHECK_EQ_U64(st.Misses, 1);
    CHECK_EQ_U64(st.Writes, 1);
    CHECK_EQ_U64(st.IOErrors, 0);
    CHECK_MSG(atomic_load(&r.count) == 1 && atomic_load(&r.cache) == 1,
              "%s: expected one CACHE report, got %d reports (%d CACHE)", damage_name(k), atomic_load(&r.count),
              atomic_load(&r.cache));
    CHECK_CONTAINS(r.last, victim);
    CHECK_CONTAINS(r.last, "corrupt");
    CHECK_CONTAINS(r.last, "'victim'");

    /* healed: the new entry is good */
    CHECK_EQ_U64(run_sum(c, "victim", SUM_IR, -3, &r), 1);
    /* and the other module's entry was never touched */
    CHECK_EQ_U64(run_sum(c, "victim", EVIL_IR, 7, &r), 1);
    st = DC_STATS(c);
    CHECK_EQ_U64(st.Entries, 2);
    CHECK_EQ_U64(st.CorruptDropped, 1);
    CHECK_EQ_INT(dc_list(dir).temps, 0);
    CHECK_EQ_INT(atomic_load(&r.count), 1);
    JitcoreDisposeObjectCache(c);
    dc_reports_fini(&r);
out:
    free(victim);
    free(evil);
    if (dir)
        dc_remove_dir(dir);
    free(dir);
}

/* Files that are not entries are never read, counted, or deleted, even
   by eviction. */
static void test_foreign_files_left_alone(void)
{
    char *dir = tu_make_temp_dir();
    char *notes = tu_path_join(dir, "notes.txt");
    char *near = tu_path_join(dir, "0123.jco"); /* not 64 hex digits */
    char *upper = tu_path_join(dir, "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789.jco");
    char *sub = tu_path_join(dir, "subdir");
    CHECK(tu_write_file(notes, "keep me\n", 8));
    CHECK(tu_write_file(near, "keep me too\n", 12));
    CHECK(tu_write_file(upper, "and me\n", 7));
    CHECK(mkdir(sub, 0755) == 0);

    /* a cap so small that every entry is evicted right after its write */
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 64);
    struct dc_reports r;
    dc_reports_init(&r);
    for (int i = 0; i < 3; i++)
        run_sum(c, "victim", SUM_IR, -3, &r);
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    dc_print_stats("foreign files", &st);
    CHECK_EQ_U64(st.Entries, 0);
    CHECK_EQ_U64(st.BytesOnDisk, 0);
    CHECK_EQ_U64(st.Writes, 3);
    CHECK_EQ_U64(st.Evictions, 3);
    CHECK_EQ_U64(st.CorruptDropped, 0);
    CHECK_EQ_INT(atomic_load(&r.count), 0);
    size_t len = 0;
    unsigned char *b = tu_read_file(notes, &len);
    CHECK(b && len == 8 && memcmp(b, "keep me\n", 8) == 0);
    free(b);
    CHECK(dc_exists(near) && dc_exists(upper) && dc_exists(sub));
    CHECK_EQ_INT(dc_list(dir).others, 4);
    JitcoreDisposeObjectCache(c);
    dc_reports_fini(&r);

    dc_remove_dir(dir);
    free(notes);
    free(near);
    free(upper);
    free(sub);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Writers killed mid-write                                            */
/* ------------------------------------------------------------------ */

#define PAD_BYTES (1u << 19) /* objects of about 512 KiB: writes take a while */
#define BIG_MODULES 4

static const char *big_ir(char *buf, size_t cap, int i)
{
    char fn[32];
    snprintf(fn, sizeof fn, "big%d", i);
    return dc_value_ir(buf, cap, fn, 500 + i, PAD_BYTES);
}

/* The size limit kills the writer (SIGXFSZ) after part of the entry is
   written: only a temporary file remains, and it is never served. */
static char *killed_dir;
static void kill_by_size_limit(void)
{
    killed_dir = tu_make_temp_dir();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit lim = {DC_HEADER_LEN + 4096, DC_HEADER_LEN + 4096};
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
        signal(SIGXFSZ, SIG_DFL);
        setrlimit(RLIMIT_FSIZE, &lim);
        /* static volatile: what the writer holds when it dies stays
           reachable, so valgrind's leak check at the fatal signal has
           nothing to say */
        static JitcoreObjectCacheRef volatile c;
        static JitcoreEngineRef volatile ee;
        static char ir[512];
        c = MAKE_DISK_CACHE(killed_dir, 0);
        ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, NULL);
        JitcoreEngineAddModule(ee, MAKE_MODULE("big0", big_ir(ir, sizeof ir, 0)));
        uint64_t a = 0;
        JitcoreConsumeError(JitcoreEngineGetFunctionAddress(ee, &a, "big0")); /* dies storing */
        _exit(42); /* not reached */
    }
    CHECK(pid > 0);
    if (pid > 0) {
        int st = dc_wait(pid);
        CHECK_MSG(st == 1000 + SIGXFSZ, "expected the writer to die of SIGXFSZ, got status %d", st);
    }
    /* what it left: a partial temporary file, no entry */
    struct dc_listing l = dc_list(killed_dir);
    CHECK_EQ_INT(l.entries, 0);
    CHECK_EQ_INT(l.temps, 1);
    CHECK_EQ_INT(l.temp_bytes, DC_HEADER_LEN + 4096);
}

static void check_after_size_limit_kill(void)
{
    if (!killed_dir)
        return;
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(killed_dir, 0);
    JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, NULL);
    char ir[512];
    CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE("big0", big_ir(ir, sizeof ir, 0))));
    uint64_t a = LOOKUP(ee, "big0");
    if (a)
        CHECK_EQ_INT(FN(int (*)(void), a)(), 500);
    CHECK_EQ_U64(GET_STATS(ee).ModulesCompiled, 1);
    JitcoreDisposeEngine(ee);
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    dc_print_stats("after SIGXFSZ", &st);
    CHECK_EQ_U64(st.CorruptDropped, 0);
    CHECK_EQ_U64(st.Hits, 0);
    CHECK_EQ_U64(st.Writes, 1);
    struct dc_listing l = dc_list(killed_dir);
    CHECK_EQ_INT(l.entries, 1);
    CHECK_EQ_U64(st.BytesOnDisk, (uint64_t)l.entry_bytes); /* temporary files are not entries */
    CHECK(st.BytesOnDisk > PAD_BYTES);
    JitcoreDisposeObjectCache(c);
    dc_remove_dir(killed_dir);
    free(killed_dir);
    killed_dir = NULL;
}

/* Entry files that look complete on their own terms: size = header +
   the length the header states, and the magic is right. */
static int entries_look_complete(const char *dir)
{
    int ok = 1;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!dc_is_entry_name(e->d_name))
            continue;
        char *p = tu_path_join(dir, e->d_name);
        size_t len = 0;
        unsigned char *b = tu_read_file(p, &len);
        uint64_t stated = 0;
        if (b && len >= DC_HEADER_LEN)
            for (int i = 7; i >= 0; i--)
                stated = (stated << 8) | b[48 + i];
        if (!b || len < DC_HEADER_LEN || memcmp(b, "\x89JITOBJ\n", 8) != 0 || stated + DC_HEADER_LEN != len) {
            tu_note("  incomplete entry %s (%zu bytes)", e->d_name, len);
            ok = 0;
        }
        free(b);
        free(p);
    }
    closedir(d);
    return ok;
}

/* SIGKILL at assorted points while a child compiles and stores big
   modules; repeated, so kills land before, during and after writes. */
static char *sigkill_dir;
static void kill_randomly(void)
{
    sigkill_dir = tu_make_temp_dir();
    const long delays_ms[] = {0, 3, 8, 15};
    for (int round = 0; round < 4; round++) {
        int fds[2];
        if (!CHECK(pipe(fds) == 0))
            return;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            JitcoreObjectCacheRef c = MAKE_DISK_CACHE(sigkill_dir, 0);
            for (int i = 0; i < BIG_MODULES; i++) {
                char ir[512], name[16];
                snprintf(name, sizeof name, "big%d", i);
                unsigned char byte = (unsigned char)i;
                if (write(fds[1], &byte, 1) != 1)
                    _exit(3);
                JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, NULL);
                JitcoreEngineAddModule(ee, MAKE_MODULE(name, big_ir(ir, sizeof ir, i)));
                uint64_t a = 0;
                JitcoreConsumeError(JitcoreEngineGetFunctionAddress(ee, &a, name));
                JitcoreDisposeEngine(ee);
            }
            unsigned char done = 0xff;
            if (write(fds[1], &done, 1) != 1)
                _exit(3);
            for (;;)
                pause(); /* wait for the kill */
        }
        close(fds[1]);
        if (!CHECK(pid > 0)) {
            close(fds[0]);
            return;
        }
        /* let it get to module `round` (the ones before are hits or
           compiles), then kill it a little later */
        unsigned char byte = 0;
        int target = round % BIG_MODULES;
        while (read(fds[0], &byte, 1) == 1 && byte != 0xff && byte < target) {
        }
        dc_sleep_ms(delays_ms[round]);
        kill(pid, SIGKILL);
        int st = dc_wait(pid);
        CHECK_MSG(st == 1000 + SIGKILL, "expected the writer to die of SIGKILL, got status %d", st);
        close(fds[0]);
        struct dc_listing l = dc_list(sigkill_dir);
        tu_note("  SIGKILL round %d after %ld ms at module %d: %d entries, %d temporary files", round,
                delays_ms[round], target, l.entries, l.temps);
        CHECK(entries_look_complete(sigkill_dir));
    }
}

static void check_after_random_kills(void)
{
    if (!sigkill_dir)
        return;
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(sigkill_dir, 0);
    for (int i = 0; i < BIG_MODULES; i++) {
        char ir[512], name[16];
        snprintf(name, sizeof name, "big%d", i);
        JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, &r);
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE(name, big_ir(ir, sizeof ir, i))));
        uint64_t a = LOOKUP(ee, name);
        if (a)
            CHECK_EQ_INT(FN(int (*)(void), a)(), 500 + i);
        JitcoreDisposeEngine(ee);
    }
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    dc_print_stats("after SIGKILLs", &st);
    CHECK_EQ_U64(st.CorruptDropped, 0); /* no partial entry was ever visible */
    CHECK_EQ_U64(st.Hits + st.Writes, BIG_MODULES);
    CHECK_EQ_U64(st.Entries, BIG_MODULES);
    CHECK_EQ_INT(atomic_load(&r.count), 0);
    JitcoreDisposeObjectCache(c);
    dc_reports_fini(&r);
    dc_remove_dir(sigkill_dir);
    free(sigkill_dir);
    sigkill_dir = NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    /* the forks come first, before this process uses LLVM */
    RUN_TEST(kill_by_size_limit());
    RUN_TEST(kill_randomly());
    RUN_TEST(check_after_size_limit_kill());
    RUN_TEST(check_after_random_kills());
    for (int k = TRUNCATE_HALF; k <= SPARSE_CLAIMS_ALL; k++)
        RUN_TEST(corrupt_entry((enum damage_kind)k));
    RUN_TEST(test_foreign_files_left_alone());
    return tu_finish("test_disk_cache_corrupt");
}
