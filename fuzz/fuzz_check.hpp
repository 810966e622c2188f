// QUICREUSE_FUZZ_CHECK: the harnesses' property check. A failed check prints the condition and
// its place, then aborts, which libFuzzer reports as a crash and saves the input that caused it.
// Unlike assert() it stays active whatever NDEBUG says.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace quicreuse::fuzz {

// Reports a failed check and aborts.
[[noreturn]] inline void check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, condition);
  std::abort();
}

}  // namespace quicreuse::fuzz

#define QUICREUSE_FUZZ_CHECK(condition)                                \
  do {                                                                 \
    if (!(condition)) {                                                \
      ::quicreuse::fuzz::check_failed(#condition, __FILE__, __LINE__); \
    }                                                                  \
  } while (false)
