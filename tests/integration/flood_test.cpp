// A flood of valid Initials (real ClientHellos from many source ports, never followed up) against
// a ConnManager listener: the handshake state it can pin is bounded by the half-open cap (past it
// clients get a stateless Retry), and a legitimate client connects during the flood.
#include "first_flights.hpp"
#include "io_helpers.hpp"
#include "wait.hpp"

#include <quicreuse/conn_manager.hpp>
#include <quicreuse/metrics.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

constexpr std::size_t kFlood = 1200;
constexpr std::size_t kSockets = 60;
const EndpointConfig kDefaults;

// Returns the value of the sample `name ` in a Prometheus text exposition (-1 when absent).
double sample(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

// The listener and held outlive the io_context run (both belong to the test body).
asio::awaitable<void> hold_connections(Listener* listener, std::vector<Connection>* held) {
  for (;;) {
    auto [ec, conn] = co_await listener->async_accept(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    held->push_back(std::move(conn));
    while (auto more = listener->try_accept()) {
      held->push_back(std::move(*more));
    }
  }
}

struct LegitResult {
  bool done = false;
  bool ok = false;
  std::string error;
};

asio::awaitable<void> legit_dial(Endpoint* client, asio::ip::udp::endpoint server,
                                 TlsClientConfig tls, LegitResult* result) {
  auto conn = co_await client->dial(server, std::move(tls));
  result->ok = conn.has_value();
  result->error = conn ? "" : conn.error().message();
  result->done = true;
}

TEST(Flood, ValidInitialsPastTheHalfOpenCapGetRetriesAndALegitimateClientIsServed) {
  asio::io_context io;
  const std::array<std::uint8_t, 32> key{};
  auto cm = ConnManager::create(io.get_executor(), key, key, {});
  ASSERT_TRUE(cm) << ConnManager::last_error();
  auto ln =
      (*cm)->listen_quic(*Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"echo/1"}));
  ASSERT_TRUE(ln) << ConnManager::last_error();
  const asio::ip::udp::endpoint server = (*ln)->addr();
  const auto flood = first_flights(
      core::SocketAddress(server.data(), static_cast<socklen_t>(server.size())), kFlood);
  ASSERT_EQ(flood.size(), kFlood);

  std::vector<Connection> held;
  LegitResult legit;
  const TlsClientConfig tls = client_tls({"echo/1"});
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        asio::co_spawn(ex, hold_connections(ln->get(), &held), asio::detached);
        std::vector<asio::ip::udp::socket> sockets;
        for (std::size_t i = 0; i < kSockets; ++i) {
          sockets.emplace_back(ex, loopback(false));
        }
        EndpointConfig config;
        config.transport.handshake_idle_timeout = 30s;  // the test measures refusals, not speed
        auto client = Endpoint::bind(ex, loopback(false), config);
        EXPECT_TRUE(client);
        for (std::size_t i = 0; i < flood.size(); ++i) {
          auto& socket = sockets[i % kSockets];
          co_await socket.async_send_to(asio::buffer(flood[i]), server, as_tuple(use_awaitable));
          if (i == flood.size() / 2) {
            // The legitimate client starts halfway through the flood.
            asio::co_spawn(ex, legit_dial(&*client, server, tls, &legit), asio::detached);
          }
          if (i % 20 == 0) {
            co_await asio::post(ex, use_awaitable);  // let the server take its share
          }
        }
        co_await wait_until([&] { return legit.done; }, 30s);
        client->close();
      },
      60s));
  EXPECT_TRUE(legit.ok) << legit.error;
  const std::string metrics = (*cm)->metrics()->render();
  const double peak = sample(metrics, "quicreuse_connections_half_open_peak");
  const double retries = sample(metrics, "quicreuse_retries_for_half_open_total");
  EXPECT_GE(peak, static_cast<double>(kDefaults.max_half_open_connections));
  // The cap, plus the legitimate client that proved its address.
  EXPECT_LE(peak, static_cast<double>(kDefaults.max_half_open_connections + 1)) << metrics;
  EXPECT_GE(retries, static_cast<double>(kFlood - kDefaults.max_half_open_connections) * 0.9)
      << metrics;
  (*ln)->close();
  (*cm)->close();
}

}  // namespace
}  // namespace quicreuse::test
