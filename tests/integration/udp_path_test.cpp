// The IP-level path on real sockets: answers from the address the peer used on sockets bound to
// a wildcard address (IP_PKTINFO / IPV6_PKTINFO), local_endpoint() naming that address, and ECN
// (ECT(0) on what we send, marks we receive counted and given to ngtcp2).
#include "io_helpers.hpp"
#include "udp_relay.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <optional>
#include <set>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;

asio::ip::udp::endpoint at(const char* address, std::uint16_t port) {
  return {asio::ip::make_address(address), port};
}

// Accepts connections on ep, records each one's local_endpoint() and echoes it.
asio::awaitable<void> recording_echo_server(Endpoint& ep,
                                            std::vector<asio::ip::udp::endpoint>& locals) {
  for (;;) {
    auto conn = co_await ep.accept();
    if (!conn) {
      co_return;
    }
    locals.push_back(conn->local_endpoint());
    asio::co_spawn(ep.get_executor(), echo_connection(*conn), asio::detached);
  }
}

// Dials to from client, echoes bytes of data over one stream, lets inspect look at the
// connection while it is open, and closes it.
asio::awaitable<void> dial_echo_close(Endpoint& client, asio::ip::udp::endpoint to,
                                      std::size_t bytes,
                                      std::function<void(const Connection&)> inspect) {
  auto conn = co_await client.dial(to, client_tls());
  EXPECT_TRUE(conn) << conn.error().message();
  if (!conn) {
    co_return;
  }
  const auto data = pattern(bytes, bytes);
  EXPECT_EQ(co_await echo_round_trip(*conn, data), data);
  if (inspect) {
    inspect(*conn);
  }
  conn->close();
}

// Dials target through a recording relay, echoes a message and returns the relay.
asio::awaitable<std::shared_ptr<UdpRelay>> echo_through_relay(asio::io_context& io,
                                                              Endpoint& client,
                                                              asio::ip::udp::endpoint target) {
  auto relay = UdpRelay::start(io, target);
  // Several packets, some of them in one GSO batch.
  co_await dial_echo_close(client, relay->address(), 20'000, {});
  co_return relay;
}

// Returns the distinct sender addresses of datagrams the relay got from the server.
std::set<asio::ip::udp::endpoint> server_sources(const UdpRelay& relay) {
  std::set<asio::ip::udp::endpoint> out;
  for (const auto& d : relay.from_server) {
    out.insert(d.from);
  }
  return out;
}

TEST(WildcardSocket, AnswersFromTheAddressEachPeerDialed) {
  // On Linux the loopback interface answers on all of 127/8: one socket on 0.0.0.0 is reached as
  // 127.0.0.2 by one client and as 127.0.0.1 by another. Without IP_PKTINFO both would be
  // answered from 127.0.0.1 (the kernel's choice for the destination 127.0.0.1).
  asio::io_context io;
  auto server = Endpoint::bind(io.get_executor(), at("0.0.0.0", 0));
  ASSERT_TRUE(server) << server.error().message();
  ASSERT_TRUE(server->listen(server_tls()));
  const std::uint16_t port = server->local_endpoint().port();
  auto client = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(client);
  std::vector<asio::ip::udp::endpoint> locals;
  asio::co_spawn(io, recording_echo_server(*server, locals), asio::detached);
  for (const char* dialed : {"127.0.0.2", "127.0.0.1"}) {
    SCOPED_TRACE(dialed);
    std::shared_ptr<UdpRelay> relay;
    ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
      relay = co_await echo_through_relay(io, *client, at(dialed, port));
    }));
    EXPECT_GT(relay->from_server.size(), 3U);
    EXPECT_EQ(server_sources(*relay), std::set{at(dialed, port)});
    ASSERT_FALSE(locals.empty());
    EXPECT_EQ(locals.back(), at(dialed, port));
    relay->close();
  }
  EXPECT_EQ(locals.size(), 2U);
}

