/* examples/c/hello.c: a C host JITs a small IR program with jitcore.
 *
 *   make demo
 *
 * It parses IR for an iterative Fibonacci and a function that calls libc's
 * printf, compiles them at -O2, calls them, then removes the module and
 * shows that its symbols are gone. Every error is printed with its code. */
#include <jitcore.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *ir =
    "@fmt = private constant [24 x i8] c\"jitted code says: %lld\\0A\\00\"\n"
    "declare i32 @printf(ptr, ...)\n"
    "define i64 @fib(i64 %n) {\n"
    "entry:\n"
    "  br label %loop\n"
    "loop:\n"
    "  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]\n"
    "  %a = phi i64 [ 0, %entry ], [ %b, %loop ]\n"
    "  %b = phi i64 [ 1, %entry ], [ %ab, %loop ]\n"
    "  %ab = add i64 %a, %b\n"
    "  %i1 = add i64 %i, 1\n"
    "  %done = icmp sge i64 %i1, %n\n"
    "  br i1 %done, label %exit, label %loop\n"
    "exit:\n"
    "  ret i64 %b\n"
    "}\n"
    "define void @announce(i64 %v) {\n"
    "  call i32 (ptr, ...) @printf(ptr @fmt, i64 %v)\n"
    "  ret void\n"
    "}\n";

static int fail(const char *what, JitcoreErrorRef err) {
  JitcoreErrorCode code = JitcoreGetErrorCode(err);
  char *msg = JitcoreGetErrorMessage(err);
  fprintf(stderr, "hello: %s failed (code %d): %s\n", what, (int)code, msg);
  JitcoreDisposeErrorMessage(msg);
  return 1;
}

int main(void) {
  JitcoreTargetMachineRef tm;
  JitcoreModuleRef m;
  JitcoreEngineRef ee;
  JitcoreErrorRef err;
  uint64_t addr;

  printf("jitcore %s\n", JitcoreGetVersionString());
  if ((err = JitcoreCheckJITExecution())) return fail("JIT execution check", err);
  if ((err = JitcoreCreateHostTargetMachine(&tm, JITCORE_OPT_LEVEL_O2))) return fail("target machine", err);
  if ((err = JitcoreCreateModuleFromIR(&m, "hello", ir, strlen(ir)))) return fail("parsing IR", err);
  if ((err = JitcoreCreateMCJITCompiler(&ee, m, tm))) return fail("creating the engine", err);
  JitcoreDisposeTargetMachine(tm); /* the engine keeps its own copy */

  if ((err = JitcoreEngineGetFunctionAddress(ee, &addr, "fib"))) return fail("looking up fib", err);
  int64_t (*fib)(int64_t) = (int64_t(*)(int64_t))(uintptr_t)addr;
  printf("fib(50) = %lld\n", (long long)fib(50));

  if ((err = JitcoreEngineGetFunctionAddress(ee, &addr, "announce"))) return fail("looking up announce", err);
  void (*announce)(int64_t) = (void (*)(int64_t))(uintptr_t)addr;
  announce(fib(90));
  fflush(stdout);

  /* Errors are values, never aborts: */
  err = JitcoreEngineGetFunctionAddress(ee, &addr, "no_such_function");
  char *msg = JitcoreGetErrorMessage(err);
  printf("looking up a missing symbol: %s\n", msg);
  JitcoreDisposeErrorMessage(msg);

  /* Removing the module frees its code; the host owns it again. */
  if ((err = JitcoreEngineRemoveModule(ee, m))) return fail("removing the module", err);
  err = JitcoreEngineGetFunctionAddress(ee, &addr, "fib");
  printf("after removal, fib is %s\n", JitcoreGetErrorCode(err) == JITCORE_ERROR_SYMBOL_NOT_FOUND ? "gone" : "still there?!");
  JitcoreConsumeError(err);

  JitcoreStatistics stats;
  if ((err = JitcoreEngineGetStatistics(ee, &stats))) return fail("statistics", err);
  printf("modules compiled: %llu, object bytes: %llu\n", (unsigned long long)stats.ModulesCompiled,
         (unsigned long long)stats.ObjectBytesEmitted);

  JitcoreDisposeModule(m);
  JitcoreDisposeEngine(ee);
  return 0;
}
