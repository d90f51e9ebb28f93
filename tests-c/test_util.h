/*
 * test_util.h: shared helpers of the jitcore C test suite (header-only).
 *
 * Include this header FIRST in every test file: it selects POSIX.1-2008
 * (mkdtemp, pthread barriers, ...) before any system header is seen.
 *
 * Every check counts towards a process-wide total. A failing check prints
 * exactly one line "file:line: FAIL: <what was expected>" (plus the error
 * message when a jitcore error is involved). tu_finish() prints
 * "<name>: N checks passed" and gives main()'s return value.
 * The counters are atomic, so checks may run on any thread.
 * With TU_VERBOSE set in the environment, every expected error's code and
 * message is printed too.
 */
#ifndef JITCORE_TEST_UTIL_H
#define JITCORE_TEST_UTIL_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jitcore.h"

/* ------------------------------------------------------------------ */
/* Counters and reporting                                              */
/* ------------------------------------------------------------------ */

static atomic_long tu_checks_run;
static atomic_long tu_checks_failed;
static pthread_mutex_t tu_print_lock = PTHREAD_MUTEX_INITIALIZER;

/* Records one check; on failure prints "file:line: FAIL: " + the message. */
static inline int tu_record(int ok, const char *file, int line, const char *fmt, ...)
{
    atomic_fetch_add(&tu_checks_run, 1);
    if (ok)
        return 1;
    atomic_fetch_add(&tu_checks_failed, 1);
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&tu_print_lock);
    fprintf(stdout, "%s:%d: FAIL: ", file, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&tu_print_lock);
    va_end(ap);
    return 0;
}

/* Informational output (not a check), serialized with failure lines. */
static inline void tu_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&tu_print_lock);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&tu_print_lock);
    va_end(ap);
}

/* Prints the summary line; the result is main()'s return value. */
static inline int tu_finish(const char *name)
{
    long run = atomic_load(&tu_checks_run);
    long failed = atomic_load(&tu_checks_failed);
    if (failed != 0)
        printf("%s: %ld of %ld checks FAILED\n", name, failed, run);
    printf("%s: %ld checks passed\n", name, run - failed);
    fflush(stdout);
    return failed != 0;
}

static inline long tu_failures(void) { return atomic_load(&tu_checks_failed); }

/* RUN_TEST(test_fn(args)): runs the call unless TU_ONLY is set in the
   environment to another function's name (to run one scenario alone,
   e.g. under valgrind: TU_ONLY=test_fn ./test_x). */
#define RUN_TEST(call) (tu_selected(#call) ? (void)(call) : (void)0)
static inline int tu_selected(const char *call)
{
    const char *only = getenv("TU_ONLY");
    if (!only || !*only)
        return 1;
    size_t n = strlen(only);
    return strncmp(call, only, n) == 0 && (call[n] == '\0' || call[n] == '(');
}

/* ------------------------------------------------------------------ */
/* String helpers                                                      */
/* ------------------------------------------------------------------ */

static inline char *tu_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Whether `hay` contains one of the '|'-separated alternatives of `spec`
   (case-sensitive). A NULL or empty spec matches anything non-NULL. */
static inline int tu_contains_any(const char *hay, const char *spec)
{
    if (!hay)
        return 0;
    if (!spec || !*spec)
        return 1;
    const char *p = spec;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n > 0) {
            for (const char *h = hay; *h; h++)
                if (strncmp(h, p, n) == 0)
                    return 1;
        }
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

/* Whether `msg` holds a "<line>:<col>" position for `line` (any line if
   line <= 0), e.g. "mod:3:14: error: ...". */
static inline int tu_has_line_col(const char *msg, int line)
{
    if (!msg)
        return 0;
    for (const char *p = msg; *p; p++) {
        if (*p < '0' || *p > '9')
            continue;
        if (p != msg && p[-1] >= '0' && p[-1] <= '9')
            continue; /* only at the start of a number */
        char *end;
        long l = strtol(p, &end, 10);
        if (*end == ':' && end[1] >= '0' && end[1] <= '9' && (line <= 0 || l == line))
            return 1;
    }
    return 0;
}

