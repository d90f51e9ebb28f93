// examples/cpp/job.cpp: the job every language's example does (issue 11), in
// C++ with bindings/cpp/jitcore.hpp; examples/c/job.c is the same program in
// C, line for line, and prints the same lines (but the first).
//
//   1. parse an IR module: one function calls a host function (host_scale,
//      registered as an absolute symbol / global mapping), one uses libc
//      (strlen);
//   2. JIT it through a session and through an engine;
//   3. with an object cache written here (an in-memory map keyed by the
//      module key, ModuleView::key() inside the callback), twice: the second
//      run loads from the cache (notify is not called again, the statistics
//      count a hit);
//   4. call the jitted functions and check the results;
//   5. look up a missing symbol: error code and message;
//   6. remove the code (tracker / remove_module): code_bytes_live goes back to 0.
//
// Build it as any consumer does, with find_package(jitcore CONFIG) and the
// jitcore::cpp target (examples/cpp/CMakeLists.txt). Exits 0 when every
// check passed.
#include <jitcore.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace {

const char IR[] = "declare i64 @host_scale(i64)\n"
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

// The host function the jitted code calls.
std::int64_t host_scale(std::int64_t x) { return 10 * x; }

// ---- an object cache in C++: an in-memory map keyed by the module key ----
// Callbacks run on the thread that compiles: here the main thread.
struct MemoryCache {
  std::map<std::string, std::vector<std::uint8_t>> objects;
  int notified = 0, asked = 0, served = 0;

  jitcore::CacheNotify notify() {
    return [this](jitcore::ModuleView m, jitcore::ByteView object) {
      notified++;
      objects[m.key()] = object.to_vector();
    };
  }
  jitcore::CacheGetBuffer get_buffer() {
    return [this](jitcore::ModuleView m) {
      asked++;
      auto it = objects.find(m.key());
      if (it == objects.end())
        return jitcore::ObjectBuffer(); // not cached: compile
      served++;
      return jitcore::ObjectBuffer::copy(it->second);
    };
  }
};

// ---- checks ----
int failures = 0;
void check(bool ok, const char *what) {
  if (!ok) {
    failures++;
    std::printf("CHECK FAILED: %s\n", what);
  }
}

// 4: call the jitted functions and check the results.
void call_and_check(const char *label, int run, jitcore::Function<std::int64_t(std::int64_t)> scaled_plus_one,
                    jitcore::Function<std::int64_t(const char *)> length_of) {
  std::int64_t a = scaled_plus_one(4);
  std::int64_t b = length_of("hello, jitcore");
  std::printf("%s run %d: scaled_plus_one(4) = %lld, length_of(\"hello, jitcore\") = %lld\n", label, run,
              static_cast<long long>(a), static_cast<long long>(b));
  check(a == 41, "scaled_plus_one(4) == 41");
  check(b == 14, "length_of(\"hello, jitcore\") == 14");
}

// 3: the cache counters and the statistics of this run.
void show_cache(const char *label, int run, const MemoryCache &c, const jitcore::Statistics &st) {
  std::printf("%s run %d: cache notified %d, asked %d, served %d; statistics: compiled %llu, cache hits %llu, "
              "misses %llu\n",
              label, run, c.notified, c.asked, c.served, static_cast<unsigned long long>(st.modules_compiled),
              static_cast<unsigned long long>(st.cache_hits), static_cast<unsigned long long>(st.cache_misses));
  check(c.notified == 1, "notify called once in all (not again on the second run)");
  check(st.modules_compiled == (run == 1 ? 1u : 0u), "compiled on the first run only");
  check(st.cache_hits == (run == 1 ? 0u : 1u), "a cache hit on the second run");
}

// 5: a missing symbol gives SYMBOL_NOT_FOUND and a message naming it.
template <class Lookup> void show_missing(const char *label, int run, Lookup lookup) {
  try {
    lookup("no_such_function");
    check(false, "looking up a missing symbol fails");
  } catch (const jitcore::Error &e) {
    std::printf("%s run %d: missing symbol: error %d (%s): %s\n", label, run, static_cast<int>(e.code()),
                jitcore::to_string(e.code()), e.what());
    check(e.code() == jitcore::ErrorCode::SymbolNotFound, "the code is SYMBOL_NOT_FOUND");
    check(std::string(e.what()).find("no_such_function") != std::string::npos, "the message names the symbol");
  }
}

// 6: what removing the code left.
void show_removed(const char *label, int run, std::uint64_t before, std::uint64_t after) {
  std::printf("%s run %d: CodeBytesLive %llu after the calls, %llu after removing the code\n", label, run,
              static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
  check(before > 0, "code is live after the calls");
  check(after == 0, "CodeBytesLive is 0 after removing the code");
}

// 2: through a session.
void run_session(MemoryCache &cache, int run) {
  auto s = jitcore::Session::create();
  s.set_object_cache(cache.notify(), cache.get_buffer());
  jitcore::Dylib main_dylib = s.main_dylib();
  main_dylib.define_absolute_symbol("host_scale", &host_scale);
  jitcore::ResourceTracker rt = main_dylib.create_resource_tracker();
  main_dylib.add_module(jitcore::Module::from_ir("job", IR), rt); // the session owns it now
  call_and_check("session", run, main_dylib.function<std::int64_t(std::int64_t)>("scaled_plus_one"),
                 main_dylib.function<std::int64_t(const char *)>("length_of"));
  jitcore::Statistics st = s.statistics();
  show_cache("session", run, cache, st);
  show_missing("session", run, [&](const char *name) { return main_dylib.lookup(name); });
  rt.remove();
  show_removed("session", run, st.code_bytes_live, s.statistics().code_bytes_live);
} // rt, s: freed here

// 2: through an engine.
void run_engine(MemoryCache &cache, int run) {
  auto ee = jitcore::Engine::create(jitcore::OptLevel::O2);
  ee.set_object_cache(cache.notify(), cache.get_buffer());
  ee.add_global_mapping("host_scale", &host_scale);
  jitcore::ModuleView m = ee.add_module(jitcore::Module::from_ir("job", IR)); // the engine owns it now
  call_and_check("engine", run, ee.function<std::int64_t(std::int64_t)>("scaled_plus_one"),
                 ee.function<std::int64_t(const char *)>("length_of"));
  jitcore::Statistics st = ee.statistics();
  show_cache("engine", run, cache, st);
  show_missing("engine", run, [&](const char *name) { return ee.function_address(name); });
  jitcore::Module back = ee.remove_module(m); // ours again
  show_removed("engine", run, st.code_bytes_live, ee.statistics().code_bytes_live);
} // back, ee: freed here

} // namespace

int main() {
  std::printf("job (C++): jitcore %s\n", jitcore::version_string().c_str());
  try {
    MemoryCache session_cache, engine_cache;
    for (int run = 1; run <= 2; run++)
      run_session(session_cache, run);
    for (int run = 1; run <= 2; run++)
      run_engine(engine_cache, run);
  } catch (const jitcore::Error &e) {
    std::printf("job: error %d (%s): %s\n", static_cast<int>(e.code()), jitcore::to_string(e.code()), e.what());
    return 1;
  }
  if (failures) {
    std::printf("job: %d check(s) failed\n", failures);
    return 1;
  }
  std::printf("job: all checks passed\n");
  return 0;
}
