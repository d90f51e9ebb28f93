/*
 * test_disk_cache.h: helpers shared by the disk object cache tests
 * (test_disk_cache*.c). Include it first; it includes test_util.h.
 */
#ifndef JITCORE_TEST_DISK_CACHE_H
#define JITCORE_TEST_DISK_CACHE_H

#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

/* What the disk cache's file format fixes (see src/cache/disk.rs). */
#define DC_HEADER_LEN 88
#define DC_ENTRY_SUFFIX ".jco"
#define DC_TEMP_SUFFIX ".jco-tmp"

/* ------------------------------------------------------------------ */
/* Error reports                                                       */
/* ------------------------------------------------------------------ */

struct dc_reports {
    atomic_int count;
    atomic_int io;
    atomic_int cache;
    pthread_mutex_t lock;
    char last[2048];
    JitcoreErrorCode last_code;
};

static inline void dc_reports_init(struct dc_reports *r)
{
    atomic_store(&r->count, 0);
    atomic_store(&r->io, 0);
    atomic_store(&r->cache, 0);
    pthread_mutex_init(&r->lock, NULL);
    r->last[0] = 0;
    r->last_code = JITCORE_ERROR_SUCCESS;
}

static inline void dc_reports_fini(struct dc_reports *r) { pthread_mutex_destroy(&r->lock); }

static void dc_reporter(void *ctx, JitcoreErrorCode code, const char *message)
{
    struct dc_reports *r = ctx;
    atomic_fetch_add(&r->count, 1);
    if (code == JITCORE_ERROR_IO)
        atomic_fetch_add(&r->io, 1);
    if (code == JITCORE_ERROR_CACHE)
        atomic_fetch_add(&r->cache, 1);
    pthread_mutex_lock(&r->lock);
    r->last_code = code;
    snprintf(r->last, sizeof r->last, "%s", message ? message : "(null)");
    pthread_mutex_unlock(&r->lock);
    if (getenv("TU_VERBOSE"))
        tu_note("  reported [%s] %s", tu_code_name(code), message ? message : "(null)");
}

/* ------------------------------------------------------------------ */
/* Caches, keys, statistics                                            */
/* ------------------------------------------------------------------ */

#define MAKE_DISK_CACHE(dir, max) dc_make_cache((dir), (max), __FILE__, __LINE__)
static inline JitcoreObjectCacheRef dc_make_cache(const char *dir, uint64_t max, const char *file, int line)
{
    JitcoreObjectCacheRef c = NULL;
    tu_check_ok(JitcoreCreateDiskCache(&c, dir, max), "JitcoreCreateDiskCache", file, line);
    tu_record(c != NULL, file, line, "expected a disk cache for '%s'", dir);
    return c;
}

#define DC_STATS(c) dc_stats((c), __FILE__, __LINE__)
static inline JitcoreDiskCacheStatistics dc_stats(JitcoreObjectCacheRef c, const char *file, int line)
{
    JitcoreDiskCacheStatistics s;
    memset(&s, 0, sizeof s);
    tu_check_ok(JitcoreDiskCacheGetStatistics(c, &s), "JitcoreDiskCacheGetStatistics", file, line);
    return s;
}

static inline void dc_print_stats(const char *label, const JitcoreDiskCacheStatistics *s)
{
    tu_note("  disk %s: hits=%" PRIu64 " misses=%" PRIu64 " writes=%" PRIu64 " corrupt=%" PRIu64
            " evictions=%" PRIu64 " bytes=%" PRIu64 " entries=%" PRIu64 " ioerrors=%" PRIu64,
            label, s->Hits, s->Misses, s->Writes, s->CorruptDropped, s->Evictions, s->BytesOnDisk, s->Entries,
            s->IOErrors);
}

#define SESSION_STATS(s) dc_session_stats((s), __FILE__, __LINE__)
static inline JitcoreStatistics dc_session_stats(JitcoreSessionRef s, const char *file, int line)
{
    JitcoreStatistics st;
    memset(&st, 0, sizeof st);
    tu_check_ok(JitcoreSessionGetStatistics(s, &st), "JitcoreSessionGetStatistics", file, line);
    return st;
}

/* The path of the cache entry of a module named `name` with IR `ir`,
   compiled at `level` (malloc'ed; NULL on failure, reported). */
#define ENTRY_PATH(dir, name, ir, level) dc_entry_path((dir), (name), (ir), (level), __FILE__, __LINE__)
static inline char *dc_entry_path(const char *dir, const char *name, const char *ir, JitcoreOptLevel level,
                                  const char *file, int line)
{
    JitcoreTargetMachineRef tm = tu_make_tm(level, file, line);
    JitcoreModuleRef m = tu_make_module(name, ir, file, line);
    char hex[JITCORE_MODULE_KEY_HEX_SIZE];
    char *path = NULL;
    if (tm && m && tu_check_ok(JitcoreModuleGetKey(m, tm, NULL, hex), "JitcoreModuleGetKey", file, line)) {
        char leaf[JITCORE_MODULE_KEY_HEX_SIZE + 8];
        snprintf(leaf, sizeof leaf, "%s%s", hex, DC_ENTRY_SUFFIX);
        path = tu_path_join(dir, leaf);
    }
    JitcoreDisposeModule(m);
    JitcoreDisposeTargetMachine(tm);
    return path;
}

