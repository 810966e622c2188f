// Connection lifecycle over the simulator: idle timeout, close codes, stateless reset, timeouts.
// Every test runs over each link of the table (sim_links.hpp).
#include "sim_gtest.hpp"
#include "sim_links.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
using core::ConnectionEvent;

struct Established {
  SimNetwork net;
  SimNode& server;
  SimNode& client;
  std::unique_ptr<EchoServer> echo;
  core::ConnectionHandle client_handle = 0;

  explicit Established(LinkConfig link, core::EndpointConfig client_config = sim_config(2),
                       core::EndpointConfig server_config = sim_config(1))
      : net(link),
        server(net.add_node(sim_address(1, 443), std::move(server_config))),
        client(net.add_node(sim_address(2, 5000), std::move(client_config))) {
    EXPECT_TRUE(server.endpoint().listen(test_server_tls()));
    echo = std::make_unique<EchoServer>(net, server);
    auto h = client.endpoint().connect(net.now(), server.address(), test_client_tls());
    EXPECT_TRUE(h);
    client_handle = *h;
    EXPECT_TRUE(net.run_until(
        [&] {
          auto* c = client.endpoint().find(client_handle);
          return c != nullptr && c->handshake_completed() && echo->accepted.size() == 1;
        },
        10s));
  }
  core::Connection* client_conn() { return client.endpoint().find(client_handle); }
  core::Connection* server_conn() { return server.endpoint().find(echo->accepted.at(0)); }
};

class SimLifecycle : public testing::TestWithParam<SimLink> {};

TEST_P(SimLifecycle, IdleTimeoutClosesBothSidesSilently) {
  auto client_config = sim_config(2);
  client_config.transport.keep_alive_period = 0ms;
  client_config.transport.max_idle_timeout = 3s;
  auto server_config = sim_config(1);
  server_config.transport.keep_alive_period = 0ms;
  Established e(GetParam().link, client_config, server_config);
  std::optional<CloseInfo> client_close;
  e.client.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::closed) {
      client_close = conn.close_info();
    }
  };
  const auto start = e.net.now();
  ASSERT_TRUE(e.net.run_until([&] { return client_close.has_value(); }, 60s));
  EXPECT_EQ(client_close->kind, CloseInfo::Kind::idle_timeout);
  EXPECT_EQ(client_close->error, make_error_code(errc::idle_timeout));
  // The negotiated idle timeout is the smaller of the two (3 s), not the server's 30 s.
  EXPECT_LT(e.net.now() - start, 10s);
  EXPECT_GE(e.net.now() - start, 3s);
  ASSERT_TRUE(e.net.run_until([&] { return e.server.endpoint().connection_count() == 0; }, 60s));
}

TEST_P(SimLifecycle, KeepAliveKeepsAnIdleConnectionOpen) {
  auto client_config = sim_config(2);
  client_config.transport.keep_alive_period = 1s;
  client_config.transport.max_idle_timeout = 3s;
  Established e(GetParam().link, client_config);
  e.net.run_for(20s);
  ASSERT_NE(e.client_conn(), nullptr);
  EXPECT_FALSE(e.client_conn()->is_closed());
}

// The keep-alive follows the negotiated idle timeout (the smaller of both sides'), not ours: a
// peer with a 2 s idle timeout and no keep-alive of its own (rust- and js-libp2p use 10 s) must
// not see our default 15 s keep-alive arrive after it gave up.
TEST_P(SimLifecycle, KeepAliveFollowsAShorterPeerIdleTimeoutOnTheClient) {
  auto server_config = sim_config(1);
  server_config.transport.max_idle_timeout = 2s;
  server_config.transport.keep_alive_period = 0ms;
  Established e(GetParam().link, sim_config(2),
                server_config);  // the client keeps its defaults (15 s, 30 s)
  e.net.run_for(20s);
  ASSERT_NE(e.client_conn(), nullptr);
  EXPECT_FALSE(e.client_conn()->is_closed()) << e.client_conn()->close_error().message();
  ASSERT_NE(e.server_conn(), nullptr);
  EXPECT_FALSE(e.server_conn()->is_closed());
}

TEST_P(SimLifecycle, KeepAliveFollowsAShorterPeerIdleTimeoutOnTheServer) {
  auto client_config = sim_config(2);
  client_config.transport.max_idle_timeout = 2s;
  client_config.transport.keep_alive_period = 0ms;
  Established e(GetParam().link, client_config);  // the server keeps its defaults
  e.net.run_for(20s);
  ASSERT_NE(e.client_conn(), nullptr);
  EXPECT_FALSE(e.client_conn()->is_closed()) << e.client_conn()->close_error().message();
}

