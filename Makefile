# The two commands of the README:
#   make demo   builds libjitcore and jitcore-run, runs the C example host,
#               then a program through jitcore-run twice with a disk cache
#               (cold, then warm) with times and cache statistics
#   make test   runs every test: Rust unit/integration tests, the C suite
#               (cargo harness and CMake/ctest), the header check, packaging,
#               the C suite under valgrind's leak checker, and LLVM's own
#               ExecutionEngine tests through jitcore-run (conformance),
#               and a fuzz smoke run (test-fuzz, about a minute).
#   make check-deep  fuzzes each target for FUZZ_SECONDS (default 600 s);
#               see RELIABILITY.md.
# Both install missing system packages first (scripts/install-deps.sh).

CARGO ?= cargo
export LLVM_SYS_221_PREFIX ?= /usr/lib/llvm-22
RELEASE_DIR := target/release
CFLAGS_STRICT := -std=c11 -Wall -Wextra -Werror -pedantic

.PHONY: all deps build demo test test-rust test-ctest test-packaging test-leaks test-conformance test-fuzz check-deep header bench clean

all: build

deps:
	@bash scripts/install-deps.sh

# cargo writes libjitcore.so; programs linked to it ask for its SONAME.
build: deps
	$(CARGO) build --release
	ln -sf libjitcore.so $(RELEASE_DIR)/libjitcore.so.0

demo: build
	$(CC) $(CFLAGS_STRICT) -Iinclude examples/c/hello.c -o $(RELEASE_DIR)/hello \
	    -L$(RELEASE_DIR) -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -ljitcore
	$(RELEASE_DIR)/hello
	bash scripts/demo-cache.sh

# Regenerates include/jitcore.h from src/ (commit the result).
header:
	$(CARGO) build --release
	cp "$$(ls -t $(RELEASE_DIR)/build/jitcore-*/out/jitcore.h | head -n1)" include/jitcore.h

test: deps test-rust test-ctest test-packaging test-conformance test-leaks test-fuzz
	@echo "make test: all suites passed"

test-rust: build
	$(CARGO) test --release

test-ctest:
	cmake -S . -B build/ctest -DJITCORE_CARGO_TARGET_DIR=$(CURDIR)/target >/dev/null
	cmake --build build/ctest
	cd build/ctest && ctest --output-on-failure

test-packaging:
	JITCORE_CARGO_TARGET_DIR=$(CURDIR)/target bash scripts/test-packaging.sh

test-conformance: build
	bash scripts/conformance.sh

test-leaks:
	JITCORE_VALGRIND=1 $(CARGO) test --release --test c_suite

# libFuzzer through cargo-fuzz (installed if missing): regression inputs,
# then a fixed number of inputs per target (fuzz/, scripts/fuzz.sh).
test-fuzz: deps
	bash scripts/fuzz.sh smoke

# Deep fuzzing: each target for FUZZ_SECONDS. (Only fuzzing so far: no
# stress or fault-injection scenarios are written yet.)
FUZZ_SECONDS ?= 600
check-deep: deps
	bash scripts/fuzz.sh deep $(FUZZ_SECONDS)

# Lazy vs eager compilation, jitcore and lli-22 (prints ratios; not a test).
bench: build
	bash bench/run.sh

clean:
	$(CARGO) clean
	rm -rf build
