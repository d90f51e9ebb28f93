/*
 * test_disk_cache_shared.c: one cache directory shared at once. Two
 * processes compile the same modules into it at the same time (both get
 * correct results, every entry afterwards is good); several threads share
 * one cache handle, each with its own engine; a session with compile
 * threads looks many modules up at once; and two processes with a size cap
 * write and evict concurrently, ending under the cap with no bad entry.
 */
#include "test_disk_cache.h"

#define SHARED_MODULES 6

static void module_ir(char *buf, size_t cap, char *name, size_t name_cap, int i)
{
    snprintf(name, name_cap, "shared%d", i);
    char fn[32];
    snprintf(fn, sizeof fn, "f%d", i);
    dc_value_ir(buf, cap, fn, 7000 + i, 4096u * (unsigned)(i + 1));
}

/* Compiles and checks every module with one engine per module (start at
   `first`, so concurrent runs interleave differently). */
static void compile_all(JitcoreObjectCacheRef c, int first, struct dc_reports *r)
{
    for (int k = 0; k < SHARED_MODULES; k++) {
        int i = (first + k) % SHARED_MODULES;
        char ir[512], name[32], fn[32];
        module_ir(ir, sizeof ir, name, sizeof name, i);
        snprintf(fn, sizeof fn, "f%d", i);
        JitcoreEngineRef ee = CACHED_ENGINE(c, JITCORE_OPT_LEVEL_O2, r);
        if (!ee)
            continue;
        CHECK_OK(JitcoreEngineAddModule(ee, MAKE_MODULE(name, ir)));
        uint64_t a = LOOKUP(ee, fn);
        if (a)
            CHECK_EQ_INT(FN(int (*)(void), a)(), 7000 + i);
        JitcoreDisposeEngine(ee);
    }
}

/* A fresh cache handle finds every module, all good. */
static void check_all_entries_good(const char *dir, uint64_t cap)
{
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, cap);
    JitcoreDiskCacheStatistics before = DC_STATS(c);
    compile_all(c, 0, &r);
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    dc_print_stats("check", &st);
    CHECK_EQ_U64(st.CorruptDropped, 0);
    if (cap == 0) {
        CHECK_EQ_U64(before.Entries, SHARED_MODULES);
        CHECK_EQ_U64(st.Hits, SHARED_MODULES);
        CHECK_EQ_U64(st.Writes, 0);
    } else {
        CHECK_MSG(before.BytesOnDisk <= cap, "%" PRIu64 " bytes on disk, over the cap of %" PRIu64,
                  before.BytesOnDisk, cap);
        CHECK_EQ_U64(st.Hits + st.Writes, SHARED_MODULES);
    }
    CHECK_EQ_INT(dc_list(dir).temps, 0);
    CHECK_EQ_INT(atomic_load(&r.count), 0);
    JitcoreDisposeObjectCache(c);
    dc_reports_fini(&r);
}

/* Two processes, started together, compile the same modules into `dir`. */
static void two_processes(const char *dir, uint64_t cap)
{
    int go[2];
    if (!CHECK(pipe(go) == 0))
        return;
    pid_t kids[2];
    fflush(stdout);
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            close(go[1]);
            char byte;
            if (read(go[0], &byte, 1) != 1) /* start together */
                _exit(3);
            close(go[0]);
            struct dc_reports r;
            dc_reports_init(&r);
            JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, cap);
            for (int pass = 0; pass < 2; pass++)
                compile_all(c, k * 3 + pass, &r);
            JitcoreDiskCacheStatistics st = DC_STATS(c);
            char label[32];
            snprintf(label, sizeof label, "process %d", k);
            dc_print_stats(label, &st);
            CHECK_EQ_U64(st.CorruptDropped, 0);
            CHECK_EQ_U64(st.IOErrors, 0);
            CHECK_EQ_INT(atomic_load(&r.count), 0);
            JitcoreDisposeObjectCache(c);
            dc_reports_fini(&r);
            exit(tu_failures() ? 1 : 0);
        }
        CHECK(kids[k] > 0);
    }
    close(go[0]);
    char start[2] = {1, 1};
    CHECK(write(go[1], start, 2) == 2);
    close(go[1]);
    for (int k = 0; k < 2; k++)
        if (kids[k] > 0)
            CHECK_MSG(dc_wait(kids[k]) == 0, "process %d failed", k);
}

static char *procs_dir, *capped_dir;
static uint64_t capped_cap;

static void test_two_processes(void)
{
    procs_dir = tu_make_temp_dir();
    two_processes(procs_dir, 0);
}