TEST(WildcardSocket, AnswersFromLoopbackOnIpv6Wildcard) {
  // [::] has one loopback address, so this only shows that the IPv6 control messages work and
  // that connections see [::1], not [::].
  asio::io_context io;
  auto server = Endpoint::bind(io.get_executor(), at("::", 0));
  ASSERT_TRUE(server) << server.error().message();
  ASSERT_TRUE(server->listen(server_tls()));
  const std::uint16_t port = server->local_endpoint().port();
  auto client = Endpoint::bind(io.get_executor(), loopback(true));
  ASSERT_TRUE(client);
  std::vector<asio::ip::udp::endpoint> locals;
  asio::co_spawn(io, recording_echo_server(*server, locals), asio::detached);
  std::shared_ptr<UdpRelay> relay;
  ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    relay = co_await echo_through_relay(io, *client, at("::1", port));
  }));
  EXPECT_EQ(server_sources(*relay), std::set{at("::1", port)});
  ASSERT_EQ(locals.size(), 1U);
  EXPECT_EQ(locals.front(), at("::1", port));
}

TEST(WildcardSocket, DialedConnectionNamesItsSourceAddress) {
  // A connection dialed from 0.0.0.0 reports the source address the routing table picks.
  asio::io_context io;
  auto server = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(server);
  ASSERT_TRUE(server->listen(server_tls()));
  auto client = Endpoint::bind(io.get_executor(), at("0.0.0.0", 0));
  ASSERT_TRUE(client);
  std::vector<asio::ip::udp::endpoint> locals;
  asio::co_spawn(io, recording_echo_server(*server, locals), asio::detached);
  const auto expected = at("127.0.0.1", client->local_endpoint().port());
  ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    co_await dial_echo_close(*client, server->local_endpoint(), 3'000,
                             [&](const Connection& c) { EXPECT_EQ(c.local_endpoint(), expected); });
  }));
}

constexpr std::uint8_t kEct0 = 0x02;
constexpr std::uint8_t kCe = 0x03;

std::size_t count_marked(const std::vector<Observed>& seen, std::uint8_t ecn) {
  std::size_t n = 0;
  for (const auto& d : seen) {
    n += d.ecn == ecn ? 1 : 0;
  }
  return n;
}

// Statistics of both ends of one connection that moved data through a relay.
struct EcnRun {
  ConnectionStats client;
  ConnectionStats server;
  std::shared_ptr<UdpRelay> relay;
};

// Echoes 200 kB from a client through a relay (re-marking what reaches the server when
// ecn_to_server is set) and returns both ends' statistics, taken before closing.
EcnRun ecn_run(bool v6, std::optional<std::uint8_t> ecn_to_server) {
  asio::io_context io;
  EcnRun run;
  auto server = Endpoint::bind(io.get_executor(), loopback(v6));
  auto client = Endpoint::bind(io.get_executor(), loopback(v6));
  EXPECT_TRUE(server && client);
  if (!server || !client) {
    return run;
  }
  EXPECT_TRUE(server->listen(server_tls()));
  std::vector<Connection> accepted;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          auto conn = co_await server->accept();
          if (!conn) {
            co_return;
          }
          accepted.push_back(*conn);
          asio::co_spawn(io, echo_connection(*conn), asio::detached);
        }
      },
      asio::detached);
  run.relay = UdpRelay::start(io, server->local_endpoint());
  run.relay->ecn_to_server = ecn_to_server;
  EXPECT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    co_await dial_echo_close(*client, run.relay->address(), 200'000, [&](const Connection& c) {
      run.client = c.stats();
      EXPECT_EQ(accepted.size(), 1U);
      if (!accepted.empty()) {
        run.server = accepted.front().stats();
      }
    });
  }));
  run.relay->close();
  return run;
}

class Ecn : public ::testing::TestWithParam<bool> {};

INSTANTIATE_TEST_SUITE_P(Families, Ecn, ::testing::Values(false, true),
                         [](const auto& p) { return std::string(p.param ? "IPv6" : "IPv4"); });

