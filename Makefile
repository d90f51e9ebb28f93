# The two commands of the README:
#   make demo   builds libjitcore and jitcore-run, runs the C example host,
#               then a program through jitcore-run twice with a disk cache
#               (cold, then warm) with times and cache statistics
#   make test   runs every test: Rust unit/integration tests, the C suite
#               (cargo harness and CMake/ctest), the header check, packaging,
#               the C suite under valgrind's leak checker, and LLVM's own
#               ExecutionEngine tests through jitcore-run (conformance).
# Both install missing system packages first (scripts/install-deps.sh).

CARGO ?= cargo
export LLVM_SYS_221_PREFIX ?= /usr/lib/llvm-22
RELEASE_DIR := target/release
CFLAGS_STRICT := -std=c11 -Wall -Wextra -Werror -pedantic

.PHONY: all deps build demo test test-rust test-ctest test-packaging test-leaks test-conformance header bench clean

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

test: deps test-rust test-ctest test-packaging test-conformance test-leaks
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

# Lazy vs eager compilation, jitcore and lli-22 (prints ratios; not a test).
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
