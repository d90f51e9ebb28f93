// Lazily compiled functions that fail (the lazy failure handler, and the
// opt-in throw_on_lazy_failure), and dylib initialization (static
// constructors and destructors through Dylib::initialize / deinitialize).
#include "test_util.hpp"

#include <thread>

using jitcore::ErrorCode;

namespace {

const char *LAZY_IR = "declare i32 @provided_later(i32)\n"
                      "define i32 @good() {\n ret i32 8\n}\n"
                      "define i32 @bad(i32 %x) {\n"
                      "  %r = call i32 @provided_later(i32 %x)\n"
                      "  ret i32 %r\n"
                      "}\n"
                      "define i32 @calls_bad(i32 %x) {\n"
                      "  %r = call i32 @bad(i32 %x)\n"
                      "  %s = add i32 %r, 1\n"
                      "  ret i32 %s\n"
                      "}\n";

int provided_later(int x) { return 100 + x; }

} // namespace

TEST(handler_gets_the_name_and_the_error) {
  auto s = jitcore::Session::create();
  std::vector<std::string> reports;
  s.set_error_reporter([&](ErrorCode, std::string_view m) { reports.emplace_back(m); });
  std::vector<std::pair<std::string, jitcore::Error>> failures;
  s.set_lazy_failure_handler(
      [&](std::string_view fn, const jitcore::Error &e) { failures.emplace_back(std::string(fn), e); });
  jitcore::Dylib main = s.main_dylib();
  main.add_module_lazy(jitcore::Module::from_ir("lazy", LAZY_IR));
  CHECK_EQ(main.function<int()>("good")(), 8);
  auto bad = main.function<int(int)>("bad");
  CHECK_EQ(bad(1), 0); // the handler returned: the call returns zero
  CHECK_EQ(failures.size(), std::size_t{1});
  if (!failures.empty()) {
    CHECK_EQ(failures[0].first, std::string("bad"));
    CHECK(failures[0].second.code() == ErrorCode::UnresolvedSymbol);
    CHECK_CONTAINS(failures[0].second.what(), "provided_later");
  }
  CHECK(!reports.empty()); // the reporter heard it first
  // defining the missing symbol: the next call compiles the function again
  main.define_absolute_symbol("provided_later", &provided_later);
  CHECK_EQ(bad(2), 102);
  CHECK_EQ(failures.size(), std::size_t{1});
}

TEST(throwing_handler_is_caught_at_the_boundary) {
  auto s = jitcore::Session::create();
  std::vector<std::string> reports;
  s.set_error_reporter([&](ErrorCode c, std::string_view m) {
    if (c == ErrorCode::Internal)
      reports.emplace_back(m);
  });
  s.set_lazy_failure_handler([](std::string_view, const jitcore::Error &) { throw std::runtime_error("handler boom"); });
  s.main_dylib().add_module_lazy(jitcore::Module::from_ir("lazy", LAZY_IR));
  auto bad = s.function<int(int)>("bad");
  CHECK_EQ(bad(1), 0); // not thrown through the jitted call: caught, the call returns zero
  CHECK_EQ(reports.size(), std::size_t{1});
  if (!reports.empty()) {
    CHECK_CONTAINS(reports[0], "lazy failure handler");
    CHECK_CONTAINS(reports[0], "handler boom");
  }
  // without a reporter: dropped and counted
  s.set_error_reporter(nullptr);
  s.lookup("good"); // a lookup: the failed function is compiled anew at its next call
  CHECK_EQ(bad(1), 0);
  CHECK_EQ(s.dropped_callback_exceptions(), std::uint64_t{1});
}

