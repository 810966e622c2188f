// Handshakes over the simulator: ALPN choice, identities per ALPN, refusals, Retry, VN. The
// handshakes run over each link of the table (sim_links.hpp).
#include "sim_gtest.hpp"
#include "sim_links.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
using core::ConnectionEvent;

struct Pair {
  SimNetwork net;
  SimNode& server;
  SimNode& client;
  explicit Pair(LinkConfig link, core::EndpointConfig server_config = sim_config(1))
      : net(link),
        server(net.add_node(sim_address(1, 443), std::move(server_config))),
        client(net.add_node(sim_address(2, 5000), sim_config(9))) {}
};

class SimHandshake : public testing::TestWithParam<SimLink> {};

// Waits for the client connection to complete its handshake or close; returns it.
core::Connection* dial(Pair& p, std::shared_ptr<const core::ClientTlsContext> tls) {
  auto h = p.client.endpoint().connect(p.net.now(), p.server.address(), std::move(tls));
  EXPECT_TRUE(h.has_value());
  if (!h) {
    return nullptr;
  }
  const bool settled = p.net.run_until(
      [&] {
        core::Connection* c = p.client.endpoint().find(*h);
        return c == nullptr || c->handshake_completed() || c->is_closed();
      },
      20s);
  EXPECT_TRUE(settled);
  return p.client.endpoint().find(*h);
}

TEST_P(SimHandshake, CompletesAndNegotiatesTheClientsAlpn) {
  Pair p(GetParam().link);
  ASSERT_TRUE(p.server.endpoint().listen(test_server_tls({"echo/1", "h3"})));
  EchoServer echo(p.net, p.server);
  core::Connection* c = dial(p, test_client_tls({"h3"}));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->handshake_completed());
  EXPECT_EQ(c->alpn(), "h3");
  EXPECT_FALSE(c->peer_certificates().empty());
  ASSERT_TRUE(p.net.run_until([&] { return echo.accepted.size() == 1; }, 5s));
  core::Connection* s = p.server.endpoint().find(echo.accepted[0]);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->alpn(), "h3");
  EXPECT_EQ(s->remote(), p.client.address());
}

TEST_P(SimHandshake, SelectHookPicksIdentityByTheClientsFirstKnownAlpn) {
  Pair p(GetParam().link);
  auto id1 = TlsIdentity::self_signed({"one.example"});
  auto id2 = TlsIdentity::self_signed({"two.example"});
  ASSERT_TRUE(id1 && id2);
  auto config = std::make_shared<TlsServerConfig>();
  std::vector<std::vector<std::string>> offered;
  config->select = [&](const ClientHelloInfo& hello) -> Result<TlsServerChoice> {
    offered.push_back(hello.alpns);
    for (const auto& a : hello.alpns) {
      if (a == "proto1") {
        return TlsServerChoice{*id1, {"proto1"}, {}, {}};
      }
      if (a == "proto2") {
        return TlsServerChoice{*id2, {"proto2"}, {}, {}};
      }
    }
    return fail(errc::no_application_protocol);
  };
  ASSERT_TRUE(p.server.endpoint().listen(config));
  EchoServer echo(p.net, p.server);

  core::Connection* c = dial(p, test_client_tls({"unknown", "proto2", "proto1"}));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->handshake_completed());
  EXPECT_EQ(c->alpn(), "proto2");
  ASSERT_FALSE(c->peer_certificates().empty());
  EXPECT_EQ(c->peer_certificates()[0], (*id2)->leaf_der());
  ASSERT_FALSE(offered.empty());
  EXPECT_EQ(offered[0], (std::vector<std::string>{"unknown", "proto2", "proto1"}));

  core::Connection* c1 = dial(p, test_client_tls({"proto1"}));
  ASSERT_NE(c1, nullptr);
  ASSERT_TRUE(c1->handshake_completed());
  EXPECT_EQ(c1->peer_certificates()[0], (*id1)->leaf_der());
}

