// Compiled (not run) with a strict warning set, to keep jitcore.hpp quiet in
// hosts that build with -Wshadow -Wconversion -Wold-style-cast ...: it
// instantiates every template of the header. See CMakeLists.txt.
#include <jitcore.hpp>

namespace {
int host_fn(int x) { return x; }
int host_var = 0;
} // namespace

void jitcore_cpp_strict_instantiations(jitcore::Engine &ee, jitcore::Session &s, jitcore::Dylib &d) {
  jitcore::Function<int(int)> f = ee.function<int(int)>("f");
  int *g = ee.global<int>("g");
  ee.add_global_mapping("host_fn", &host_fn);
  ee.add_global_mapping("host_var", &host_var);
  jitcore::Function<long(const char *, double)> h = s.function<long(const char *, double)>("h");
  double *gd = s.global<double>("gd");
  d.define_absolute_symbol("host_fn", &host_fn);
  jitcore::Function<void()> v = d.function<void()>("v");
  char *gc = d.global<char>("gc");
  (void)f(*g);
  (void)h("x", *gd);
  v();
  (void)gc;
  (void)jitcore::address_of(&host_var);
}
