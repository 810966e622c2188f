# quicreuse: two commands for a fresh machine.
#   make demo   installs the Debian packages, builds, runs the demo
#   make test   installs the Debian packages, builds, runs every test label (unit, sim,
#               integration, interop), then the same suite under AddressSanitizer + UBSan
#               and under ThreadSanitizer
.PHONY: all setup build demo test test-dev test-asan test-tsan build-asan build-tsan bench format tidy clean

JOBS ?= 2

all: build

setup:
	./scripts/setup

build: setup
	cmake --preset dev
	cmake --build --preset dev -j $(JOBS)

demo: build
	./build/quicreuse demo

test: test-dev test-asan test-tsan

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

bench: build
	./build/bench/quicreuse_bench

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

tidy: setup
	cmake --preset tidy
	cmake --build --preset tidy -j $(JOBS)

clean:
	rm -rf build build-asan build-tsan build-clang build-tidy
