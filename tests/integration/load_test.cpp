// Load on real sockets: many concurrent connections and streams; hostile floods during transfers.
#include "io_helpers.hpp"
#include "wait.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <random>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

struct Tally {
  int ok = 0;
  int failed = 0;
  std::string first_error;
};

// One connection: 4 concurrent streams, each echoing its own pattern.
asio::awaitable<void> four_streams(Endpoint& client, asio::ip::udp::endpoint server, int index,
                                   Tally& tally) {
  using namespace asio::experimental::awaitable_operators;
  auto conn = co_await client.dial(server, client_tls());
  if (!conn) {
    ++tally.failed;
    if (tally.first_error.empty()) {
      tally.first_error = conn.error().message();
    }
    co_return;
  }
  auto seed = [&](int s) {
    return static_cast<std::uint64_t>(index) * 4 + static_cast<std::uint64_t>(s);
  };
  const std::size_t size = 20'000;
  auto [r0, r1, r2, r3] = co_await (echo_round_trip(*conn, pattern(size, seed(0))) &&
                                    echo_round_trip(*conn, pattern(size, seed(1))) &&
                                    echo_round_trip(*conn, pattern(size, seed(2))) &&
                                    echo_round_trip(*conn, pattern(size, seed(3))));
  const bool all = r0 == pattern(size, seed(0)) && r1 == pattern(size, seed(1)) &&
                   r2 == pattern(size, seed(2)) && r3 == pattern(size, seed(3));
  if (all) {
    ++tally.ok;
  } else {
    ++tally.failed;
    if (tally.first_error.empty()) {
      tally.first_error =
          "mismatch: " +
          std::string(r0.begin(), r0.begin() + std::min<std::ptrdiff_t>(
                                                   60, static_cast<std::ptrdiff_t>(r0.size())));
    }
  }
  conn->close();
}

// Generous timers: this test counts correctness under load, not speed; a sanitizer build on two
// busy cores can leave a handshake silent for seconds (it then timed out, and the peer's next
// packets met stateless resets).
EndpointConfig patient_config() {
  EndpointConfig config;
  config.transport.handshake_idle_timeout = 120s;
  config.transport.max_idle_timeout = 120s;
  return config;
}

TEST(Load, TwoHundredConcurrentConnectionsTimesFourStreamsEchoByteExact) {
  asio::io_context io;
  auto server = Endpoint::bind(io.get_executor(), loopback(false), patient_config());
  ASSERT_TRUE(server);
  ASSERT_TRUE(server->listen(server_tls()));
  asio::co_spawn(io, echo_server(*server), asio::detached);
  // Four client sockets with 50 connections each.
  std::vector<Endpoint> clients;
  for (int i = 0; i < 4; ++i) {
    auto c = Endpoint::bind(io.get_executor(), loopback(false), patient_config());
    ASSERT_TRUE(c);
    clients.push_back(std::move(*c));
  }
  Tally tally;
  for (int i = 0; i < 200; ++i) {
    asio::co_spawn(
        io,
        four_streams(clients[static_cast<std::size_t>(i % 4)], server->local_endpoint(), i, tally),
        asio::detached);
  }
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        co_await wait_until([&] { return tally.ok + tally.failed >= 200; }, 235s);
      },
      240s));
  EXPECT_EQ(tally.ok, 200) << tally.first_error;
  EXPECT_EQ(server->stats().connections_accepted, 200u);
}

// Sends n random datagrams (random sizes and bytes) to target, a batch per turn of the loop.
asio::awaitable<void> flood(asio::ip::udp::socket& socket, asio::ip::udp::endpoint target, int n,
                            int& sent) {
  std::mt19937_64 rng(12345);
  std::vector<std::uint8_t> buf(1500);
  asio::steady_timer t(socket.get_executor());
  while (sent < n) {
    for (int i = 0; i < 250 && sent < n; ++i) {
      const std::size_t size = 1 + rng() % 1400;
      for (std::size_t j = 0; j < size; ++j) {
        buf[j] = static_cast<std::uint8_t>(rng());
      }
      std::error_code ec;
      socket.send_to(asio::buffer(buf.data(), size), target, 0, ec);
      ++sent;
    }
    t.expires_after(1ms);
    co_await t.async_wait(as_tuple(use_awaitable));
  }
}

TEST(Load, FloodOfFiftyThousandRandomDatagramsDuringSixteenMiBTransfer) {
  asio::io_context io;
  auto server = Endpoint::bind(io.get_executor(), loopback(false), patient_config());
  auto client = Endpoint::bind(io.get_executor(), loopback(false), patient_config());
  ASSERT_TRUE(server && client);
  ASSERT_TRUE(server->listen(server_tls()));
  asio::co_spawn(io, echo_server(*server), asio::detached);
  asio::ip::udp::socket attacker(io, asio::ip::udp::v4());
  int sent = 0;
  std::vector<std::uint8_t> echoed;
  const auto data = pattern(std::size_t{16} * 1024 * 1024, 99);
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto conn = co_await client->dial(server->local_endpoint(), client_tls());
        EXPECT_TRUE(conn.has_value());
        if (!conn) {
          co_return;
        }
        auto results = co_await (echo_round_trip(*conn, data) &&
                                 flood(attacker, server->local_endpoint(), 50'000, sent));
        echoed = std::move(results);
        conn->close();
      },
      300s));
  EXPECT_EQ(sent, 50'000);
  EXPECT_EQ(echoed.size(), data.size());
  EXPECT_TRUE(echoed == data);
  const EndpointStats st = server->stats();
  // Every junk datagram was classified and counted somewhere, none crashed the endpoint.
  EXPECT_GT(st.quic_dropped + st.non_quic_received + st.stateless_resets_sent, 0u);
  EXPECT_TRUE(server->is_open());
}

}  // namespace
}  // namespace quicreuse::test