TEST_P(SimLifecycle, ApplicationCloseCodeAndReasonReachThePeer) {
  Established e(GetParam().link);
  std::optional<CloseInfo> server_close;
  e.server.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::closed) {
      server_close = conn.close_info();
    }
  };
  e.client_conn()->close(0x1006, "closing");
  EXPECT_TRUE(e.client_conn()->is_closed());
  EXPECT_EQ(e.client_conn()->close_error(), make_error_code(errc::connection_closed));
  ASSERT_TRUE(e.net.run_until([&] { return server_close.has_value(); }, 5s));
  EXPECT_EQ(server_close->kind, CloseInfo::Kind::application);
  EXPECT_TRUE(server_close->remote);
  EXPECT_EQ(server_close->code, 0x1006u);
  EXPECT_EQ(server_close->reason, "closing");
  EXPECT_EQ(server_close->error, make_application_error(0x1006));
  // Both sides keep the connection for the closing/draining period, then forget it.
  ASSERT_TRUE(e.net.run_until(
      [&] {
        return e.server.endpoint().connection_count() == 0 &&
               e.client.endpoint().connection_count() == 0;
      },
      10s));
}

TEST_P(SimLifecycle, ServerCloseSendsDataFirstThenTheClose) {
  Established e(GetParam().link);
  std::optional<CloseInfo> client_close;
  StreamPump pump;
  bool fin = false;
  std::int64_t sid = -1;
  e.client.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::stream_opened) {
      sid = *conn.accept_stream(true);
    }
    if (ev.type == ConnectionEvent::Type::stream_readable && ev.stream_id == sid) {
      fin = pump.drain(conn, sid, e.net.now()) || fin;
    }
    if (ev.type == ConnectionEvent::Type::closed) {
      client_close = conn.close_info();
    }
  };
  core::Connection* s = e.server_conn();
  auto id = s->open_stream(true);
  ASSERT_TRUE(id);
  ASSERT_EQ(*s->write_stream(*id, to_bytes("last words"), true), 10u);
  s->close(42, "bye");
  ASSERT_TRUE(e.net.run_until([&] { return client_close.has_value(); }, 5s));
  EXPECT_EQ(client_close->code, 42u);
  EXPECT_TRUE(fin);
  EXPECT_EQ(pump.received(sid), to_bytes("last words"));
}

TEST_P(SimLifecycle, StatelessResetAfterRestartWithTheSameKeyEndsTheOldConnection) {
  auto client_config = sim_config(2);
  client_config.transport.max_idle_timeout = 30s;
  client_config.transport.keep_alive_period = 0ms;
  Established e(GetParam().link, client_config);
  std::optional<CloseInfo> client_close;
  e.client.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::closed) {
      client_close = conn.close_info();
    }
  };
  // The server "restarts": same address, same keys, no memory of the connection.
  e.echo.reset();
  e.net.remove_node(e.server.address());
  SimNode& restarted = e.net.add_node(sim_address(1, 443), sim_config(1));
  ASSERT_TRUE(restarted.endpoint().listen(test_server_tls()));

  // The client sends on its old connection; the new server answers with a stateless reset.
  core::Connection* c = e.client_conn();
  auto id = c->open_stream(true);
  ASSERT_TRUE(id);
  ASSERT_TRUE(c->write_stream(*id, pattern_bytes(200, 1), false));
  const auto start = e.net.now();
  ASSERT_TRUE(e.net.run_until([&] { return client_close.has_value(); }, 60s));
  EXPECT_EQ(client_close->kind, CloseInfo::Kind::stateless_reset);
  EXPECT_EQ(client_close->error, make_error_code(errc::stateless_reset));
  EXPECT_LT(e.net.now() - start, 5s);  // far sooner than the 30 s idle timeout
  EXPECT_GE(restarted.endpoint().stats().stateless_resets_sent, 1u);
  EXPECT_GE(e.client.endpoint().stats().stateless_resets_received, 1u);
}

TEST_P(SimLifecycle, RestartWithAnotherKeyIsNotAcceptedAsReset) {
  auto client_config = sim_config(2);
  client_config.transport.max_idle_timeout = 4s;
  client_config.transport.keep_alive_period = 0ms;
  Established e(GetParam().link, client_config);
  std::optional<CloseInfo> client_close;
  e.client.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::closed) {
      client_close = conn.close_info();
    }
  };
  e.echo.reset();
  e.net.remove_node(e.server.address());
  SimNode& restarted = e.net.add_node(sim_address(1, 443), sim_config(77));
  ASSERT_TRUE(restarted.endpoint().listen(test_server_tls()));
  core::Connection* c = e.client_conn();
  auto id = c->open_stream(true);
  ASSERT_TRUE(c->write_stream(*id, pattern_bytes(200, 1), false));
  ASSERT_TRUE(e.net.run_until([&] { return client_close.has_value(); }, 60s));
  // Resets with a wrong token are ignored: the connection ends by idle timeout instead.
  EXPECT_EQ(client_close->kind, CloseInfo::Kind::idle_timeout);
  EXPECT_GE(restarted.endpoint().stats().stateless_resets_sent, 1u);
}

