// TLS options a connection can be given: cipher suites (client offer, server acceptance) and
// QUIC key updates started by either side.
#include "core/tls_session.hpp"
#include "sim_gtest.hpp"
#include "sim_links.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const core::ClientTlsContext> client_tls(std::vector<CipherSuite> suites) {
  TlsClientConfig config;
  config.alpns = {"echo/1"};
  config.server_name = "localhost";
  config.insecure_skip_verify = true;
  config.cipher_suites = std::move(suites);
  auto context = core::make_client_tls_context(config);
  EXPECT_TRUE(context) << context.error().message();
  return context ? *context : nullptr;
}

std::shared_ptr<const TlsServerConfig> server_tls(std::vector<CipherSuite> suites) {
  auto base = test_server_tls();
  auto config = std::make_shared<TlsServerConfig>(*base);
  config->cipher_suites = std::move(suites);
  return config;
}

struct Pair {
  SimNetwork net;
  SimNode& server;
  SimNode& client;
  std::vector<core::ConnectionHandle> accepted;
  explicit Pair(std::shared_ptr<const TlsServerConfig> tls, LinkConfig link = {})
      : net(link),
        server(net.add_node(sim_address(1, 443), sim_config(1))),
        client(net.add_node(sim_address(2, 5000), sim_config(2))) {
    EXPECT_TRUE(server.endpoint().listen(std::move(tls)));
    server.on_incoming_cb = [this] {
      while (auto h = server.endpoint().accept()) {
        accepted.push_back(*h);
      }
    };
  }
  core::Connection* server_conn() {
    return accepted.empty() ? nullptr : server.endpoint().find(accepted.front());
  }
};

TEST(SimTlsOptions, AClientOfferingOnlyChaCha20GetsIt) {
  Pair p(test_server_tls());
  core::Connection* c =
      dial_and_wait(p.net, p.client, p.server, client_tls({CipherSuite::chacha20_poly1305_sha256}));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->handshake_completed());
  EXPECT_EQ(c->cipher_suite(), CipherSuite::chacha20_poly1305_sha256);
  ASSERT_TRUE(p.net.run_until([&] { return p.server_conn() != nullptr; }, 5s));
  EXPECT_EQ(p.server_conn()->cipher_suite(), CipherSuite::chacha20_poly1305_sha256);
}

TEST(SimTlsOptions, TheDefaultOfferPrefersAes128Gcm) {
  Pair p(test_server_tls());
  core::Connection* c = dial_and_wait(p.net, p.client, p.server, client_tls({}));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->cipher_suite(), CipherSuite::aes_128_gcm_sha256);
}

TEST(SimTlsOptions, AServerAcceptingOnlyAes256GcmGetsIt) {
  Pair p(server_tls({CipherSuite::aes_256_gcm_sha384}));
  core::Connection* c = dial_and_wait(p.net, p.client, p.server, client_tls({}));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->handshake_completed());
  EXPECT_EQ(c->cipher_suite(), CipherSuite::aes_256_gcm_sha384);
}

TEST(SimTlsOptions, NoSuiteInCommonFailsTheHandshakeWithHandshakeFailure) {
  Pair p(server_tls({CipherSuite::aes_128_gcm_sha256}));
  core::Connection* c =
      dial_and_wait(p.net, p.client, p.server, client_tls({CipherSuite::chacha20_poly1305_sha256}));
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->handshake_completed());
  ASSERT_TRUE(c->is_closed());
  EXPECT_TRUE(c->close_info().remote);
  EXPECT_EQ(c->close_info().code, 0x128u);  // CRYPTO_ERROR + handshake_failure (40)
}

TEST(SimTlsOptions, ARepeatedSuiteIsRefusedOnBothSides) {
  TlsClientConfig config;
  config.alpns = {"echo/1"};
  config.cipher_suites = {CipherSuite::aes_128_gcm_sha256, CipherSuite::aes_128_gcm_sha256};
  auto context = core::make_client_tls_context(config);
  ASSERT_FALSE(context);
  EXPECT_EQ(context.error(), make_error_code(errc::invalid_argument));
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  auto r = server.endpoint().listen(
      server_tls({CipherSuite::chacha20_poly1305_sha256, CipherSuite::chacha20_poly1305_sha256}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::invalid_argument));
  EXPECT_TRUE(server.endpoint().listen(test_server_tls()));  // nothing was left half-set
}

