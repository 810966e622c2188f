// Endpoint on real sockets (127.0.0.1 and ::1): listen + dial + non-QUIC on one socket, errors,
// close semantics.
#include "io_helpers.hpp"
#include "wait.hpp"

#include <quicreuse/endpoint.hpp>
#include <quicreuse/stun.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

// Keeps the first accepted connection, then waits for a second; records how that wait ended.
// Accepts one connection (then sets accepted_first), holds it, and waits for a second.
asio::awaitable<void> accept_twice(Endpoint& ep, std::error_code& second, bool& accepted_first) {
  auto first = co_await ep.accept();
  if (!first) {
    co_return;
  }
  accepted_first = true;
  auto [ec, conn] = co_await ep.async_accept(as_tuple(use_awaitable));
  second = ec;
}

asio::awaitable<void> read_one_non_quic(Endpoint& ep, std::error_code& result) {
  std::uint8_t buf[64];
  auto [ec, n, from] =
      co_await ep.async_read_non_quic_packet(asio::buffer(buf), as_tuple(use_awaitable));
  result = ec;
}

class EndpointIntegration : public ::testing::TestWithParam<bool> {
 protected:
  [[nodiscard]] bool v6() const { return GetParam(); }
  asio::io_context io;
};

INSTANTIATE_TEST_SUITE_P(Families, EndpointIntegration, ::testing::Values(false, true),
                         [](const auto& p) { return std::string(p.param ? "IPv6" : "IPv4"); });

TEST_P(EndpointIntegration, DialAndEcho) {
  auto server = Endpoint::bind(io.get_executor(), loopback(v6()));
  ASSERT_TRUE(server) << server.error().message();
  ASSERT_TRUE(server->listen(server_tls()));
  auto client = Endpoint::bind(io.get_executor(), loopback(v6()));
  ASSERT_TRUE(client);
  asio::co_spawn(io, echo_server(*server), asio::detached);
  ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    auto conn = co_await client->dial(server->local_endpoint(), client_tls());
    EXPECT_TRUE(conn) << conn.error().message();
    if (!conn) {
      co_return;
    }
    EXPECT_EQ(conn->alpn(), std::string("echo/1"));
    EXPECT_EQ(conn->remote_endpoint(), server->local_endpoint());
    EXPECT_FALSE(conn->peer_certificates().empty());
    std::vector<std::uint8_t> hello = {'h', 'e', 'l', 'l', 'o'};
    auto echoed = co_await echo_round_trip(*conn, hello);
    EXPECT_EQ(std::string(echoed.begin(), echoed.end()), std::string("hello"));
    conn->close();
  }));
}

TEST_P(EndpointIntegration, ListensDialsAndAnswersStunOnOneSocketAtOnce) {
  // A listens; A dials B from the same socket; a STUN client asks A for its reflexive address.
  auto a = Endpoint::bind(io.get_executor(), loopback(v6()));
  auto b = Endpoint::bind(io.get_executor(), loopback(v6()));
  auto c = Endpoint::bind(io.get_executor(), loopback(v6()));
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(a->listen(server_tls()));
  ASSERT_TRUE(b->listen(server_tls()));
  int stun_answered = 0;
  asio::co_spawn(io, echo_server(*a), asio::detached);
  asio::co_spawn(io, stun_responder(*a, stun_answered), asio::detached);

  asio::ip::udp::socket stun_client(io, loopback(v6()).protocol());
  stun_client.bind(loopback(v6()));
  ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    // B accepts the dial from A and reports the address it saw.
    auto accept_on_b = [](Endpoint& ep) -> asio::awaitable<asio::ip::udp::endpoint> {
      auto conn = co_await ep.accept();
      co_return conn ? conn->remote_endpoint() : asio::ip::udp::endpoint{};
    };
    // The dialed connection must stay open until B accepted it (a connection closed before it
    // was accepted is never handed out).
    auto dial_from_a = [](Endpoint& from,
                          asio::ip::udp::endpoint to) -> asio::awaitable<Result<Connection>> {
      co_return co_await from.dial(to, client_tls());
    };
    auto [seen_by_b, dialed] = co_await (accept_on_b(*b) && dial_from_a(*a, b->local_endpoint()));
    EXPECT_TRUE(dialed.has_value());
    EXPECT_EQ(seen_by_b, a->local_endpoint());  // the dial left from A's listening socket

    // C dials A (A serves as a listener at the same time).
    auto conn = co_await c->dial(a->local_endpoint(), client_tls());
    EXPECT_TRUE(conn);
    if (conn) {
      auto echoed = co_await echo_round_trip(*conn, pattern(100'000, 3));
      EXPECT_EQ(echoed, pattern(100'000, 3));
    }

    // STUN on A's port gets the reflexive address of the STUN client.
    const stun::TransactionId txid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    auto request = stun::make_binding_request(txid);
    co_await stun_client.async_send_to(asio::buffer(request), a->local_endpoint(), use_awaitable);
    std::vector<std::uint8_t> buf(512);
    asio::ip::udp::endpoint from;
    auto [ec, n] =
        co_await stun_client.async_receive_from(asio::buffer(buf), from, as_tuple(use_awaitable));
    EXPECT_FALSE(ec);
    auto mapped = stun::parse_binding_response({buf.data(), n}, txid);
    EXPECT_TRUE(mapped);
    if (mapped) {
      EXPECT_EQ(*mapped, stun_client.local_endpoint());
    }
    EXPECT_EQ(from, a->local_endpoint());
  }));
  EXPECT_EQ(stun_answered, 1);
  EXPECT_GE(a->stats().non_quic_delivered, 1u);
}

TEST_P(EndpointIntegration, BindingAnAddressInUseFailsCleanly) {
  auto first = Endpoint::bind(io.get_executor(), loopback(v6()));
  ASSERT_TRUE(first);
  auto second = Endpoint::bind(io.get_executor(), first->local_endpoint());
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error() == std::errc::address_in_use) << second.error().message();
}

