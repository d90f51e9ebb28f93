/* examples/c/bench.c: the C baseline of the bindings' benchmarks
 * (bindings/cpp/bench.cpp measures the same through the C++ binding).
 * Prints two lines:
 *   lookup_ns <N>       one lookup of an already compiled symbol
 *                       (JitcoreEngineGetFunctionAddress), median over batches
 *   add_compile_us <N>  parse + add + compile (first lookup) + remove of a
 *                       tiny module on one engine, median over iterations
 * Run through examples/c/bench.sh <prefix>. */
#define _POSIX_C_SOURCE 200809L
#include <jitcore.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char IR[] = "define i32 @sum(i32 %a, i32 %b) {\n"
                         "  %r = add i32 %a, %b\n"
                         "  ret i32 %r\n"
                         "}\n";

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

static void must(JitcoreErrorRef err) {
  if (!err)
    return;
  char *msg = JitcoreGetErrorMessage(err);
  fprintf(stderr, "bench: %s\n", msg);
  JitcoreDisposeErrorMessage(msg);
  exit(1);
}

int main(void) {
  enum { BATCHES = 101, PER_BATCH = 2000, ITERATIONS = 61 };
  static double lookup[BATCHES], add_compile[ITERATIONS];
  JitcoreTargetMachineRef tm;
  JitcoreEngineRef ee, e2;
  JitcoreModuleRef m;
  volatile uint64_t sink;
  uint64_t addr;

  must(JitcoreCreateHostTargetMachine(&tm, JITCORE_OPT_LEVEL_O2));
  must(JitcoreCreateModuleFromIR(&m, "sum", IR, strlen(IR)));
  must(JitcoreCreateMCJITCompiler(&ee, m, tm));
  must(JitcoreEngineGetFunctionAddress(ee, &addr, "sum")); /* compiles */

  for (int b = 0; b < BATCHES; b++) {
    double t0 = now_ns();
    for (int i = 0; i < PER_BATCH; i++) {
      must(JitcoreEngineGetFunctionAddress(ee, &addr, "sum"));
      sink = addr;
    }
    lookup[b] = (now_ns() - t0) / PER_BATCH;
  }

  must(JitcoreCreateMCJITCompiler(&e2, NULL, tm));
  for (int i = 0; i < ITERATIONS; i++) {
    double t0 = now_ns();
    must(JitcoreCreateModuleFromIR(&m, "sum", IR, strlen(IR)));
    must(JitcoreEngineAddModule(e2, m));
    must(JitcoreEngineGetFunctionAddress(e2, &addr, "sum"));
    sink = addr;
    must(JitcoreEngineRemoveModule(e2, m));
    JitcoreDisposeModule(m);
    add_compile[i] = (now_ns() - t0) / 1000.0;
  }
  (void)sink;
  printf("lookup_ns %.0f\n", median(lookup, BATCHES));
  printf("add_compile_us %.0f\n", median(add_compile, ITERATIONS));
  JitcoreDisposeEngine(e2);
  JitcoreDisposeEngine(ee);
  JitcoreDisposeTargetMachine(tm);
  return 0;
}
