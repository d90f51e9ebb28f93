// The session: options, dylibs, link order, absolute symbols, symbol
// sources (process, library, archive) with filters, materializers,
// resource trackers, lookups, lazy modules, the reporter, IR pipeline.
#include "test_util.hpp"

#include <atomic>
#include <dlfcn.h>
#include <cmath>
#include <memory>
#include <mutex>

using jitcore::ErrorCode;

TEST(options_defaults_and_create) {
  jitcore::SessionOptions o;
  CHECK(o.opt_level == jitcore::OptLevel::O2);
  CHECK_EQ(o.compile_threads, 0u);
  CHECK(!o.lazy_by_default);
  CHECK(!o.enable_debugger);
  CHECK(!o.enable_perf);
  o.opt_level = jitcore::OptLevel::O0;
  o.compile_threads = 2;
  auto s = jitcore::Session::create(o);
  s.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_EQ(s.function<int(int, int)>("sum")(2, 3), 5);
  jitcore::SessionOptions bad;
  bad.opt_level = static_cast<jitcore::OptLevel>(9);
  CHECK_ERROR(jitcore::Session::create(bad), InvalidArgument, "");
}

TEST(dylibs_and_names) {
  auto s = jitcore::Session::create();
  CHECK_EQ(s.main_dylib().name(), std::string("main"));
  jitcore::Dylib a = s.create_dylib("libA");
  CHECK_EQ(a.name(), std::string("libA"));
  auto found = s.dylib("libA");
  CHECK(found.has_value());
  CHECK(found && *found == a);
  CHECK(s.dylib("main").has_value());
  CHECK(!s.dylib("nope").has_value());
  CHECK_ERROR(s.create_dylib("libA"), InvalidArgument, "libA");
  CHECK_ERROR(s.create_dylib(""), InvalidArgument, "");
}

static const char *LEN_IR = "declare i64 @strlen(ptr)\n"
                            "define i64 @len(ptr %s) {\n"
                            "  %n = call i64 @strlen(ptr %s)\n"
                            "  ret i64 %n\n"
                            "}\n";

static int host_twice(int x) { return 2 * x; }

TEST(link_order_and_absolute_symbols) {
  auto s = jitcore::Session::create();
  jitcore::Dylib lib = s.create_dylib("libA");
  lib.define_absolute_symbol("host_twice", &host_twice);
  lib.add_module(jitcore::Module::from_ir("a", "declare i32 @host_twice(i32)\n"
                                               "define i32 @a_val(i32 %x) {\n"
                                               "  %r = call i32 @host_twice(i32 %x)\n"
                                               "  ret i32 %r\n"
                                               "}\n"));
  jitcore::Dylib main = s.main_dylib();
  main.add_module(jitcore::Module::from_ir("use", "declare i32 @a_val(i32)\n"
                                                  "define i32 @use_a(i32 %x) {\n"
                                                  "  %r = call i32 @a_val(i32 %x)\n"
                                                  "  %s = add i32 %r, 1\n"
                                                  "  ret i32 %s\n"
                                                  "}\n"));
  // main does not link against libA yet
  CHECK_ERROR(main.lookup("use_a"), UnresolvedSymbol, "a_val");
  main.set_link_order({lib});
  CHECK_EQ(main.function<int(int)>("use_a")(10), 21);
  CHECK_EQ(lib.function<int(int)>("a_val")(4), 8);
  CHECK_ERROR(lib.define_absolute_symbols({{"host_twice", 1}}), DuplicateDefinition, "host_twice");
  CHECK_ERROR(lib.define_absolute_symbols({{"", 1}}), InvalidArgument, "");
  // a dylib of another session in a link order
  auto other = jitcore::Session::create();
  CHECK_ERROR(main.set_link_order({other.main_dylib()}), InvalidArgument, "");
}

