// Endpoint demultiplexing decisions (D12), stateless-reset sizing and rate limit, NEW_TOKEN.
#include "sim_gtest.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

#include <map>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
using core::DatagramOutcome;

std::vector<std::uint8_t> short_packet(std::uint8_t first, std::size_t size, std::uint8_t fill) {
  std::vector<std::uint8_t> p(size, fill);
  p[0] = first;
  return p;
}

std::vector<std::uint8_t> stun_request() {
  std::vector<std::uint8_t> d = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  for (std::uint8_t i = 0; i < 12; ++i) {
    d.push_back(i);
  }
  return d;
}

TEST(SimDemux, UnknownShortHeaderWithFixedBitGetsASmallerRateLimitedReset) {
  core::SeededRng rng(1);
  auto config = sim_config(1);
  config.stateless_reset_burst = 5;
  config.stateless_resets_per_second = 1;
  core::Endpoint ep(config, rng, sim_address(1, 443));
  CaptureSink sink;
  const Timestamp t(10s);
  EXPECT_EQ(ep.handle_datagram(t, sim_address(2, 1), short_packet(0x41, 100, 7), sink),
            DatagramOutcome::stateless_reset_sent);
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_LT(sink.sent[0].size(), 100u);  // never as large as its trigger
  EXPECT_GE(sink.sent[0].size(), 42u);   // and large enough to pass for a short header
  EXPECT_EQ(sink.sent[0][0] & 0xC0, 0x40);
  // The token is the one our key derives for the DCID: a restarted peer recognises it.
  std::vector<std::uint8_t> dcid(config.cid_length, 7);
  const auto token = core::derive_reset_token(config.reset_key, core::ConnectionId::from(dcid));
  EXPECT_TRUE(std::equal(token.bytes.begin(), token.bytes.end(), sink.sent[0].end() - 16));
  // Too small to answer without amplification concerns: dropped.
  EXPECT_EQ(ep.handle_datagram(t, sim_address(2, 1), short_packet(0x41, 40, 7), sink),
            DatagramOutcome::dropped);
  // The rate limit holds: 4 more fit the burst of 5, then nothing until tokens refill.
  int resets = 0;
  for (int i = 0; i < 20; ++i) {
    resets += ep.handle_datagram(t, sim_address(2, 1), short_packet(0x41, 100, 7), sink) ==
              DatagramOutcome::stateless_reset_sent;
  }
  EXPECT_EQ(resets, 4);
  EXPECT_EQ(ep.stats().dropped[static_cast<std::size_t>(core::DropReason::reset_rate_limited)],
            16u);
}

TEST(SimDemux, FixedBitClearUnknownShortHeaderIsNonQuicNeverReset) {
  core::SeededRng rng(1);
  core::Endpoint ep(sim_config(1), rng, sim_address(1, 443));
  CaptureSink sink;
  EXPECT_EQ(ep.handle_datagram(Timestamp(1s), sim_address(2, 1), short_packet(0x01, 100, 7), sink),
            DatagramOutcome::non_quic);
  EXPECT_EQ(ep.handle_datagram(Timestamp(1s), sim_address(2, 1), stun_request(), sink),
            DatagramOutcome::non_quic);
  EXPECT_EQ(ep.handle_datagram(Timestamp(1s), sim_address(2, 1), short_packet(22, 60, 1), sink),
            DatagramOutcome::non_quic);  // DTLS handshake record
  EXPECT_EQ(ep.handle_datagram(Timestamp(1s), sim_address(2, 1), {}, sink),
            DatagramOutcome::dropped);
  // Long headers for no connection are never non-QUIC, whatever their fixed bit.
  EXPECT_EQ(ep.handle_datagram(Timestamp(1s), sim_address(2, 1), short_packet(0x80, 60, 1), sink),
            DatagramOutcome::dropped);
  EXPECT_TRUE(sink.sent.empty());
  EXPECT_EQ(ep.stats().non_quic_received, 3u);
}

