// Object caches: host callbacks as std::function (in-memory map keyed by the
// module key), exceptions thrown by callbacks (rethrown to the caller, or
// sent to the reporter from compile threads, or dropped and counted), the
// error reporter, and the disk cache.
#include "test_util.hpp"

#include <map>
#include <mutex>
#include <thread>

using jitcore::ErrorCode;

namespace {

struct Boom : std::exception {
  const char *what() const noexcept override { return "boom from a callback"; }
};

// An in-memory object cache, keyed by the module key the callback gets.
struct MemoryCache {
  std::mutex mu;
  std::map<std::string, std::vector<std::uint8_t>> objects;
  int notified = 0, asked = 0, served = 0;
  std::vector<std::string> names;

  jitcore::CacheNotify notify() {
    return [this](jitcore::ModuleView m, jitcore::ByteView obj) {
      std::lock_guard<std::mutex> lock(mu);
      notified++;
      names.push_back(m.name());
      objects[m.key()] = obj.to_vector();
    };
  }
  jitcore::CacheGetBuffer get_buffer() {
    return [this](jitcore::ModuleView m) {
      std::lock_guard<std::mutex> lock(mu);
      asked++;
      auto it = objects.find(m.key());
      if (it == objects.end())
        return jitcore::ObjectBuffer();
      served++;
      return jitcore::ObjectBuffer::copy(it->second);
    };
  }
};

} // namespace

TEST(engine_memory_cache_second_run_hits) {
  MemoryCache cache;
  for (int run = 0; run < 2; run++) {
    auto ee = jitcore::Engine::create();
    ee.set_object_cache(cache.notify(), cache.get_buffer());
    ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
    CHECK_EQ(ee.function<int(int, int)>("sum")(2, -5), -3);
    auto st = ee.statistics();
    if (run == 0) {
      CHECK_EQ(st.modules_compiled, std::uint64_t{1});
      CHECK_EQ(st.cache_misses, std::uint64_t{1});
      CHECK_EQ(st.cache_hits, std::uint64_t{0});
    } else {
      CHECK_EQ(st.modules_compiled, std::uint64_t{0});
      CHECK_EQ(st.cache_hits, std::uint64_t{1});
    }
  }
  CHECK_EQ(cache.notified, 1); // not called again on the second run
  CHECK_EQ(cache.asked, 2);
  CHECK_EQ(cache.served, 1);
  CHECK_EQ(cache.objects.size(), std::size_t{1});
  CHECK_EQ(cache.names.at(0), std::string("sum"));
}

TEST(key_inside_callback_equals_key_for_target) {
  std::string inside;
  jitcore::Key inside_bytes{};
  auto ee = jitcore::Engine::create(jitcore::OptLevel::O2);
  ee.set_object_cache(
      [&](jitcore::ModuleView m, jitcore::ByteView) {
        inside = m.key();
        inside_bytes = m.key_bytes();
      },
      nullptr);
  auto m = jitcore::Module::from_ir("sum", tu::SUM_IR);
  auto tm = jitcore::TargetMachine::host(jitcore::OptLevel::O2);
  std::string outside = m.key(tm);
  // outside a callback there is no engine to key for
  CHECK_ERROR(m.view().key(), InvalidArgument, "");
  ee.add_module(std::move(m));
  ee.finalize();
  CHECK_EQ(inside, outside);
  static const char hexd[] = "0123456789abcdef";
  std::string hex;
  for (std::uint8_t b : inside_bytes) {
    hex += hexd[b >> 4];
    hex += hexd[b & 15];
  }
  CHECK_EQ(hex, inside);
}

TEST(session_memory_cache_second_run_hits) {
  MemoryCache cache;
  for (int run = 0; run < 2; run++) {
    auto s = jitcore::Session::create();
    s.set_object_cache(cache.notify(), cache.get_buffer());
    auto rt = s.main_dylib().create_resource_tracker();
    s.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR), rt);
    CHECK_EQ(s.function<int(int, int)>("sum")(20, 22), 42);
    CHECK_EQ(s.statistics().cache_hits, std::uint64_t{run == 1 ? 1u : 0u});
    rt.remove();
    CHECK_EQ(s.statistics().code_bytes_live, std::uint64_t{0});
  }
  CHECK_EQ(cache.notified, 1);
  CHECK_EQ(cache.served, 1);
}