TEST(process_symbols_with_filter) {
  auto s = jitcore::Session::create();
  jitcore::Dylib d = s.create_dylib("withlibc");
  std::atomic<int> asked{0};
  d.add_process_symbols([&](std::string_view name) {
    asked++;
    return name == "strlen";
  });
  d.add_module(jitcore::Module::from_ir("len", LEN_IR));
  CHECK_EQ(d.function<long(const char *)>("len")("hello"), 5L);
  CHECK(asked.load() > 0);
  // (getpid: a libc function LLVM does not fold into an intrinsic)
  d.add_module(jitcore::Module::from_ir("pid", "declare i32 @getpid()\n"
                                               "define i32 @mypid() {\n"
                                               "  %r = call i32 @getpid()\n"
                                               "  ret i32 %r\n"
                                               "}\n"));
  CHECK_ERROR(d.lookup("mypid"), UnresolvedSymbol, "getpid"); // the filter says no
  // a dylib without process symbols sees no libc at all
  jitcore::Dylib bare = s.create_dylib("bare");
  bare.add_module(jitcore::Module::from_ir("len", "declare i64 @strlen(ptr)\n"
                                                  "define i64 @len2(ptr %s) {\n"
                                                  "  %n = call i64 @strlen(ptr %s)\n"
                                                  "  ret i64 %n\n"
                                                  "}\n"));
  CHECK_ERROR(bare.lookup("len2"), UnresolvedSymbol, "strlen");
  bare.add_process_symbols(); // no filter: all
  CHECK_EQ(bare.function<long(const char *)>("len2")("four"), 4L);
}

static std::size_t host_strlen(const char *s) { return std::strlen(s); }

TEST(throwing_filter_is_rethrown) {
  auto s = jitcore::Session::create();
  jitcore::Dylib d = s.create_dylib("d");
  d.add_process_symbols([](std::string_view name) -> bool {
    if (name == "strlen")
      throw std::out_of_range("filter says boom");
    return false;
  });
  d.add_module(jitcore::Module::from_ir("len", LEN_IR));
  CHECK_THROWS_AS(d.lookup("len"), std::out_of_range);
  // the session is fine afterwards
  d.define_absolute_symbol("strlen", &host_strlen);
  CHECK_EQ(d.function<long(const char *)>("len")("abc"), 3L);
}

TEST(library_symbols) {
  auto s = jitcore::Session::create();
  jitcore::Dylib d = s.create_dylib("withm");
  std::vector<std::string> asked;
  // the path of the libm this process uses
  Dl_info info{};
  void *cos_addr = dlsym(RTLD_DEFAULT, "cos");
  CHECK(cos_addr && dladdr(cos_addr, &info) && info.dli_fname);
  if (!info.dli_fname)
    return;
  d.add_library_symbols(info.dli_fname, [&](std::string_view n) {
    asked.emplace_back(n);
    return n == "cos";
  });
  d.add_module(jitcore::Module::from_ir("c", "declare double @cos(double)\n"
                                             "define double @mycos(double %x) {\n"
                                             "  %r = call double @cos(double %x)\n"
                                             "  ret double %r\n"
                                             "}\n"));
  CHECK(std::fabs(d.function<double(double)>("mycos")(0.0) - 1.0) < 1e-12);
  CHECK(!asked.empty());
  CHECK_ERROR(d.add_library_symbols("/nonexistent/libnope.so"), IO, "libnope.so");
}

TEST(archives) {
  if (std::system("ar --version >/dev/null 2>&1") != 0) {
    std::printf("  skip: no `ar`\n");
    return;
  }
  std::string dir = tu::temp_dir("archive");
  auto obj = tu::compile_to_object("arch", "define i32 @arch_fn() {\n ret i32 1234\n}\n", "arch_fn");
  CHECK(tu::write_file(dir + "/arch.o", obj));
  std::string cmd = "cd '" + dir + "' && ar rcs libarch.a arch.o";
  CHECK_EQ(std::system(cmd.c_str()), 0);
  auto s = jitcore::Session::create();
  jitcore::Dylib main = s.main_dylib();
  main.add_archive(dir + "/libarch.a");
  main.add_module(jitcore::Module::from_ir("u", "declare i32 @arch_fn()\n"
                                                "define i32 @use_arch() {\n"
                                                "  %r = call i32 @arch_fn()\n"
                                                "  ret i32 %r\n"
                                                "}\n"));
  CHECK_EQ(main.function<int()>("use_arch")(), 1234);
  CHECK(tu::write_file(dir + "/junk.a", std::string_view("not an archive\n")));
  CHECK_ERROR(main.add_archive(dir + "/junk.a"), InvalidObject, "junk.a");
  CHECK_ERROR(main.add_archive(dir + "/missing.a"), IO, "missing.a");
  tu::remove_tree(dir);
}

