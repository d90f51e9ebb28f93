/*
 * A call of a lazily compiled function whose compile fails (it calls a
 * symbol nothing defines) never returns a silent wrong result
 * (JitcoreSessionSetLazyFailureHandler), with CompileThreads 0 and 2:
 *  - without a handler the process aborts (SIGABRT) after one line on
 *    stderr naming the function and the missing symbol, and after the
 *    error reporter heard it; the call does not return, no exit handler
 *    runs (forked children);
 *  - a handler that longjmps out: the program goes on after its setjmp,
 *    the session stays usable, a second call fails the same way;
 *  - a handler that records and returns: an int function returns 0, a
 *    double one 0.0 (not its argument), a pointer one NULL, a void one
 *    skips its effect, and the handler heard of each call; the error it
 *    owns has code UNRESOLVED_SYMBOL and names the function, its module
 *    and the missing symbol; the reporter heard the same first;
 *  - a handler that exits (forked child), and one that ends its thread
 *    with pthread_exit (unwinding through jitcore's frames);
 *  - recovery: once the missing symbol is defined (an absolute symbol, a
 *    module, from inside the handler, or a symbol source that lets it
 *    through, followed by any lookup), the next call compiles the function
 *    and returns the right result; also when a global's initializer needed
 *    it (the module's other functions run meanwhile);
 *  - calls from 4 threads at once, of one failing function and of one
 *    function each: every thread's handler hears of its own call.
 */
#include "test_util.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>

enum { NTHREADS = 4 };

/* Four functions of four result types; all call lf_missing. With
   lf_missing(x) = x + 100: ibad(5) = 106, dbad(0.5) = 102.5,
   pbad() = &counter, vbad() adds 104 to counter. */
static const char FAILING_IR[] =
    "@counter = global i32 0\n"
    "declare i32 @lf_missing(i32)\n"
    "define i32 @ibad(i32 %x) {\n"
    "  %r = call i32 @lf_missing(i32 %x)\n  %s = add i32 %r, 1\n  ret i32 %s\n}\n"
    "define double @dbad(double %x) {\n"
    "  %i = call i32 @lf_missing(i32 2)\n  %f = sitofp i32 %i to double\n"
    "  %r = fadd double %f, %x\n  ret double %r\n}\n"
    "define ptr @pbad() {\n  %i = call i32 @lf_missing(i32 3)\n  ret ptr @counter\n}\n"
    "define void @vbad() {\n"
    "  %i = call i32 @lf_missing(i32 4)\n  %c = load i32, ptr @counter\n"
    "  %n = add i32 %c, %i\n  store i32 %n, ptr @counter\n  ret void\n}\n"
    "define i32 @good(i32 %x) {\n  %r = mul i32 %x, 2\n  ret i32 %r\n}\n";

typedef int (*int_fn)(int);
typedef double (*double_fn)(double);
typedef void *(*ptr_fn)(void);
typedef void (*void_fn)(void);

static int host_missing(int x) { return x + 100; }

/* ------------------------------------------------------------------ */
/* What the reporter and the handler heard                             */
/* ------------------------------------------------------------------ */

struct heard {
    pthread_mutex_t lock;
    int reports;
    int unresolved; /* reports with code UNRESOLVED_SYMBOL */
    char all[4096];
};

static void reporter(void *ctx, JitcoreErrorCode code, const char *message)
{
    struct heard *h = ctx;
    pthread_mutex_lock(&h->lock);
    h->reports++;
    if (code == JITCORE_ERROR_UNRESOLVED_SYMBOL)
        h->unresolved++;
    size_t used = strlen(h->all);
    snprintf(h->all + used, sizeof h->all - used, "%s%s", used ? " || " : "", message);
    pthread_mutex_unlock(&h->lock);
}

/* The calling thread's view of its last failed call. */
static _Thread_local struct {
    int calls;
    const char *function_ptr; /* as handed over: valid until the session goes */
    char function[64];
    char message[1024];
    JitcoreErrorCode code;
    jmp_buf *jump; /* non-NULL: the handler longjmps here */
    int reports_before; /* what the reporter had heard when the handler ran */
} mine;

static atomic_int handled; /* calls of the handler, all threads */

