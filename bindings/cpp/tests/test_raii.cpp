// RAII: owners free what they own. Callbacks (std::function and what they
// capture) are destroyed with their engine or session; modules with their
// owner in either order; many create/destroy cycles leave no growth in the
// library's live code. Run under valgrind (bindings/cpp/README.md) this test
// also shows no leaks.
#include "test_util.hpp"

#include <memory>

using jitcore::ErrorCode;

TEST(callbacks_die_with_the_engine) {
  auto token = std::make_shared<int>(0);
  {
    auto ee = jitcore::Engine::create();
    ee.set_object_cache([token](jitcore::ModuleView, jitcore::ByteView) {},
                        [token](jitcore::ModuleView) { return jitcore::ObjectBuffer(); });
    ee.set_error_reporter([token](ErrorCode, std::string_view) {});
    // a replaced callback is kept until the engine is gone (the C API may
    // still call it for a compile under way)
    ee.set_object_cache([token](jitcore::ModuleView, jitcore::ByteView) {}, nullptr);
    CHECK_EQ(token.use_count(), 5L);
    ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
    CHECK_EQ(ee.function<int(int, int)>("sum")(1, 2), 3);
    jitcore::Engine moved = std::move(ee);
    CHECK_EQ(token.use_count(), 5L);
  }
  CHECK_EQ(token.use_count(), 1L);
}

TEST(callbacks_die_with_the_session) {
  auto token = std::make_shared<int>(0);
  {
    auto s = jitcore::Session::create();
    jitcore::Dylib d = s.create_dylib("d");
    s.set_object_cache([token](jitcore::ModuleView, jitcore::ByteView) {}, nullptr);
    s.set_error_reporter([token](ErrorCode, std::string_view) {});
    d.add_process_symbols([token](std::string_view) { return true; });
    d.add_materializer({"never_called"}, [token](const std::vector<std::string> &) -> jitcore::Materialized {
      return jitcore::Module();
    });
    CHECK_EQ(token.use_count(), 5L);
    // a dylib view keeps no callback alive once the session is gone
    s.reset();
    CHECK_EQ(token.use_count(), 1L);
    CHECK_ERROR(d.lookup("x"), InvalidArgument, "session is gone");
  }
  CHECK_EQ(token.use_count(), 1L);
}

TEST(materializer_dies_when_adding_fails) {
  auto token = std::make_shared<int>(0);
  auto s = jitcore::Session::create();
  s.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_ERROR(s.main_dylib().add_materializer({"sum"},
                                              [token](const std::vector<std::string> &) -> jitcore::Materialized {
                                                return jitcore::Module();
                                              }),
              DuplicateDefinition, "sum");
  CHECK_EQ(token.use_count(), 1L);
}

TEST(modules_and_owners_in_either_order) {
  // module view outlives its engine: the handle is recognized as dead
  jitcore::ModuleView v;
  {
    auto ee = jitcore::Engine::create();
    v = ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
    CHECK(v.live());
  }
  CHECK(!v.live());
  // an owning Module of a module the engine owns: its destructor does nothing
  {
    auto ee = jitcore::Engine::create();
    jitcore::ModuleView w = ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
    { jitcore::Module alias(w.native_handle()); }
    CHECK(w.live());
    CHECK_EQ(ee.function<int(int, int)>("sum")(2, 2), 4);
  }
  // a removed module given back outlives its engine
  jitcore::Module back;
  {
    auto ee = jitcore::Engine::create();
    auto w = ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
    back = ee.remove_module(w);
  }
  CHECK_EQ(back.name(), std::string("sum"));
}

TEST(cycles_free_everything) {
  std::string dir = tu::temp_dir("raii");
  for (int i = 0; i < 20; i++) {
    auto tm = jitcore::TargetMachine::host();
    auto ee = jitcore::Engine::create(tm);
    auto cache = jitcore::DiskCache::open(dir);
    ee.set_disk_cache(cache);
    auto v = ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
    CHECK_EQ(ee.function<int(int, int)>("sum")(i, 1), i + 1);
    if (i % 2)
      ee.remove_module(v); // the Module returned is freed here

    auto s = jitcore::Session::create();
    auto rt = s.main_dylib().create_resource_tracker();
    s.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR), rt);
    CHECK_EQ(s.function<int(int, int)>("sum")(i, 2), i + 2);
    if (i % 3 == 0) {
      rt.remove();
      CHECK_EQ(s.statistics().code_bytes_live, std::uint64_t{0});
    }
    auto err = jitcore::ErrorHandle::create(ErrorCode::Internal, "dropped unread");
    auto buf = jitcore::ObjectBuffer::copy(std::string_view("never handed over"));
    try {
      ee.function_address("missing");
    } catch (const jitcore::Error &) {
    }
  }
  tu::remove_tree(dir);
}

JITCORE_TEST_MAIN()
