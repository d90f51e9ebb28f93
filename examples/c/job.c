/* examples/c/job.c: the job every language's example does (issue 11), in C;
 * examples/cpp/job.cpp is the same program in C++, line for line.
 *
 *   1. parse an IR module: one function calls a host function (host_scale,
 *      registered as an absolute symbol / global mapping), one uses libc
 *      (strlen);
 *   2. JIT it through a session and through an engine;
 *   3. with an object cache written here (an in-memory map keyed by the
 *      module key, JitcoreModuleGetKey(M, NULL, ...) inside the callback),
 *      twice: the second run loads from the cache (notify is not called
 *      again, the statistics count a hit);
 *   4. call the jitted functions and check the results;
 *   5. look up a missing symbol: error code and message;
 *   6. remove the code (tracker / RemoveModule): CodeBytesLive goes back to 0.
 *
 * Build it as any consumer does (examples/c/run.sh <prefix>):
 *   cc -std=c11 job.c $(pkg-config --cflags --libs jitcore) -Wl,-rpath,$(pkg-config --variable=libdir jitcore)
 * Exits 0 when every check passed. */
#include <jitcore.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char IR[] =
    "declare i64 @host_scale(i64)\n"
    "declare i64 @strlen(ptr)\n"
    "define i64 @scaled_plus_one(i64 %x) {\n"
    "  %s = call i64 @host_scale(i64 %x)\n"
    "  %r = add i64 %s, 1\n"
    "  ret i64 %r\n"
    "}\n"
    "define i64 @length_of(ptr %str) {\n"
    "  %n = call i64 @strlen(ptr %str)\n"
    "  ret i64 %n\n"
    "}\n";

/* The host function the jitted code calls. */
static int64_t host_scale(int64_t x) { return 10 * x; }

/* ---- an object cache in C: an in-memory map keyed by the module key ---- */
#define MAX_ENTRIES 16
struct memory_cache {
  char keys[MAX_ENTRIES][JITCORE_MODULE_KEY_HEX_SIZE];
  uint8_t *objects[MAX_ENTRIES];
  size_t sizes[MAX_ENTRIES];
  int entries, notified, asked, served;
};

/* Callbacks run on the thread that compiles: here the main thread. */
static void cache_notify(void *ctx, JitcoreModuleRef m, const uint8_t *object, size_t len) {
  struct memory_cache *c = ctx;
  char key[JITCORE_MODULE_KEY_HEX_SIZE];
  c->notified++;
  JitcoreErrorRef err = JitcoreModuleGetKey(m, NULL, NULL, key);
  if (err || c->entries == MAX_ENTRIES) {
    JitcoreConsumeError(err);
    return;
  }
  memcpy(c->keys[c->entries], key, sizeof key);
  c->objects[c->entries] = malloc(len);
  if (!c->objects[c->entries])
    return;
  memcpy(c->objects[c->entries], object, len);
  c->sizes[c->entries++] = len;
}

static JitcoreObjectBufferRef cache_get_buffer(void *ctx, JitcoreModuleRef m) {
  struct memory_cache *c = ctx;
  char key[JITCORE_MODULE_KEY_HEX_SIZE];
  c->asked++;
  JitcoreErrorRef err = JitcoreModuleGetKey(m, NULL, NULL, key);
  if (err) {
    JitcoreConsumeError(err);
    return NULL;
  }
  for (int i = 0; i < c->entries; i++)
    if (strcmp(c->keys[i], key) == 0) {
      c->served++;
      return JitcoreCreateObjectBufferCopy(c->objects[i], c->sizes[i]);
    }
  return NULL; /* not cached: compile */
}

static void cache_free(struct memory_cache *c) {
  for (int i = 0; i < c->entries; i++)
    free(c->objects[i]);
}

/* ---- checks ---- */
static int failures = 0;
static void check(int ok, const char *what) {
  if (!ok) {
    failures++;
    printf("CHECK FAILED: %s\n", what);
  }
}

