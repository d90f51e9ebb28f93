/* An out-of-tree consumer of an installed libjitcore: built once through
   pkg-config and once through find_package(jitcore CONFIG) by
   scripts/test-packaging.sh. It jits `sum` and calls it. */
#include <jitcore.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define HEADER_VERSION \
  STR(JITCORE_VERSION_MAJOR) "." STR(JITCORE_VERSION_MINOR) "." STR(JITCORE_VERSION_PATCH)

/* On error: print its message (consuming it) and return 1. */
static int failed(JitcoreErrorRef err, const char *what) {
  char *msg = JitcoreGetErrorMessage(err);
  fprintf(stderr, "consumer: %s failed: %s\n", what, msg ? msg : "(no message)");
  JitcoreDisposeErrorMessage(msg);
  return 1;
}

int main(void) {
  static const char ir[] =
      "define i32 @sum(i32 %a, i32 %b) {\n"
      "  %r = add i32 %a, %b\n"
      "  ret i32 %r\n"
      "}\n";
  JitcoreTargetMachineRef tm = NULL;
  JitcoreModuleRef m = NULL;
  JitcoreEngineRef ee = NULL;
  JitcoreErrorRef err;
  uint64_t addr = 0;
  unsigned major = 0, minor = 0, patch = 0;
  const char *version;
  int (*sum)(int, int);
  int r;

  err = JitcoreCreateHostTargetMachine(&tm, JITCORE_OPT_LEVEL_O2);
  if (err)
    return failed(err, "JitcoreCreateHostTargetMachine");

  err = JitcoreCreateModuleFromIR(&m, "sum", ir, strlen(ir));
  if (err) {
    JitcoreDisposeTargetMachine(tm);
    return failed(err, "JitcoreCreateModuleFromIR");
  }

  /* On success the engine owns m; on failure we still do. */
  err = JitcoreCreateMCJITCompiler(&ee, m, tm);
  if (err) {
    JitcoreDisposeModule(m);
    JitcoreDisposeTargetMachine(tm);
    return failed(err, "JitcoreCreateMCJITCompiler");
  }

  err = JitcoreEngineGetFunctionAddress(ee, &addr, "sum");
  if (err) {
    JitcoreDisposeEngine(ee);
    JitcoreDisposeTargetMachine(tm);
    return failed(err, "JitcoreEngineGetFunctionAddress");
  }
  if (addr == 0) {
    fprintf(stderr, "consumer: JitcoreEngineGetFunctionAddress returned address 0\n");
    JitcoreDisposeEngine(ee);
    JitcoreDisposeTargetMachine(tm);
    return 1;
  }

  sum = (int (*)(int, int))(uintptr_t)addr;
  r = sum(2, -5);
  printf("consumer: sum(2,-5) = %d\n", r);

  version = JitcoreGetVersionString();
  JitcoreGetVersion(&major, &minor, &patch);
  printf("consumer: libjitcore %s (header %s)\n", version ? version : "(null)", HEADER_VERSION);

  JitcoreDisposeEngine(ee);
  JitcoreDisposeTargetMachine(tm);

  if (r != -3) {
    fprintf(stderr, "consumer: sum(2,-5) returned %d, expected -3\n", r);
    return 1;
  }
  if (version == NULL || strcmp(version, HEADER_VERSION) != 0) {
    fprintf(stderr, "consumer: JitcoreGetVersionString() = %s, header says %s\n",
            version ? version : "(null)", HEADER_VERSION);
    return 1;
  }
  if (major != JITCORE_VERSION_MAJOR || minor != JITCORE_VERSION_MINOR ||
      patch != JITCORE_VERSION_PATCH) {
    fprintf(stderr, "consumer: JitcoreGetVersion() = %u.%u.%u, header says %s\n", major, minor,
            patch, HEADER_VERSION);
    return 1;
  }
  return 0;
}
