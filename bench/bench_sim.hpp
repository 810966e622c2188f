// The benchmarks' view of the tests' simulator (tests/support/sim_network.hpp, which needs no
// GoogleTest): its names, and TLS for simulated peers that aborts when GnuTLS cannot make it.
#pragma once

#include "sim_app.hpp"
#include "sim_network.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace quicreuse::bench {

using core::Duration;
using core::SocketAddress;
using core::Timestamp;
using test::LinkConfig;
using test::sim_address;
using test::sim_config;
using test::SimNetwork;
using test::SimNode;

// Long enough never to end a benchmark's run_until: the step limits bound it instead.
inline constexpr Duration kNoVirtualTimeLimit = std::chrono::hours(24 * 365);

template <class T>
T value_or_abort(Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.error().message().c_str());
    std::abort();
  }
  return *std::move(r);
}

// A server TLS configuration with a fresh self-signed identity offering ALPN "bench".
inline std::shared_ptr<const TlsServerConfig> bench_server_tls() {
  return value_or_abort(test::make_test_server_tls({"bench"}), "make_test_server_tls");
}
// A client TLS context offering ALPN "bench" that skips certificate verification.
inline std::shared_ptr<const core::ClientTlsContext> bench_client_tls() {
  return value_or_abort(test::make_test_client_tls({"bench"}), "make_test_client_tls");
}

}  // namespace quicreuse::bench
