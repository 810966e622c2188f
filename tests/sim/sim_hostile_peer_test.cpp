// Peers that break QUIC's rules: each must end its own connection cleanly (the right error on the
// wire) while the endpoint keeps serving everyone else, and nothing may reach an ngtcp2 assertion.
#include "packet_forge.hpp"
#include "sim_gtest.hpp"
#include "sim_network.hpp"
#include "test_tls_wiring.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
using core::ConnectionEvent;

// RFC 9001 8.2: missing_extension (TLS alert 109) is CRYPTO_ERROR 0x100 + 109.
constexpr std::uint64_t kMissingExtension = 0x16d;

struct Net {
  SimNetwork net;
  SimNode& server;
  SimNode& client;
  std::vector<CloseInfo> server_closes;
  Net(core::EndpointConfig server_config, core::EndpointConfig client_config)
      : server(net.add_node(sim_address(1, 443), std::move(server_config))),
        client(net.add_node(sim_address(2, 5000), std::move(client_config))) {
    server.on_event = [this](core::Connection& conn, const ConnectionEvent& ev) {
      if (ev.type == ConnectionEvent::Type::closed) {
        server_closes.push_back(conn.close_info());
      }
    };
  }
};

core::EndpointConfig with_tls(core::EndpointConfig config, core::QuicTlsConfigurer configure) {
  config.configure_tls = std::move(configure);
  return config;
}

core::Connection* dial(SimNetwork& net, SimNode& node, const SimNode& server) {
  return dial_and_wait(net, node, server, test_client_tls());
}

// A well-behaved client on its own node completes a handshake with server.
void expect_server_still_serves(Net& n) {
  SimNode& good = n.net.add_node(sim_address(3, 6000), sim_config(7));
  core::Connection* c = dial(n.net, good, n.server);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->handshake_completed());
  EXPECT_FALSE(c->is_closed());
}

TEST(SimHostilePeer, ClientHelloWithoutTransportParametersFailsWithMissingExtension) {
  Net n(sim_config(1), with_tls(sim_config(9), tls_without_transport_parameters()));
  ASSERT_TRUE(n.server.endpoint().listen(test_server_tls()));
  core::Connection* c = dial(n.net, n.client, n.server);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->handshake_completed());
  ASSERT_TRUE(c->is_closed());
  EXPECT_TRUE(c->close_info().remote);
  EXPECT_EQ(c->close_info().kind, CloseInfo::Kind::transport);
  EXPECT_EQ(c->close_info().code, kMissingExtension);
  ASSERT_EQ(n.server_closes.size(), 1u);
  EXPECT_EQ(n.server_closes[0].code, kMissingExtension);
  EXPECT_FALSE(n.server_closes[0].remote);
  expect_server_still_serves(n);
}

TEST(SimHostilePeer, EncryptedExtensionsWithoutTransportParametersFailOnTheClient) {
  Net n(with_tls(sim_config(1), tls_without_transport_parameters()), sim_config(9));
  ASSERT_TRUE(n.server.endpoint().listen(test_server_tls()));
  core::Connection* c = dial(n.net, n.client, n.server);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->handshake_completed());
  ASSERT_TRUE(c->is_closed());
  EXPECT_FALSE(c->close_info().remote);
  EXPECT_EQ(c->close_info().code, kMissingExtension);
  ASSERT_TRUE(n.net.run_until([&] { return !n.server_closes.empty(); }, 10s));
  EXPECT_TRUE(n.server_closes[0].remote);
  EXPECT_EQ(n.server_closes[0].code, kMissingExtension);
  // The client endpoint still dials a well-behaved server.
  SimNode& good = n.net.add_node(sim_address(4, 443), sim_config(5));
  ASSERT_TRUE(good.endpoint().listen(test_server_tls()));
  core::Connection* ok = dial(n.net, n.client, good);
  ASSERT_NE(ok, nullptr);
  EXPECT_TRUE(ok->handshake_completed());
}

TEST(SimHostilePeer, EmptyDatagramsTravelBothWaysAndCanBeEchoed) {
  Net n(sim_config(1), sim_config(9));
  ASSERT_TRUE(n.server.endpoint().listen(test_server_tls()));
  EchoServer echo(n.net, n.server);
  std::size_t echoed = 0;
  n.server.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::datagram_received) {
      while (auto d = conn.receive_datagram()) {
        // An application that echoes datagrams: it sends back what it got, empty or not.
        ASSERT_TRUE(conn.send_datagram(*d));
        ++echoed;
      }
    }
  };
  std::vector<std::vector<std::uint8_t>> got;
  n.client.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::datagram_received) {
      while (auto d = conn.receive_datagram()) {
        got.push_back(*d);
      }
    }
  };
  core::Connection* c = dial(n.net, n.client, n.server);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->handshake_completed());
  ASSERT_TRUE(c->send_datagram({}));
  ASSERT_TRUE(c->send_datagram(to_bytes("x")));
  ASSERT_TRUE(c->send_datagram({}));
  ASSERT_TRUE(n.net.run_until([&] { return got.size() == 3; }, 5s));
  EXPECT_EQ(echoed, 3u);
  EXPECT_TRUE(got[0].empty());
  EXPECT_EQ(got[1], to_bytes("x"));
  EXPECT_TRUE(got[2].empty());
  EXPECT_FALSE(c->is_closed());
}

