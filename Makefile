# The two commands of the README:
#   make demo   builds libjitcore and jitcore-run, runs the C example host,
#               then a program through jitcore-run twice with a disk cache
#               (cold, then warm) with times and cache statistics
#   make test   runs every test: clippy (warnings are errors, every unsafe
#               block documented), Rust unit/integration tests, the header
#               check, the C suite (tests-c/ and examples/c/hello.c, one
#               CMake/ctest harness) in three configurations: plain
#               (test-ctest), AddressSanitizer + UBSan (test-asan) and
#               valgrind's leak checker (test-leaks); packaging, LLVM's
#               own ExecutionEngine tests through jitcore-run (conformance),
#               and a fuzz smoke run (test-fuzz, about a minute).
#   make check-deep  fuzzes each target for FUZZ_SECONDS (default 600 s),
#               then runs the 8-thread stress, the fault scenarios and the
#               leak check of every error path; see RELIABILITY.md.
# Both install missing system packages first (scripts/install-deps.sh).

CARGO ?= cargo
export LLVM_SYS_221_PREFIX ?= /usr/lib/llvm-22
RELEASE_DIR := target/release
CFLAGS_STRICT := -std=c11 -Wall -Wextra -Werror -pedantic

.PHONY: all deps build demo test test-clippy test-bench-report test-rust test-c test-ctest test-asan test-leaks test-packaging test-bindings test-conformance check-programs test-fuzz check-deep check-deep-stress header bench clean

all: build

deps:
	@bash scripts/install-deps.sh

# cargo writes libjitcore.so; programs linked to it ask for its SONAME
# (libjitcore.so.0.MINOR in 0.x, libjitcore.so.MAJOR from 1.0: see build.rs).
build: deps
	$(CARGO) build --release
	soname=$$(readelf -d $(RELEASE_DIR)/libjitcore.so | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p'); \
	  ln -sf libjitcore.so $(RELEASE_DIR)/$$soname

demo: build
	$(CC) $(CFLAGS_STRICT) -Iinclude examples/c/hello.c -o $(RELEASE_DIR)/hello \
	    -L$(RELEASE_DIR) -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -ljitcore
	$(RELEASE_DIR)/hello
	bash scripts/demo-cache.sh

# Regenerates include/jitcore.h from src/ (commit the result).
header:
	$(CARGO) build --release
	cp "$$(ls -t $(RELEASE_DIR)/build/jitcore-*/out/jitcore.h | head -n1)" include/jitcore.h

test: deps test-clippy test-bench-report test-rust test-ctest test-asan test-packaging test-bindings test-conformance check-programs test-leaks test-fuzz
	@echo "make test: all suites passed"

test-rust: build
	$(CARGO) test --release

# The bench report's arithmetic (paired CPU ratios, goals judged on them);
# no benchmark runs (those are `make bench`).
test-bench-report:
	python3 bench/test_report.py

# The lints that guard the code: every unsafe block states why it is sound,
# no warning passes (clippy honours rust-version for the APIs used).
test-clippy: deps
	$(CARGO) clippy --release --all-targets -- -D warnings -W clippy::undocumented_unsafe_blocks
	@! grep -rn "llvm_sys" src/ | grep -v "^src/llvm\|^src/ffi" || { echo "llvm-sys is used outside src/llvm and src/ffi (above)"; exit 1; }
	python3 scripts/module-graph.py
	@! grep -rnE "jitcore::(ffi|testing)|llvm_sys" src/bin/ || { echo "jitcore-run must use only the public Rust facade (above)"; exit 1; }

# The C suite: one harness (CMakeLists.txt, ctest), one build directory per
# configuration (JITCORE_TEST_CONFIG), all on the cargo target dir `build`
# made. Each test program gets tests-c/data as argv[1] and
# JITCORE_TEST_CONFIG in its environment.
CTEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_TEST_ARGS := -DJITCORE_CARGO_TARGET_DIR=$(CURDIR)/target
# $(call c_suite,<build dir>,<extra cmake args>)
define c_suite
	cmake -S . -B $(1) $(CMAKE_TEST_ARGS) $(2) >/dev/null
	cmake --build $(1) -j $(CTEST_JOBS)
	cd $(1) && ctest -j $(CTEST_JOBS) --output-on-failure
endef

test-c: test-ctest test-asan test-leaks

# Plain run (the system C compiler).
test-ctest: build
	$(call c_suite,build/ctest,-DJITCORE_TEST_CONFIG=release)

# AddressSanitizer + UndefinedBehaviorSanitizer in the C programs (not in
# libjitcore.so or libLLVM), clang-22; includes canaries and a check that the
# runtimes are linked into every program (tests-c/sanitizer/README.md).
test-asan: build
	$(call c_suite,build/ctest-asan,-DJITCORE_TEST_CONFIG=asan -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22)

# Every program under valgrind's leak checker: definite leaks and memory
# errors fail.
test-leaks: build
	$(call c_suite,build/ctest-valgrind,-DJITCORE_TEST_CONFIG=valgrind)

test-packaging:
	JITCORE_CARGO_TARGET_DIR=$(CURDIR)/target bash scripts/test-packaging.sh

# Every binding's own tests and every example (C, C++, Go, Zig, Python),
# against the library installed to a temporary prefix (scripts/test-bindings.sh).
test-bindings: build
	JITCORE_CARGO_TARGET_DIR=$(CURDIR)/target bash scripts/test-bindings.sh

test-conformance: build
	bash scripts/conformance.sh

# The real-program corpus (../shared/testsuite) through jitcore-run and
# lli-22 under each -jit-kind: jitcore-run must pass every program lli-22
# passes (prints pass counts and the whole-corpus time ratio).
check-programs: build
	bash scripts/check-programs.sh

# libFuzzer through cargo-fuzz (installed if missing): regression inputs,
# then a fixed number of inputs per target (fuzz/, scripts/fuzz.sh).
test-fuzz: deps
	bash scripts/fuzz.sh smoke

# The long campaigns: deep fuzzing (each target for FUZZ_SECONDS), then the
# stress, fault and error-path campaigns (check-deep-stress).
FUZZ_SECONDS ?= 600
check-deep: deps
	bash scripts/fuzz.sh deep $(FUZZ_SECONDS)
	$(MAKE) check-deep-stress

# The benchmark suite of issue 13 (bench/run.sh): jitcore vs raw LLJIT, MCJIT,
# llvmlite and lli-22; prints a table, writes BENCHMARKS.md and BENCHMARKS.png
# (not a test). JITCORE_BENCH_LIBDIR=<dir> measures another build.
bench: build
	bash bench/run.sh

clean:
	$(CARGO) clean
	rm -rf build

# The long campaigns (tests-deep/): stress, faults, error paths with a
# memory bound and valgrind (scripts/check-deep.sh; JITCORE_STRESS_SECONDS).
.PHONY: check-deep-stress
check-deep-stress: build
	bash scripts/check-deep.sh