/* Reads and consumes the error, then leaves as the thread asked. */
static void handler(void *ctx, const char *function, JitcoreErrorRef err)
{
    struct heard *h = ctx;
    atomic_fetch_add(&handled, 1);
    mine.calls++;
    mine.function_ptr = function;
    snprintf(mine.function, sizeof mine.function, "%s", function ? function : "(null)");
    mine.code = JitcoreGetErrorCode(err);
    char *m = JitcoreGetErrorMessage(err);
    snprintf(mine.message, sizeof mine.message, "%s", m ? m : "(null)");
    JitcoreDisposeErrorMessage(m);
    if (h) {
        pthread_mutex_lock(&h->lock);
        mine.reports_before = h->reports;
        pthread_mutex_unlock(&h->lock);
    }
    if (mine.jump)
        longjmp(*mine.jump, 1);
}

static JitcoreSessionRef bare_session(unsigned threads)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.CompileThreads = threads;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    return s;
}

/* A session with `threads` compile threads, the reporter `h` (if any), and
   `ir` added lazily to its main dylib `*d`. */
static JitcoreSessionRef session_with(unsigned threads, const char *name, const char *ir, struct heard *h,
                                      JitcoreDylibRef *d)
{
    JitcoreSessionRef s = bare_session(threads);
    if (h) {
        memset(h, 0, sizeof *h);
        pthread_mutex_init(&h->lock, NULL);
        JitcoreSessionSetErrorReporter(s, reporter, h);
    }
    *d = JitcoreSessionGetMainDylib(s);
    CHECK_OK(JitcoreDylibAddModuleLazy(*d, MAKE_MODULE(name, ir), NULL));
    return s;
}

static JitcoreSessionRef new_session(unsigned threads, struct heard *h, JitcoreDylibRef *d)
{
    return session_with(threads, "lf_module", FAILING_IR, h, d);
}

/* The call's result, as a recording handler leaves it, and what it heard. */
static void check_returned_failure(int result, const char *function, const char *cause)
{
    CHECK_EQ_INT(result, 0);
    CHECK_STR_EQ(mine.function, function);
    CHECK_CONTAINS(mine.message, cause);
}

static void check_failure_named(const char *function)
{
    CHECK_STR_EQ(mine.function, function);
    CHECK_EQ_INT(mine.code, JITCORE_ERROR_UNRESOLVED_SYMBOL);
    CHECK_CONTAINS(mine.message, function);
    CHECK_CONTAINS(mine.message, "lf_missing");
    CHECK_CONTAINS(mine.message, "lf_module");
}

/* ------------------------------------------------------------------ */
/* The default: abort, with one line on stderr                        */
/* ------------------------------------------------------------------ */

static int reports_fd = -1;

static void report_to_fd(void *ctx, JitcoreErrorCode code, const char *message)
{
    (void)ctx;
    dprintf(reports_fd, "REPORT %d %s\n", (int)code, message);
}

/* Runs `body` in a forked child with its stderr and a reports pipe read
   back; returns the wait status. */
static int in_child(void (*body)(unsigned), unsigned threads, char *err, size_t errlen, char *reps, size_t replen)
{
    int ep[2], rp[2];
    if (pipe(ep) != 0 || pipe(rp) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(ep[0]);
        close(rp[0]);
        dup2(ep[1], 2);
        reports_fd = rp[1];
        body(threads);
        fflush(stdout);
        _exit(tu_failures() == 0 ? 0 : 3);
    }
    close(ep[1]);
    close(rp[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    ssize_t n = read(ep[0], err, errlen - 1);
    err[n > 0 ? n : 0] = '\0';
    n = read(rp[0], reps, replen - 1);
    reps[n > 0 ? n : 0] = '\0';
    close(ep[0]);
    close(rp[0]);
    return status;
}

static void note_exit_handler(void)
{
    dprintf(reports_fd, "ATEXIT\n");
}

static void call_without_handler(unsigned threads)
{
    atexit(note_exit_handler);
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = new_session(threads, NULL, &d);
    JitcoreSessionSetErrorReporter(s, report_to_fd, NULL);
    int_fn f = FN(int_fn, SESSION_LOOKUP(s, d, "ibad"));
    int r = f(5);
    /* Not reached: a silent wrong result. */
    dprintf(reports_fd, "RETURNED %d\n", r);
    _exit(0);
}

/* The lines of `text` that come from jitcore (valgrind's are skipped). */
static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            n++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

static void default_aborts(unsigned threads)
{
    char err[4096], reps[4096];
    int status = in_child(call_without_handler, threads, err, sizeof err, reps, sizeof reps);
    tu_note("  default (%u compile threads): stderr: %s", threads, err);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "expected the child to abort (SIGABRT), status 0x%x", status);
    CHECK_EQ_INT(count_lines(err, "jitcore: "), 1);
    CHECK_CONTAINS(err, "'ibad'");
    CHECK_CONTAINS(err, "lf_missing");
    CHECK_CONTAINS(err, "abort");
    /* The reporter heard it first; the call never returned. */
    CHECK_CONTAINS(reps, "REPORT 8 cannot call lazily compiled function 'ibad'");
    CHECK_CONTAINS(reps, "lf_missing");
    CHECK_MSG(strstr(reps, "RETURNED") == NULL, "the failed call returned: %s", reps);
    /* abort(): no exit handlers ran. */
    CHECK_MSG(strstr(reps, "ATEXIT") == NULL, "an exit handler ran: %s", reps);
}

/* A handler that exits: the process ends with its status. */
static void exit_seven(void *ctx, const char *function, JitcoreErrorRef err)
{
    (void)ctx;
    (void)function;
    JitcoreConsumeError(err);
    fflush(stdout);
    _exit(7);
}

static void call_with_exiting_handler(unsigned threads)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = new_session(threads, NULL, &d);
    JitcoreSessionSetLazyFailureHandler(s, exit_seven, NULL);
    FN(void_fn, SESSION_LOOKUP(s, d, "vbad"))();
    dprintf(reports_fd, "RETURNED\n");
    _exit(0);
}