TEST_P(EndpointIntegration, TransportValuesNgtcp2CannotEncodeAreRefusedAtBind) {
  // Each of these would reach an ngtcp2 assertion when a connection is created.
  std::vector<EndpointConfig> bad(6);
  bad[0].transport.max_stream_window = std::uint64_t{1} << 62;
  bad[1].transport.initial_connection_window = ~std::uint64_t{0};
  bad[2].transport.max_incoming_bidi_streams = (std::uint64_t{1} << 60) + 1;
  bad[3].transport.max_idle_timeout = std::chrono::milliseconds(-1);
  bad[4].transport.keep_alive_period = std::chrono::hours(24 * 366);
  bad[5].transport.connection_send_buffer = 0;
  for (std::size_t i = 0; i < bad.size(); ++i) {
    auto ep = Endpoint::bind(io.get_executor(), loopback(v6()), bad[i]);
    ASSERT_FALSE(ep) << i;
    EXPECT_EQ(ep.error(), make_error_code(errc::invalid_argument)) << i;
  }
  EndpointConfig edge;
  edge.transport.max_stream_window = (std::uint64_t{1} << 62) - 1;
  edge.transport.max_incoming_bidi_streams = std::uint64_t{1} << 60;
  EXPECT_TRUE(Endpoint::bind(io.get_executor(), loopback(v6()), edge));
}

TEST_P(EndpointIntegration, ListenTwiceAndAcceptWithoutListenAreErrors) {
  auto ep = Endpoint::bind(io.get_executor(), loopback(v6()));
  ASSERT_TRUE(ep);
  ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    auto r = co_await ep->accept();
    EXPECT_EQ(r.error(), make_error_code(errc::not_listening));
  }));
  ASSERT_TRUE(ep->listen(server_tls()));
  EXPECT_EQ(ep->listen(server_tls()).error(), make_error_code(errc::already_listening));
  TlsServerConfig empty;
  auto other = Endpoint::bind(io.get_executor(), loopback(v6()));
  EXPECT_EQ(other->listen(empty).error(), make_error_code(errc::invalid_argument));
}

TEST_P(EndpointIntegration, CloseCompletesPendingOperationsAndIsIdempotent) {
  auto server = Endpoint::bind(io.get_executor(), loopback(v6()));
  auto client = Endpoint::bind(io.get_executor(), loopback(v6()));
  ASSERT_TRUE(server && client);
  ASSERT_TRUE(server->listen(server_tls()));
  std::error_code accept_error;
  std::error_code non_quic_error;
  std::error_code stream_error;
  std::error_code peer_close;
  bool accepted_first = false;
  asio::co_spawn(io, accept_twice(*server, accept_error, accepted_first), asio::detached);
  asio::co_spawn(io, read_one_non_quic(*server, non_quic_error), asio::detached);
  ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    auto conn = co_await client->dial(server->local_endpoint(), client_tls());
    EXPECT_TRUE(conn);
    if (!conn) {
      co_return;
    }
    auto stream = co_await conn->open_stream();
    EXPECT_TRUE(stream);
    // The server closes with a second accept parked behind the connection it accepted.
    EXPECT_TRUE(co_await wait_until([&] { return accepted_first; }, 5s));
    server->close();
    server->close();  // idempotent (D5)
    std::uint8_t buf[16];
    auto [ec, n] = co_await stream->async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
    stream_error = ec;
    auto [closed_ec] = co_await conn->async_wait_closed(as_tuple(use_awaitable));
    peer_close = closed_ec;
  }));
  // The parked operations complete on the executor after the close.
  ASSERT_TRUE(run_bounded(io, [&]() -> asio::awaitable<void> {
    co_await wait_until([&] { return accept_error && non_quic_error; }, 5s);
  }));
  EXPECT_EQ(accept_error, make_error_code(errc::endpoint_closed));
  EXPECT_EQ(non_quic_error, make_error_code(errc::endpoint_closed));
  // The server's CONNECTION_CLOSE (application code 0) reached the client.
  EXPECT_EQ(stream_error, make_error_code(errc::closed_by_peer));
  EXPECT_EQ(peer_close, make_error_code(errc::closed_by_peer));
  EXPECT_FALSE(server->is_open());
  // The socket was released: its address can be bound again.
  auto rebound = Endpoint::bind(io.get_executor(), server->local_endpoint());
  EXPECT_TRUE(rebound) << rebound.error().message();
}

}  // namespace
}  // namespace quicreuse::test