TEST_P(SimHandshake, AlpnMismatchFailsOnBothSidesWithCryptoError0x178) {
  Pair p(GetParam().link);
  ASSERT_TRUE(p.server.endpoint().listen(test_server_tls({"echo/1"})));
  std::vector<CloseInfo> server_closes;
  p.server.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::closed) {
      server_closes.push_back(conn.close_info());
    }
  };
  core::Connection* c = dial(p, test_client_tls({"nope"}));
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->handshake_completed());
  ASSERT_TRUE(c->is_closed());
  EXPECT_EQ(c->close_info().kind, CloseInfo::Kind::transport);
  EXPECT_TRUE(c->close_info().remote);
  EXPECT_EQ(c->close_info().code, 0x178u);
  EXPECT_EQ(c->close_error(), make_transport_error(0x178));
  ASSERT_EQ(server_closes.size(), 1u);
  EXPECT_EQ(server_closes[0].code, 0x178u);
  EXPECT_FALSE(server_closes[0].remote);
}

TEST_P(SimHandshake, ConnectionContextHookRefusesWithConnectionRefused) {
  auto config = sim_config(1);
  int calls = 0;
  config.connection_context = [&](const SocketAddress&, bool) -> Result<std::any> {
    ++calls;
    return fail(errc::connection_refused);
  };
  Pair p(GetParam().link, config);
  ASSERT_TRUE(p.server.endpoint().listen(test_server_tls()));
  core::Connection* c = dial(p, test_client_tls());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->is_closed());
  EXPECT_EQ(c->close_info().code, 0x2u);  // CONNECTION_REFUSED
  EXPECT_NE(c->close_error().message().find("CONNECTION_REFUSED"), std::string::npos);
  EXPECT_GE(calls, 1);
  EXPECT_EQ(p.server.endpoint().connection_count(), 0u);
  EXPECT_GE(p.server.endpoint().stats().connections_refused, 1u);
}

TEST_P(SimHandshake, ConnectionContextValueIsExposedByTheAcceptedConnection) {
  auto config = sim_config(1);
  config.connection_context = [](const SocketAddress& remote, bool) -> Result<std::any> {
    return std::any(remote.to_string());
  };
  Pair p(GetParam().link, config);
  ASSERT_TRUE(p.server.endpoint().listen(test_server_tls()));
  EchoServer echo(p.net, p.server);
  core::Connection* c = dial(p, test_client_tls());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(p.net.run_until([&] { return echo.accepted.size() == 1; }, 5s));
  core::Connection* s = p.server.endpoint().find(echo.accepted[0]);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->user_value().type(), typeid(std::string));
  EXPECT_EQ(std::any_cast<std::string>(s->user_value()), p.client.address().to_string());
}

TEST_P(SimHandshake, RetryWhenVerifySourceAddressAsksThenTheConnectionSucceeds) {
  auto config = sim_config(1);
  int asked = 0;
  config.verify_source_address = [&](const SocketAddress&) {
    ++asked;
    return true;  // always demand proof of address
  };
  Pair p(GetParam().link, config);
  ASSERT_TRUE(p.server.endpoint().listen(test_server_tls()));
  EchoServer echo(p.net, p.server);
  core::Connection* c = dial(p, test_client_tls());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->handshake_completed());
  EXPECT_EQ(p.server.endpoint().stats().retries_sent, 1u);
  EXPECT_EQ(asked, 1);  // the retried Initial carries a valid token: not asked again
  ASSERT_TRUE(p.net.run_until([&] { return echo.accepted.size() == 1; }, 5s));
}

TEST_P(SimHandshake, NoRetryWhenVerifySourceAddressSaysNo) {
  auto config = sim_config(1);
  config.verify_source_address = [](const SocketAddress&) { return false; };
  Pair p(GetParam().link, config);
  ASSERT_TRUE(p.server.endpoint().listen(test_server_tls()));
  core::Connection* c = dial(p, test_client_tls());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->handshake_completed());
  EXPECT_EQ(p.server.endpoint().stats().retries_sent, 0u);
}