// RFC 9001 6: a TLS KeyUpdate message is a connection error (unexpected_message, alert 10).
constexpr std::uint64_t kUnexpectedMessage = 0x10a;
// KeyUpdate(update_not_requested): type 24, length 1, request_update 0. Static: ngtcp2 keeps a
// pointer to submitted crypto data until it is acknowledged.
constexpr std::uint8_t kKeyUpdate[] = {24, 0, 0, 1, 0};

TEST(SimHostilePeer, ATlsKeyUpdateMessageEndsTheConnectionWithUnexpectedMessage) {
  for (const bool hostile_client : {true, false}) {
    SCOPED_TRACE(hostile_client ? "hostile client" : "hostile server");
    Net n(sim_config(1), sim_config(9));
    ASSERT_TRUE(n.server.endpoint().listen(test_server_tls()));
    std::vector<core::ConnectionHandle> accepted;
    n.server.on_incoming_cb = [&] {
      while (auto h = n.server.endpoint().accept()) {
        accepted.push_back(*h);
      }
    };
    core::Connection* c = dial(n.net, n.client, n.server);
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->handshake_completed());
    ASSERT_TRUE(n.net.run_until([&] { return accepted.size() == 1; }, 5s));
    core::Connection* s = n.server.endpoint().find(accepted[0]);
    ASSERT_NE(s, nullptr);
    core::Connection& hostile = hostile_client ? *c : *s;
    core::Connection& victim = hostile_client ? *s : *c;
    SimNode& hostile_node = hostile_client ? n.client : n.server;
    ASSERT_EQ(ngtcp2_conn_submit_crypto_data(hostile.native(), NGTCP2_CRYPTO_LEVEL_APPLICATION,
                                             kKeyUpdate, sizeof kKeyUpdate),
              0);
    hostile_node.endpoint().mark_dirty(hostile.handle());
    ASSERT_TRUE(n.net.run_until([&] { return victim.is_closed(); }, 5s));
    EXPECT_FALSE(victim.close_info().remote);
    EXPECT_EQ(victim.close_info().code, kUnexpectedMessage);
    ASSERT_TRUE(n.net.run_until([&] { return hostile.is_closed(); }, 5s));
    EXPECT_TRUE(hostile.close_info().remote);
    EXPECT_EQ(hostile.close_info().code, kUnexpectedMessage);
    expect_server_still_serves(n);
  }
}

// A peer whose 1-RTT packet keys the test can use to forge packets.
core::EndpointConfig forging(core::EndpointConfig config, std::shared_ptr<OneRttKeys> keys) {
  return with_tls(std::move(config),
                  test_tls_wiring({TlsWiring::Parameters::normal, {}, std::move(keys)}));
}

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// Sends victim a 1-RTT packet from hostile carrying frames.
void inject_frames(Net& n, const OneRttKeys& keys, const core::Connection& victim,
                   const SocketAddress& from, const SocketAddress& to, std::uint64_t pn,
                   std::vector<std::uint8_t> frames) {
  ASSERT_FALSE(victim.registered_cids().empty());
  n.net.inject(from, to,
               forge_one_rtt_packet(keys, victim.registered_cids().front().span(), pn, frames));
}

