/*
 * Link-order cycles (issue 10.4): dylibs whose code calls each other's
 * functions through their link orders, as a static linker or ORC links them.
 * Every scenario runs on a thread of its own under a watchdog: one that does
 * not finish in WATCHDOG_SECONDS is a deadlock and fails the test (the
 * process exits at once: a deadlocked session cannot be disposed of).
 *
 *  - two dylibs (main calls foo in libFoo, which calls base in main) and
 *    three (A -> B -> C -> A, each value computed through the others), every
 *    dylib eager, every one lazy, and mixed, with 0 and 2 compile threads,
 *    entered from each dylib, and from three host threads at once;
 *  - a variable read across a function cycle: works, and is one object;
 *  - a cycle of data references only (A's data points at B's and B's at
 *    A's): a clear UNSUPPORTED error naming the symbols, eager and lazy,
 *    never a hang; the same variables in a module of their own link;
 *  - a module of a cycle that cannot link (it calls a missing function)
 *    fails the lookup of any function whose calls reach it, naming it, as
 *    eager linking does; once the function exists, a retry links the ring;
 *  - removing one dylib's module in a cycle, then adding it again: lookups
 *    miss meanwhile, and new code binds to the new definition;
 *  - a link order changed inside a cycle: code already linked keeps its
 *    binding (through its stub), new code binds through the new order;
 *  - a link order without a cycle binds directly (no stub), and a stub
 *    stands for a function only inside a cycle.
 */
#include "test_util.h"

#include <errno.h>
#include <time.h>

#ifndef WATCHDOG_SECONDS
#define WATCHDOG_SECONDS 60
#endif

typedef int (*int_int_fn)(int);

/* ---- the watchdog ------------------------------------------------------- */

struct watched {
    void (*fn)(void *);
    void *arg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
};

static void *watched_main(void *p)
{
    struct watched *w = p;
    w->fn(w->arg);
    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Runs fn(arg) on a thread; fails (and exits) if it does not finish in time. */
static void run_watched(const char *what, void (*fn)(void *), void *arg)
{
    struct watched w = {fn, arg, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, watched_main, &w) != 0) {
        CHECK_MSG(0, "cannot start a thread for %s", what);
        return;
    }
    /* Valgrind runs the code about 50 times slower. */
    const char *config = getenv("JITCORE_TEST_CONFIG");
    int seconds = WATCHDOG_SECONDS * (config && strcmp(config, "valgrind") == 0 ? 6 : 1);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&w.lock);
    int rc = 0;
    while (!w.done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w.cond, &w.lock, &until);
    int done = w.done;
    pthread_mutex_unlock(&w.lock);
    if (!done) {
        CHECK_MSG(0, "%s did not finish in %d s: a deadlock", what, seconds);
        tu_finish("test_session_cycles");
        fflush(NULL);
        _exit(1);
    }
    pthread_join(t, NULL);
}

/* ---- helpers ------------------------------------------------------------ */

enum mode { EAGER, LAZY, MIXED };
static const char *const MODE_NAME[] = {"eager", "lazy", "mixed"};

struct params {
    unsigned threads;
    enum mode mode;
};

static JitcoreSessionRef session_with(unsigned threads)
{
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInit(&o);
    o.CompileThreads = threads;
    JitcoreSessionRef s = NULL;
    CHECK_OK(JitcoreCreateSession(&s, &o));
    return s;
}

static JitcoreDylibRef new_dylib(JitcoreSessionRef s, const char *name)
{
    JitcoreDylibRef d = NULL;
    CHECK_OK(JitcoreSessionCreateDylib(s, &d, name));
    return d;
}

static void links(JitcoreDylibRef d, JitcoreDylibRef to)
{
    CHECK_OK(JitcoreDylibSetLinkOrder(d, &to, 1));
}

/* Adds module `name` (IR `ir`) to `d`, lazily or not, under `rt` (or NULL). */
static void add(JitcoreDylibRef d, const char *name, const char *ir, int lazy, JitcoreResourceTrackerRef rt)
{
    JitcoreModuleRef m = MAKE_MODULE(name, ir);
    if (!m)
        return;
    JitcoreErrorRef e = lazy ? JitcoreDylibAddModuleLazy(d, m, rt) : JitcoreDylibAddModule(d, m, rt);
    if (!CHECK_OK(e))
        JitcoreDisposeModule(m);
}