// A hand-made datagram fed to a bare endpoint: no link involved, so not run over the table.
TEST(SimVersionNegotiation, UnknownVersionGetsVersionNegotiationListingV1) {
  core::SeededRng rng(3);
  core::Endpoint ep(sim_config(1), rng, sim_address(1, 443));
  ASSERT_TRUE(ep.listen(test_server_tls()));
  std::vector<std::uint8_t> pkt(1200, 0);
  pkt[0] = 0xC0;
  pkt[1] = 0x1a;
  pkt[2] = 0x2a;
  pkt[3] = 0x3a;
  pkt[4] = 0x4a;  // a reserved version
  pkt[5] = 8;     // DCID length
  for (std::size_t i = 0; i < 8; ++i) {
    pkt[6 + i] = static_cast<std::uint8_t>(0xd0 + i);
  }
  pkt[14] = 4;  // SCID length
  for (std::size_t i = 0; i < 4; ++i) {
    pkt[15 + i] = static_cast<std::uint8_t>(0x50 + i);
  }
  CaptureSink sink;
  EXPECT_EQ(ep.handle_datagram(Timestamp(1s), sim_address(2, 5000), pkt, sink),
            core::DatagramOutcome::version_negotiation_sent);
  ASSERT_EQ(sink.sent.size(), 1u);
  const auto& vn = sink.sent[0];
  ASSERT_GE(vn.size(), 7u + 4 + 8 + 4);
  EXPECT_NE(vn[0] & 0x80, 0);
  EXPECT_EQ(vn[1] | vn[2] | vn[3] | vn[4], 0);  // version 0 = Version Negotiation
  EXPECT_EQ(vn[5], 4);                          // its DCID is the client's SCID
  EXPECT_EQ(vn[6], 0x50);
  // The supported versions follow the CIDs; v1 must be listed.
  bool has_v1 = false;
  for (std::size_t i = 6 + 4 + 1 + 8; i + 4 <= vn.size(); i += 4) {
    has_v1 |= vn[i] == 0 && vn[i + 1] == 0 && vn[i + 2] == 0 && vn[i + 3] == 1;
  }
  EXPECT_TRUE(has_v1);
  // A small unknown-version packet is not answered (no amplification).
  pkt.resize(200);
  EXPECT_EQ(ep.handle_datagram(Timestamp(1s), sim_address(2, 5000), pkt, sink),
            core::DatagramOutcome::dropped);
  EXPECT_EQ(sink.sent.size(), 1u);
}

TEST_P(SimHandshake, ServerAndClientOnOneEndpointDialEachOther) {
  SimNetwork net(GetParam().link);
  SimNode& a = net.add_node(sim_address(1, 4001), sim_config(1));
  SimNode& b = net.add_node(sim_address(2, 4002), sim_config(2));
  ASSERT_TRUE(a.endpoint().listen(test_server_tls()));
  ASSERT_TRUE(b.endpoint().listen(test_server_tls()));
  EchoServer echo_a(net, a);
  EchoServer echo_b(net, b);
  auto ha = a.endpoint().connect(net.now(), b.address(), test_client_tls());
  auto hb = b.endpoint().connect(net.now(), a.address(), test_client_tls());
  ASSERT_TRUE(ha && hb);
  ASSERT_TRUE(net.run_until(
      [&] {
        auto* ca = a.endpoint().find(*ha);
        auto* cb = b.endpoint().find(*hb);
        return ca && cb && ca->handshake_completed() && cb->handshake_completed() &&
               echo_a.accepted.size() == 1 && echo_b.accepted.size() == 1;
      },
      10s));
  // Each endpoint holds a dialed and an accepted connection on its one address.
  EXPECT_EQ(a.endpoint().connection_count(), 2u);
  EXPECT_EQ(b.endpoint().connection_count(), 2u);
  EXPECT_EQ(a.endpoint().find(echo_a.accepted[0])->remote(), b.address());
}

INSTANTIATE_TEST_SUITE_P(Links, SimHandshake, testing::ValuesIn(kSimLinks), SimLinkName{});

}  // namespace
}  // namespace quicreuse::test
