// The engine: create, add/remove modules, finalize, function and global
// addresses (typed), object files and buffers, global mappings, static
// constructors and destructors, target data, IR pipeline, statistics.
#include "test_util.hpp"

#include <thread>

using jitcore::ErrorCode;

static const char *COUNTER_IR = "@counter = global i32 5\n"
                                "define i32 @bump() {\n"
                                "  %v = load i32, ptr @counter\n"
                                "  %n = add i32 %v, 1\n"
                                "  store i32 %n, ptr @counter\n"
                                "  ret i32 %n\n"
                                "}\n";

TEST(create_add_lookup_typed) {
  auto tm = jitcore::TargetMachine::host(jitcore::OptLevel::O1);
  CHECK_CONTAINS(tm.triple(), "linux");
  auto m = jitcore::Module::from_ir("sum", tu::SUM_IR);
  auto ee = jitcore::Engine::create(tm, std::move(m)); // the engine owns it now
  CHECK(!m);
  auto sum = ee.function<int(int, int)>("sum");
  CHECK(static_cast<bool>(sum));
  CHECK_EQ(sum(2, -5), -3);
  CHECK_EQ(sum.address(), ee.function_address("sum"));
  // a second module, a global variable through global<T>
  ee.add_module(jitcore::Module::from_ir("counter", COUNTER_IR));
  int *counter = ee.global<int>("counter");
  CHECK_EQ(*counter, 5);
  CHECK_EQ(ee.function<int()>("bump")(), 6);
  CHECK_EQ(*counter, 6);
  *counter = 100;
  CHECK_EQ(ee.function<int()>("bump")(), 101);
  CHECK_EQ(ee.global_address("counter"), jitcore::address_of(counter));
}

TEST(remove_module_gives_it_back) {
  auto ee = jitcore::Engine::create();
  auto m = jitcore::Module::from_ir("sum", tu::SUM_IR);
  jitcore::ModuleView v = ee.add_module(std::move(m));
  CHECK(!m); // moved in: the engine owns it
  CHECK(v.live());
  CHECK_EQ(v.name(), std::string("sum"));
  CHECK_EQ(ee.function<int(int, int)>("sum")(1, 1), 2);
  CHECK(ee.statistics().code_bytes_live > 0);
  jitcore::Module back = ee.remove_module(v);
  CHECK(static_cast<bool>(back));
  CHECK_EQ(back.name(), std::string("sum"));
  CHECK_EQ(ee.statistics().code_bytes_live, std::uint64_t{0});
  CHECK_ERROR(ee.function_address("sum"), SymbolNotFound, "sum");
  CHECK_ERROR(ee.remove_module(v), ModuleNotFound, "");
  // and it can be added again, here or elsewhere
  auto e2 = jitcore::Engine::create();
  e2.add_module(std::move(back));
  CHECK_EQ(e2.function<int(int, int)>("sum")(20, 22), 42);
}

static int host_triple(int x) { return 3 * x; }
static int host_value = 77;

TEST(finalize_and_global_mappings) {
  static const char *IR = "declare i32 @host_triple(i32)\n"
                          "@host_value = external global i32\n"
                          "define i32 @use(i32 %x) {\n"
                          "  %t = call i32 @host_triple(i32 %x)\n"
                          "  %v = load i32, ptr @host_value\n"
                          "  %r = add i32 %t, %v\n"
                          "  ret i32 %r\n"
                          "}\n";
  auto ee = jitcore::Engine::create();
  ee.add_module(jitcore::Module::from_ir("use", IR));
  // nobody provides host_triple yet: finalize fails naming it, the engine stays usable
  CHECK_ERROR(ee.finalize(), UnresolvedSymbol, "host_triple");
  ee.add_global_mapping("host_triple", &host_triple);
  ee.add_global_mapping("host_value", jitcore::address_of(&host_value));
  ee.finalize(); // the retry works
  CHECK_EQ(ee.function<int(int)>("use")(2), 6 + 77);
  CHECK_ERROR(ee.add_global_mapping("host_triple", &host_triple), DuplicateDefinition, "host_triple");
}

TEST(object_buffers_and_files) {
  std::vector<std::uint8_t> obj = tu::compile_to_object("sum", tu::SUM_IR, "sum");
  CHECK(obj.size() > 64);
  static const char *CALLER = "declare i32 @sum(i32, i32)\n"
                              "define i32 @call_sum(i32 %a, i32 %b) {\n"
                              "  %r = call i32 @sum(i32 %a, i32 %b)\n"
                              "  ret i32 %r\n"
                              "}\n";
  {
    auto ee = jitcore::Engine::create();
    ee.add_object_buffer(obj);
    ee.add_module(jitcore::Module::from_ir("caller", CALLER));
    CHECK_EQ(ee.function<int(int, int)>("call_sum")(2, -5), -3);
    auto st = ee.statistics();
    CHECK_EQ(st.objects_loaded, std::uint64_t{2});
    CHECK_EQ(st.modules_compiled, std::uint64_t{1});
    CHECK_ERROR(ee.add_object_buffer(obj), DuplicateDefinition, "sum");
    CHECK_ERROR(ee.add_object_buffer(std::string_view("garbage, not an object")), InvalidObject, "");
  }
  std::string dir = tu::temp_dir("objects");
  std::string path = dir + "/sum.o";
  CHECK(tu::write_file(path, obj));
  {
    auto ee = jitcore::Engine::create();
    ee.add_object_file(path);
    ee.add_module(jitcore::Module::from_ir("caller", CALLER));
    CHECK_EQ(ee.function<int(int, int)>("call_sum")(40, 2), 42);
    CHECK_ERROR(ee.add_object_file(dir + "/missing.o"), IO, "missing.o");
  }
  tu::remove_tree(dir);
}