TEST(SimDemux, GreasedPacketForAKnownConnectionIsRoutedToIt) {
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  auto h = client.endpoint().connect(net.now(), server.address(), test_client_tls());
  ASSERT_TRUE(h);
  ASSERT_TRUE(net.run_until([&] {
    auto* c = client.endpoint().find(*h);
    return c != nullptr && c->handshake_completed();
  }));
  // A packet whose first byte looks like STUN/DTLS territory but whose DCID is the client's
  // connection ID goes to that connection (it fails decryption there and is dropped).
  const auto& cid = client.endpoint().find(*h)->registered_cids().front();
  std::vector<std::uint8_t> p(80, 0x5a);
  p[0] = 0x14;  // 20: DTLS range, fixed bit clear
  std::copy(cid.bytes.begin(), cid.bytes.begin() + cid.length, p.begin() + 1);
  CaptureSink sink;
  EXPECT_EQ(client.endpoint().handle_datagram(net.now(), server.address(), p, sink),
            DatagramOutcome::routed);
  // A STUN message (random transaction ID) is handed to the non-QUIC reader.
  EXPECT_EQ(client.endpoint().handle_datagram(net.now(), server.address(), stun_request(), sink),
            DatagramOutcome::non_quic);
  EXPECT_FALSE(client.endpoint().find(*h)->is_closed());
}

TEST(SimDemux, NewTokenLetsTheNextConnectionSkipTheRetry) {
  auto config = sim_config(1);
  config.verify_source_address = [](const SocketAddress&) { return true; };
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), config);
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  auto dial = [&] {
    auto h = client.endpoint().connect(net.now(), server.address(), test_client_tls());
    EXPECT_TRUE(h);
    EXPECT_TRUE(net.run_until([&] {
      auto* c = client.endpoint().find(*h);
      return c != nullptr && c->handshake_completed();
    }));
    net.run_for(200ms);  // NEW_TOKEN arrives after the handshake
    return *h;
  };
  dial();
  EXPECT_EQ(server.endpoint().stats().retries_sent, 1u);
  dial();
  EXPECT_EQ(server.endpoint().stats().retries_sent, 1u);  // the token proved the address
}

TEST(SimDemux, AcceptQueueFullRefusesNewConnectionsStatelessly) {
  auto config = sim_config(1);
  config.accept_queue = 2;
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), config);
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  std::vector<core::ConnectionHandle> handles;
  std::map<core::ConnectionHandle, CloseInfo> closes;
  client.on_event = [&](core::Connection& conn, const core::ConnectionEvent& ev) {
    if (ev.type == core::ConnectionEvent::Type::closed) {
      closes[conn.handle()] = conn.close_info();
    }
  };
  for (int i = 0; i < 3; ++i) {
    auto h = client.endpoint().connect(net.now(), server.address(), test_client_tls());
    ASSERT_TRUE(h);
    handles.push_back(*h);
    ASSERT_TRUE(net.run_until(
        [&] {
          auto* c = client.endpoint().find(*h);
          return c == nullptr || c->handshake_completed() || c->is_closed();
        },
        10s));
    net.run_for(100ms);  // the server completes its side of the handshake
  }
  // Nobody accepts: the first two wait in the queue, the third is refused.
  EXPECT_TRUE(client.endpoint().find(handles[0])->handshake_completed());
  EXPECT_TRUE(client.endpoint().find(handles[1])->handshake_completed());
  ASSERT_EQ(closes.count(handles[2]), 1u);
  EXPECT_EQ(closes[handles[2]].code, 0x2u);  // CONNECTION_REFUSED
  EXPECT_EQ(closes.count(handles[0]), 0u);
  EXPECT_EQ(server.endpoint().stats().connections_refused, 1u);
  EXPECT_TRUE(server.endpoint().accept());
  EXPECT_TRUE(server.endpoint().accept());
  EXPECT_FALSE(server.endpoint().accept());
}

}  // namespace
}  // namespace quicreuse::test