// ngtcp2 0.12 aborts (ngtcp2_conn_track_retired_dcid_seq: unreachable) when a sequence number it
// retired is retired again; a peer can make it happen with NEW_CONNECTION_ID frames alone.
TEST(SimHostilePeer, ARetiredConnectionIdSentAgainIsIgnoredNotRetiredTwice) {
  for (const bool hostile_client : {true, false}) {
    SCOPED_TRACE(hostile_client ? "hostile client" : "hostile server");
    auto keys = std::make_shared<OneRttKeys>();
    Net n(hostile_client ? sim_config(1) : forging(sim_config(1), keys),
          hostile_client ? forging(sim_config(9), keys) : sim_config(9));
    ASSERT_TRUE(n.server.endpoint().listen(test_server_tls()));
    std::vector<core::ConnectionHandle> accepted;
    n.server.on_incoming_cb = [&] {
      while (auto h = n.server.endpoint().accept()) {
        accepted.push_back(*h);
      }
    };
    core::Connection* c = dial(n.net, n.client, n.server);
    ASSERT_TRUE(c != nullptr && c->handshake_completed());
    ASSERT_TRUE(n.net.run_until([&] { return accepted.size() == 1; }, 5s));
    n.net.run_for(1s);  // the peers exchange their NEW_CONNECTION_ID frames
    core::Connection* s = n.server.endpoint().find(accepted[0]);
    ASSERT_NE(s, nullptr);
    core::Connection& victim = hostile_client ? *s : *c;
    const SocketAddress from = hostile_client ? n.client.address() : n.server.address();
    const SocketAddress to = hostile_client ? n.server.address() : n.client.address();
    // Retire everything below 10, then announce sequence number 1 again, twice.
    inject_frames(n, *keys, victim, from, to, 1'000'000,
                  concat({new_connection_id_frame(10, 10), ping_frame()}));
    inject_frames(n, *keys, victim, from, to, 1'000'001,
                  concat({new_connection_id_frame(1, 0), ping_frame()}));
    inject_frames(n, *keys, victim, from, to, 1'000'002,
                  concat({new_connection_id_frame(1, 0), ping_frame()}));
    n.net.run_for(100ms);
    EXPECT_EQ(victim.frame_guard().frames_neutralised(), 2u);
    EXPECT_FALSE(victim.is_closed()) << victim.close_info().error.message();
    expect_server_still_serves(n);
  }
}

// Frames a server cannot have sent yet reach a client between the end of its TLS handshake and
// its next write (ngtcp2 0.12 finishes the handshake there): HANDSHAKE_DONE, or a
// NEW_CONNECTION_ID retiring the first connection ID. ngtcp2 would dereference freed state or
// assert; the client drops such packets and completes its handshake.
TEST(SimHostilePeer, FramesBeforeTheClientsHandshakeTransitionAreDropped) {
  for (const bool handshake_done : {true, false}) {
    SCOPED_TRACE(handshake_done ? "HANDSHAKE_DONE" : "NEW_CONNECTION_ID retiring 0");
    auto keys = std::make_shared<OneRttKeys>();
    Net n(forging(sim_config(1), keys), sim_config(9));
    ASSERT_TRUE(n.server.endpoint().listen(test_server_tls()));
    EchoServer echo(n.net, n.server);
    auto h = n.client.endpoint().connect(n.net.now(), n.server.address(), test_client_tls());
    ASSERT_TRUE(h);
    // The server has 1-RTT keys once it processed the ClientHello; its flight is on the wire.
    ASSERT_TRUE(n.net.run_until([&] { return !keys->key.empty(); }, 5s));
    core::Connection* c = n.client.endpoint().find(*h);
    ASSERT_NE(c, nullptr);
    inject_frames(n, *keys, *c, n.server.address(), n.client.address(), 1'000'000,
                  concat({handshake_done ? handshake_done_frame() : new_connection_id_frame(1, 1),
                          ping_frame()}));
    ASSERT_TRUE(n.net.run_until(
        [&] {
          core::Connection* cc = n.client.endpoint().find(*h);
          return cc == nullptr || cc->handshake_completed() || cc->is_closed();
        },
        10s));
    c = n.client.endpoint().find(*h);
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->handshake_completed());
    EXPECT_EQ(c->frame_guard().packets_dropped(), 1u);
    n.net.run_for(1s);
    EXPECT_FALSE(c->is_closed()) << c->close_info().error.message();
  }
}

// Garbage in the extension: the connection fails during the handshake, the endpoint lives on.
class SimGarbageTransportParameters : public ::testing::TestWithParam<std::vector<std::uint8_t>> {};

TEST_P(SimGarbageTransportParameters, FromAClientFailTheHandshakeOnly) {
  Net n(sim_config(1), with_tls(sim_config(9), tls_with_raw_transport_parameters(GetParam())));
  ASSERT_TRUE(n.server.endpoint().listen(test_server_tls()));
  core::Connection* c = dial(n.net, n.client, n.server);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->handshake_completed());
  EXPECT_TRUE(c->is_closed());
  expect_server_still_serves(n);
}

TEST_P(SimGarbageTransportParameters, FromAServerFailTheHandshakeOnly) {
  Net n(with_tls(sim_config(1), tls_with_raw_transport_parameters(GetParam())), sim_config(9));
  ASSERT_TRUE(n.server.endpoint().listen(test_server_tls()));
  core::Connection* c = dial(n.net, n.client, n.server);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->handshake_completed());
  EXPECT_TRUE(c->is_closed());
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, SimGarbageTransportParameters,
    ::testing::Values(std::vector<std::uint8_t>{},                  // empty: no required values
                      std::vector<std::uint8_t>{0xff},              // truncated varint
                      std::vector<std::uint8_t>{0x03, 0x01, 0x00},  // max_udp_payload_size 0
                      std::vector<std::uint8_t>{0x0f, 0x00}));      // empty initial_scid

}  // namespace
}  // namespace quicreuse::test