static void handler_exits(unsigned threads)
{
    char err[4096], reps[4096];
    int status = in_child(call_with_exiting_handler, threads, err, sizeof err, reps, sizeof reps);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 7, "expected exit status 7, status 0x%x", status);
    CHECK_EQ_INT(count_lines(err, "jitcore: "), 0);
    CHECK_MSG(strstr(reps, "RETURNED") == NULL, "the failed call returned: %s", reps);
}

/* ------------------------------------------------------------------ */
/* longjmp out, record and return, recovery                           */
/* ------------------------------------------------------------------ */

static void longjmp_out(unsigned threads)
{
    struct heard h;
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = new_session(threads, &h, &d);
    JitcoreSessionSetLazyFailureHandler(s, handler, &h);
    int_fn ibad = FN(int_fn, SESSION_LOOKUP(s, d, "ibad"));
    int_fn good = FN(int_fn, SESSION_LOOKUP(s, d, "good"));
    jmp_buf jb;
    mine.jump = &jb;
    mine.calls = 0;
    volatile int rounds = 0, returned = 0;
    if (setjmp(jb) != 0)
        rounds++;
    if (rounds < 2) {
        /* Each call fails: the handler longjmps back to the setjmp above. */
        ibad(5);
        returned = 1;
    }
    mine.jump = NULL;
    CHECK_EQ_INT(rounds, 2);
    CHECK_EQ_INT(returned, 0);
    CHECK_EQ_INT(mine.calls, 2);
    check_failure_named("ibad");
    /* The reporter heard the failure before the handler ran. */
    CHECK_MSG(mine.reports_before >= 1, "the reporter heard nothing before the handler");
    pthread_mutex_lock(&h.lock);
    CHECK_CONTAINS(h.all, "cannot call lazily compiled function 'ibad'");
    CHECK_MSG(h.unresolved >= 1, "expected an UNRESOLVED_SYMBOL report: %s", h.all);
    pthread_mutex_unlock(&h.lock);
    /* The session is usable: other functions run, the missing symbol can be
       defined, and then the failed function compiles and runs. */
    CHECK_EQ_INT(good(21), 42);
    JitcoreSymbolDefinition def = {"lf_missing", HOST_ADDR(host_missing)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &def, 1));
    CHECK_EQ_INT(ibad(5), 106);
    CHECK_EQ_INT(mine.calls, 2);
    JitcoreDisposeSession(s);
}

