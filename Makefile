# quicreuse: two commands for a fresh machine.
#   make demo   installs the Debian packages, builds, runs the demo
#   make test   installs the Debian packages, builds, runs every test label (unit, sim,
#               integration, interop), then the same suite under AddressSanitizer + UBSan
#               and under ThreadSanitizer, then each libFuzzer harness briefly
#   make fuzz   runs every libFuzzer harness for FUZZ_SECONDS each (fuzz/README.md)
.PHONY: all setup build demo test test-dev test-asan test-tsan test-fuzz build-asan build-tsan \
        build-fuzz fuzz bench format tidy clean

JOBS ?= 2
FUZZ_SECONDS ?= 60

all: build

setup:
	./scripts/setup

build: setup
	cmake --preset dev
	cmake --build --preset dev -j $(JOBS)

demo: build
	./build/quicreuse demo

test: test-dev test-asan test-tsan test-fuzz

test-dev: build
	ctest --preset dev -j $(JOBS)

build-asan: setup
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --preset asan -j $(JOBS)

build-tsan: setup
	cmake --preset tsan
	cmake --build --preset tsan -j $(JOBS)

test-tsan: build-tsan
	TSAN_OPTIONS=halt_on_error=1 ctest --preset tsan -j $(JOBS)

build-fuzz: setup
	cmake --preset fuzz
	cmake --build --preset fuzz -j $(JOBS)

# Each harness replays its checked-in corpus and fuzzes for a few seconds (CTest label fuzz).
test-fuzz: build-fuzz
	ctest --preset fuzz -j $(JOBS)

# Longer runs, into a scratch corpus under build-fuzz (the checked-in one is only read).
fuzz: build-fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz

bench: build
	./build/bench/quicreuse_bench

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

tidy: setup
	cmake --preset tidy
	cmake --build --preset tidy -j $(JOBS)

clean:
	rm -rf build build-asan build-tsan build-clang build-tidy build-fuzz
