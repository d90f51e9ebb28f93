// A minimal test harness for the C++ binding's tests: TEST(name) { ... }
// registers a test, CHECK* record failures (and go on), JITCORE_TEST_MAIN()
// runs every test of the file and prints "N passed, N failed".
#ifndef JITCORE_CPP_TEST_UTIL_HPP
#define JITCORE_CPP_TEST_UTIL_HPP

#include <jitcore.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace tu {

struct Test {
  const char *name;
  void (*fn)();
};
inline std::vector<Test> &tests() {
  static std::vector<Test> t;
  return t;
}
inline int &failures() {
  static int f = 0;
  return f;
}
struct Register {
  Register(const char *name, void (*fn)()) { tests().push_back({name, fn}); }
};

inline void fail(const char *file, int line, const std::string &what) {
  failures()++;
  std::fprintf(stderr, "%s:%d: FAIL: %s\n", file, line, what.c_str());
}

template <class A, class B> std::string show_pair(const A &a, const B &b) {
  std::ostringstream o;
  o << "got " << a << ", expected " << b;
  return o.str();
}

// Runs `f`, which must throw jitcore::Error with `code` and a message
// containing `needle` (if not empty).
template <class F>
inline void check_error(F &&f, jitcore::ErrorCode code, const std::string &needle, const char *expr, const char *file,
                        int line) {
  try {
    f();
  } catch (const jitcore::Error &e) {
    if (e.code() != code)
      fail(file, line,
           std::string(expr) + ": code " + jitcore::to_string(e.code()) + ", expected " + jitcore::to_string(code) +
               " (message: " + e.what() + ")");
    else if (!needle.empty() && std::string(e.what()).find(needle) == std::string::npos)
      fail(file, line, std::string(expr) + ": message '" + e.what() + "' does not contain '" + needle + "'");
    return;
  } catch (const std::exception &e) {
    fail(file, line, std::string(expr) + ": threw a non-jitcore exception: " + e.what());
    return;
  }
  fail(file, line, std::string(expr) + ": did not throw");
}

// Runs `f`, which must throw exactly an `E` (checked with dynamic type).
template <class E, class F> inline bool throws(F &&f) {
  try {
    f();
  } catch (const E &) {
    return true;
  } catch (...) {
    return false;
  }
  return false;
}

inline std::string temp_dir(const char *tag) {
  const char *base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/jitcore-cpp-" + tag + ".XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    std::perror("mkdtemp");
    std::exit(2);
  }
  return buf.data();
}

inline void remove_tree(const std::string &dir) {
  std::string cmd = "rm -rf '" + dir + "'";
  if (std::system(cmd.c_str()) != 0)
    std::fprintf(stderr, "could not remove %s\n", dir.c_str());
}

inline bool write_file(const std::string &path, jitcore::ByteView bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

// The object file of IR module `name`, by way of an engine's object cache.
inline std::vector<std::uint8_t> compile_to_object(const char *name, const char *ir, const char *symbol) {
  std::vector<std::uint8_t> out;
  auto ee = jitcore::Engine::create();
  ee.set_object_cache([&](jitcore::ModuleView, jitcore::ByteView obj) { out = obj.to_vector(); }, nullptr);
  ee.add_module(jitcore::Module::from_ir(name, ir));
  ee.function_address(symbol);
  return out;
}

// A module with a constructor (stores 42 in @g, notes 1) and a destructor
// (notes 2), calling the host's host_note (define it as tu::host_note).
inline const char *CTORS_IR =
    "@g = global i32 0\n"
    "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]\n"
    "@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @fini, ptr null }]\n"
    "declare void @host_note(i32)\n"
    "define internal void @init() {\n"
    "  store i32 42, ptr @g\n"
    "  call void @host_note(i32 1)\n"
    "  ret void\n"
    "}\n"
    "define internal void @fini() {\n"
    "  call void @host_note(i32 2)\n"
    "  ret void\n"
    "}\n";
inline std::vector<int> &notes() {
  static std::vector<int> n;
  return n;
}
inline void host_note(int v) { notes().push_back(v); }

inline const char *SUM_IR = "define i32 @sum(i32 %a, i32 %b) {\n"
                            "  %r = add i32 %a, %b\n"
                            "  ret i32 %r\n"
                            "}\n";

} // namespace tu

#define TU_CAT2(a, b) a##b
#define TU_CAT(a, b) TU_CAT2(a, b)
#define TEST(name)                                                                                                     \
  static void name();                                                                                                  \
  static tu::Register TU_CAT(tu_register_, name)(#name, name);                                                         \
  static void name()

#define CHECK(cond)                                                                                                    \
  do {                                                                                                                 \
    if (!(cond))                                                                                                       \
      tu::fail(__FILE__, __LINE__, "CHECK(" #cond ")");                                                                \
  } while (0)
#define CHECK_EQ(a, b)                                                                                                 \
  do {                                                                                                                 \
    auto tu_a = (a);                                                                                                   \
    auto tu_b = (b);                                                                                                   \
    if (!(tu_a == tu_b))                                                                                               \
      tu::fail(__FILE__, __LINE__, std::string("CHECK_EQ(" #a ", " #b "): ") + tu::show_pair(tu_a, tu_b));            \
  } while (0)
#define CHECK_CONTAINS(haystack, needle)                                                                               \
  do {                                                                                                                 \
    std::string tu_h = (haystack);                                                                                     \
    if (tu_h.find(needle) == std::string::npos)                                                                        \
      tu::fail(__FILE__, __LINE__, "'" + tu_h + "' does not contain '" + std::string(needle) + "'");                  \
  } while (0)
// CHECK_ERROR(statement, ErrorCode::X, "substring of the message")
#define CHECK_ERROR(stmt, code, needle)                                                                                \
  tu::check_error([&] { stmt; }, jitcore::ErrorCode::code, needle, #stmt, __FILE__, __LINE__)
#define CHECK_THROWS_AS(stmt, E)                                                                                       \
  do {                                                                                                                 \
    if (!tu::throws<E>([&] { stmt; }))                                                                                 \
      tu::fail(__FILE__, __LINE__, #stmt " did not throw " #E);                                                        \
  } while (0)

#define JITCORE_TEST_MAIN()                                                                                            \
  int main() {                                                                                                         \
    int passed = 0, failed = 0;                                                                                        \
    for (const tu::Test &t : tu::tests()) {                                                                            \
      int before = tu::failures();                                                                                     \
      try {                                                                                                            \
        t.fn();                                                                                                        \
      } catch (const jitcore::Error &e) {                                                                              \
        tu::fail(__FILE__, 0,                                                                                          \
                 std::string(t.name) + ": uncaught jitcore::Error " + jitcore::to_string(e.code()) + ": " + e.what()); \
      } catch (const std::exception &e) {                                                                              \
        tu::fail(__FILE__, 0, std::string(t.name) + ": uncaught exception: " + e.what());                             \
      }                                                                                                                \
      bool ok = tu::failures() == before;                                                                              \
      std::printf("%s %s\n", ok ? "ok  " : "FAIL", t.name);                                                            \
      (ok ? passed : failed)++;                                                                                        \
    }                                                                                                                  \
    std::printf("%d passed, %d failed\n", passed, failed);                                                             \
    return failed == 0 ? 0 : 1;                                                                                        \
  }

#endif