static void test_two_processes_with_cap(void)
{
    /* modules 0..5 have objects of about (i + 1) * 4 KiB: a cap of 20 KiB
       holds a few of them, so both processes evict as they go */
    capped_cap = 20 * 1024;
    capped_dir = tu_make_temp_dir();
    two_processes(capped_dir, capped_cap);
}

static void check_two_processes(void)
{
    if (procs_dir) {
        check_all_entries_good(procs_dir, 0);
        dc_remove_dir(procs_dir);
        free(procs_dir);
        procs_dir = NULL;
    }
    if (capped_dir) {
        check_all_entries_good(capped_dir, capped_cap);
        dc_remove_dir(capped_dir);
        free(capped_dir);
        capped_dir = NULL;
    }
}

/* Threads: one cache handle, an engine per thread, all at once. */
struct thread_arg {
    JitcoreObjectCacheRef cache;
    pthread_barrier_t *barrier;
    int first;
    struct dc_reports *reports;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    pthread_barrier_wait(a->barrier);
    compile_all(a->cache, a->first, a->reports);
    return NULL;
}

static void test_threads(void)
{
    enum { THREADS = 4 };
    char *dir = tu_make_temp_dir();
    struct dc_reports r;
    dc_reports_init(&r);
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t t[THREADS];
    struct thread_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct thread_arg){c, &barrier, i * 2, &r};
        CHECK(pthread_create(&t[i], NULL, thread_main, &args[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    dc_print_stats("threads", &st);
    CHECK_EQ_U64(st.Hits + st.Misses, THREADS * SHARED_MODULES);
    CHECK(st.Writes >= SHARED_MODULES);
    CHECK_EQ_U64(st.Entries, SHARED_MODULES);
    CHECK_EQ_U64(st.CorruptDropped, 0);
    CHECK_EQ_INT(atomic_load(&r.count), 0);
    JitcoreDisposeObjectCache(c);
    dc_reports_fini(&r);
    check_all_entries_good(dir, 0);
    dc_remove_dir(dir);
    free(dir);
}

/* A session with compile threads: many lookups at once, cold then warm. */
static void test_session_compile_threads(void)
{
    char *dir = tu_make_temp_dir();
    JitcoreObjectCacheRef c = MAKE_DISK_CACHE(dir, 0);
    for (int run = 0; run < 2; run++) {
        JitcoreSessionRef s = CACHED_SESSION(c, JITCORE_OPT_LEVEL_O2, 4, 0, NULL);
        if (!s)
            break;
        const char *names[SHARED_MODULES];
        char fns[SHARED_MODULES][32];
        for (int i = 0; i < SHARED_MODULES; i++) {
            char ir[512], name[32];
            module_ir(ir, sizeof ir, name, sizeof name, i);
            snprintf(fns[i], sizeof fns[i], "f%d", i);
            names[i] = fns[i];
            CHECK_OK(JitcoreDylibAddModule(JitcoreSessionGetMainDylib(s), MAKE_MODULE(name, ir), NULL));
        }
        uint64_t addrs[SHARED_MODULES];
        memset(addrs, 0, sizeof addrs);
        CHECK_OK(JitcoreSessionLookupMany(s, JitcoreSessionGetMainDylib(s), addrs, names, SHARED_MODULES));
        for (int i = 0; i < SHARED_MODULES; i++)
            if (addrs[i])
                CHECK_EQ_INT(FN(int (*)(void), addrs[i])(), 7000 + i);
        JitcoreStatistics ss = SESSION_STATS(s);
        tu_print_stats(run ? "threads warm" : "threads cold", &ss);
        CHECK_EQ_U64(ss.ModulesCompiled, run ? 0 : SHARED_MODULES);
        CHECK_EQ_U64(ss.CacheHits, run ? SHARED_MODULES : 0);
        JitcoreDisposeSession(s);
    }
    JitcoreDiskCacheStatistics st = DC_STATS(c);
    CHECK_EQ_U64(st.Writes, SHARED_MODULES);
    CHECK_EQ_U64(st.Hits, SHARED_MODULES);
    CHECK_EQ_U64(st.CorruptDropped, 0);
    JitcoreDisposeObjectCache(c);
    dc_remove_dir(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    /* the forks come first, before this process uses LLVM or threads */
    RUN_TEST(test_two_processes());
    RUN_TEST(test_two_processes_with_cap());
    RUN_TEST(check_two_processes());
    RUN_TEST(test_threads());
    RUN_TEST(test_session_compile_threads());
    return tu_finish("test_disk_cache_shared");
}