static inline const char *tu_code_name(JitcoreErrorCode c)
{
    switch (c) {
    case JITCORE_ERROR_SUCCESS: return "SUCCESS";
    case JITCORE_ERROR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case JITCORE_ERROR_INVALID_IR: return "INVALID_IR";
    case JITCORE_ERROR_INVALID_OBJECT: return "INVALID_OBJECT";
    case JITCORE_ERROR_SYMBOL_NOT_FOUND: return "SYMBOL_NOT_FOUND";
    case JITCORE_ERROR_DUPLICATE_DEFINITION: return "DUPLICATE_DEFINITION";
    case JITCORE_ERROR_MODULE_ALREADY_ADDED: return "MODULE_ALREADY_ADDED";
    case JITCORE_ERROR_MODULE_NOT_FOUND: return "MODULE_NOT_FOUND";
    case JITCORE_ERROR_UNRESOLVED_SYMBOL: return "UNRESOLVED_SYMBOL";
    case JITCORE_ERROR_COMPILE: return "COMPILE";
    case JITCORE_ERROR_LINK: return "LINK";
    case JITCORE_ERROR_CACHE: return "CACHE";
    case JITCORE_ERROR_IO: return "IO";
    case JITCORE_ERROR_UNSUPPORTED: return "UNSUPPORTED";
    case JITCORE_ERROR_JIT_EXECUTION_DENIED: return "JIT_EXECUTION_DENIED";
    case JITCORE_ERROR_INTERNAL: return "INTERNAL";
    }
    return "<unknown code>";
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */

#define CHECK(cond) tu_record(!!(cond), __FILE__, __LINE__, "expected %s", #cond)
/* CHECK_MSG(cond, fmt, args...): custom failure text. */
#define CHECK_MSG(cond, ...) tu_record(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_EQ_INT(actual, expected)                                                        \
    tu_check_eq_i64((long long)(actual), (long long)(expected), #actual, __FILE__, __LINE__)
#define CHECK_EQ_U64(actual, expected)                                                        \
    tu_check_eq_u64((unsigned long long)(actual), (unsigned long long)(expected), #actual,    \
                    __FILE__, __LINE__)
#define CHECK_STR_EQ(actual, expected) tu_check_str_eq((actual), (expected), #actual, __FILE__, __LINE__)
#define CHECK_CONTAINS(hay, spec) tu_check_contains((hay), (spec), #hay, __FILE__, __LINE__)

static inline int tu_check_eq_i64(long long a, long long e, const char *what, const char *file, int line)
{
    return tu_record(a == e, file, line, "expected %s == %lld, got %lld", what, e, a);
}

static inline int tu_check_eq_u64(unsigned long long a, unsigned long long e, const char *what,
                                  const char *file, int line)
{
    return tu_record(a == e, file, line, "expected %s == %llu (0x%llx), got %llu (0x%llx)", what, e, e, a, a);
}

static inline int tu_check_str_eq(const char *a, const char *e, const char *what, const char *file, int line)
{
    int ok = (a == NULL && e == NULL) || (a && e && strcmp(a, e) == 0);
    return tu_record(ok, file, line, "expected %s == \"%s\", got %s%s%s", what, e ? e : "(null)",
                     a ? "\"" : "", a ? a : "(null)", a ? "\"" : "");
}

static inline int tu_check_contains(const char *hay, const char *spec, const char *what, const char *file,
                                    int line)
{
    return tu_record(tu_contains_any(hay, spec), file, line, "expected %s to contain \"%s\", got \"%s\"", what,
                     spec ? spec : "", hay ? hay : "(null)");
}

/* CHECK_OK(err): expects success; on failure prints the error's code and
   message. Always consumes the error. Evaluates to 1 on success. */
#define CHECK_OK(err) tu_check_ok((err), #err, __FILE__, __LINE__)

static inline int tu_check_ok(JitcoreErrorRef err, const char *what, const char *file, int line)
{
    if (!err)
        return tu_record(1, file, line, "");
    JitcoreErrorCode code = JitcoreGetErrorCode(err);
    char *msg = JitcoreGetErrorMessage(err);
    tu_record(0, file, line, "expected %s to succeed, got %s (%d): %s", what, tu_code_name(code), (int)code,
              msg ? msg : "(null message)");
    JitcoreDisposeErrorMessage(msg);
    return 0;
}

/* TAKE_ERR(err, code): expects an error with `code`; consumes it and
   returns a malloc'ed copy of its message (free() it), or NULL if there
   was no error. One check. */
#define TAKE_ERR(err, code) tu_take_err((err), (code), #err, __FILE__, __LINE__)

static inline char *tu_take_err(JitcoreErrorRef err, JitcoreErrorCode code, const char *what, const char *file,
                                int line)
{
    if (!err) {
        tu_record(0, file, line, "expected %s to fail with %s (%d), but it succeeded", what, tu_code_name(code),
                  (int)code);
        return NULL;
    }
    JitcoreErrorCode got = JitcoreGetErrorCode(err);
    char *msg = JitcoreGetErrorMessage(err);
    char *copy = tu_strdup(msg ? msg : "");
    JitcoreDisposeErrorMessage(msg);
    if (getenv("TU_VERBOSE"))
        tu_note("  %s:%d: [%s] %s", file, line, tu_code_name(got), copy ? copy : "");
    tu_record(got == code, file, line, "expected %s to fail with %s (%d), got %s (%d): %s", what, tu_code_name(code),
              (int)code, tu_code_name(got), (int)got, copy ? copy : "");
    return copy;
}

/* CHECK_ERR(err, code, spec): expects an error with `code` whose message
   contains one of the '|'-separated alternatives of `spec` (the culprit);
   consumes it. Two checks (code, message). Evaluates to 1 if both hold. */
#define CHECK_ERR(err, code, spec) tu_check_err((err), (code), (spec), NULL, #err, __FILE__, __LINE__)
/* CHECK_ERR2: as CHECK_ERR, and the message must also match `spec2`. */
#define CHECK_ERR2(err, code, spec, spec2) tu_check_err((err), (code), (spec), (spec2), #err, __FILE__, __LINE__)

static inline int tu_check_err(JitcoreErrorRef err, JitcoreErrorCode code, const char *spec, const char *spec2,
                               const char *what, const char *file, int line)
{
    if (!err) {
        tu_record(0, file, line, "expected %s to fail with %s (%d), but it succeeded", what, tu_code_name(code),
                  (int)code);
        return 0;
    }
    JitcoreErrorCode got = JitcoreGetErrorCode(err);
    char *msg = JitcoreGetErrorMessage(err);
    const char *m = msg ? msg : "(null message)";
    if (getenv("TU_VERBOSE"))
        tu_note("  %s:%d: [%s] %s", file, line, tu_code_name(got), m);
    int ok = tu_record(got == code, file, line, "expected %s to fail with %s (%d), got %s (%d): %s", what,
                       tu_code_name(code), (int)code, tu_code_name(got), (int)got, m);
    ok &= tu_record(msg != NULL && tu_contains_any(msg, spec), file, line,
                    "expected the message of %s to name \"%s\", got \"%s\"", what, spec ? spec : "", m);
    if (spec2)
        ok &= tu_record(msg != NULL && tu_contains_any(msg, spec2), file, line,
                        "expected the message of %s to name \"%s\", got \"%s\"", what, spec2, m);
    JitcoreDisposeErrorMessage(msg);
    return ok;
}

/* ------------------------------------------------------------------ */
/* jitcore helpers                                                     */
/* ------------------------------------------------------------------ */

/* Calls jitted code: FN(int (*)(int, int), addr)(2, -5). */
#define FN(type, addr) ((type)(uintptr_t)(addr))
/* The address of a host function or object as a jitcore address. */
#define HOST_ADDR(p) ((uint64_t)(uintptr_t)(p))

static const char SUM_IR[] =
    "define i32 @sum(i32 %a, i32 %b) {\n"
    "  %r = add i32 %a, %b\n"
    "  ret i32 %r\n"
    "}\n";

typedef int (*tu_sum_fn)(int, int);

#define MAKE_TM(level) tu_make_tm((level), __FILE__, __LINE__)
static inline JitcoreTargetMachineRef tu_make_tm(JitcoreOptLevel level, const char *file, int line)
{
    JitcoreTargetMachineRef tm = NULL;
    tu_check_ok(JitcoreCreateHostTargetMachine(&tm, level), "JitcoreCreateHostTargetMachine", file, line);
    tu_record(tm != NULL, file, line, "expected a target machine");
    return tm;
}

/* A module from NUL-terminated IR text (NULL on failure, reported). */
#define MAKE_MODULE(name, ir) tu_make_module((name), (ir), __FILE__, __LINE__)
static inline JitcoreModuleRef tu_make_module(const char *name, const char *ir, const char *file, int line)
{
    JitcoreModuleRef m = NULL;
    if (!tu_check_ok(JitcoreCreateModuleFromIR(&m, name, ir, strlen(ir)), "JitcoreCreateModuleFromIR", file,
                     line))
        return NULL;
    tu_record(m != NULL, file, line, "expected module '%s'", name);
    return m;
}

/* An engine at -O2 (host machine), with M added if not NULL. */
#define MAKE_ENGINE(m) tu_make_engine((m), JITCORE_OPT_LEVEL_O2, __FILE__, __LINE__)
#define MAKE_ENGINE_AT(m, level) tu_make_engine((m), (level), __FILE__, __LINE__)
static inline JitcoreEngineRef tu_make_engine(JitcoreModuleRef m, JitcoreOptLevel level, const char *file, int line)
{
    JitcoreTargetMachineRef tm = tu_make_tm(level, file, line);
    if (!tm)
        return NULL;
    JitcoreEngineRef ee = NULL;
    tu_check_ok(JitcoreCreateMCJITCompiler(&ee, m, tm), "JitcoreCreateMCJITCompiler", file, line);
    JitcoreDisposeTargetMachine(tm);
    tu_record(ee != NULL, file, line, "expected an engine");
    return ee;
}

/* The address of `name` (0 on failure, reported). */
#define LOOKUP(ee, name) tu_lookup((ee), (name), __FILE__, __LINE__)
static inline uint64_t tu_lookup(JitcoreEngineRef ee, const char *name, const char *file, int line)
{
    uint64_t addr = 0;
    if (!tu_check_ok(JitcoreEngineGetFunctionAddress(ee, &addr, name), name, file, line))
        return 0;
    tu_record(addr != 0, file, line, "expected a non-zero address for '%s'", name);
    return addr;
}

/* Checks that `sum` of `ee` is still there and adds correctly. */
#define CHECK_SUM_WORKS(ee) tu_check_sum_works((ee), __FILE__, __LINE__)
static inline int tu_check_sum_works(JitcoreEngineRef ee, const char *file, int line)
{
    uint64_t addr = tu_lookup(ee, "sum", file, line);
    if (!addr)
        return 0;
    int r = FN(tu_sum_fn, addr)(2, -5);
    return tu_record(r == -3, file, line, "expected sum(2, -5) == -3, got %d", r);
}

#define GET_STATS(ee) tu_get_stats((ee), __FILE__, __LINE__)
static inline JitcoreStatistics tu_get_stats(JitcoreEngineRef ee, const char *file, int line)
{
    JitcoreStatistics s;
    memset(&s, 0, sizeof s);
    tu_check_ok(JitcoreEngineGetStatistics(ee, &s), "JitcoreEngineGetStatistics", file, line);
    return s;
}

static inline void tu_print_stats(const char *label, const JitcoreStatistics *s)
{
    tu_note("  stats %s: compiled=%" PRIu64 " functions=%" PRIu64 " loaded=%" PRIu64 " hits=%" PRIu64
            " misses=%" PRIu64 " rejected=%" PRIu64 " bytes=%" PRIu64 " failures=%" PRIu64,
            label, s->ModulesCompiled, s->FunctionsCompiled, s->ObjectsLoaded, s->CacheHits, s->CacheMisses,
            s->CacheRejected, s->ObjectBytesEmitted, s->MaterializationFailures);
}

/* ------------------------------------------------------------------ */
/* Files and processes                                                 */
/* ------------------------------------------------------------------ */

/* A fresh private directory under $TMPDIR or /tmp (NULL on failure). The
   caller frees the string; tu_rmdir_files removes what the tests put in. */
static inline char *tu_make_temp_dir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + 32;
    char *dir = malloc(n);
    if (!dir)
        return NULL;
    snprintf(dir, n, "%s/jitcore-test-XXXXXX", base);
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

static inline char *tu_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static inline int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    int ok = fclose(f) == 0 && w == len;
    return ok;
}

/* Reads a whole file into a malloc'ed buffer (NUL-terminated for
   convenience; the NUL is not counted in *len). NULL on failure. */
static inline unsigned char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        cap *= 2;
        unsigned char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Resident set size in KiB, from /proc/self/statm (0 if unavailable). */
static inline long tu_rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    long size = 0, resident = 0;
    int n = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    if (n != 2)
        return 0;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Whether an executable file exists at `path`. */
static inline int tu_is_executable(const char *path)
{
    return access(path, X_OK) == 0;
}


/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

/* A session with the default options (NULL on failure, reported). */
#define NEW_SESSION() tu_new_session(__FILE__, __LINE__)
/* Whether resident memory measures this program rather than a memory tool
   (valgrind's own heap, or ASan's quarantine, when JITCORE_TEST_CONFIG is
   "valgrind" or "asan", or valgrind's preload library is in LD_PRELOAD). */
static inline int tu_rss_is_meaningful(void)
{
    const char *config = getenv("JITCORE_TEST_CONFIG");
    if (config && (strcmp(config, "valgrind") == 0 || strcmp(config, "asan") == 0))
        return 0;
    const char *preload = getenv("LD_PRELOAD");
    return !(preload && strstr(preload, "vgpreload"));
}

/* A session with `threads` compile threads (other options default). */
#define NEW_SESSION_THREADS(threads) tu_new_session_threads((threads), __FILE__, __LINE__)
static inline JitcoreSessionRef tu_new_session_threads(uint32_t threads, const char *file, int line)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.CompileThreads = threads;
    JitcoreSessionRef s = NULL;
    tu_check_ok(JitcoreCreateSession(&s, &o), "JitcoreCreateSession", file, line);
    tu_record(s != NULL, file, line, "expected a session");
    return s;
}