static inline int dc_exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0;
}

static inline long long dc_file_size(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Counts what a cache directory holds: entries (<64 hex>.jco), temporary
   files of writers, and anything else. */
struct dc_listing {
    int entries;
    int temps;
    int others;
    long long entry_bytes;
    long long temp_bytes;
};

static inline int dc_is_entry_name(const char *n)
{
    size_t len = strlen(n);
    if (len != 64 + strlen(DC_ENTRY_SUFFIX) || strcmp(n + 64, DC_ENTRY_SUFFIX) != 0)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
            return 0;
    return 1;
}

static inline struct dc_listing dc_list(const char *dir)
{
    struct dc_listing l;
    memset(&l, 0, sizeof l);
    DIR *d = opendir(dir);
    if (!d)
        return l;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = tu_path_join(dir, e->d_name);
        long long size = dc_file_size(p);
        free(p);
        size_t n = strlen(e->d_name);
        if (dc_is_entry_name(e->d_name)) {
            l.entries++;
            l.entry_bytes += size;
        } else if (e->d_name[0] == '.' && n > strlen(DC_TEMP_SUFFIX) &&
                   strcmp(e->d_name + n - strlen(DC_TEMP_SUFFIX), DC_TEMP_SUFFIX) == 0) {
            l.temps++;
            l.temp_bytes += size;
        } else {
            l.others++;
        }
    }
    closedir(d);
    return l;
}

/* Deletes `dir` and what the tests put in it (files and empty subdirectories). */
static inline void dc_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = tu_path_join(dir, e->d_name);
            if (p && unlink(p) != 0)
                dc_remove_dir(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static inline int dc_copy_file(const char *from, const char *to)
{
    size_t len = 0;
    unsigned char *b = tu_read_file(from, &len);
    if (!b)
        return 0;
    int ok = tu_write_file(to, b, len);
    free(b);
    return ok;
}

static inline void dc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Waits for child `pid`; returns its exit status (0..255), or 1000 + the
   signal that killed it. */
static inline int dc_wait(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 1000 + WTERMSIG(status);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Engines and sessions with a disk cache                              */
/* ------------------------------------------------------------------ */

/* An engine at `level` with disk cache `c` (and reporter `r`, if any). */
#define CACHED_ENGINE(c, level, r) dc_engine((c), (level), (r), __FILE__, __LINE__)
static inline JitcoreEngineRef dc_engine(JitcoreObjectCacheRef c, JitcoreOptLevel level, struct dc_reports *r,
                                         const char *file, int line)
{
    JitcoreEngineRef ee = tu_make_engine(NULL, level, file, line);
    if (!ee)
        return NULL;
    if (r)
        JitcoreEngineSetErrorReporter(ee, dc_reporter, r);
    JitcoreEngineSetDiskCache(ee, c);
    return ee;
}

/* A session (compile threads `threads`, lazy or not) with disk cache `c`. */
#define CACHED_SESSION(c, level, threads, lazy, r) \
    dc_session((c), (level), (threads), (lazy), (r), __FILE__, __LINE__)
static inline JitcoreSessionRef dc_session(JitcoreObjectCacheRef c, JitcoreOptLevel level, unsigned threads, int lazy,
                                           struct dc_reports *r, const char *file, int line)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.OptLevel = level;
    o.CompileThreads = threads;
    o.LazyByDefault = lazy;
    JitcoreSessionRef s = NULL;
    if (!tu_check_ok(JitcoreCreateSession(&s, &o), "JitcoreCreateSession", file, line))
        return NULL;
    if (r)
        JitcoreSessionSetErrorReporter(s, dc_reporter, r);
    JitcoreSessionSetDiskCache(s, c);
    return s;
}

/* The address of `name` in the session's main dylib (0 on failure, reported). */
#define MAIN_LOOKUP(s, name) tu_session_lookup((s), JitcoreSessionGetMainDylib(s), (name), __FILE__, __LINE__)

/* A module defining `int32_t <fn>(void)` returning `value`, padded with a
   `pad`-byte read-only table (so objects can be made big). The IR is
   written to `buf`. */
static inline const char *dc_value_ir(char *buf, size_t cap, const char *fn, int value, unsigned pad)
{
    if (pad)
        snprintf(buf, cap,
                 "@%s.pad = constant [%u x i8] zeroinitializer\n"
                 "define i32 @%s() {\n  %%p = load volatile i8, ptr @%s.pad\n  %%z = zext i8 %%p to i32\n"
                 "  %%r = add i32 %%z, %d\n  ret i32 %%r\n}\n",
                 fn, pad, fn, fn, value);
    else
        snprintf(buf, cap, "define i32 @%s() {\n  ret i32 %d\n}\n", fn, value);
    return buf;
}

#endif /* JITCORE_TEST_DISK_CACHE_H */
