#include "first_flights.hpp"

#include "core/endpoint.hpp"
#include "core/tls_session.hpp"

#include <algorithm>

namespace quicreuse::test {
namespace {

constexpr std::size_t kChunk = 256;

struct Capture final : core::PacketSink, core::EndpointObserver {
  std::vector<std::vector<std::uint8_t>>* out = nullptr;
  void send(const core::SocketAddress&, std::span<const std::uint8_t> data, std::size_t segment,
            const core::PathInfo&) override {
    if (segment == 0) {
      segment = data.size();
    }
    // Only each connection's first datagram: the rest of a flight may follow in the same call.
    out->emplace_back(data.begin(),
                      data.begin() + static_cast<std::ptrdiff_t>(std::min(segment, data.size())));
  }
  void on_events(core::Connection&, std::span<const core::ConnectionEvent>) override {}
  void on_incoming() override {}
  void on_removed(core::ConnectionHandle) override {}
};

}  // namespace

std::vector<std::vector<std::uint8_t>> first_flights(const core::SocketAddress& server,
                                                     std::size_t n, std::uint64_t seed) {
  TlsClientConfig config;
  config.alpns = {"echo/1"};
  config.insecure_skip_verify = true;
  auto tls = core::make_client_tls_context(config);
  if (!tls) {
    return {};
  }
  std::vector<std::vector<std::uint8_t>> out;
  out.reserve(n);
  core::SeededRng rng(seed);
  constexpr std::uint8_t kV4[4] = {192, 0, 2, 1};
  constexpr std::uint8_t kV6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const core::SocketAddress from =
      server.is_v4() ? core::SocketAddress::v4(kV4, 1000) : core::SocketAddress::v6(kV6, 1000);
  const core::Timestamp now(std::chrono::seconds(1));
  while (out.size() < n) {
    core::EndpointConfig ec;
    core::Endpoint client(ec, rng, from);
    Capture capture;
    capture.out = &out;
    const std::size_t count = std::min(kChunk, n - out.size());
    for (std::size_t i = 0; i < count; ++i) {
      if (!client.connect(now, server, *tls)) {
        return {};
      }
    }
    client.flush(now, capture, capture);
  }
  out.resize(n);
  return out;
}

}  // namespace quicreuse::test