TEST(throwing_notify_is_rethrown_to_the_caller) {
  auto ee = jitcore::Engine::create();
  int calls = 0;
  ee.set_object_cache(
      [&](jitcore::ModuleView, jitcore::ByteView) {
        calls++;
        throw Boom();
      },
      nullptr);
  ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_THROWS_AS(ee.function_address("sum"), Boom); // the original type
  CHECK_EQ(calls, 1);
  // the module was compiled all the same; the next lookup does not compile
  CHECK_EQ(ee.function<int(int, int)>("sum")(1, 2), 3);
  CHECK_EQ(calls, 1);
  CHECK_EQ(ee.statistics().modules_compiled, std::uint64_t{1});
  CHECK_EQ(ee.dropped_callback_exceptions(), std::uint64_t{0});
}

TEST(throwing_get_buffer_means_compile_and_is_rethrown) {
  auto ee = jitcore::Engine::create();
  ee.set_object_cache(nullptr, [](jitcore::ModuleView) -> jitcore::ObjectBuffer { throw std::logic_error("no"); });
  ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_THROWS_AS(ee.finalize(), std::logic_error);
  CHECK_EQ(ee.statistics().modules_compiled, std::uint64_t{1});
  CHECK_EQ(ee.function<int(int, int)>("sum")(5, 5), 10);
  // a session too
  auto s = jitcore::Session::create();
  s.set_object_cache(nullptr, [](jitcore::ModuleView) -> jitcore::ObjectBuffer { throw 42; }); // not a std::exception
  s.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_THROWS_AS(s.lookup("sum"), int);
  CHECK_EQ(s.function<int(int, int)>("sum")(5, 6), 11);
}

TEST(exceptions_on_compile_threads_go_to_the_reporter) {
  jitcore::SessionOptions o;
  o.compile_threads = 1; // notify runs on the pool thread, where no call can rethrow
  auto s = jitcore::Session::create(o);
  std::mutex mu;
  std::vector<std::pair<ErrorCode, std::string>> reports;
  s.set_error_reporter([&](ErrorCode c, std::string_view msg) {
    std::lock_guard<std::mutex> lock(mu);
    reports.emplace_back(c, std::string(msg));
  });
  s.set_object_cache([](jitcore::ModuleView, jitcore::ByteView) { throw Boom(); }, nullptr);
  s.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_EQ(s.function<int(int, int)>("sum")(2, 2), 4); // no throw here
  CHECK_EQ(reports.size(), std::size_t{1});
  if (!reports.empty()) {
    CHECK(reports[0].first == ErrorCode::Internal);
    CHECK_CONTAINS(reports[0].second, "notify");
    CHECK_CONTAINS(reports[0].second, "boom from a callback");
  }
  CHECK_EQ(s.dropped_callback_exceptions(), std::uint64_t{0});

  // without a reporter the exception is dropped and counted
  auto s2 = jitcore::Session::create(o);
  s2.set_object_cache([](jitcore::ModuleView, jitcore::ByteView) { throw Boom(); }, nullptr);
  s2.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_EQ(s2.function<int(int, int)>("sum")(3, 3), 6);
  CHECK_EQ(s2.dropped_callback_exceptions(), std::uint64_t{1});
}

TEST(lazy_compile_from_jitted_call_goes_to_the_reporter) {
  // A lazy function compiles when called through its stub: from jitted code
  // (here: straight through the Function), not inside a binding call.
  auto s = jitcore::Session::create();
  std::vector<std::string> reports;
  s.set_error_reporter([&](ErrorCode, std::string_view msg) { reports.emplace_back(msg); });
  s.set_object_cache([](jitcore::ModuleView, jitcore::ByteView) { throw std::runtime_error("lazy notify"); }, nullptr);
  s.main_dylib().add_module_lazy(jitcore::Module::from_ir("sum", tu::SUM_IR));
  auto f = s.function<int(int, int)>("sum"); // the stub, nothing compiled
  CHECK_EQ(f(7, 8), 15);
  CHECK_EQ(reports.size(), std::size_t{1});
  if (!reports.empty())
    CHECK_CONTAINS(reports[0], "lazy notify");
}