TEST_P(SimLifecycle, HandshakeTimesOutWhenNobodyAnswers) {
  SimNetwork net(GetParam().link);
  auto config = sim_config(2);
  config.transport.handshake_idle_timeout = 2s;
  SimNode& client = net.add_node(sim_address(2, 5000), config);
  auto h = client.endpoint().connect(net.now(), sim_address(9, 443), test_client_tls());
  ASSERT_TRUE(h);
  std::optional<CloseInfo> close;
  client.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::closed) {
      close = conn.close_info();
    }
  };
  ASSERT_TRUE(net.run_until([&] { return close.has_value(); }, 60s));
  EXPECT_EQ(close->kind, CloseInfo::Kind::handshake_timeout);
  EXPECT_EQ(client.endpoint().connection_count(), 0u);
}

TEST_P(SimLifecycle, StreamResetAndStopSendingCarryTheirCodes) {
  Established e(GetParam().link);
  core::Connection* c = e.client_conn();
  auto id = c->open_stream(true);
  ASSERT_TRUE(id);
  ASSERT_TRUE(c->write_stream(*id, to_bytes("partial"), false));
  std::optional<std::uint64_t> reset_seen;
  std::int64_t server_sid = -1;
  e.server.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::stream_opened) {
      server_sid = *conn.accept_stream(true);
    }
    if (ev.type == ConnectionEvent::Type::stream_readable && ev.stream_id == server_sid) {
      if (const auto* st = conn.stream(server_sid); st != nullptr && st->reset_code) {
        reset_seen = st->reset_code;
      }
    }
  };
  ASSERT_TRUE(e.net.run_until([&] { return server_sid >= 0; }, 5s));
  ASSERT_TRUE(c->reset_stream(*id, 77));
  ASSERT_TRUE(e.net.run_until([&] { return reset_seen.has_value(); }, 5s));
  EXPECT_EQ(*reset_seen, 77u);
  std::uint8_t buf[16];
  auto r = e.server_conn()->read_stream(server_sid, buf, e.net.now());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::stream_reset));

  // STOP_SENDING from the server reaches the client's send side.
  auto id2 = c->open_stream(true);
  ASSERT_TRUE(c->write_stream(*id2, to_bytes("more"), false));
  std::int64_t sid2 = -1;
  e.server.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::stream_opened) {
      sid2 = *conn.accept_stream(true);
    }
  };
  ASSERT_TRUE(e.net.run_until([&] { return sid2 >= 0; }, 5s));
  ASSERT_TRUE(e.server_conn()->stop_sending(sid2, 99));
  // ngtcp2 0.12 reports a received STOP_SENDING when the stream next tries to send: let it
  // arrive, then queue data. It arrives after the link's one-way delay; a round trip plus the
  // 100 ms that the 10 ms link used to be given leaves room for one retransmission.
  e.net.run_for(100ms + 2 * GetParam().link.delay);
  ASSERT_TRUE(c->write_stream(*id2, to_bytes("x"), false));
  ASSERT_TRUE(e.net.run_until(
      [&] {
        const auto* st = c->stream(*id2);
        return st != nullptr && st->stopped_by_peer;
      },
      5s));
  EXPECT_EQ(c->write_stream(*id2, to_bytes("y"), false).error(),
            make_error_code(errc::stream_stopped));
  // The code arrives once the stream is closed on both sides: finish our receive side.
  ASSERT_TRUE(e.server_conn()->write_stream(sid2, {}, true));
  ASSERT_TRUE(e.net.run_until(
      [&] {
        std::uint8_t b[8];
        (void)c->read_stream(*id2, b, e.net.now());
        const auto* st = c->stream(*id2);
        return st != nullptr && st->stop_sending_code.has_value();
      },
      5s));
  EXPECT_EQ(*c->stream(*id2)->stop_sending_code, 99u);
}

INSTANTIATE_TEST_SUITE_P(Links, SimLifecycle, testing::ValuesIn(kSimLinks), SimLinkName{});

}  // namespace
}  // namespace quicreuse::test