/* A call that must succeed: print the error and stop otherwise. */
static void must(JitcoreErrorRef err, const char *what) {
  if (!err)
    return;
  JitcoreErrorCode code = JitcoreGetErrorCode(err);
  char *msg = JitcoreGetErrorMessage(err);
  printf("job: %s failed: error %d: %s\n", what, (int)code, msg);
  JitcoreDisposeErrorMessage(msg);
  exit(1);
}

static const char *code_name(JitcoreErrorCode code) {
  return code == JITCORE_ERROR_SYMBOL_NOT_FOUND ? "SYMBOL_NOT_FOUND" : "another code";
}

/* 4: call the jitted functions and check the results. */
static void call_and_check(const char *label, int run, uint64_t scaled_addr, uint64_t length_addr) {
  int64_t (*scaled_plus_one)(int64_t) = (int64_t (*)(int64_t))(uintptr_t)scaled_addr;
  int64_t (*length_of)(const char *) = (int64_t (*)(const char *))(uintptr_t)length_addr;
  int64_t a = scaled_plus_one(4);
  int64_t b = length_of("hello, jitcore");
  printf("%s run %d: scaled_plus_one(4) = %lld, length_of(\"hello, jitcore\") = %lld\n", label, run, (long long)a,
         (long long)b);
  check(a == 41, "scaled_plus_one(4) == 41");
  check(b == 14, "length_of(\"hello, jitcore\") == 14");
}

/* 3: the cache counters and the statistics of this run. */
static void show_cache(const char *label, int run, const struct memory_cache *c, const JitcoreStatistics *st) {
  printf("%s run %d: cache notified %d, asked %d, served %d; statistics: compiled %llu, cache hits %llu, misses %llu\n",
         label, run, c->notified, c->asked, c->served, (unsigned long long)st->ModulesCompiled,
         (unsigned long long)st->CacheHits, (unsigned long long)st->CacheMisses);
  check(c->notified == 1, "notify called once in all (not again on the second run)");
  check(st->ModulesCompiled == (run == 1 ? 1u : 0u), "compiled on the first run only");
  check(st->CacheHits == (run == 1 ? 0u : 1u), "a cache hit on the second run");
}

/* 5: a missing symbol gives SYMBOL_NOT_FOUND and a message naming it. */
static void show_missing(const char *label, int run, JitcoreErrorRef err) {
  check(err != NULL, "looking up a missing symbol fails");
  if (!err)
    return;
  JitcoreErrorCode code = JitcoreGetErrorCode(err);
  char *msg = JitcoreGetErrorMessage(err);
  printf("%s run %d: missing symbol: error %d (%s): %s\n", label, run, (int)code, code_name(code), msg);
  check(code == JITCORE_ERROR_SYMBOL_NOT_FOUND, "the code is SYMBOL_NOT_FOUND");
  check(strstr(msg, "no_such_function") != NULL, "the message names the symbol");
  JitcoreDisposeErrorMessage(msg);
}

/* 6: what removing the code left. */
static void show_removed(const char *label, int run, uint64_t before, uint64_t after) {
  printf("%s run %d: CodeBytesLive %llu after the calls, %llu after removing the code\n", label, run,
         (unsigned long long)before, (unsigned long long)after);
  check(before > 0, "code is live after the calls");
  check(after == 0, "CodeBytesLive is 0 after removing the code");
}

