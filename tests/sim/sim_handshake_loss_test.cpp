// Handshakes on a lossy path, as the QUIC interop runner's handshakeloss case sets it up (30 %
// loss each way, many connections, each fetching a small file: here a 1 KiB echo, and every one
// must succeed), and the limits that end a handshake that cannot succeed.
#include "sim_gtest.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;

// 200 seeded runs (10,000 pass too, in 14 s). Before the 100 ms initial RTT and the doubled
// handshake probes, 6 % failed: three Initials fit into the 5 s of silence, one probe per PTO.
TEST(SimHandshakeLoss, EveryConnectionSucceedsAtThirtyPercentLossEachWay) {
  int ok = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const EchoRun o = echo_over({.delay = 15ms, .loss = 0.3}, seed);
    ok += o.echoed ? 1 : 0;
    EXPECT_TRUE(o.echoed) << "seed " << seed << ": " << o.why << " after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(o.took).count()
                          << " ms";
  }
  EXPECT_EQ(ok, 200);
}

struct Unanswered {
  std::optional<CloseInfo> closed;
  std::uint64_t packets = 0;  // packets the client sent (a duplicated probe counts once)
  Duration took{};
};

// Dials an address where nobody answers and waits (bounded) for the dial to give up.
Unanswered dial_nobody(core::EndpointConfig config) {
  SimNetwork net;
  SimNode& client = net.add_node(sim_address(2, 5000), std::move(config));
  Unanswered out;
  client.on_event = [&](core::Connection& conn, const core::ConnectionEvent& ev) {
    if (ev.type == core::ConnectionEvent::Type::closed) {
      out.closed = conn.close_info();
      out.packets = conn.stats().packets_sent;
    }
  };
  const Timestamp start = net.now();
  EXPECT_TRUE(client.endpoint().connect(net.now(), sim_address(1, 443), test_client_tls()));
  EXPECT_TRUE(net.run_until([&] { return out.closed.has_value(); }, 30s));
  out.took = net.now() - start;
  return out;
}

// A dial to an address where nobody answers ends after 5 s of silence (the handshake idle
// timeout), once the client probed at least three times: 0.3, 0.9, 2.1 and 4.5 s.
TEST(SimHandshakeLoss, ADialNobodyAnswersEndsAfterTheSilenceAndFourProbes) {
  const Unanswered u = dial_nobody(sim_config(2));
  ASSERT_TRUE(u.closed);
  EXPECT_EQ(u.closed->kind, CloseInfo::Kind::handshake_timeout);
  EXPECT_GE(u.took, 5s);
  EXPECT_LT(u.took, 6s);
  EXPECT_EQ(u.packets, 5u);  // the first Initial and four probes (each also sent twice)
}

// With a long initial RTT the probes come late; silence alone would end the handshake after two
// Initials (0 and 3 s). It counts probes instead, within the whole-handshake limit (10 s).
TEST(SimHandshakeLoss, ALongInitialRttStillGetsThreeProbesBeforeGivingUp) {
  auto config = sim_config(2);
  config.transport.initial_rtt = 1000ms;
  const Unanswered u = dial_nobody(config);
  ASSERT_TRUE(u.closed);
  EXPECT_EQ(u.closed->kind, CloseInfo::Kind::handshake_timeout);
  EXPECT_GE(u.packets, 3u);  // 0, 3 and 9 s
  EXPECT_LE(u.took, 10s);
}

// A client whose handshake completed waits for HANDSHAKE_DONE (RFC 9001 4.1.2) a bounded time:
// when the server vanished right after its flight, the dial ends as a handshake timeout within
// the handshake idle timeout, not at the 30 s idle timeout.
TEST(SimHandshakeLoss, AClientWaitsABoundedTimeForHandshakeDone) {
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  auto h = client.endpoint().connect(net.now(), server.address(), test_client_tls());
  ASSERT_TRUE(h);
  std::optional<CloseInfo> closed;
  client.on_event = [&](core::Connection& conn, const core::ConnectionEvent& ev) {
    if (ev.type == core::ConnectionEvent::Type::closed) {
      closed = conn.close_info();
    }
  };
  ASSERT_TRUE(net.run_until([&] { return client.endpoint().find(*h)->handshake_completed(); }));
  net.remove_node(server.address());  // its HANDSHAKE_DONE never comes
  const Timestamp completed = net.now();
  ASSERT_TRUE(net.run_until([&] { return closed.has_value(); }, 60s));
  EXPECT_EQ(closed->kind, CloseInfo::Kind::handshake_timeout);
  EXPECT_LE(net.now() - completed, 5s);
}

}  // namespace
}  // namespace quicreuse::test