TEST(SimTlsOptions, CipherSuiteNamesParseAndPrint) {
  EXPECT_EQ(parse_cipher_suite("TLS_CHACHA20_POLY1305_SHA256"),
            CipherSuite::chacha20_poly1305_sha256);
  EXPECT_EQ(parse_cipher_suite("aes_256_gcm_sha384"), CipherSuite::aes_256_gcm_sha384);
  EXPECT_FALSE(parse_cipher_suite("TLS_AES_128_CBC_SHA"));
  EXPECT_FALSE(parse_cipher_suite(""));
  EXPECT_EQ(to_string(CipherSuite::aes_128_ccm_sha256), "TLS_AES_128_CCM_SHA256");
}

// A key update (RFC 9001 6) started by either side: the peer follows and data keeps flowing. A
// request made before RFC 9001 allows one (before the handshake is confirmed, or while the
// previous update is unconfirmed) waits and is carried out later; a second request while one
// waits is refused. Runs over each link of the table (sim_links.hpp).
class SimKeyUpdate : public testing::TestWithParam<SimLink> {};

TEST_P(SimKeyUpdate, EitherSideCanStartKeyUpdatesWhileDataFlows) {
  for (const bool by_client : {true, false}) {
    SCOPED_TRACE(by_client ? "client updates" : "server updates");
    Pair p(test_server_tls(), GetParam().link);
    EchoServer echo(p.net, p.server);
    EchoClient ec(p.net, p.client);
    auto h = p.client.endpoint().connect(p.net.now(), p.server.address(), client_tls({}));
    ASSERT_TRUE(h);
    core::Connection* c = p.client.endpoint().find(*h);
    ASSERT_TRUE(
        p.net.run_until([&] { return !echo.accepted.empty() && c->handshake_completed(); }, 5s));
    core::Connection* s = p.server.endpoint().find(echo.accepted.front());
    ASSERT_NE(s, nullptr);
    core::Connection& updater = by_client ? *c : *s;
    for (std::uint64_t round = 0; round < 3; ++round) {
      ASSERT_TRUE(updater.initiate_key_update(p.net.now())) << "round " << round;
      if (by_client && round == 0) {
        // The client is not confirmed yet (HANDSHAKE_DONE is on its way): its request waits,
        // and a second one meanwhile is refused.
        EXPECT_EQ(updater.stats().key_updates_initiated, 0u);
        auto second = updater.initiate_key_update(p.net.now());
        ASSERT_FALSE(second);
        EXPECT_EQ(second.error(), make_error_code(errc::key_update_not_ready));
      }
      auto sid = c->open_stream(true);
      ASSERT_TRUE(sid);
      const auto data = pattern_bytes(200'000, round);
      ec.stream = *sid;
      ec.fin = false;
      ec.pump.queue(*c, *sid, data, true);
      ASSERT_TRUE(p.net.run_until([&] { return ec.fin; }, 20s)) << "round " << round;
      EXPECT_EQ(ec.pump.received(*sid), data);
      // Carried out with a later packet (at the latest the next keep-alive).
      EXPECT_TRUE(
          p.net.run_until([&] { return updater.stats().key_updates_initiated == round + 1; }, 30s))
          << "round " << round << ": " << updater.stats().key_updates_initiated;
    }
    EXPECT_EQ((by_client ? *s : *c).stats().key_updates_initiated, 0u);
    EXPECT_FALSE(c->is_closed());
    EXPECT_FALSE(s->is_closed());
  }
}

INSTANTIATE_TEST_SUITE_P(Links, SimKeyUpdate, testing::ValuesIn(kSimLinks), SimLinkName{});

}  // namespace
}  // namespace quicreuse::test