TEST(objects_and_trackers) {
  auto obj = tu::compile_to_object("sum", tu::SUM_IR, "sum");
  auto s = jitcore::Session::create();
  jitcore::Dylib main = s.main_dylib();
  auto rt = main.create_resource_tracker();
  main.add_object(obj, rt);
  CHECK_EQ(main.function<int(int, int)>("sum")(6, 7), 13);
  auto lazy = jitcore::Module::from_ir("l", "define i32 @l() {\n ret i32 1\n}\n");
  jitcore::ModuleView lv = main.add_module_lazy(std::move(lazy), rt);
  CHECK(!lazy); // moved in: the session owns it
  CHECK(lv.live());
  main.add_module(jitcore::Module::from_ir("counter", "@n = global i32 3\n"
                                                      "define i32 @get_n() {\n"
                                                      "  %v = load i32, ptr @n\n"
                                                      "  ret i32 %v\n"
                                                      "}\n"),
                  rt);
  CHECK_EQ(main.function<int()>("get_n")(), 3);
  CHECK_EQ(*main.global<int>("n"), 3);
  CHECK(s.statistics().code_bytes_live > 0);
  rt.remove();
  CHECK_EQ(s.statistics().code_bytes_live, std::uint64_t{0});
  CHECK(!lv.live()); // disposed of with its tracker
  CHECK_ERROR(main.lookup("sum"), SymbolNotFound, "sum");
  CHECK_ERROR(main.lookup("get_n"), SymbolNotFound, "get_n");
  CHECK_ERROR(main.add_module(jitcore::Module::from_ir("x", tu::SUM_IR), rt), InvalidArgument, "");
  // the code can come back under a new tracker
  auto rt2 = main.create_resource_tracker();
  main.add_object(obj, rt2);
  CHECK_EQ(main.function<int(int, int)>("sum")(1, 1), 2);
  CHECK_ERROR(main.add_object(std::string_view("junk")), InvalidObject, "");
}

TEST(lookup_many) {
  auto s = jitcore::Session::create();
  s.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  s.main_dylib().add_module(jitcore::Module::from_ir("one", "define i32 @one() {\n ret i32 1\n}\n"));
  auto addrs = s.lookup_many({"sum", "one"});
  CHECK_EQ(addrs.size(), std::size_t{2});
  CHECK_EQ(addrs[0], s.lookup("sum"));
  CHECK_EQ(jitcore::Function<int()>(addrs[1])(), 1);
  CHECK_ERROR(s.lookup_many({"one", "missing_one"}), SymbolNotFound, "missing_one");
}

TEST(materializers) {
  auto s = jitcore::Session::create();
  jitcore::Dylib main = s.main_dylib();
  auto token = std::make_shared<int>(0); // tells when the std::function is gone
  std::vector<std::string> asked_for;
  auto rt = main.create_resource_tracker();
  main.add_materializer(
      {"mat_a", "mat_b"},
      [token, &asked_for](const std::vector<std::string> &syms) -> jitcore::Materialized {
        asked_for = syms;
        return jitcore::Module::from_ir("mat", "define i32 @mat_a() {\n ret i32 11\n}\n"
                                               "define i32 @mat_b() {\n ret i32 22\n}\n");
      },
      rt);
  CHECK_EQ(token.use_count(), 2L);
  CHECK(asked_for.empty()); // nothing until the first lookup
  CHECK_EQ(main.function<int()>("mat_b")(), 22);
  CHECK(!asked_for.empty());
  CHECK_EQ(main.function<int()>("mat_a")(), 11);
  rt.remove();
  CHECK_EQ(token.use_count(), 1L); // the materializer was destroyed
  CHECK_ERROR(main.lookup("mat_a"), SymbolNotFound, "mat_a");

  // an object instead of a module
  auto obj = tu::compile_to_object("objmat", "define i32 @obj_fn() {\n ret i32 99\n}\n", "obj_fn");
  main.add_materializer({"obj_fn"}, [&obj](const std::vector<std::string> &) -> jitcore::Materialized {
    return jitcore::ObjectBuffer::copy(obj);
  });
  CHECK_EQ(main.function<int()>("obj_fn")(), 99);
  CHECK_ERROR(main.add_materializer({"obj_fn"}, [](const std::vector<std::string> &) -> jitcore::Materialized {
    return jitcore::Module();
  }),
              DuplicateDefinition, "obj_fn");
  CHECK_ERROR(main.add_materializer({}, [](const std::vector<std::string> &) -> jitcore::Materialized {
    return jitcore::Module();
  }),
              InvalidArgument, "");
  CHECK_ERROR(main.add_materializer({"x"}, nullptr), InvalidArgument, "materializer");
}