static int lazy_in(enum mode mode, int index)
{
    return mode == LAZY || (mode == MIXED && index % 2 == 1);
}

/* Calls `int name(int)` looked up from `d`; -12345 if it cannot be. */
static int call_int(JitcoreSessionRef s, JitcoreDylibRef d, const char *name, int arg)
{
    uint64_t a = SESSION_LOOKUP(s, d, name);
    return a ? ((int_int_fn)(uintptr_t)a)(arg) : -12345;
}

/* ---- two dylibs --------------------------------------------------------- */

/* main: entry(n) = foo(n) + 1, base(n) = 2n; libFoo: foo(n) = base(n) + 100. */
static const char MAIN_IR[] = "declare i32 @foo(i32)\n"
                              "define i32 @base(i32 %n) { %r = mul i32 %n, 2\n ret i32 %r }\n"
                              "define i32 @entry(i32 %n) { %f = call i32 @foo(i32 %n)\n %r = add i32 %f, 1\n ret i32 %r }\n";
static const char FOO_IR[] = "declare i32 @base(i32)\n"
                             "define i32 @foo(i32 %n) { %b = call i32 @base(i32 %n)\n %r = add i32 %b, 100\n ret i32 %r }\n";

struct two {
    struct params p;
    int from_foo; /* look foo up (from libFoo) first */
};

static void two_dylibs(void *arg)
{
    const struct two *t = arg;
    JitcoreSessionRef s = session_with(t->p.threads);
    if (!s)
        return;
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    JitcoreDylibRef foo = new_dylib(s, "libFoo");
    links(main_jd, foo);
    links(foo, main_jd);
    add(main_jd, "main.ll", MAIN_IR, lazy_in(t->p.mode, 0), NULL);
    add(foo, "foo.ll", FOO_IR, lazy_in(t->p.mode, 1), NULL);
    if (t->from_foo)
        CHECK_EQ_INT(call_int(s, foo, "foo", 5), 110);
    CHECK_EQ_INT(call_int(s, main_jd, "entry", 5), 111);
    CHECK_EQ_INT(call_int(s, foo, "foo", 7), 114);
    CHECK_EQ_INT(call_int(s, main_jd, "entry", 0), 101);
    /* A host lookup from main finds foo through main's link order. */
    CHECK_EQ_INT(call_int(s, main_jd, "foo", 1), 102);
    JitcoreDisposeSession(s);
}

/* ---- three dylibs ------------------------------------------------------- */

/* a(n) = n <= 0 ? 1 : b(n-1) + 1;  b(n) = n <= 0 ? 2 : c(n-1) + 10;
   c(n) = n <= 0 ? 3 : a(n-1) + 100. */
#define REC_FN_WITH(decls, self, callee, leaf_code, leaf, plus)                                            \
    decls "declare i32 @" callee "(i32)\n"                                                                 \
    "define i32 @" self "(i32 %n) {\n"                                                                     \
    "  %z = icmp sle i32 %n, 0\n"                                                                          \
    "  br i1 %z, label %leaf, label %rec\n"                                                                \
    "leaf:\n" leaf_code "  ret i32 " leaf "\n"                                                             \
    "rec:\n  %m = sub i32 %n, 1\n  %r = call i32 @" callee "(i32 %m)\n  %s = add i32 %r, " plus "\n"     \
    "  ret i32 %s\n}\n"
#define REC_FN(self, callee, leaf, plus) REC_FN_WITH("", self, callee, "", leaf, plus)

static const char A_IR[] = REC_FN("a", "b", "1", "1");
static const char B_IR[] = REC_FN("b", "c", "2", "10");
static const char C_IR[] = REC_FN("c", "a", "3", "100");

static int ref_a(int n);
static int ref_b(int n);
static int ref_c(int n);
static int ref_a(int n) { return n <= 0 ? 1 : ref_b(n - 1) + 1; }
static int ref_b(int n) { return n <= 0 ? 2 : ref_c(n - 1) + 10; }
static int ref_c(int n) { return n <= 0 ? 3 : ref_a(n - 1) + 100; }

