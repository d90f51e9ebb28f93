/*
 * deep_util.h: helpers of the long campaigns (tests-deep/): per-kind
 * operation counters, a crash handler that names the operation in flight,
 * time and environment helpers. Include it first; it includes
 * ../tests-c/test_util.h.
 */
#ifndef JITCORE_DEEP_UTIL_H
#define JITCORE_DEEP_UTIL_H

#include "../tests-c/test_util.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Operation kinds: how many ran, how many gave a wrong result          */
/* ------------------------------------------------------------------ */

#define DU_MAX_KINDS 40

struct du_kind {
    const char *name;
    atomic_long ops;
    atomic_long wrong;
};

static struct du_kind du_kinds[DU_MAX_KINDS];
static int du_nkinds;

/* Registers a kind (single-threaded, before the workers start). */
static inline int du_kind(const char *name)
{
    if (du_nkinds >= DU_MAX_KINDS)
        abort();
    du_kinds[du_nkinds].name = name;
    atomic_store(&du_kinds[du_nkinds].ops, 0);
    atomic_store(&du_kinds[du_nkinds].wrong, 0);
    return du_nkinds++;
}

/* Records one operation of kind `k`; `ok` is whether every check held. */
static inline void du_count(int k, int ok)
{
    atomic_fetch_add(&du_kinds[k].ops, 1);
    if (!ok)
        atomic_fetch_add(&du_kinds[k].wrong, 1);
}

static inline long du_total_ops(void)
{
    long n = 0;
    for (int i = 0; i < du_nkinds; i++)
        n += atomic_load(&du_kinds[i].ops);
    return n;
}

static inline long du_total_wrong(void)
{
    long n = 0;
    for (int i = 0; i < du_nkinds; i++)
        n += atomic_load(&du_kinds[i].wrong);
    return n;
}

/* ------------------------------------------------------------------ */
/* Crash reporting: the operation each thread is in                     */
/* ------------------------------------------------------------------ */

static _Thread_local const char *volatile du_current_op = "(none: not a worker thread, e.g. a jitcore compile thread)";
static const char *du_program = "deep";

static void du_write_str(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void du_write_long(long v)
{
    char b[24];
    int i = (int)sizeof b;
    int neg = v < 0;
    unsigned long u = neg ? 0UL - (unsigned long)v : (unsigned long)v;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u && i > 1);
    if (neg)
        b[--i] = '-';
    ssize_t w = write(2, b + i, sizeof b - (size_t)i);
    (void)w;
}

/* The counts so far, written with write(2) only (async-signal-safe). */
static void du_dump_counts(void)
{
    for (int k = 0; k < du_nkinds; k++) {
        du_write_str(du_program);
        du_write_str(": (before the crash) ");
        du_write_str(du_kinds[k].name);
        du_write_str(": ");
        du_write_long(atomic_load(&du_kinds[k].ops));
        du_write_str(" operations, ");
        du_write_long(atomic_load(&du_kinds[k].wrong));
        du_write_str(" wrong\n");
    }
}

static void du_crash_handler(int sig)
{
    du_write_str(du_program);
    du_write_str(": CRASH (signal ");
    du_write_str(sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGABRT ? "SIGABRT"
                 : sig == SIGILL ? "SIGILL" : sig == SIGFPE ? "SIGFPE" : "?");
    du_write_str(") during operation ");
    du_write_str(du_current_op ? du_current_op : "(null)");
    du_write_str("\n");
    du_dump_counts();
    signal(sig, SIG_DFL);
    raise(sig);
}

static inline void du_install_crash_handler(const char *program)
{
    du_program = program;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = du_crash_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        sigaction(sigs[i], &sa, NULL);
    }
}

#define DU_OP(name) (du_current_op = (name))

/* ------------------------------------------------------------------ */
/* Time, environment, randomness                                       */
/* ------------------------------------------------------------------ */

static inline double du_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline long du_env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end == 0 && n > 0) ? n : dflt;
}

/* xorshift64*: a per-thread generator. */
static inline uint64_t du_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ULL;
}

/* Consumes `err` and says whether it has `code` and names `what` (each
   a '|'-separated list, as CHECK_ERR). Quiet: the caller counts. */
static inline int du_err_is(JitcoreErrorRef err, JitcoreErrorCode code, const char *what, char *msgbuf, size_t cap)
{
    if (!err) {
        if (msgbuf && cap)
            snprintf(msgbuf, cap, "(no error)");
        return 0;
    }
    JitcoreErrorCode got = JitcoreGetErrorCode(err);
    char *msg = JitcoreGetErrorMessage(err);
    int ok = got == code && msg && tu_contains_any(msg, what);
    if (msgbuf && cap)
        snprintf(msgbuf, cap, "[%s] %s", tu_code_name(got), msg ? msg : "(null)");
    JitcoreDisposeErrorMessage(msg);
    return ok;
}

#endif /* JITCORE_DEEP_UTIL_H */
