// The IP-level path on real sockets: answers from the address the peer used on sockets bound to
// a wildcard address (IP_PKTINFO / IPV6_PKTINFO), and local_endpoint() naming that address.
#include "io_helpers.hpp"
#include "udp_relay.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <gtest/gtest.h>

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

// Dials target through a recording relay, echoes a message and returns the relay.
asio::awaitable<std::shared_ptr<UdpRelay>> echo_through_relay(asio::io_context& io,
                                                              Endpoint& client,
                                                              asio::ip::udp::endpoint target) {
  auto relay = UdpRelay::start(io, target);
  auto conn = co_await client.dial(relay->address(), client_tls());
  EXPECT_TRUE(conn) << conn.error().message();
  if (conn) {
    const auto data = pattern(20'000, 7);  // several packets, some in one GSO batch
    EXPECT_EQ(co_await echo_round_trip(*conn, data), data);
    conn->close();
  }
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
  ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    auto conn = co_await client->dial(server->local_endpoint(), client_tls());
    EXPECT_TRUE(conn) << conn.error().message();
    if (!conn) {
      co_return;
    }
    EXPECT_EQ(conn->local_endpoint(), at("127.0.0.1", client->local_endpoint().port()));
    const auto data = pattern(3'000, 1);
    EXPECT_EQ(co_await echo_round_trip(*conn, data), data);
    conn->close();
  }));
}

}  // namespace
}  // namespace quicreuse::test
