// go-libp2p scenarios around quicreuse (spec section 7, "related integration tests"): QUIC and a
// STUN/DTLS user on one explicit port, dial-out from the listen socket of the right
// association, hole-punch style raw writes from a leased socket.
#include "io_helpers.hpp"

#include <quicreuse/conn_manager.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;
using udp = asio::ip::udp;

const ConnManager::Key kKey{};

std::shared_ptr<ConnManager> manager(asio::io_context& io, bool reuse = true) {
  std::vector<ConnManagerOption> opts;
  if (!reuse) {
    opts.push_back(options::disable_reuseport());
  }
  auto cm = ConnManager::create(io.get_executor(), kKey, kKey, std::move(opts));
  EXPECT_TRUE(cm);
  return *cm;
}

Multiaddr ma(const std::string& text) {
  auto m = Multiaddr::parse(text);
  EXPECT_TRUE(m) << text;
  return *m;
}

// Returns a UDP port that is free on 127.0.0.1 right now.
std::uint16_t free_port(asio::io_context& io) {
  udp::socket probe(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return probe.local_endpoint().port();
}

// Answers STUN Binding Requests on a shared non-QUIC packet conn until it closes.
asio::awaitable<void> stun_user(NonQuicPacketConn& conn, int& answered) {
  std::vector<std::uint8_t> buf(1500);
  for (;;) {
    auto [ec, n, from] = co_await conn.async_read_from(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    if (auto response = stun::make_binding_response({buf.data(), n}, from); response) {
      if (conn.write_to(*response, from)) {
        ++answered;
      }
    }
  }
}

// Sends a STUN Binding Request to target; returns the port the answer came from (0 if none).
asio::awaitable<std::uint16_t> stun_probe(udp::socket& socket, udp::endpoint target) {
  using namespace asio::experimental::awaitable_operators;
  const stun::TransactionId id{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
  auto request = stun::make_binding_request(id);
  co_await socket.async_send_to(asio::buffer(request), target, as_tuple(use_awaitable));
  std::vector<std::uint8_t> buf(512);
  udp::endpoint from;
  asio::steady_timer timer(socket.get_executor(), 2s);
  auto r = co_await (socket.async_receive_from(asio::buffer(buf), from, as_tuple(use_awaitable)) ||
                     timer.async_wait(as_tuple(use_awaitable)));
  if (r.index() != 0 || std::get<0>(std::get<0>(r))) {
    co_return std::uint16_t{0};
  }
  const auto mapped = stun::parse_binding_response({buf.data(), std::get<1>(std::get<0>(r))}, id);
  co_return mapped&&* mapped == socket.local_endpoint() ? from.port() : std::uint16_t{0};
}

TEST(ReuseScenario, QuicAndStunShareOneExplicitPort) {
  asio::io_context io;
  auto cm = manager(io);
  const std::uint16_t port = free_port(io);
  const std::string addr = "/ip4/127.0.0.1/udp/" + std::to_string(port);
  // The STUN/DTLS user asking first is told the QUIC listener must start first (the host then
  // listens in transport order: QUIC, then WebRTC), and nothing is left bound.
  auto early = cm->shared_non_quic_packet_conn(
      "udp4", udp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error(), make_error_code(errc::not_listening));
  auto ln = cm->listen_quic(ma(addr + "/quic-v1"), server_tls());
  ASSERT_TRUE(ln) << ConnManager::last_error();
  auto shared = cm->shared_non_quic_packet_conn("udp4", (*ln)->addr());
  ASSERT_TRUE(shared) << ConnManager::last_error();
  EXPECT_EQ((*shared)->local_endpoint().port(), port);
  int answered = 0;
  asio::co_spawn(io, stun_user(**shared, answered), asio::detached);
  udp::socket stun_client(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::uint16_t stun_port = 0;
  std::vector<std::uint8_t> echoed;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto client = Endpoint::bind(co_await asio::this_coro::executor, loopback(false));
        auto [accepted, conn] =
            co_await ((*ln)->accept() && client->dial((*ln)->addr(), client_tls()));
        EXPECT_TRUE(accepted && conn);
        if (accepted && conn) {
          asio::co_spawn(co_await asio::this_coro::executor, echo_connection(*accepted),
                         asio::detached);
          echoed = co_await echo_round_trip(*conn, pattern(50'000, 1));
        }
        stun_port = co_await stun_probe(stun_client, (*ln)->addr());
      },
      20s));
  EXPECT_EQ(echoed, pattern(50'000, 1));
  EXPECT_EQ(stun_port, port);  // the STUN answer came from the QUIC port
  EXPECT_EQ(answered, 1);
}

TEST(ReuseScenario, WithoutReuseTheStunUserCannotShareTheQuicPort) {
  asio::io_context io;
  auto cm = manager(io, false);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls());
  ASSERT_TRUE(ln);
  auto shared = cm->shared_non_quic_packet_conn("udp4", (*ln)->addr());
  ASSERT_FALSE(shared);
  EXPECT_NE(ConnManager::last_error().find("DisableReuseport"), std::string::npos);
}

// A server that answers every stream with the remote port it saw, then FIN.
asio::awaitable<void> report_port(Connection conn) {
  for (;;) {
    auto stream = co_await conn.accept_stream();
    if (!stream) {
      co_return;
    }
    const std::string text = std::to_string(conn.remote_endpoint().port());
    co_await asio::async_write(*stream, asio::buffer(text), as_tuple(use_awaitable));
    (void)stream->shutdown_send();
  }
}

asio::awaitable<void> port_reporter(Endpoint& ep) {
  for (;;) {
    auto conn = co_await ep.accept();
    if (!conn) {
      co_return;
    }
    asio::co_spawn(ep.get_executor(), report_port(std::move(*conn)), asio::detached);
  }
}

// Dials peer through cm with association; returns the port the peer says it saw.
asio::awaitable<std::uint16_t> observed_port(ConnManager& cm, Multiaddr peer,
                                             Association association) {
  auto conn = co_await cm.dial_quic(std::move(peer), client_tls(), {}, std::move(association));
  if (!conn) {
    co_return std::uint16_t{0};
  }
  auto stream = co_await conn->open_stream();
  if (!stream) {
    co_return std::uint16_t{0};
  }
  (void)stream->shutdown_send();
  std::string text(16, '\0');
  auto [ec, n] = co_await asio::async_read(*stream, asio::buffer(text), as_tuple(use_awaitable));
  conn->close();
  co_return static_cast<std::uint16_t>(std::stoi(text.substr(0, n)));
}

struct DialOutCase {
  const char* name;
  const char* listen_ip;
  bool quic_first;
};

class DialOut : public ::testing::TestWithParam<DialOutCase> {};
INSTANTIATE_TEST_SUITE_P(
    ListenOrders, DialOut,
    ::testing::Values(DialOutCase{"LoopbackQuicFirst", "127.0.0.1", true},
                      DialOutCase{"LoopbackWebTransportFirst", "127.0.0.1", false},
                      DialOutCase{"WildcardQuicFirst", "0.0.0.0", true},
                      DialOutCase{"WildcardWebTransportFirst", "0.0.0.0", false}),
    [](const auto& p) { return std::string(p.param.name); });

TEST_P(DialOut, UseCorrectTransportForDialOut) {
  asio::io_context io;
  auto cm = manager(io);
  const std::string listen = std::string("/ip4/") + GetParam().listen_ip + "/udp/0/quic-v1";
  const Association quic("quic");
  const Association webtransport("webtransport");
  std::unique_ptr<Listener> quic_ln;
  std::unique_ptr<Listener> wt_ln;
  auto listen_quic = [&] {
    auto ln = cm->listen_quic_and_associate(quic, ma(listen), server_tls());
    ASSERT_TRUE(ln) << ConnManager::last_error();
    quic_ln = std::move(*ln);
  };
  auto listen_wt = [&] {
    std::vector<std::string> h3 = {"h3"};
    auto ln = cm->listen_quic_and_associate(webtransport, ma(listen), server_tls(h3));
    ASSERT_TRUE(ln) << ConnManager::last_error();
    wt_ln = std::move(*ln);
  };
  if (GetParam().quic_first) {
    listen_quic();
    listen_wt();
  } else {
    listen_wt();
    listen_quic();
  }
  ASSERT_TRUE(quic_ln && wt_ln);
  ASSERT_NE(quic_ln->addr().port(), wt_ln->addr().port());
  auto peer = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(peer);
  ASSERT_TRUE(peer->listen(server_tls()));
  asio::co_spawn(io, port_reporter(*peer), asio::detached);
  const Multiaddr peer_addr = *to_quic_multiaddr(peer->local_endpoint());
  std::uint16_t via_quic = 0;
  std::uint16_t via_wt = 0;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        via_quic = co_await observed_port(*cm, peer_addr, quic);
        via_wt = co_await observed_port(*cm, peer_addr, webtransport);
      },
      20s));
  EXPECT_EQ(via_quic, quic_ln->addr().port());
  EXPECT_EQ(via_wt, wt_ln->addr().port());
}

TEST(ReuseScenario, HolePunchWritesFromALeasedTransportLeaveFromTheListenPort) {
  asio::io_context io;
  auto cm = manager(io);
  const Association quic("quic");
  auto ln = cm->listen_quic_and_associate(quic, ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls());
  ASSERT_TRUE(ln);
  udp::socket peer(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto lease = cm->transport_with_association_for_dial(quic, "udp4", peer.local_endpoint());
  ASSERT_TRUE(lease) << ConnManager::last_error();
  EXPECT_EQ(lease->local_endpoint(), (*ln)->addr());
  EXPECT_EQ(lease->ref_count(), 2);
  const auto punch = pattern(64, 5);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(lease->write_to(punch, peer.local_endpoint()));
  }
  std::vector<udp::endpoint> senders;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<std::uint8_t> buf(256);
        for (int i = 0; i < 3; ++i) {
          udp::endpoint from;
          auto [ec, n] =
              co_await peer.async_receive_from(asio::buffer(buf), from, as_tuple(use_awaitable));
          if (!ec && n == punch.size()) {
            senders.push_back(from);
          }
        }
      },
      10s));
  ASSERT_EQ(senders.size(), 3u);
  for (const auto& s : senders) {
    EXPECT_EQ(s, (*ln)->addr());
  }
  lease->release();  // the holder is done (the seed's DecreaseCount after punching)
  auto again = cm->transport_with_association_for_dial(quic, "udp4", peer.local_endpoint());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ref_count(), 2);  // listener + this lease: the first one was released
}

}  // namespace
}  // namespace quicreuse::test
