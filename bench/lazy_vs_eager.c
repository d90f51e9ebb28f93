/*
 * Benchmark: a module of many functions where `main` calls some (bench/run.sh: 1,000 and 100).
 * Runs it through a jitcore session eagerly and lazily (fresh session each,
 * best of $BENCH_REPS runs, default 1), from parse to main's return, and prints the times and the
 * lazy/eager ratio. The lli-22 figures are taken by bench/run.sh on the same
 * IR file. Not a test: it asserts nothing about time.
 *
 * usage: lazy_vs_eager FILE.ll
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jitcore.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(JitcoreErrorRef e)
{
    char *m = JitcoreGetErrorMessage(e);
    fprintf(stderr, "lazy_vs_eager: %s\n", m);
    JitcoreDisposeErrorMessage(m);
    return 1;
}

static int run(const char *ir, size_t len, int lazy, double *secs, int *status, JitcoreStatistics *st)
{
    double t0 = now();
    JitcoreSessionRef s = NULL;
    JitcoreErrorRef e = JitcoreCreateSession(&s, NULL);
    if (e)
        return fail(e);
    JitcoreModuleRef m = NULL;
    if ((e = JitcoreCreateModuleFromIR(&m, "bench", ir, len)))
        return fail(e);
    JitcoreDylibRef d = JitcoreSessionGetMainDylib(s);
    e = lazy ? JitcoreDylibAddModuleLazy(d, m, NULL) : JitcoreDylibAddModule(d, m, NULL);
    if (e)
        return fail(e);
    uint64_t a = 0;
    if ((e = JitcoreSessionLookup(s, d, &a, "main")))
        return fail(e);
    *status = ((int (*)(int, char **))(uintptr_t)a)(1, NULL);
    *secs = now() - t0;
    JitcoreSessionGetStatistics(s, st);
    JitcoreDisposeSession(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lazy_vs_eager FILE.ll\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *ir = malloc((size_t)len);
    if (fread(ir, 1, (size_t)len, f) != (size_t)len)
        return 1;
    fclose(f);

    double best[2] = {1e9, 1e9};
    int status[2] = {-1, -1};
    JitcoreStatistics st[2];
    int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 1;
    for (int rep = 0; rep < (reps > 0 ? reps : 1); rep++) {
        for (int lazy = 0; lazy < 2; lazy++) {
            double t;
            if (run(ir, (size_t)len, lazy, &t, &status[lazy], &st[lazy]))
                return 1;
            if (t < best[lazy])
                best[lazy] = t;
        }
    }
    free(ir);
    printf("jitcore eager: %.3f s (exit %d, %llu functions compiled)\n", best[0], status[0],
           (unsigned long long)st[0].FunctionsCompiled);
    printf("jitcore lazy:  %.3f s (exit %d, %llu functions compiled)\n", best[1], status[1],
           (unsigned long long)st[1].FunctionsCompiled);
    printf("jitcore lazy/eager: %.2f\n", best[1] / best[0]);
    return status[0] == status[1] ? 0 : 1;
}