static inline JitcoreSessionRef tu_new_session(const char *file, int line)
{
    JitcoreSessionRef s = NULL;
    tu_check_ok(JitcoreCreateSession(&s, NULL), "JitcoreCreateSession", file, line);
    tu_record(s != NULL, file, line, "expected a session");
    return s;
}

/* The address of `name` looked up from dylib `d` (0 on failure, reported). */
#define SESSION_LOOKUP(s, d, name) tu_session_lookup((s), (d), (name), __FILE__, __LINE__)
static inline uint64_t tu_session_lookup(JitcoreSessionRef s, JitcoreDylibRef d, const char *name, const char *file,
                                         int line)
{
    uint64_t addr = 0;
    if (!tu_check_ok(JitcoreSessionLookup(s, d, &addr, name), "JitcoreSessionLookup", file, line))
        return 0;
    tu_record(addr != 0, file, line, "expected a non-zero address for '%s'", name);
    return addr;
}

/* Calls `int name(void)` from dylib `d`; -12345 if it cannot be looked up. */
#define SESSION_CALL_INT(s, d, name) tu_session_call_int((s), (d), (name), __FILE__, __LINE__)
static inline int tu_session_call_int(JitcoreSessionRef s, JitcoreDylibRef d, const char *name, const char *file,
                                      int line)
{
    uint64_t a = tu_session_lookup(s, d, name, file, line);
    return a ? ((int (*)(void))(uintptr_t)a)() : -12345;
}

#endif /* JITCORE_TEST_UTIL_H */