static void record_and_return(unsigned threads)
{
    struct heard h;
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = new_session(threads, &h, &d);
    JitcoreSessionSetLazyFailureHandler(s, handler, &h);
    int *counter = (int *)(uintptr_t)SESSION_LOOKUP(s, d, "counter");
    int_fn ibad = FN(int_fn, SESSION_LOOKUP(s, d, "ibad"));
    double_fn dbad = FN(double_fn, SESSION_LOOKUP(s, d, "dbad"));
    ptr_fn pbad = FN(ptr_fn, SESSION_LOOKUP(s, d, "pbad"));
    void_fn vbad = FN(void_fn, SESSION_LOOKUP(s, d, "vbad"));
    mine.calls = 0;
    mine.jump = NULL;
    CHECK_EQ_INT(ibad(5), 0);
    check_failure_named("ibad");
    double r = dbad(3.5);
    CHECK_MSG(r == 0.0, "a failed double call whose handler returned gave %g, not 0.0", r);
    check_failure_named("dbad");
    CHECK_MSG(pbad() == NULL, "a failed pointer call whose handler returned gave non-NULL");
    check_failure_named("pbad");
    vbad();
    check_failure_named("vbad");
    CHECK_EQ_INT(*counter, 0);
    CHECK_EQ_INT(mine.calls, 4);
    /* The name handed over stays valid after the handler returned. */
    CHECK_STR_EQ(mine.function_ptr, "vbad");
    pthread_mutex_lock(&h.lock);
    CHECK_MSG(h.reports >= 4, "expected a report per failed call, got %d: %s", h.reports, h.all);
    CHECK_CONTAINS(h.all, "'dbad'");
    CHECK_CONTAINS(h.all, "'vbad'");
    pthread_mutex_unlock(&h.lock);
    /* A module that defines the missing symbol is a change too: the next
       calls compile and give the right results. */
    CHECK_OK(JitcoreDylibAddModule(d, MAKE_MODULE("lf_fix",
        "define i32 @lf_missing(i32 %x) {\n  %r = add i32 %x, 100\n  ret i32 %r\n}\n"), NULL));
    CHECK_EQ_INT(ibad(5), 106);
    r = dbad(0.5);
    CHECK_MSG(r == 102.5, "dbad(0.5) gave %g after the fix, not 102.5", r);
    CHECK_MSG(pbad() == counter, "pbad() did not return &counter after the fix");
    vbad();
    CHECK_EQ_INT(*counter, 104);
    CHECK_EQ_INT(mine.calls, 4);
    JitcoreDisposeSession(s);
}

/* The handler defines the missing symbol, then longjmps: the retry works. */
static JitcoreDylibRef fixing_dylib;

static void fix_then_jump(void *ctx, const char *function, JitcoreErrorRef err)
{
    (void)ctx;
    (void)function;
    JitcoreConsumeError(err);
    mine.calls++;
    JitcoreSymbolDefinition def = {"lf_missing", HOST_ADDR(host_missing)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(fixing_dylib, &def, 1));
    longjmp(*mine.jump, 1);
}

static void handler_fixes(unsigned threads)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = new_session(threads, NULL, &d);
    fixing_dylib = d;
    JitcoreSessionSetLazyFailureHandler(s, fix_then_jump, NULL);
    int_fn ibad = FN(int_fn, SESSION_LOOKUP(s, d, "ibad"));
    jmp_buf jb;
    mine.jump = &jb;
    mine.calls = 0;
    volatile int result = -1;
    if (setjmp(jb) == 0)
        result = ibad(5);
    else
        result = ibad(5); /* the retry */
    mine.jump = NULL;
    CHECK_EQ_INT(result, 106);
    CHECK_EQ_INT(mine.calls, 1);
    JitcoreDisposeSession(s);
}

/* The failed function is reset by the session's next lookup too: here the
   missing symbol (libc's getppid) comes from a symbol source whose filter
   lets it through only later, with no change to the session in between. */
static atomic_int allow_getppid;

static int getppid_filter(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "getppid") != 0 || atomic_load(&allow_getppid);
}

static void reset_at_next_lookup(unsigned threads)
{
    JitcoreSessionRef s = bare_session(threads);
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, "lf_sources"));
    atomic_store(&allow_getppid, 0);
    CHECK_OK(JitcoreDylibAddProcessSymbols(d, getppid_filter, NULL));
    CHECK_OK(JitcoreDylibAddModuleLazy(d, MAKE_MODULE("lf_getppid",
        "declare i32 @getppid()\n"
        "define i32 @uses_getppid(i32 %x) {\n  %p = call i32 @getppid()\n  %r = add i32 %p, %x\n  ret i32 %r\n}\n"
        "define i32 @twice(i32 %x) {\n  %r = mul i32 %x, 2\n  ret i32 %r\n}\n"), NULL));
    JitcoreSessionSetLazyFailureHandler(s, handler, NULL);
    int_fn uses_getppid = FN(int_fn, SESSION_LOOKUP(s, d, "uses_getppid"));
    mine.calls = 0;
    mine.jump = NULL;
    check_returned_failure(uses_getppid(1), "uses_getppid", "getppid");
    atomic_store(&allow_getppid, 1);
    /* A lookup (of another function) does the reset. */
    CHECK_EQ_INT(FN(int_fn, SESSION_LOOKUP(s, d, "twice"))(3), 6);
    CHECK_EQ_INT(uses_getppid(1), (int)getppid() + 1);
    CHECK_EQ_INT(mine.calls, 1);
    JitcoreDisposeSession(s);
}

