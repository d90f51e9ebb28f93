// Errors: jitcore::Error carries the library's code and message; ErrorHandle
// owns raw C errors; every empty (moved-from, reset, default) object throws
// Error(InvalidArgument) instead of reaching the C library; versions.
#include "test_util.hpp"

#include <type_traits>

using jitcore::ErrorCode;

static_assert(std::is_base_of<std::runtime_error, jitcore::Error>::value, "Error is a std::runtime_error");
// Owners are move-only; views are copyable.
static_assert(!std::is_copy_constructible<jitcore::Engine>::value, "");
static_assert(!std::is_copy_constructible<jitcore::Session>::value, "");
static_assert(!std::is_copy_constructible<jitcore::Module>::value, "");
static_assert(!std::is_copy_constructible<jitcore::TargetMachine>::value, "");
static_assert(!std::is_copy_constructible<jitcore::ResourceTracker>::value, "");
static_assert(!std::is_copy_constructible<jitcore::ObjectBuffer>::value, "");
static_assert(!std::is_copy_constructible<jitcore::DiskCache>::value, "");
static_assert(!std::is_copy_constructible<jitcore::ErrorHandle>::value, "");
static_assert(std::is_nothrow_move_constructible<jitcore::Engine>::value, "");
static_assert(std::is_nothrow_move_constructible<jitcore::Session>::value, "");
static_assert(std::is_nothrow_move_constructible<jitcore::Module>::value, "");
static_assert(std::is_copy_constructible<jitcore::Dylib>::value, "");
static_assert(std::is_copy_constructible<jitcore::ModuleView>::value, "");

TEST(bad_ir_has_code_and_message) {
  try {
    jitcore::Module::from_ir("broken", "define i32 @f( {\n");
    tu::fail(__FILE__, __LINE__, "bad IR did not throw");
  } catch (const std::runtime_error &e) { // catchable as the standard base
    auto *je = dynamic_cast<const jitcore::Error *>(&e);
    CHECK(je != nullptr);
    if (je) {
      CHECK(je->code() == ErrorCode::InvalidIR);
      CHECK_EQ(static_cast<int>(je->c_code()), static_cast<int>(JITCORE_ERROR_INVALID_IR));
      CHECK_CONTAINS(je->message(), "broken"); // the module name
      CHECK_CONTAINS(je->message(), "1:");    // line:column
    }
  }
}

TEST(missing_symbol_names_it) {
  auto ee = jitcore::Engine::create();
  ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_ERROR(ee.function_address("no_such_function"), SymbolNotFound, "no_such_function");
  // the engine stays usable
  CHECK_EQ(ee.function<int(int, int)>("sum")(2, -5), -3);
  auto s = jitcore::Session::create();
  CHECK_ERROR(s.lookup("no_such_function"), SymbolNotFound, "no_such_function");
  CHECK_ERROR(s.function<int()>("no_such_function"), SymbolNotFound, "main");
}

TEST(code_names) {
  CHECK_EQ(std::string(jitcore::to_string(ErrorCode::SymbolNotFound)), std::string("SYMBOL_NOT_FOUND"));
  CHECK_EQ(std::string(jitcore::to_string(ErrorCode::InvalidArgument)), std::string("INVALID_ARGUMENT"));
  CHECK_EQ(static_cast<unsigned>(ErrorCode::Internal), 15u);
  jitcore::Error e(ErrorCode::Link, "link failed");
  jitcore::Error copy = e; // a plain value
  CHECK(copy.code() == ErrorCode::Link);
  CHECK_EQ(std::string(copy.what()), std::string("link failed"));
}

TEST(error_handle_owns_c_errors) {
  auto h = jitcore::ErrorHandle::create(ErrorCode::UnresolvedSymbol, "nobody defines x");
  CHECK(static_cast<bool>(h));
  CHECK(h.code() == ErrorCode::UnresolvedSymbol);
  jitcore::ErrorHandle moved = std::move(h);
  CHECK(!h);
  CHECK(h.code() == ErrorCode::Success);
  CHECK_ERROR(h.take(), InvalidArgument, "ErrorHandle");
  h.throw_if_error(); // empty means success: nothing thrown
  jitcore::Error e = moved.take();
  CHECK(e.code() == ErrorCode::UnresolvedSymbol);
  CHECK_EQ(std::string(e.what()), std::string("nobody defines x"));
  CHECK(!moved);
  // throw_if_error consumes and throws
  auto h2 = jitcore::ErrorHandle::create(ErrorCode::IO, "disk on fire");
  CHECK_ERROR(h2.throw_if_error(), IO, "disk on fire");
  CHECK(!h2);
  // an error the destructor consumes (valgrind sees no leak)
  auto h3 = jitcore::ErrorHandle::create(ErrorCode::Cache, "dropped");
  // adopt a raw C error from the C API and release it back
  jitcore::ErrorHandle raw(JitcoreCreateError(JITCORE_ERROR_COMPILE, "raw"));
  JitcoreErrorRef r = raw.release();
  CHECK(!raw);
  CHECK(JitcoreGetErrorCode(r) == JITCORE_ERROR_COMPILE);
  JitcoreConsumeError(r);
  // a code outside the enum becomes Internal (the C rule)
  CHECK(jitcore::ErrorHandle::create(static_cast<ErrorCode>(999), "x").code() == ErrorCode::Internal);
}

