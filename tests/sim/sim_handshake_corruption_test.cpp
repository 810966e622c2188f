// Handshakes on a corrupting path, as the QUIC interop runner's handshakecorruption case sets it
// up (30 % of datagrams damaged each way, every connection must succeed), and what a damaged
// Initial may leave behind on the server: nothing that reaches the intact packets after it.
#include "sim_gtest.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;

std::uint64_t dropped(const SimNode& node, core::DropReason reason) {
  return const_cast<SimNode&>(node).endpoint().stats().dropped[static_cast<std::size_t>(reason)];
}

// Where a byte of the client's first Initial is damaged: each makes the packet undecryptable
// while its DCID stays intact, so the server creates a connection for it.
enum class Damage { source_cid, payload, tag };

std::size_t damage_offset(Damage d, std::span<const std::uint8_t> initial) {
  const std::size_t dcid_len = initial[5];
  switch (d) {
    case Damage::source_cid:
      return 1 + 4 + 1 + dcid_len + 1;  // first byte of the SCID
    case Damage::payload:
      return initial.size() / 2;
    case Damage::tag:
      return initial.size() - 1;
  }
  return 0;
}

class DamagedFirstInitial : public ::testing::TestWithParam<Damage> {};

// A client's back-to-back copies of an Initial (a probe sent twice, or a retransmission on the
// heels of the original) arrive in one batch; the first is damaged. The server must answer the
// intact one at once: before, the damaged one left a dead connection registered under the DCID
// until the batch was over, the intact copy went to it and was ignored, and the client had to
// wait a probe timeout (with a real network: each time the damage struck first).
TEST_P(DamagedFirstInitial, DoesNotSwallowTheIntactCopyBehindIt) {
  SimNetwork net({.delay = 15ms});
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  bool doubled = false;
  Timestamp answered = Timestamp::max();
  net.intercept = [&](const SocketAddress& from, const SocketAddress& to,
                      std::span<const std::uint8_t> data) {
    if (from == server.address() && answered == Timestamp::max()) {
      answered = net.now();
    }
    if (from != client.address() || doubled) {
      return false;
    }
    doubled = true;
    std::vector<std::uint8_t> damaged(data.begin(), data.end());
    damaged[damage_offset(GetParam(), data)] ^= 0x5a;
    net.inject(from, to, std::move(damaged));
    net.inject(from, to, {data.begin(), data.end()});
    return true;
  };
  const Timestamp start = net.now();
  core::Connection* conn = dial_and_wait(net, client, server, test_client_tls(), 10s);
  ASSERT_NE(conn, nullptr);
  EXPECT_TRUE(conn->handshake_completed());
  ASSERT_TRUE(doubled);
  // Answered in the batch that brought the copies, not after the client's probe timeout.
  EXPECT_EQ(answered, start);
  EXPECT_EQ(dropped(server, core::DropReason::undecryptable_initial), 1u);
  EXPECT_EQ(server.endpoint().stats().connections_incoming, 1u);
}

INSTANTIATE_TEST_SUITE_P(SimHandshakeCorruption, DamagedFirstInitial,
                         ::testing::Values(Damage::source_cid, Damage::payload, Damage::tag),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case Damage::source_cid:
                               return std::string("SourceCid");
                             case Damage::payload:
                               return std::string("Payload");
                             case Damage::tag:
                               return std::string("Tag");
                           }
                           return std::string("Unknown");
                         });

// A v1 Initial whose version byte was damaged is not answered with Version Negotiation (it would
// only tell a v1 client, unauthenticated, to give up if the reply were damaged too); a version
// that differs in more bytes still is.
TEST(SimHandshakeCorruption, AVersionOneByteFromV1IsDroppedNotNegotiated) {
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  std::vector<std::uint8_t> first;
  net.intercept = [&](const SocketAddress& from, const SocketAddress&,
                      std::span<const std::uint8_t> data) {
    if (from == client.address() && first.empty()) {
      first.assign(data.begin(), data.end());
    }
    return true;  // nothing travels by itself
  };
  ASSERT_TRUE(client.endpoint().connect(net.now(), server.address(), test_client_tls()));
  net.run_until([&] { return !first.empty(); }, 1s);
  ASSERT_GE(first.size(), 1200u);
  for (const std::size_t byte : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{4}}) {
    std::vector<std::uint8_t> damaged = first;
    damaged[byte] ^= 0x24;
    CaptureSink sink;
    EXPECT_EQ(server.endpoint().handle_datagram(net.now(), client.address(), damaged, sink),
              core::DatagramOutcome::dropped)
        << "version byte " << byte;
    EXPECT_TRUE(sink.sent.empty());
  }
  EXPECT_EQ(dropped(server, core::DropReason::damaged_version), 4u);
  std::vector<std::uint8_t> other = first;
  other[1] ^= 0x24;
  other[4] ^= 0x24;  // two bytes: another version, negotiated
  CaptureSink sink;
  EXPECT_EQ(server.endpoint().handle_datagram(net.now(), client.address(), other, sink),
            core::DatagramOutcome::version_negotiation_sent);
  EXPECT_EQ(sink.sent.size(), 1u);
}

// 200 seeded runs at the interop runner's 30 % each way (our client both ways: it sends its
// handshake probes twice, so it recovered even when the server swallowed the intact copy).
TEST(SimHandshakeCorruption, EveryConnectionSucceedsAtThirtyPercentCorruptionEachWay) {
  int ok = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const EchoRun o = echo_over({.delay = 15ms, .corrupt = 0.3}, seed);
    ok += o.echoed ? 1 : 0;
    EXPECT_TRUE(o.echoed) << "seed " << seed << ": " << o.why;
  }
  EXPECT_EQ(ok, 200);
}

}  // namespace
}  // namespace quicreuse::test
