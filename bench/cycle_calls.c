/*
 * The cost of a call across a link-order cycle (issue 10.4): jitted code in
 * main calls leaf() of libFoo in a loop, linked
 *   - directly (main links libFoo, libFoo links nothing: no cycle),
 *   - through a stub (libFoo links main too: a cycle, so the call goes
 *     through the stub that stands for leaf in main),
 *   - through a lazy stub (libFoo added lazily, no cycle), for comparison.
 * Prints nanoseconds per call, the best of BENCH_REPS (default 3) runs of N
 * calls (argv[1], default 200,000,000), the kinds interleaved.
 */
#define _POSIX_C_SOURCE 200809L
#include <jitcore.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char LOOP_IR[] =
    "declare i64 @leaf(i64)\n"
    "define i64 @run(i64 %n) {\n"
    "entry:\n  br label %loop\n"
    "loop:\n  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]\n  %acc = phi i64 [ 1, %entry ], [ %acc1, %loop ]\n"
    "  %acc1 = call i64 @leaf(i64 %acc)\n  %i1 = add i64 %i, 1\n  %more = icmp ult i64 %i1, %n\n"
    "  br i1 %more, label %loop, label %done\n"
    "done:\n  ret i64 %acc1\n}\n";
static const char LEAF_IR[] = "define i64 @leaf(i64 %x) { %r = add i64 %x, 3\n  ret i64 %r }\n";

static void die(JitcoreErrorRef e, const char *what)
{
    if (!e)
        return;
    char *m = JitcoreGetErrorMessage(e);
    fprintf(stderr, "cycle_calls: %s: %s\n", what, m);
    JitcoreDisposeErrorMessage(m);
    exit(1);
}

static JitcoreModuleRef module(const char *name, const char *ir)
{
    JitcoreModuleRef m = NULL;
    die(JitcoreCreateModuleFromIR(&m, name, ir, strlen(ir)), name);
    return m;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

enum kind { DIRECT, STUB, LAZY };

struct setup {
    JitcoreSessionRef s;
    uint64_t (*run)(uint64_t);
};

static struct setup make(enum kind kind)
{
    struct setup t = {NULL, NULL};
    die(JitcoreCreateSession(&t.s, NULL), "session");
    JitcoreDylibRef main_jd = JitcoreSessionGetMainDylib(t.s), foo = NULL;
    die(JitcoreSessionCreateDylib(t.s, &foo, "libFoo"), "dylib");
    die(JitcoreDylibSetLinkOrder(main_jd, &foo, 1), "link order");
    if (kind == STUB)
        die(JitcoreDylibSetLinkOrder(foo, &main_jd, 1), "link order back");
    die(JitcoreDylibAddModule(main_jd, module("loop.ll", LOOP_IR), NULL), "loop");
    if (kind == LAZY)
        die(JitcoreDylibAddModuleLazy(foo, module("leaf.ll", LEAF_IR), NULL), "leaf");
    else
        die(JitcoreDylibAddModule(foo, module("leaf.ll", LEAF_IR), NULL), "leaf");
    uint64_t addr = 0;
    die(JitcoreSessionLookup(t.s, main_jd, &addr, "run"), "lookup");
    t.run = (uint64_t (*)(uint64_t))(uintptr_t)addr;
    t.run(1000); /* the first call through a stub resolves it */
    return t;
}

static double seconds(struct setup *t, uint64_t n)
{
    double t0 = now();
    volatile uint64_t sink = t->run(n);
    (void)sink;
    return now() - t0;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000000ull;
    int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 3;
    if (reps < 1)
        reps = 1;
    struct setup t[3] = {make(DIRECT), make(STUB), make(LAZY)};
    double best[3] = {1e30, 1e30, 1e30};
    /* Interleaved, so a busy machine slows every kind alike. */
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < 3; k++) {
            double x = seconds(&t[k], n);
            if (x < best[k])
                best[k] = x;
        }
    double ns[3];
    for (int k = 0; k < 3; k++) {
        ns[k] = best[k] * 1e9 / (double)n;
        JitcoreDisposeSession(t[k].s);
    }
    printf("call across a link order, direct:          %.3f ns\n", ns[0]);
    printf("call across a link-order cycle (stub):     %.3f ns (%+.3f ns)\n", ns[1], ns[1] - ns[0]);
    printf("call into a lazily added module (stub):    %.3f ns (%+.3f ns)\n", ns[2], ns[2] - ns[0]);
    return 0;
}
