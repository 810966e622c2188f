# libFuzzer builds (QUICREUSE_FUZZ=ON, Clang only; the `fuzz` preset turns it on).
#
# Everything we compile gets libFuzzer's coverage instrumentation (-fsanitize=fuzzer-no-link) so
# that the fuzzer sees edges inside the libraries, not only inside the harness; the harnesses in
# fuzz/ link libFuzzer's driver with -fsanitize=fuzzer. ASan and UBSan come from
# QUICREUSE_SANITIZE (Sanitizers.cmake), which the fuzz preset sets to "address,undefined".
if(NOT QUICREUSE_FUZZ)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "QUICREUSE_FUZZ needs Clang (libFuzzer ships with it): "
                      "cmake --preset fuzz, or -DCMAKE_CXX_COMPILER=clang++")
endif()
add_compile_options(-fsanitize=fuzzer-no-link)

# Transparent QUIC packet protection (src/core/packet_protection.hpp): identity "encryption"
# with a zero tag and zero header-protection masks, so that fuzzed packets reach frame parsing.
# Every fuzz-build endpoint uses it, so they still talk to each other; nothing else may.
add_compile_definitions(QUICREUSE_FUZZING_TRANSPARENT_PROTECTION)