TEST(static_constructors_and_destructors) {
  tu::notes().clear();
  auto ee = jitcore::Engine::create();
  ee.add_global_mapping("host_note", &tu::host_note);
  ee.add_module(jitcore::Module::from_ir("ctors", tu::CTORS_IR));
  ee.run_static_constructors();
  CHECK_EQ(*ee.global<int>("g"), 42);
  ee.run_static_constructors(); // each at most once
  CHECK_EQ(tu::notes().size(), std::size_t{1});
  ee.run_static_destructors();
  CHECK_EQ(tu::notes().size(), std::size_t{2});
  CHECK_EQ(tu::notes().back(), 2);
}

TEST(target_data) {
  auto ee = jitcore::Engine::create();
  jitcore::TargetData td = ee.target_data();
  CHECK_EQ(td.pointer_size(), 8u);
  CHECK_EQ(td.abi_size("i64"), std::uint64_t{8});
  CHECK_EQ(td.abi_size("{i8, i64}"), std::uint64_t{16});
  CHECK_EQ(td.abi_alignment("{i8, i64}"), std::uint64_t{8});
  CHECK_EQ(td.abi_size(std::string("[3 x i32]")), std::uint64_t{12});
  CHECK_ERROR(td.abi_size("not a type"), InvalidArgument, "");
  // copied views stay valid while the engine lives, also across moves
  jitcore::Engine moved = std::move(ee);
  CHECK_EQ(td.abi_size("ptr"), std::uint64_t{8});
}

TEST(ir_pipeline) {
  auto ee = jitcore::Engine::create();
  ee.set_ir_pipeline(jitcore::IRPipeline::None);
  ee.set_ir_pipeline(jitcore::IRPipeline::Custom, "function(instcombine,simplifycfg)");
  CHECK_ERROR(ee.set_ir_pipeline(jitcore::IRPipeline::Custom, "no-such-pass"), InvalidArgument, "no-such-pass");
  CHECK_ERROR(ee.set_ir_pipeline(jitcore::IRPipeline::Custom), InvalidArgument, "");
  ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_EQ(ee.function<int(int, int)>("sum")(3, 4), 7);
  ee.set_ir_pipeline(jitcore::IRPipeline::Default);
  // keys differ per pipeline
  auto tm = jitcore::TargetMachine::host();
  auto m = jitcore::Module::from_ir("k", tu::SUM_IR);
  CHECK(m.key(tm) == m.key_for_pipeline(tm, jitcore::IRPipeline::Default));
  CHECK(m.key(tm) != m.key_for_pipeline(tm, jitcore::IRPipeline::None));
  CHECK_EQ(m.key(tm).size(), std::size_t{64});
}

TEST(statistics_struct) {
  auto ee = jitcore::Engine::create();
  jitcore::Statistics st = ee.statistics();
  CHECK_EQ(st.modules_compiled, std::uint64_t{0});
  CHECK_EQ(st.code_bytes_live, std::uint64_t{0});
  ee.add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  ee.add_module(jitcore::Module::from_ir("counter", COUNTER_IR));
  ee.finalize();
  st = ee.statistics();
  CHECK_EQ(st.modules_compiled, std::uint64_t{2});
  CHECK_EQ(st.functions_compiled, std::uint64_t{2});
  CHECK_EQ(st.objects_loaded, std::uint64_t{2});
  CHECK(st.object_bytes_emitted > 0);
  CHECK(st.code_bytes_live > 0);
  CHECK_EQ(st.cache_hits, std::uint64_t{0});
}

TEST(threads_share_an_engine) {
  auto ee = jitcore::Engine::create();
  for (int i = 0; i < 4; i++) {
    std::string ir = "define i32 @f" + std::to_string(i) + "() {\n ret i32 " + std::to_string(i * 10) + "\n}\n";
    ee.add_module(jitcore::Module::from_ir("f" + std::to_string(i), ir));
  }
  std::vector<int> got(4, -1);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; i++)
    ts.emplace_back([&, i] { got[i] = ee.function<int()>("f" + std::to_string(i))(); });
  for (auto &t : ts)
    t.join();
  for (int i = 0; i < 4; i++)
    CHECK_EQ(got[i], i * 10);
}

JITCORE_TEST_MAIN()