TEST_P(Ecn, PacketsLeaveMarkedEct0AndThePathIsValidated) {
  const EcnRun run = ecn_run(GetParam(), std::nullopt);
  ASSERT_TRUE(run.relay);
  // The relay reads each datagram's TOS / traffic class (IP_RECVTOS / IPV6_RECVTCLASS).
  EXPECT_GT(count_marked(run.relay->from_client, kEct0), 10U);
  EXPECT_GT(count_marked(run.relay->from_server, kEct0), 10U);
  EXPECT_EQ(count_marked(run.relay->from_client, kCe), 0U);
  // What one end sent marked, the other received marked, and the peer's ACKs counted it. (The
  // last datagrams may still be on their way when the statistics are taken: sent >= relayed >=
  // received.)
  const std::size_t relayed_to_server = count_marked(run.relay->from_client, kEct0);
  const std::size_t relayed_to_client = count_marked(run.relay->from_server, kEct0);
  EXPECT_GE(run.client.ecn_ect0_sent, relayed_to_server);
  EXPECT_GE(run.server.ecn_ect0_sent, relayed_to_client);
  EXPECT_LE(run.server.ecn_ect0_received, relayed_to_server);
  EXPECT_LE(run.client.ecn_ect0_received, relayed_to_client);
  EXPECT_GT(run.server.ecn_ect0_received, 10U);
  EXPECT_GT(run.client.ecn_ect0_received, 10U);
  EXPECT_GT(run.client.ecn_peer_ect0, 0U);
  EXPECT_GT(run.server.ecn_peer_ect0, 0U);
  EXPECT_EQ(run.client.ecn_ce_received + run.server.ecn_ce_received, 0U);
  EXPECT_TRUE(run.client.ecn_validated);
  EXPECT_TRUE(run.server.ecn_validated);
}

TEST_P(Ecn, CongestionExperiencedMarksAreCountedAndReported) {
  // The relay marks everything that reaches the server CE, as a congested router would.
  const EcnRun run = ecn_run(GetParam(), kCe);
  ASSERT_TRUE(run.relay);
  EXPECT_GT(run.server.ecn_ce_received, 0U);
  EXPECT_LE(run.server.ecn_ce_received, run.relay->from_client.size());
  EXPECT_EQ(run.server.ecn_ect0_received, 0U);
  // The server's ACKs tell the client (ACK_ECN counts): its marks arrived as CE.
  EXPECT_GT(run.client.ecn_peer_ce, 0U);
  EXPECT_EQ(run.client.ecn_peer_ect0, 0U);
}

TEST(WriteBlocked, NoPacketIsLostWhileTheSendBufferIsFull) {
  // Run by the ctest write_blocked_on_slow_loopback, inside slow_loopback.sh (the normal test
  // list leaves it out).
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  ASSERT_NE(std::getenv("QUICREUSE_SLOW_LOOPBACK"), nullptr)
      << "needs the rate-limited loopback of tests/integration/slow_loopback.sh";
  asio::io_context io;
  EndpointConfig config;
  config.send_buffer_size = 4096;  // the kernel minimum (4608): a few packets behind the qdisc
  auto server = Endpoint::bind(io.get_executor(), loopback(false), config);
  auto client = Endpoint::bind(io.get_executor(), loopback(false), config);
  ASSERT_TRUE(server && client);
  ASSERT_TRUE(server->listen(server_tls()));
  asio::co_spawn(io, echo_server(*server), asio::detached);
  ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    co_await dial_echo_close(*client, server->local_endpoint(), 3'000'000, {});
  }));
  for (const Endpoint* ep : {&*client, &*server}) {
    const EndpointStats s = ep->stats();
    const std::string side = ep == &*client ? "client_" : "server_";
    RecordProperty(side + "write_blocked", std::to_string(s.write_blocked));
    RecordProperty(side + "datagrams_sent", std::to_string(s.datagrams_sent));
    EXPECT_GT(s.write_blocked, 0U);  // the socket did refuse packets for a while
    EXPECT_EQ(s.send_errors, 0U);    // and none of them was lost for it
    EXPECT_EQ(s.send_queue_dropped, 0U);
  }
}

}  // namespace
}  // namespace quicreuse::test
