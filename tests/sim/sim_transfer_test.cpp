// Data transfer over the simulator: echo, large transfers under loss and reordering, datagrams.
// Every test runs over each link of the table (sim_links.hpp).
#include "sim_gtest.hpp"
#include "sim_links.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
using core::ConnectionEvent;

class SimTransfer : public testing::TestWithParam<SimLink> {};

TEST_P(SimTransfer, EchoHello) {
  SimNetwork net(GetParam().link);
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  EchoServer echo(net, server);
  EchoClient ec(net, client);
  ASSERT_TRUE(ec.send(server, to_bytes("hello"), 10s));
  EXPECT_EQ(ec.pump.received(ec.stream), to_bytes("hello"));
}

TEST_P(SimTransfer, FourMiBUnderFivePercentLossAndReorderingArrivesByteExact) {
  // The table's delay, with this test's own 5 % loss and reordering on top (at least).
  LinkConfig link = GetParam().link;
  link.loss = std::max(link.loss, 0.05);
  link.reorder = std::max(link.reorder, 0.05);
  link.reorder_delay = 9ms;
  SimNetwork net(link, 42);
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  EchoServer echo(net, server);
  EchoClient ec(net, client);
  const auto data = pattern_bytes(std::size_t{4} * 1024 * 1024, 7);
  ASSERT_TRUE(ec.send(server, data, 600s))
      << "virtual time " << net.now().time_since_epoch().count();
  EXPECT_EQ(ec.pump.received(ec.stream).size(), data.size());
  EXPECT_TRUE(ec.pump.received(ec.stream) == data);
  EXPECT_GT(net.lost(), 0u);  // the link really lost packets
}

TEST_P(SimTransfer, ManyStreamsOnOneConnection) {
  SimNetwork net(GetParam().link);
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  EchoServer echo(net, server);
  auto h = client.endpoint().connect(net.now(), server.address(), test_client_tls());
  ASSERT_TRUE(h);
  ASSERT_TRUE(net.run_until([&] {
    auto* c = client.endpoint().find(*h);
    return c != nullptr && c->handshake_completed();
  }));
  StreamPump pump;
  std::set<std::int64_t> done;
  client.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::stream_readable &&
        pump.drain(conn, ev.stream_id, net.now())) {
      done.insert(ev.stream_id);
    } else if (ev.type == ConnectionEvent::Type::stream_writable) {
      pump.pump(conn);
    }
  };
  core::Connection* c = client.endpoint().find(*h);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 50; ++i) {
    auto id = c->open_stream(true);
    ASSERT_TRUE(id) << id.error().message();
    ids.push_back(*id);
    pump.queue(*c, *id,
               pattern_bytes(10'000 + static_cast<std::size_t>(i), static_cast<std::uint64_t>(i)),
               true);
  }
  ASSERT_TRUE(net.run_until([&] { return done.size() == ids.size(); }, 60s));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(pump.received(ids[i]), pattern_bytes(10'000 + i, i));
  }
}

TEST_P(SimTransfer, DatagramsArriveWhenNegotiated) {
  SimNetwork net(GetParam().link);
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  EchoServer echo(net, server);
  std::vector<std::vector<std::uint8_t>> got;
  server.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::datagram_received) {
      while (auto d = conn.receive_datagram()) {
        got.push_back(*d);
      }
    }
  };
  auto h = client.endpoint().connect(net.now(), server.address(), test_client_tls());
  ASSERT_TRUE(h);
  ASSERT_TRUE(net.run_until([&] {
    auto* c = client.endpoint().find(*h);
    return c != nullptr && c->handshake_completed();
  }));
  core::Connection* c = client.endpoint().find(*h);
  ASSERT_TRUE(c->datagrams_negotiated());
  ASSERT_TRUE(c->send_datagram(to_bytes("ping-1")));
  ASSERT_TRUE(c->send_datagram(to_bytes("ping-2")));
  EXPECT_EQ(c->send_datagram(std::vector<std::uint8_t>(5000, 1)).error(),
            make_error_code(errc::datagram_too_large));
  ASSERT_TRUE(net.run_until([&] { return got.size() == 2; }, 5s));
  EXPECT_EQ(got[0], to_bytes("ping-1"));
  EXPECT_EQ(got[1], to_bytes("ping-2"));
}

TEST_P(SimTransfer, DatagramsRefusedWhenThePeerDisabledThem) {
  SimNetwork net(GetParam().link);
  auto server_config = sim_config(1);
  server_config.transport.enable_datagrams = false;
  SimNode& server = net.add_node(sim_address(1, 443), server_config);
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  auto h = client.endpoint().connect(net.now(), server.address(), test_client_tls());
  ASSERT_TRUE(h);
  ASSERT_TRUE(net.run_until([&] {
    auto* c = client.endpoint().find(*h);
    return c != nullptr && c->handshake_completed();
  }));
  EXPECT_EQ(client.endpoint().find(*h)->send_datagram(to_bytes("x")).error(),
            make_error_code(errc::datagrams_disabled));
}

INSTANTIATE_TEST_SUITE_P(Links, SimTransfer, testing::ValuesIn(kSimLinks), SimLinkName{});

}  // namespace
}  // namespace quicreuse::test