/* 2: through a session. */
static void run_session(struct memory_cache *cache, int run) {
  JitcoreSessionRef s;
  JitcoreModuleRef m;
  JitcoreStatistics st;
  uint64_t scaled, length, missing, live;
  must(JitcoreCreateSession(&s, NULL), "JitcoreCreateSession");
  JitcoreSessionSetObjectCache(s, cache_notify, cache_get_buffer, cache);
  JitcoreDylibRef main_dylib = JitcoreSessionGetMainDylib(s);
  JitcoreSymbolDefinition host = {"host_scale", (uint64_t)(uintptr_t)&host_scale};
  must(JitcoreDylibDefineAbsoluteSymbols(main_dylib, &host, 1), "JitcoreDylibDefineAbsoluteSymbols");
  JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(main_dylib);
  must(JitcoreCreateModuleFromIR(&m, "job", IR, strlen(IR)), "JitcoreCreateModuleFromIR");
  must(JitcoreDylibAddModule(main_dylib, m, rt), "JitcoreDylibAddModule"); /* the session owns m now */
  must(JitcoreSessionLookup(s, main_dylib, &scaled, "scaled_plus_one"), "lookup scaled_plus_one");
  must(JitcoreSessionLookup(s, main_dylib, &length, "length_of"), "lookup length_of");
  call_and_check("session", run, scaled, length);
  must(JitcoreSessionGetStatistics(s, &st), "JitcoreSessionGetStatistics");
  show_cache("session", run, cache, &st);
  show_missing("session", run, JitcoreSessionLookup(s, main_dylib, &missing, "no_such_function"));
  live = st.CodeBytesLive;
  must(JitcoreResourceTrackerRemove(rt), "JitcoreResourceTrackerRemove");
  must(JitcoreSessionGetStatistics(s, &st), "JitcoreSessionGetStatistics");
  show_removed("session", run, live, st.CodeBytesLive);
  JitcoreDisposeResourceTracker(rt);
  JitcoreDisposeSession(s);
}

/* 2: through an engine. */
static void run_engine(struct memory_cache *cache, int run) {
  JitcoreTargetMachineRef tm;
  JitcoreEngineRef ee;
  JitcoreModuleRef m;
  JitcoreStatistics st;
  uint64_t scaled, length, missing, live;
  must(JitcoreCreateHostTargetMachine(&tm, JITCORE_OPT_LEVEL_O2), "JitcoreCreateHostTargetMachine");
  must(JitcoreCreateMCJITCompiler(&ee, NULL, tm), "JitcoreCreateMCJITCompiler");
  JitcoreEngineSetObjectCache(ee, cache_notify, cache_get_buffer, cache);
  must(JitcoreEngineAddGlobalMapping(ee, "host_scale", (uint64_t)(uintptr_t)&host_scale),
       "JitcoreEngineAddGlobalMapping");
  must(JitcoreCreateModuleFromIR(&m, "job", IR, strlen(IR)), "JitcoreCreateModuleFromIR");
  must(JitcoreEngineAddModule(ee, m), "JitcoreEngineAddModule"); /* the engine owns m now */
  must(JitcoreEngineGetFunctionAddress(ee, &scaled, "scaled_plus_one"), "lookup scaled_plus_one");
  must(JitcoreEngineGetFunctionAddress(ee, &length, "length_of"), "lookup length_of");
  call_and_check("engine", run, scaled, length);
  must(JitcoreEngineGetStatistics(ee, &st), "JitcoreEngineGetStatistics");
  show_cache("engine", run, cache, &st);
  show_missing("engine", run, JitcoreEngineGetFunctionAddress(ee, &missing, "no_such_function"));
  live = st.CodeBytesLive;
  must(JitcoreEngineRemoveModule(ee, m), "JitcoreEngineRemoveModule"); /* m is ours again */
  must(JitcoreEngineGetStatistics(ee, &st), "JitcoreEngineGetStatistics");
  show_removed("engine", run, live, st.CodeBytesLive);
  JitcoreDisposeModule(m);
  JitcoreDisposeEngine(ee);
  JitcoreDisposeTargetMachine(tm);
}

int main(void) {
  printf("job (C): jitcore %s\n", JitcoreGetVersionString());
  struct memory_cache session_cache = {0}, engine_cache = {0};
  for (int run = 1; run <= 2; run++)
    run_session(&session_cache, run);
  for (int run = 1; run <= 2; run++)
    run_engine(&engine_cache, run);
  cache_free(&session_cache);
  cache_free(&engine_cache);
  if (failures) {
    printf("job: %d check(s) failed\n", failures);
    return 1;
  }
  printf("job: all checks passed\n");
  return 0;
}