TEST(throwing_reporter_is_rethrown_or_dropped) {
  auto ee = jitcore::Engine::create();
  int reported = 0;
  ee.set_error_reporter([&](ErrorCode c, std::string_view) {
    reported++;
    CHECK(c == ErrorCode::Cache);
    throw Boom();
  });
  // a cached "object" that is garbage: rejected, reported, compiled instead
  ee.set_object_cache(nullptr, [](jitcore::ModuleView) {
    return jitcore::ObjectBuffer::copy(std::string_view("this is not an ELF object"));
  });
  ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_THROWS_AS(ee.function_address("sum"), Boom);
  CHECK_EQ(reported, 1);
  CHECK_EQ(ee.statistics().cache_rejected, std::uint64_t{1});
  CHECK_EQ(ee.function<int(int, int)>("sum")(1, 1), 2);
  // removing the reporter: nothing is called, nothing thrown
  ee.set_error_reporter(nullptr);
  ee.add_module(jitcore::Module::from_ir("sum2", "define i32 @two() {\n ret i32 2\n}\n"));
  CHECK_EQ(ee.function<int()>("two")(), 2);
  CHECK_EQ(reported, 1);
  CHECK_EQ(ee.statistics().cache_rejected, std::uint64_t{2});
}

TEST(replacing_and_clearing_callbacks) {
  auto ee = jitcore::Engine::create();
  int a = 0, b = 0;
  ee.set_object_cache([&](jitcore::ModuleView, jitcore::ByteView) { a++; }, nullptr);
  ee.set_object_cache([&](jitcore::ModuleView, jitcore::ByteView) { b++; }, nullptr);
  ee.add_module(jitcore::Module::from_ir("one", "define i32 @one() {\n ret i32 1\n}\n"));
  CHECK_EQ(ee.function<int()>("one")(), 1);
  CHECK_EQ(a, 0);
  CHECK_EQ(b, 1);
  ee.clear_object_cache();
  ee.add_module(jitcore::Module::from_ir("two", "define i32 @two() {\n ret i32 2\n}\n"));
  CHECK_EQ(ee.function<int()>("two")(), 2);
  CHECK_EQ(b, 1);
  // callbacks survive a move of their engine
  ee.set_object_cache([&](jitcore::ModuleView, jitcore::ByteView) { a++; }, nullptr);
  jitcore::Engine moved = std::move(ee);
  moved.add_module(jitcore::Module::from_ir("three", "define i32 @three() {\n ret i32 3\n}\n"));
  CHECK_EQ(moved.function<int()>("three")(), 3);
  CHECK_EQ(a, 1);
}

TEST(disk_cache_engine_and_session) {
  std::string dir = tu::temp_dir("disk");
  {
    auto cache = jitcore::DiskCache::open(dir + "/objects", 0);
    {
      auto ee = jitcore::Engine::create();
      ee.set_disk_cache(cache);
      ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
      CHECK_EQ(ee.function<int(int, int)>("sum")(1, 2), 3);
      CHECK_EQ(ee.statistics().cache_misses, std::uint64_t{1});
    }
    jitcore::DiskCacheStatistics ds = cache.statistics();
    CHECK_EQ(ds.writes, std::uint64_t{1});
    CHECK_EQ(ds.entries, std::uint64_t{1});
    CHECK(ds.bytes_on_disk > 0);
    {
      auto ee = jitcore::Engine::create();
      ee.set_disk_cache(cache);
      ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
      CHECK_EQ(ee.function<int(int, int)>("sum")(1, 2), 3);
      CHECK_EQ(ee.statistics().cache_hits, std::uint64_t{1});
      CHECK_EQ(ee.statistics().modules_compiled, std::uint64_t{0});
    }
    CHECK_EQ(cache.statistics().hits, std::uint64_t{1});
    // a session; the cache handle may go right after attaching
    auto s = jitcore::Session::create();
    s.set_disk_cache(cache);
    cache.reset();
    s.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
    CHECK_EQ(s.function<int(int, int)>("sum")(4, 5), 9);
    CHECK_EQ(s.statistics().cache_hits, std::uint64_t{1}); // same key as the engine's
  }
  CHECK_ERROR(jitcore::DiskCache::open(""), InvalidArgument, "");
  tu::remove_tree(dir);
}

JITCORE_TEST_MAIN()