TEST(version_matches_header) {
  jitcore::Version v = jitcore::version();
  CHECK_EQ(v.major, static_cast<unsigned>(JITCORE_VERSION_MAJOR));
  CHECK_EQ(v.minor, static_cast<unsigned>(JITCORE_VERSION_MINOR));
  CHECK_EQ(v.patch, static_cast<unsigned>(JITCORE_VERSION_PATCH));
  CHECK_EQ(jitcore::version_string(),
           std::to_string(JITCORE_VERSION_MAJOR) + "." + std::to_string(JITCORE_VERSION_MINOR) + "." +
               std::to_string(JITCORE_VERSION_PATCH));
  jitcore::check_jit_execution(); // this process may JIT
}

TEST(moved_from_target_machine_and_module_throw) {
  auto tm = jitcore::TargetMachine::host();
  CHECK(!tm.triple().empty());
  auto tm2 = std::move(tm);
  CHECK(!tm);
  CHECK_ERROR(tm.triple(), InvalidArgument, "TargetMachine");
  CHECK_ERROR(jitcore::Engine::create(tm), InvalidArgument, "TargetMachine");

  auto m = jitcore::Module::from_ir("sum", tu::SUM_IR);
  CHECK_EQ(m.name(), std::string("sum"));
  auto m2 = std::move(m);
  CHECK_ERROR(m.name(), InvalidArgument, "Module");
  CHECK_ERROR(m.view(), InvalidArgument, "Module");
  CHECK_ERROR(m.key(tm2), InvalidArgument, "Module");
  auto ee = jitcore::Engine::create(tm2);
  CHECK_ERROR(ee.add_module(std::move(m)), InvalidArgument, "Module");
  auto s = jitcore::Session::create();
  CHECK_ERROR(s.main_dylib().add_module(std::move(m)), InvalidArgument, "Module");
  m2.reset();
  CHECK_ERROR(m2.name(), InvalidArgument, "Module");
}

TEST(moved_from_engine_throws) {
  auto ee = jitcore::Engine::create();
  ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  jitcore::Engine other = std::move(ee);
  CHECK(!ee);
  CHECK(static_cast<bool>(other));
  CHECK_EQ(other.function<int(int, int)>("sum")(40, 2), 42);
  CHECK_ERROR(ee.function_address("sum"), InvalidArgument, "Engine");
  CHECK_ERROR(ee.function<int(int, int)>("sum"), InvalidArgument, "Engine");
  CHECK_ERROR(ee.add_module(jitcore::Module::from_ir("m", tu::SUM_IR)), InvalidArgument, "Engine");
  CHECK_ERROR(ee.finalize(), InvalidArgument, "Engine");
  CHECK_ERROR(ee.statistics(), InvalidArgument, "Engine");
  CHECK_ERROR(ee.set_object_cache(nullptr, nullptr), InvalidArgument, "Engine");
  CHECK_ERROR(ee.set_error_reporter(nullptr), InvalidArgument, "Engine");
  CHECK_ERROR(ee.target_data(), InvalidArgument, "Engine");
  CHECK_ERROR(ee.set_ir_pipeline(jitcore::IRPipeline::None), InvalidArgument, "Engine");
  CHECK_ERROR(ee.add_global_mapping("x", std::uint64_t{1}), InvalidArgument, "Engine");
  CHECK_ERROR(ee.run_static_constructors(), InvalidArgument, "Engine");
  CHECK_ERROR(ee.dropped_callback_exceptions(), InvalidArgument, "Engine");
  // the data layout view dies with its engine
  jitcore::TargetData td = other.target_data();
  CHECK_EQ(td.pointer_size(), 8u);
  other.reset();
  CHECK(!other);
  CHECK_ERROR(td.pointer_size(), InvalidArgument, "engine is gone");
  CHECK_ERROR(other.function_address("sum"), InvalidArgument, "Engine");
  jitcore::Engine never;
  CHECK_ERROR(never.finalize(), InvalidArgument, "Engine");
  // move-assigning over a live engine disposes of it
  auto e1 = jitcore::Engine::create();
  e1 = jitcore::Engine::create();
  CHECK(static_cast<bool>(e1));
}

