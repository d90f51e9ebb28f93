// Source of tests-c/data/tls_cxx.ll (clang++-22 -O1 -S -emit-llvm).
extern "C" void tl_record(int event);
struct A {
  int v;
  A() : v(1) { tl_record(1); }
  ~A() { tl_record(-1); }
};
struct B {
  int v;
  B() : v(2) { tl_record(2); }
  ~B() { tl_record(-2); }
};
thread_local A a;
thread_local B b;
thread_local int uses = 0;
// Constructs a, then b, on a thread's first call; their destructors run at
// that thread's exit, b's first.
extern "C" int tl_touch() {
  uses++;
  return a.v * 100 + b.v * 10 + uses;
}