TEST(throw_on_lazy_failure_throws_out_of_the_call) {
  auto s = jitcore::Session::create();
  s.throw_on_lazy_failure();
  jitcore::Dylib main = s.main_dylib();
  main.add_module_lazy(jitcore::Module::from_ir("lazy", LAZY_IR));
  auto bad = main.function<int(int)>("bad");
  CHECK_ERROR(bad(1), UnresolvedSymbol, "bad");
  // through a jitted caller: the exception unwinds through its frame too
  auto calls_bad = main.function<int(int)>("calls_bad");
  CHECK_ERROR(calls_bad(1), UnresolvedSymbol, "provided_later");
  // on another thread as well
  bool thrown = false;
  std::thread t([&] {
    try {
      bad(3);
    } catch (const jitcore::Error &e) {
      thrown = e.code() == ErrorCode::UnresolvedSymbol;
    }
  });
  t.join();
  CHECK(thrown);
  // the session is fine: provide the symbol and the calls work
  main.define_absolute_symbol("provided_later", &provided_later);
  CHECK_EQ(bad(5), 105);
  CHECK_EQ(calls_bad(5), 106);
  CHECK_EQ(main.function<int()>("good")(), 8);
  // back to a handler that returns
  int handled = 0;
  s.set_lazy_failure_handler([&](std::string_view, const jitcore::Error &) { handled++; });
  main.add_module_lazy(jitcore::Module::from_ir("lazy2", "declare i32 @nope()\n"
                                                        "define i32 @bad2() {\n"
                                                        "  %r = call i32 @nope()\n"
                                                        "  ret i32 %r\n"
                                                        "}\n"));
  CHECK_EQ(main.function<int()>("bad2")(), 0);
  CHECK_EQ(handled, 1);
}

TEST(initialize_and_deinitialize) {
  tu::notes().clear();
  auto s = jitcore::Session::create();
  jitcore::Dylib main = s.main_dylib();
  main.define_absolute_symbol("host_note", &tu::host_note);
  main.add_module(jitcore::Module::from_ir("ctors", tu::CTORS_IR));
  CHECK_EQ(*main.global<int>("g"), 0); // constructors run only through initialize
  main.initialize();
  CHECK_EQ(*main.global<int>("g"), 42);
  main.initialize(); // each once
  CHECK_EQ(tu::notes().size(), std::size_t{1});
  main.deinitialize();
  CHECK_EQ(tu::notes().size(), std::size_t{2});
  if (tu::notes().size() == 2)
    CHECK_EQ(tu::notes()[1], 2);
  // a constructor whose module cannot link: the error names it
  main.add_module(jitcore::Module::from_ir("badctor",
      "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init2, ptr null }]\n"
      "declare void @missing_in_ctor()\n"
      "define internal void @init2() {\n"
      "  call void @missing_in_ctor()\n"
      "  ret void\n"
      "}\n"));
  CHECK_ERROR(main.initialize(), UnresolvedSymbol, "missing_in_ctor");
}

TEST(lazy_failure_inside_initialize_is_rethrown_by_it) {
  // a constructor (of an eagerly added module) calls a lazy function that
  // fails, under throw_on_lazy_failure: nothing unwinds out of the
  // constructor (the C API forbids it); initialize() throws the error
  static const char *CTOR_IR =
      "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]\n"
      "@after = global i32 0\n"
      "declare i32 @lazy_bad(i32)\n"
      "define internal void @init() {\n"
      "  %r = call i32 @lazy_bad(i32 1)\n"
      "  store i32 7, ptr @after\n"
      "  ret void\n"
      "}\n";
  static const char *LAZY_BAD_IR = "declare i32 @absent(i32)\n"
                                   "define i32 @lazy_bad(i32 %x) {\n"
                                   "  %r = call i32 @absent(i32 %x)\n"
                                   "  ret i32 %r\n"
                                   "}\n";
  auto s = jitcore::Session::create();
  s.throw_on_lazy_failure();
  jitcore::Dylib main = s.main_dylib();
  main.add_module_lazy(jitcore::Module::from_ir("lazy_bad", LAZY_BAD_IR));
  main.add_module(jitcore::Module::from_ir("ctor", CTOR_IR));
  CHECK_ERROR(main.initialize(), UnresolvedSymbol, "lazy_bad");
  CHECK_EQ(*main.global<int>("after"), 7); // the constructor ran to its end: the failed call returned zero

  // the same with the constructor in a lazily added module of its own dylib
  jitcore::Dylib lazy = s.create_dylib("lazyctor");
  lazy.set_link_order({main});
  lazy.add_module_lazy(jitcore::Module::from_ir("ctor2", "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] "
                                                         "[{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]\n"
                                                         "declare i32 @lazy_bad(i32)\n"
                                                         "define internal void @init() {\n"
                                                         "  %r = call i32 @lazy_bad(i32 2)\n"
                                                         "  ret void\n"
                                                         "}\n"));
  CHECK_ERROR(lazy.initialize(), UnresolvedSymbol, "lazy_bad");
}

JITCORE_TEST_MAIN()