TEST(moved_from_session_dylib_tracker_throw) {
  auto s = jitcore::Session::create();
  jitcore::Dylib main = s.main_dylib();
  auto rt = main.create_resource_tracker();
  main.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR), rt);
  jitcore::Session s2 = std::move(s);
  CHECK_ERROR(s.main_dylib(), InvalidArgument, "Session");
  CHECK_ERROR(s.lookup("sum"), InvalidArgument, "Session");
  CHECK_ERROR(s.create_dylib("x"), InvalidArgument, "Session");
  CHECK_ERROR(s.statistics(), InvalidArgument, "Session");
  CHECK_ERROR(s.set_object_cache(nullptr, nullptr), InvalidArgument, "Session");
  // a dylib view outlives moves of its session
  CHECK_EQ(main.function<int(int, int)>("sum")(1, 2), 3);
  auto rt2 = std::move(rt);
  CHECK_ERROR(rt.remove(), InvalidArgument, "ResourceTracker");
  CHECK_ERROR(main.add_module(jitcore::Module::from_ir("m", tu::SUM_IR), rt), InvalidArgument, "ResourceTracker");
  jitcore::Dylib none;
  CHECK_ERROR(none.lookup("sum"), InvalidArgument, "Dylib");
  CHECK_ERROR(none.name(), InvalidArgument, "Dylib");
  // once the session is gone, dylib views and trackers refuse
  s2.reset();
  CHECK_ERROR(main.lookup("sum"), InvalidArgument, "session is gone");
  CHECK_ERROR(main.name(), InvalidArgument, "session is gone");
  CHECK_ERROR(main.add_module(jitcore::Module::from_ir("m", tu::SUM_IR)), InvalidArgument, "session is gone");
  CHECK_ERROR(main.create_resource_tracker(), InvalidArgument, "session is gone");
  CHECK_ERROR(rt2.remove(), InvalidArgument, ""); // the C library's check
}

TEST(moved_from_cache_buffer_function_view_throw) {
  std::string dir = tu::temp_dir("moved");
  auto c = jitcore::DiskCache::open(dir);
  c.statistics();
  auto c2 = std::move(c);
  CHECK_ERROR(c.statistics(), InvalidArgument, "DiskCache");
  auto ee = jitcore::Engine::create();
  CHECK_ERROR(ee.set_disk_cache(c), InvalidArgument, "DiskCache");
  c2.reset();
  CHECK_ERROR(c2.statistics(), InvalidArgument, "DiskCache");
  tu::remove_tree(dir);

  jitcore::Function<int(int)> f;
  CHECK(!f);
  CHECK_ERROR(f(1), InvalidArgument, "Function");

  jitcore::ModuleView v;
  CHECK(!v.live());
  CHECK_ERROR(v.name(), InvalidArgument, "ModuleView");
  // a view of a module that died is recognized by the library
  auto m = jitcore::Module::from_ir("gone", tu::SUM_IR);
  jitcore::ModuleView dead = m.view();
  CHECK(dead.live());
  m.reset();
  CHECK(!dead.live());
  CHECK_ERROR(dead.name(), InvalidArgument, "not live");

  auto buf = jitcore::ObjectBuffer::copy(std::string_view("\x7f" "ELF"));
  CHECK(static_cast<bool>(buf));
  auto buf2 = std::move(buf);
  CHECK(!buf);
  CHECK(static_cast<bool>(buf2));
}

TEST(failed_add_keeps_ownership) {
  auto ee = jitcore::Engine::create();
  ee.add_module(jitcore::Module::from_ir("a", tu::SUM_IR));
  auto dup = jitcore::Module::from_ir("b", tu::SUM_IR);
  CHECK_ERROR(ee.add_module(std::move(dup)), DuplicateDefinition, "sum");
  CHECK(static_cast<bool>(dup)); // still ours
  CHECK_EQ(dup.name(), std::string("b"));
  auto s = jitcore::Session::create();
  s.main_dylib().add_module(jitcore::Module::from_ir("a", tu::SUM_IR));
  CHECK_ERROR(s.main_dylib().add_module(std::move(dup)), DuplicateDefinition, "sum");
  CHECK(static_cast<bool>(dup));
  // a module already added elsewhere
  auto m = jitcore::Module::from_ir("c", "define i32 @c() {\n ret i32 1\n}\n");
  jitcore::ModuleView v = m.view();
  auto e2 = jitcore::Engine::create();
  e2.add_module(std::move(m));
  CHECK_ERROR(ee.add_module(jitcore::Module(v.native_handle())), ModuleAlreadyAdded, "");
  // remove_module from the wrong engine
  CHECK_ERROR(ee.remove_module(v), ModuleNotFound, "");
}

TEST(untrusted_ir_and_failed_create_keep_ownership) {
  auto m = jitcore::Module::from_untrusted_ir("sum", tu::SUM_IR); // parsed in a forked child first
  CHECK_EQ(m.name(), std::string("sum"));
  CHECK_ERROR(jitcore::Module::from_untrusted_ir("bad", "define i32 @f( {\n"), InvalidIR, "bad");
  // a module for another architecture: the engine is not made, the module stays ours
  auto foreign = jitcore::Module::from_ir("foreign", "target triple = \"riscv64-unknown-linux-gnu\"\n"
                                                     "define i32 @f() {\n ret i32 1\n}\n");
  auto tm = jitcore::TargetMachine::host();
  CHECK_ERROR(jitcore::Engine::create(tm, std::move(foreign)), Unsupported, "");
  CHECK(static_cast<bool>(foreign));
  auto ee = jitcore::Engine::create(tm, std::move(m));
  CHECK(!m);
  CHECK_EQ(ee.function<int(int, int)>("sum")(1, 1), 2);
}

JITCORE_TEST_MAIN()