struct ring {
    JitcoreSessionRef s;
    JitcoreDylibRef d[3];
};

/* A -> B -> C -> A, each with its function. */
static struct ring make_ring(struct params p, const char *const ir[3])
{
    struct ring r = {session_with(p.threads), {NULL, NULL, NULL}};
    if (!r.s)
        return r;
    static const char *const names[3] = {"A", "B", "C"};
    for (int i = 0; i < 3; i++)
        r.d[i] = new_dylib(r.s, names[i]);
    for (int i = 0; i < 3; i++)
        links(r.d[i], r.d[(i + 1) % 3]);
    static const char *const modules[3] = {"a.ll", "b.ll", "c.ll"};
    for (int i = 0; i < 3; i++)
        add(r.d[i], modules[i], ir[i], lazy_in(p.mode, i), NULL);
    return r;
}

static const char *const RING_IR[3] = {A_IR, B_IR, C_IR};
static const char *const FN_NAME[3] = {"a", "b", "c"};
static int (*const REF[3])(int) = {ref_a, ref_b, ref_c};

struct three {
    struct params p;
    int first; /* the dylib entered first */
};

static void three_dylibs(void *arg)
{
    const struct three *t = arg;
    struct ring r = make_ring(t->p, RING_IR);
    if (!r.s)
        return;
    for (int k = 0; k < 3; k++) {
        int i = (t->first + k) % 3;
        for (int n = 0; n <= 7; n++)
            CHECK_MSG(call_int(r.s, r.d[i], FN_NAME[i], n) == REF[i](n), "%s(%d) from %s, %u threads, %s", FN_NAME[i],
                      n, JitcoreDylibGetName(r.d[i]), t->p.threads, MODE_NAME[t->p.mode]);
    }
    JitcoreDisposeSession(r.s);
}

/* Three host threads enter the ring at once, one from each dylib. */
struct entrant {
    struct ring *r;
    int i;
    pthread_barrier_t *go;
    int ok;
};

static void *enter_ring(void *p)
{
    struct entrant *e = p;
    pthread_barrier_wait(e->go);
    uint64_t addr = 0;
    JitcoreErrorRef err = JitcoreSessionLookup(e->r->s, e->r->d[e->i], &addr, FN_NAME[e->i]);
    if (err) {
        JitcoreConsumeError(err);
        return NULL;
    }
    e->ok = 1;
    for (int n = 0; n <= 9; n++)
        e->ok &= ((int_int_fn)(uintptr_t)addr)(n) == REF[e->i](n);
    return NULL;
}

