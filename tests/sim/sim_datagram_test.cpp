// RFC 9221 datagrams in bursts: everything the application queued leaves as the congestion
// window allows, none is dropped for not fitting the rest of a packet.
#include "sim_gtest.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
using core::ConnectionEvent;

core::EndpointConfig burst_config(std::uint8_t seed) {
  auto config = sim_config(seed);
  config.transport.datagram_send_queue = 256;
  config.transport.datagram_receive_queue = 256;
  return config;
}

struct Burst {
  std::vector<std::size_t> got;  // the indices the server received, in arrival order
  std::uint64_t dropped = 0;     // the client's datagrams_dropped
  std::uint64_t packets = 0;     // packets the client sent for the burst
};

// Sends `sizes.size()` datagrams back to back (datagram i has size sizes[i] and starts with its
// index).
Burst burst(const std::vector<std::size_t>& sizes) {
  Burst out;
  std::vector<std::size_t>& got = out.got;
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), burst_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), burst_config(2));
  EXPECT_TRUE(server.endpoint().listen(test_server_tls()));
  EchoServer echo(net, server);
  server.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == ConnectionEvent::Type::datagram_received) {
      while (auto d = conn.receive_datagram()) {
        EXPECT_GE(d->size(), 2u);
        got.push_back(d->size() >= 2 ? (std::size_t{(*d)[0]} << 8U) | (*d)[1] : 0xffff);
      }
    }
  };
  core::Connection* c = dial_and_wait(net, client, server, test_client_tls());
  if (c == nullptr || !c->handshake_completed()) {
    ADD_FAILURE() << "no connection";
    return out;
  }
  const std::uint64_t packets_before = c->stats().packets_sent;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto d = pattern_bytes(sizes[i], i);
    d[0] = static_cast<std::uint8_t>(i >> 8U);
    d[1] = static_cast<std::uint8_t>(i & 0xffU);
    EXPECT_TRUE(c->send_datagram(d)) << "datagram " << i;
  }
  client.endpoint().mark_dirty(c->handle());
  EXPECT_TRUE(net.run_until([&] { return got.size() == sizes.size(); }, 10s))
      << got.size() << " of " << sizes.size() << " arrived";
  out.dropped = c->stats().datagrams_dropped;
  out.packets = c->stats().packets_sent - packets_before;
  return out;
}

TEST(SimDatagram, ABurstOf200FullSizeDatagramsAllLeave) {
  const Burst b = burst(std::vector<std::size_t>(200, 1150));
  EXPECT_EQ(b.got.size(), 200u);
  EXPECT_EQ(b.dropped, 0u);
}

TEST(SimDatagram, ABurstOfMixedSizesAllLeaveInOrder) {
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < 200; ++i) {
    sizes.push_back(1000 + (i * 37) % 151);  // 1000..1150, two rarely share a packet
  }
  const Burst b = burst(sizes);
  ASSERT_EQ(b.got.size(), 200u);
  EXPECT_EQ(b.dropped, 0u);
  for (std::size_t i = 0; i < b.got.size(); ++i) {
    EXPECT_EQ(b.got[i], i);  // a lossless path: the order they were queued in
  }
}

TEST(SimDatagram, SmallDatagramsShareAPacket) {
  const Burst b = burst(std::vector<std::size_t>(200, 300));
  EXPECT_EQ(b.got.size(), 200u);
  EXPECT_EQ(b.dropped, 0u);
  EXPECT_LT(b.packets, 100u);  // three or four to a packet, plus ACK-only packets
}

}  // namespace
}  // namespace quicreuse::test
