// bench.cpp: what the C++ binding costs over C (examples/c/bench.c measures
// the same in C). Prints two lines:
//   lookup_ns <N>       one lookup of an already compiled symbol
//                       (Engine::function_address), median over batches
//   add_compile_us <N>  parse + add + compile (first lookup) + remove of a
//                       tiny module on one engine, median over iterations
// Run through bindings/cpp/bench.sh <prefix>.
#include <jitcore.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

const char IR[] = "define i32 @sum(i32 %a, i32 %b) {\n"
                  "  %r = add i32 %a, %b\n"
                  "  ret i32 %r\n"
                  "}\n";

double now_ns() {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main() {
  try {
    auto ee = jitcore::Engine::create(jitcore::OptLevel::O2);
    ee.add_module(jitcore::Module::from_ir("sum", IR));
    volatile std::uint64_t sink = ee.function_address("sum"); // compiles

    const int batches = 101, per_batch = 2000;
    std::vector<double> lookup;
    for (int b = 0; b < batches; b++) {
      double t0 = now_ns();
      for (int i = 0; i < per_batch; i++)
        sink = ee.function_address("sum");
      lookup.push_back((now_ns() - t0) / per_batch);
    }

    const int iterations = 61;
    std::vector<double> add_compile;
    auto e2 = jitcore::Engine::create(jitcore::OptLevel::O2);
    for (int i = 0; i < iterations; i++) {
      double t0 = now_ns();
      jitcore::ModuleView v = e2.add_module(jitcore::Module::from_ir("sum", IR));
      sink = e2.function_address("sum");
      e2.remove_module(v); // the returned Module is freed here
      add_compile.push_back((now_ns() - t0) / 1000.0);
    }
    (void)sink;
    std::printf("lookup_ns %.0f\n", median(lookup));
    std::printf("add_compile_us %.0f\n", median(add_compile));
    return 0;
  } catch (const jitcore::Error &e) {
    std::fprintf(stderr, "bench: %s: %s\n", jitcore::to_string(e.code()), e.what());
    return 1;
  }
}