TEST(failing_materializers) {
  auto s = jitcore::Session::create();
  jitcore::Dylib main = s.main_dylib();
  // throws a non-jitcore exception on the calling thread: rethrown as is,
  // and the next lookup calls it again
  int calls = 0;
  main.add_materializer({"flaky"}, [&calls](const std::vector<std::string> &) -> jitcore::Materialized {
    if (++calls == 1)
      throw std::invalid_argument("first call fails");
    return jitcore::Module::from_ir("flaky", "define i32 @flaky() {\n ret i32 5\n}\n");
  });
  CHECK_THROWS_AS(main.lookup("flaky"), std::invalid_argument);
  CHECK_EQ(main.function<int()>("flaky")(), 5);
  CHECK_EQ(calls, 2);
  // an empty result is an error, not a crash
  main.add_materializer({"empty_mod"}, [](const std::vector<std::string> &) -> jitcore::Materialized {
    return jitcore::Module();
  });
  CHECK_ERROR(main.lookup("empty_mod"), InvalidArgument, "empty Module");
  main.add_materializer({"empty_obj"}, [](const std::vector<std::string> &) -> jitcore::Materialized {
    return jitcore::ObjectBuffer();
  });
  CHECK_ERROR(main.lookup("empty_obj"), InvalidArgument, "empty ObjectBuffer");

  // on a compile thread the lookup gets the C error made from the exception:
  // a jitcore::Error keeps its code and message, anything else is INTERNAL
  jitcore::SessionOptions o;
  o.compile_threads = 1;
  auto s2 = jitcore::Session::create(o);
  jitcore::Dylib m2 = s2.main_dylib();
  m2.add_materializer({"coded"}, [](const std::vector<std::string> &) -> jitcore::Materialized {
    throw jitcore::Error(ErrorCode::Link, "materializer could not link coded");
  });
  CHECK_ERROR(m2.lookup("coded"), Link, "materializer could not link coded");
  m2.add_materializer({"plain"}, [](const std::vector<std::string> &) -> jitcore::Materialized {
    throw std::runtime_error("plain failure");
  });
  CHECK_ERROR(m2.lookup("plain"), Internal, "plain failure");
  CHECK(s2.statistics().materialization_failures >= 2);
}

TEST(lazy_modules_and_the_reporter) {
  jitcore::SessionOptions o;
  auto s = jitcore::Session::create(o);
  std::vector<std::string> reports;
  s.set_error_reporter([&](ErrorCode, std::string_view m) { reports.emplace_back(m); });
  // (without a lazy failure handler the failed call below would abort; see test_lazy)
  s.set_lazy_failure_handler([](std::string_view, const jitcore::Error &) {});
  jitcore::Dylib main = s.main_dylib();
  main.add_module_lazy(jitcore::Module::from_ir("lazy", "declare i32 @nobody_defines_this()\n"
                                                       "define i32 @good() {\n ret i32 8\n}\n"
                                                       "define i32 @bad() {\n"
                                                       "  %r = call i32 @nobody_defines_this()\n"
                                                       "  ret i32 %r\n"
                                                       "}\n"));
  auto good = main.function<int()>("good");
  CHECK_EQ(s.statistics().functions_compiled, std::uint64_t{0}); // stubs only
  CHECK_EQ(good(), 8);
  auto bad = main.function<int()>("bad");
  CHECK_EQ(bad(), 0); // a failed lazy compile is reported; the handler returned: 0
  CHECK(!reports.empty());
  if (!reports.empty())
    CHECK_CONTAINS(reports.back(), "bad");
  // LazyByDefault makes add_module lazy
  jitcore::SessionOptions lazy;
  lazy.lazy_by_default = true;
  auto s2 = jitcore::Session::create(lazy);
  s2.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  auto f = s2.function<int(int, int)>("sum");
  CHECK_EQ(s2.statistics().modules_compiled, std::uint64_t{0});
  CHECK_EQ(f(1, 2), 3);
  CHECK_EQ(s2.statistics().modules_compiled, std::uint64_t{1});
}

TEST(session_ir_pipeline_and_statistics) {
  auto s = jitcore::Session::create();
  s.set_ir_pipeline(jitcore::IRPipeline::None);
  CHECK_ERROR(s.set_ir_pipeline(jitcore::IRPipeline::Custom, "bogus-pass-name"), InvalidArgument, "bogus-pass-name");
  s.set_ir_pipeline(jitcore::IRPipeline::Custom, std::string("function(instcombine)"));
  s.main_dylib().add_module(jitcore::Module::from_ir("sum", tu::SUM_IR));
  CHECK_EQ(s.function<int(int, int)>("sum")(2, 2), 4);
  jitcore::Statistics st = s.statistics();
  CHECK_EQ(st.modules_compiled, std::uint64_t{1});
  CHECK_EQ(st.functions_compiled, std::uint64_t{1});
  CHECK(st.code_bytes_live > 0);
}

JITCORE_TEST_MAIN()
