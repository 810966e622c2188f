// Floods of Initials that never complete their handshakes: past max_half_open unvalidated
// handshakes the endpoint answers with a stateless Retry, so the state a flood can pin is
// bounded, and a real client still connects (it follows the Retry).
#include "first_flights.hpp"
#include "sim_gtest.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;

TEST(SimHandshakeFlood, PastTheHalfOpenCapNewClientsGetARetryAndARealClientStillConnects) {
  auto config = sim_config(1);
  config.max_half_open = 8;
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), config);
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  const auto flood = first_flights(server.address(), 40);
  ASSERT_EQ(flood.size(), 40u);
  for (std::size_t i = 0; i < flood.size(); ++i) {
    // From 40 different addresses: each one a half-open handshake if the endpoint allowed it.
    net.inject(sim_address(static_cast<std::uint8_t>(100 + i), 7000), server.address(), flood[i]);
  }
  net.run_for(10ms);
  const core::EndpointStats& stats = server.endpoint().stats();
  EXPECT_EQ(server.endpoint().half_open_count(), 8u);
  EXPECT_EQ(stats.connections_incoming, 8u);
  EXPECT_EQ(stats.retries_for_half_open, 32u);
  EXPECT_EQ(stats.retries_sent, 32u);

  // A real client follows the Retry and completes its handshake during the flood.
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  EchoServer echo(net, server);
  core::Connection* c = dial_and_wait(net, client, server, test_client_tls());
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->handshake_completed());
  EXPECT_EQ(stats.retries_sent, 33u);
  EXPECT_EQ(stats.half_open_peak, 9u);  // the validated client comes on top of the cap

  // The flood's handshakes time out; their state goes.
  net.run_for(30s);
  EXPECT_EQ(server.endpoint().half_open_count(), 0u);
}

}  // namespace
}  // namespace quicreuse::test
