# Third-party dependencies: Debian packages only (installed by scripts/setup), never vendored.
find_package(PkgConfig REQUIRED)
pkg_check_modules(NGTCP2 REQUIRED IMPORTED_TARGET libngtcp2>=0.12 libngtcp2_crypto_gnutls gnutls>=3.7)
find_package(Threads REQUIRED)

find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(quicreuse_asio INTERFACE)
target_include_directories(quicreuse_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# ASIO_STANDALONE: no Boost. The coroutine defines make Clang 14 see asio::awaitable (see style.md 2.8).
target_compile_definitions(quicreuse_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                                                    ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
target_link_libraries(quicreuse_asio INTERFACE Threads::Threads)

find_path(TL_EXPECTED_INCLUDE_DIR tl/expected.hpp REQUIRED)
add_library(quicreuse_expected INTERFACE)
target_include_directories(quicreuse_expected SYSTEM INTERFACE ${TL_EXPECTED_INCLUDE_DIR})