static void three_threads(void *arg)
{
    const struct params *p = arg;
    struct ring r = make_ring(*p, RING_IR);
    if (!r.s)
        return;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 3);
    struct entrant e[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        e[i] = (struct entrant){&r, i, &go, 0};
        pthread_create(&t[i], NULL, enter_ring, &e[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK_MSG(e[i].ok, "thread entering from %s (%u compile threads, %s)", JitcoreDylibGetName(r.d[i]),
                  p->threads, MODE_NAME[p->mode]);
    }
    pthread_barrier_destroy(&go);
    JitcoreDisposeSession(r.s);
}

/* ---- data across a cycle ------------------------------------------------ */

/* As the ring, but c's leaf reads A's variable. */
static const char A_DATA_IR[] = "@a_data = global i32 7\n" REC_FN("a", "b", "1", "1");
static const char C_DATA_IR[] =
    REC_FN_WITH("@a_data = external global i32\n", "c", "a", "  %v = load i32, ptr @a_data\n", "%v", "100");

static void data_across(void *arg)
{
    const struct params *p = arg;
    const char *const ir[3] = {A_DATA_IR, B_IR, C_DATA_IR};
    struct ring r = make_ring(*p, ir);
    if (!r.s)
        return;
    /* c(0) reads a_data (7); a(2) = b(1) + 1 = c(0) + 11. */
    CHECK_EQ_INT(call_int(r.s, r.d[2], "c", 0), 7);
    CHECK_EQ_INT(call_int(r.s, r.d[0], "a", 2), 18);
    /* One variable: written through A's address, read by C's code. */
    uint64_t from_a = SESSION_LOOKUP(r.s, r.d[0], "a_data");
    uint64_t from_c = SESSION_LOOKUP(r.s, r.d[2], "a_data");
    CHECK_MSG(from_a != 0 && from_a == from_c, "a_data has one address (%llx, %llx)", (unsigned long long)from_a,
              (unsigned long long)from_c);
    if (from_a)
        *(int *)(uintptr_t)from_a = 40;
    CHECK_EQ_INT(call_int(r.s, r.d[2], "c", 0), 40);
    CHECK_EQ_INT(call_int(r.s, r.d[1], "b", 1), 50);
    JitcoreDisposeSession(r.s);
}

/* A's variable points at B's and B's at A's: no function in between. */
static const char A_PTR_IR[] = "@b_data = external global i32\n"
                               "@a_data = global i32 1\n"
                               "@a_ptr = global ptr @b_data\n"
                               "define i32 @get_b() { %p = load ptr, ptr @a_ptr\n %v = load i32, ptr %p\n ret i32 %v }\n";
static const char B_PTR_IR[] = "@a_data = external global i32\n"
                               "@b_data = global i32 2\n"
                               "@b_ptr = global ptr @a_data\n"
                               "define i32 @get_a() { %p = load ptr, ptr @b_ptr\n %v = load i32, ptr %p\n ret i32 %v }\n";

static void data_cycle(void *arg)
{
    const struct params *p = arg;
    JitcoreSessionRef s = session_with(p->threads);
    if (!s)
        return;
    JitcoreDylibRef a = new_dylib(s, "A"), b = new_dylib(s, "B");
    links(a, b);
    links(b, a);
    int lazy = p->mode != EAGER;
    add(a, "a.ll", A_PTR_IR, lazy, NULL);
    add(b, "b.ll", B_PTR_IR, lazy, NULL);
    uint64_t addr = 0;
    /* Twice: the module that failed is reset, and fails again the same way. */
    for (int i = 0; i < 2; i++) {
        CHECK_ERR2(JitcoreSessionLookup(s, a, &addr, "a_ptr"), JITCORE_ERROR_UNSUPPORTED, "a_data|b_data",
                   "cycle");
        CHECK_ERR2(JitcoreSessionLookup(s, b, &addr, "b_ptr"), JITCORE_ERROR_UNSUPPORTED, "a_data|b_data",
                   "cycle");
    }
    /* Functions of another dylib still link in the same session. */
    JitcoreDylibRef c = new_dylib(s, "C");
    links(c, a);
    add(c, "c.ll", "define i32 @seven() { ret i32 7 }\n", lazy, NULL);
    CHECK_EQ_INT(SESSION_CALL_INT(s, c, "seven"), 7);
    JitcoreDisposeSession(s);

    /* The way out: the variables in modules of their own, which reference
       nothing across the cycle, while the functions stay where they were. */
    s = session_with(p->threads);
    if (!s)
        return;
    a = new_dylib(s, "A");
    b = new_dylib(s, "B");
    links(a, b);
    links(b, a);
    add(a, "a_vars.ll", "@a_data = global i32 1\n", lazy, NULL);
    add(b, "b_vars.ll", "@b_data = global i32 2\n", lazy, NULL);
    add(a, "a_ptrs.ll", "@b_data = external global i32\n@a_ptr = global ptr @b_data\n"
                        "define i32 @get_b() { %p = load ptr, ptr @a_ptr\n %v = load i32, ptr %p\n ret i32 %v }\n",
        lazy, NULL);
    add(b, "b_ptrs.ll", "@a_data = external global i32\n@b_ptr = global ptr @a_data\n"
                        "define i32 @get_a() { %p = load ptr, ptr @b_ptr\n %v = load i32, ptr %p\n ret i32 %v }\n",
        lazy, NULL);
    CHECK_EQ_INT(SESSION_CALL_INT(s, a, "get_b"), 2);
    CHECK_EQ_INT(SESSION_CALL_INT(s, b, "get_a"), 1);
    JitcoreDisposeSession(s);
}

/* ---- a module of a cycle that cannot link ------------------------------- */

/* b(n) also calls nope(), which nothing defines yet. */
static const char B_NOPE_IR[] =
    REC_FN_WITH("declare i32 @nope()\n", "b", "c", "  %v = call i32 @nope()\n", "%v", "10");

static void failure_in_cycle(void *arg)
{
    const struct params *p = arg;
    const char *const ir[3] = {A_IR, B_NOPE_IR, C_IR};
    struct ring r = make_ring(*p, ir);
    if (!r.s)
        return;
    uint64_t addr = 0;
    /* Eagerly, a lookup links everything its symbol needs, across the
       cycle's stubs too: b's module cannot link, so neither can a. */
    for (int i = 0; i < 2; i++) {
        CHECK_ERR2(JitcoreSessionLookup(r.s, r.d[0], &addr, "a"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "nope", "b.ll");
        CHECK_ERR2(JitcoreSessionLookup(r.s, r.d[2], &addr, "c"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "nope", "b.ll");
    }
    /* Once nope exists, a retry links the whole ring. */
    add(r.d[1], "nope.ll", "define i32 @nope() { ret i32 2 }\n", 0, NULL);
    for (int n = 0; n <= 6; n++) {
        CHECK_EQ_INT(call_int(r.s, r.d[0], "a", n), ref_a(n));
        CHECK_EQ_INT(call_int(r.s, r.d[2], "c", n), ref_c(n));
    }
    JitcoreDisposeSession(r.s);

    /* The module of a variable read across the cycle cannot link: the
       reader's lookup fails naming it, and succeeds once it can. */
    const char *const data_ir[3] = {"@a_data = global i32 7\n" REC_FN_WITH("declare i32 @nope()\n", "a", "b",
                                                                           "  %v = call i32 @nope()\n", "%v", "1"),
                                    B_IR, C_DATA_IR};
    r = make_ring(*p, data_ir);
    if (!r.s)
        return;
    for (int i = 0; i < 2; i++)
        CHECK_ERR2(JitcoreSessionLookup(r.s, r.d[2], &addr, "c"), JITCORE_ERROR_UNRESOLVED_SYMBOL, "nope", "a.ll");
    add(r.d[0], "nope.ll", "define i32 @nope() { ret i32 1 }\n", 0, NULL);
    CHECK_EQ_INT(call_int(r.s, r.d[2], "c", 0), 7);
    CHECK_EQ_INT(call_int(r.s, r.d[2], "c", 1), 101);
    CHECK_EQ_INT(call_int(r.s, r.d[0], "a", 3), 112);
    JitcoreDisposeSession(r.s);
}

/* ---- removal ------------------------------------------------------------ */

static const char C2_IR[] = REC_FN("c", "a", "4", "200");

static void removal(void *arg)
{
    const struct params *p = arg;
    struct ring r = {session_with(p->threads), {NULL, NULL, NULL}};
    if (!r.s)
        return;
    static const char *const names[3] = {"A", "B", "C"};
    for (int i = 0; i < 3; i++)
        r.d[i] = new_dylib(r.s, names[i]);
    for (int i = 0; i < 3; i++)
        links(r.d[i], r.d[(i + 1) % 3]);
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(r.d[2]);
    add(r.d[0], "a.ll", A_IR, lazy_in(p->mode, 0), NULL);
    add(r.d[1], "b.ll", B_IR, lazy_in(p->mode, 1), NULL);
    add(r.d[2], "c.ll", C_IR, lazy_in(p->mode, 2), rt);
    for (int n = 0; n <= 6; n++)
        CHECK_EQ_INT(call_int(r.s, r.d[0], "a", n), ref_a(n));

    /* C's module goes: nothing finds c any more. */
    CHECK_OK(JitcoreResourceTrackerRemove(rt));
    JitcoreDisposeResourceTracker(rt);
    uint64_t addr = 0;
    CHECK_ERR(JitcoreSessionLookup(r.s, r.d[2], &addr, "c"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "'c'");
    CHECK_ERR(JitcoreSessionLookup(r.s, r.d[1], &addr, "c"), JITCORE_ERROR_SYMBOL_NOT_FOUND, "'c'");

    /* C's module again, changed: c(n) = n <= 0 ? 4 : a(n-1) + 200. Its code
       links against A, which still runs; new code in B binds to the new c. */
    add(r.d[2], "c2.ll", C2_IR, lazy_in(p->mode, 2), NULL);
    CHECK_EQ_INT(call_int(r.s, r.d[2], "c", 0), 4);
    CHECK_EQ_INT(call_int(r.s, r.d[2], "c", 1), 200 + ref_a(0));
    CHECK_EQ_INT(call_int(r.s, r.d[2], "c", 2), 200 + ref_a(1));
    add(r.d[1], "b2.ll", "declare i32 @c(i32)\n"
                         "define i32 @b2(i32 %n) { %r = call i32 @c(i32 %n)\n ret i32 %r }\n",
        lazy_in(p->mode, 1), NULL);
    CHECK_EQ_INT(call_int(r.s, r.d[1], "b2", 0), 4);
    CHECK_EQ_INT(call_int(r.s, r.d[1], "b2", 1), 200 + ref_a(0));
    JitcoreDisposeSession(r.s);
}

/* ---- a link order changed inside a cycle -------------------------------- */

static void relink(void *arg)
{
    const struct params *p = arg;
    JitcoreSessionRef s = session_with(p->threads);
    if (!s)
        return;
    /* main <-> libFoo and main <-> libBar; foo in both, returning 1 and 2,
       each calling base in main. */
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    JitcoreDylibRef foo = new_dylib(s, "libFoo"), bar = new_dylib(s, "libBar");
    links(main_jd, foo);
    links(foo, main_jd);
    links(bar, main_jd);
    int lazy = p->mode == LAZY;
    add(main_jd, "main.ll", "define i32 @base() { ret i32 10 }\n", lazy, NULL);
    add(foo, "foo.ll", "declare i32 @base()\ndefine i32 @foo() { %b = call i32 @base()\n %r = add i32 %b, 1\n ret i32 %r }\n",
        lazy, NULL);
    add(bar, "bar.ll", "declare i32 @base()\ndefine i32 @foo() { %b = call i32 @base()\n %r = add i32 %b, 2\n ret i32 %r }\n",
        lazy, NULL);
    add(main_jd, "old.ll", "declare i32 @foo()\ndefine i32 @old() { %r = call i32 @foo()\n ret i32 %r }\n", lazy, NULL);
    CHECK_EQ_INT(SESSION_CALL_INT(s, main_jd, "old"), 11);
    /* Code already linked keeps its binding; new code binds to libBar's. */
    links(main_jd, bar);
    add(main_jd, "new.ll", "declare i32 @foo()\ndefine i32 @new() { %r = call i32 @foo()\n ret i32 %r }\n", lazy, NULL);
    CHECK_EQ_INT(SESSION_CALL_INT(s, main_jd, "new"), 12);
    CHECK_EQ_INT(SESSION_CALL_INT(s, main_jd, "old"), 11);
    CHECK_EQ_INT(SESSION_CALL_INT(s, main_jd, "foo"), 12);
    JitcoreDisposeSession(s);
}

/* ---- stubs only inside cycles ------------------------------------------- */

static void no_cycle_no_stub(void *arg)
{
    const struct params *p = arg;
    JitcoreSessionRef s = session_with(p->threads);
    if (!s)
        return;
    /* main links libFoo, libFoo links nothing: no cycle. */
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(s);
    JitcoreDylibRef foo = new_dylib(s, "libFoo");
    links(main_jd, foo);
    add(main_jd, "main.ll", "declare i32 @leaf(i32)\n"
                            "define i32 @entry(i32 %n) { %r = call i32 @leaf(i32 %n)\n ret i32 %r }\n",
        0, NULL);
    add(foo, "foo.ll", "define i32 @leaf(i32 %n) { %r = add i32 %n, 1\n ret i32 %r }\n", 0, NULL);
    CHECK_EQ_INT(call_int(s, main_jd, "entry", 1), 2);
    /* main's code linked leaf through an alias at leaf's own address. */
    CHECK_EQ_U64(SESSION_LOOKUP(s, main_jd, "leaf"), SESSION_LOOKUP(s, foo, "leaf"));

    /* Inside a cycle the alias is a stub (another address) that calls leaf. */
    links(foo, main_jd);
    add(main_jd, "main2.ll", "declare i32 @leaf2(i32)\n"
                             "define i32 @entry2(i32 %n) { %r = call i32 @leaf2(i32 %n)\n ret i32 %r }\n",
        0, NULL);
    add(foo, "foo2.ll", "define i32 @leaf2(i32 %n) { %r = add i32 %n, 2\n ret i32 %r }\n", 0, NULL);
    CHECK_EQ_INT(call_int(s, main_jd, "entry2", 1), 3);
    uint64_t stub = SESSION_LOOKUP(s, main_jd, "leaf2");
    CHECK_MSG(stub != 0 && stub != SESSION_LOOKUP(s, foo, "leaf2"), "a stub stands for leaf2 in main");
    CHECK_EQ_INT(stub ? ((int_int_fn)(uintptr_t)stub)(5) : -1, 7);
    JitcoreDisposeSession(s);
}

/* ---- the runs ----------------------------------------------------------- */

static void for_each_params(const char *what, void (*fn)(void *), int modes)
{
    static const unsigned threads[2] = {0, 2};
    for (int m = 0; m < 3; m++) {
        if (!(modes & (1 << m)))
            continue;
        for (int t = 0; t < 2; t++) {
            struct params p = {threads[t], (enum mode)m};
            char label[128];
            snprintf(label, sizeof label, "%s (%s, %u compile threads)", what, MODE_NAME[m], threads[t]);
            run_watched(label, fn, &p);
        }
    }
}

static void test_two_dylibs(void)
{
    static const unsigned threads[2] = {0, 2};
    for (int m = 0; m < 3; m++)
        for (int t = 0; t < 2; t++)
            for (int from_foo = 0; from_foo < 2; from_foo++) {
                struct two two = {{threads[t], (enum mode)m}, from_foo};
                char label[128];
                snprintf(label, sizeof label, "two dylibs (%s, %u compile threads%s)", MODE_NAME[m], threads[t],
                         from_foo ? ", foo first" : "");
                run_watched(label, two_dylibs, &two);
            }
}

static void test_three_dylibs(void)
{
    static const unsigned threads[2] = {0, 2};
    for (int m = 0; m < 3; m++)
        for (int t = 0; t < 2; t++)
            for (int first = 0; first < 3; first++) {
                struct three three = {{threads[t], (enum mode)m}, first};
                char label[128];
                snprintf(label, sizeof label, "three dylibs from %s (%s, %u compile threads)", FN_NAME[first],
                         MODE_NAME[m], threads[t]);
                run_watched(label, three_dylibs, &three);
            }
}

static void test_three_threads(void) { for_each_params("three threads entering a ring", three_threads, 7); }
static void test_data_across(void) { for_each_params("data across a cycle", data_across, 7); }
static void test_data_cycle(void) { for_each_params("a cycle of data references", data_cycle, 3); }
static void test_failure_in_cycle(void) { for_each_params("a module of a cycle that cannot link", failure_in_cycle, 1); }
static void test_removal(void) { for_each_params("removal in a cycle", removal, 7); }
static void test_relink(void) { for_each_params("a link order changed inside a cycle", relink, 3); }
static void test_no_cycle_no_stub(void) { for_each_params("stubs only in cycles", no_cycle_no_stub, 1); }

int main(void)
{
    RUN_TEST(test_two_dylibs());
    RUN_TEST(test_three_dylibs());
    RUN_TEST(test_three_threads());
    RUN_TEST(test_data_across());
    RUN_TEST(test_data_cycle());
    RUN_TEST(test_failure_in_cycle());
    RUN_TEST(test_removal());
    RUN_TEST(test_relink());
    RUN_TEST(test_no_cycle_no_stub());
    return tu_finish("test_session_cycles");
}