/* The missing symbol is needed by a global's initializer: the module's
   globals partition fails, and with it every function that uses a global;
   the others still run, and defining the symbol resets the globals too. */
static int host_data = 77;

static void globals_fail(unsigned threads)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = session_with(threads, "lf_globals",
        "@lf_data = external global i32\n"
        "@ptr = global ptr @lf_data\n"
        "define i32 @reads() {\n  %p = load ptr, ptr @ptr\n  %v = load i32, ptr %p\n  ret i32 %v\n}\n"
        "define i32 @plain(i32 %x) {\n  %r = add i32 %x, 1\n  ret i32 %r\n}\n", NULL, &d);
    JitcoreSessionSetLazyFailureHandler(s, handler, NULL);
    int_fn reads = FN(int_fn, SESSION_LOOKUP(s, d, "reads"));
    mine.calls = 0;
    mine.jump = NULL;
    check_returned_failure(reads(0), "reads", "lf_data");
    CHECK_EQ_INT(FN(int_fn, SESSION_LOOKUP(s, d, "plain"))(1), 2);
    JitcoreSymbolDefinition def = {"lf_data", HOST_ADDR(&host_data)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &def, 1));
    CHECK_EQ_INT(reads(0), 77);
    CHECK_EQ_INT(mine.calls, 1);
    JitcoreDisposeSession(s);
}

/* NULL restores the default: checked in a child. */
static void call_after_reset_handler(unsigned threads)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = new_session(threads, NULL, &d);
    JitcoreSessionSetLazyFailureHandler(s, exit_seven, NULL);
    JitcoreSessionSetLazyFailureHandler(s, NULL, NULL);
    JitcoreSessionSetLazyFailureHandler(NULL, exit_seven, NULL); /* ignored */
    FN(int_fn, SESSION_LOOKUP(s, d, "ibad"))(1);
    _exit(0);
}

static void null_restores_default(void)
{
    char err[4096], reps[4096];
    int status = in_child(call_after_reset_handler, 0, err, sizeof err, reps, sizeof reps);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "expected SIGABRT, status 0x%x", status);
    CHECK_CONTAINS(err, "'ibad'");
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

struct caller {
    JitcoreSessionRef s;
    JitcoreDylibRef d;
    pthread_barrier_t *start;
    const char *function;
    int rounds;
    int exact;     /* 1: every failed call must be handed `function` */
    int wrong;     /* calls that returned, or were handed a wrong name */
    int failures;
    int handed[4]; /* how often each of t0..t3 was handed over */
};

static void *call_failing(void *arg)
{
    struct caller *c = arg;
    int_fn f = FN(int_fn, SESSION_LOOKUP(c->s, c->d, c->function));
    pthread_barrier_wait(c->start);
    for (volatile int i = 0; i < c->rounds; i++) {
        jmp_buf jb;
        mine.jump = &jb;
        if (setjmp(jb) == 0) {
            f(1);
            c->wrong++;
        } else {
            c->failures++;
            /* The name and the error always agree; with `exact`, they are
               this call's. Else (different functions failing on several
               threads at the same moment) two calls may be handed each
               other's, as the header says: the tally is checked instead. */
            int t = mine.function[0] == 't' && mine.function[1] >= '0' && mine.function[1] <= '3' && !mine.function[2]
                        ? mine.function[1] - '0'
                        : -1;
            if (t < 0 || !strstr(mine.message, mine.function) || (c->exact && strcmp(mine.function, c->function) != 0))
                c->wrong++;
            else
                c->handed[t]++;
        }
        mine.jump = NULL;
    }
    return NULL;
}

static void threads_call(unsigned threads, int same_function)
{
    char ir[8192];
    size_t n = 0;
    n += (size_t)snprintf(ir + n, sizeof ir - n, "declare i32 @lf_missing(i32)\n");
    for (int i = 0; i < NTHREADS; i++)
        n += (size_t)snprintf(ir + n, sizeof ir - n,
                              "define i32 @t%d(i32 %%x) {\n  %%r = call i32 @lf_missing(i32 %%x)\n  ret i32 %%r\n}\n", i);
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = session_with(threads, "lf_threads", ir, NULL, &d);
    JitcoreSessionSetLazyFailureHandler(s, handler, NULL);
    static const char *names[NTHREADS] = {"t0", "t1", "t2", "t3"};
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, NTHREADS);
    struct caller c[NTHREADS];
    pthread_t t[NTHREADS];
    atomic_store(&handled, 0);
    for (int i = 0; i < NTHREADS; i++) {
        c[i] = (struct caller){s, d, &start, names[same_function ? 0 : i], 3, same_function, 0, 0, {0}};
        pthread_create(&t[i], NULL, call_failing, &c[i]);
    }
    int handed[NTHREADS] = {0};
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(c[i].failures, 3);
        CHECK_MSG(c[i].wrong == 0, "thread %d calling %s: %d calls returned or were handed a wrong name", i,
                  c[i].function, c[i].wrong);
        for (int k = 0; k < NTHREADS; k++)
            handed[k] += c[i].handed[k];
    }
    /* Every failed call was handed exactly one failure, and every failure
       went to exactly one call: each function as often as it was called. */
    for (int k = 0; k < NTHREADS; k++)
        CHECK_MSG(handed[k] == (same_function ? (k == 0 ? 3 * NTHREADS : 0) : 3), "%s handed over %d times", names[k],
                  handed[k]);
    CHECK_EQ_INT(atomic_load(&handled), NTHREADS * 3);
    pthread_barrier_destroy(&start);
    /* Then the symbol comes, and every function works. */
    JitcoreSymbolDefinition def = {"lf_missing", HOST_ADDR(host_missing)};
    CHECK_OK(JitcoreDylibDefineAbsoluteSymbols(d, &def, 1));
    for (int i = 0; i < NTHREADS; i++)
        CHECK_EQ_INT(FN(int_fn, SESSION_LOOKUP(s, d, names[i]))(i), 100 + i);
    JitcoreDisposeSession(s);
}

/* A handler that ends its thread: pthread_exit unwinds through jitcore's
   frames (and the jitted caller's) to the thread's start. */
static void end_thread(void *ctx, const char *function, JitcoreErrorRef err)
{
    (void)ctx;
    (void)function;
    JitcoreConsumeError(err);
    pthread_exit((void *)(uintptr_t)42);
}

static void *call_and_report(void *arg)
{
    FN(int_fn, *(uint64_t *)arg)(1);
    return (void *)(uintptr_t)1; /* returned: wrong */
}

static void handler_ends_thread(unsigned threads)
{
    JitcoreDylibRef d = NULL;
    JitcoreSessionRef s = new_session(threads, NULL, &d);
    JitcoreSessionSetLazyFailureHandler(s, end_thread, NULL);
    pthread_t t;
    void *result = NULL;
    uint64_t ibad = SESSION_LOOKUP(s, d, "ibad");
    pthread_create(&t, NULL, call_and_report, &ibad);
    pthread_join(t, &result);
    CHECK_EQ_U64((uint64_t)(uintptr_t)result, 42);
    /* The session is still usable. */
    CHECK_EQ_INT(FN(int_fn, SESSION_LOOKUP(s, d, "good"))(4), 8);
    JitcoreDisposeSession(s);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const unsigned configs[] = {0, 2};
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        unsigned th = configs[i];
        tu_note("compile threads: %u", th);
        RUN_TEST(default_aborts(th));
        RUN_TEST(handler_exits(th));
        RUN_TEST(longjmp_out(th));
        RUN_TEST(record_and_return(th));
        RUN_TEST(handler_fixes(th));
        RUN_TEST(reset_at_next_lookup(th));
        RUN_TEST(globals_fail(th));
        RUN_TEST(handler_ends_thread(th));
        RUN_TEST(threads_call(th, 1));
        RUN_TEST(threads_call(th, 0));
    }
    RUN_TEST(null_restores_default());
    return tu_finish("test_lazy_failure");
}
