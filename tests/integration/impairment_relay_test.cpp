// The impairment relay itself (tests/support/impairment_relay): every impairment, its counters,
// determinism under a seed, bounded queues and NAT rebinding, with plain UDP sockets on loopback.
#include "impairment_relay.hpp"

#include "io_helpers.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace quicreuse::test {
namespace {

using asio::ip::udp;
using namespace std::chrono_literals;

struct Received {
  std::vector<std::uint8_t> bytes;
  udp::endpoint from;
  std::chrono::steady_clock::time_point at;
};

// A UDP socket on loopback that records everything it receives (and optionally echoes it).
class Peer {
 public:
  Peer(asio::io_context& io, const asio::ip::address& address, bool echo)
      : socket_(std::make_shared<udp::socket>(io, udp::endpoint(address, 0))),
        received_(std::make_shared<std::vector<Received>>()) {
    asio::co_spawn(io, receive(socket_, received_, echo), asio::detached);
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  Peer(Peer&&) = delete;
  Peer& operator=(Peer&&) = delete;
  ~Peer() {
    std::error_code ignored;
    socket_->close(ignored);
  }

  udp::endpoint endpoint() const { return socket_->local_endpoint(); }
  const std::vector<Received>& received() const { return *received_; }
  void send(const std::vector<std::uint8_t>& bytes, const udp::endpoint& to) {
    socket_->send_to(asio::buffer(bytes), to);
  }

 private:
  static asio::awaitable<void> receive(std::shared_ptr<udp::socket> socket,
                                       std::shared_ptr<std::vector<Received>> out, bool echo) {
    std::vector<std::uint8_t> buf(65'536);
    for (;;) {
      udp::endpoint from;
      auto [ec, n] = co_await socket->async_receive_from(
          asio::buffer(buf), from, asio::experimental::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      out->push_back({{buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)},
                      from,
                      std::chrono::steady_clock::now()});
      if (echo) {
        std::error_code ignored;
        socket->send_to(asio::buffer(buf.data(), n), from, 0, ignored);
      }
    }
  }

  std::shared_ptr<udp::socket> socket_;
  std::shared_ptr<std::vector<Received>> received_;
};

// A datagram of size bytes that starts with its sequence number.
std::vector<std::uint8_t> numbered(std::uint32_t seq, std::size_t size = 100) {
  auto bytes = pattern(size, seq);
  std::memcpy(bytes.data(), &seq, sizeof seq);
  return bytes;
}

std::uint32_t number_of(const std::vector<std::uint8_t>& bytes) {
  std::uint32_t seq = 0;
  std::memcpy(&seq, bytes.data(), sizeof seq);
  return seq;
}

// Runs io until done() holds (bounded).
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 5s) {
  bool reached = false;
  const bool finished = run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io);
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!(reached = done()) && std::chrono::steady_clock::now() < deadline) {
          t.expires_after(1ms);
          co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        }
      },
      limit + 5s);
  return finished && reached;
}

class ImpairmentRelayTest : public ::testing::Test {
 protected:
  std::unique_ptr<ImpairmentRelay> start(ImpairmentConfig config) {
    config.listen = udp::endpoint(asio::ip::address_v4::loopback(), 0);
    config.server = server.endpoint();
    auto relay = ImpairmentRelay::start(io.get_executor(), std::move(config));
    EXPECT_TRUE(relay) << relay.error().message();
    return relay ? std::move(*relay) : nullptr;
  }
  // Sends n numbered datagrams from the client through relay and waits until the relay has
  // received all of them and its queues are empty.
  void send_through(ImpairmentRelay& relay, std::uint32_t n, std::size_t size = 100) {
    for (std::uint32_t i = 0; i < n; ++i) {
      client.send(numbered(i, size), relay.client_endpoint());
    }
    ASSERT_TRUE(run_until(io, [&] {
      return relay.counters().to_server.received == n && relay.idle();
    })) << relay.counters().to_server.received;
  }
  std::set<std::uint32_t> numbers_at_server() const {
    std::set<std::uint32_t> out;
    for (const auto& r : server.received()) {
      out.insert(number_of(r.bytes));
    }
    return out;
  }

  asio::io_context io;
  Peer server{io, asio::ip::address_v4::loopback(), false};
  Peer client{io, asio::ip::address_v4::loopback(), false};
};

TEST_F(ImpairmentRelayTest, ForwardsBothWaysAndTheServerSeesTheUpstreamSocket) {
  Peer echo_server(io, asio::ip::address_v4::loopback(), true);
  ImpairmentConfig config;
  config.listen = udp::endpoint(asio::ip::address_v4::loopback(), 0);
  config.server = echo_server.endpoint();
  auto relay = ImpairmentRelay::start(io.get_executor(), config);
  ASSERT_TRUE(relay);
  for (std::uint32_t i = 0; i < 50; ++i) {
    client.send(numbered(i), (*relay)->client_endpoint());
  }
  ASSERT_TRUE(run_until(io, [&] { return client.received().size() == 50; }));
  const auto& c = (*relay)->counters();
  EXPECT_EQ(c.to_server.received, 50u);
  EXPECT_EQ(c.to_server.forwarded, 50u);
  EXPECT_EQ(c.to_client.received, 50u);
  EXPECT_EQ(c.to_client.forwarded, 50u);
  EXPECT_EQ(c.to_server.forwarded_bytes, 5000u);
  EXPECT_EQ(c.flows, 1u);
  ASSERT_EQ((*relay)->upstream_endpoints().size(), 1u);
  EXPECT_EQ(echo_server.received().front().from, (*relay)->upstream_endpoints()[0]);
  EXPECT_EQ(client.received().front().from, (*relay)->client_endpoint());
  for (std::uint32_t i = 0; i < 50; ++i) {
    EXPECT_EQ(client.received()[i].bytes, numbered(i));  // loopback keeps the order
  }
}

TEST_F(ImpairmentRelayTest, SeededLossDropsTheSetTheDiceReplay) {
  constexpr std::uint32_t kCount = 1000;
  ImpairmentConfig config;
  config.seed = 42;
  config.to_server.loss = 0.3;
  auto relay = start(config);
  ASSERT_TRUE(relay);
  send_through(*relay, kCount);
  // The replay: the k-th datagram is lost exactly when the k-th roll of the dice says so.
  ImpairmentDice dice(42, RelayDirection::to_server);
  std::set<std::uint32_t> expected;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    if (!dice.roll(config.to_server).lost) {
      expected.insert(i);
    }
  }
  ASSERT_TRUE(run_until(io, [&] { return server.received().size() == expected.size(); }));
  EXPECT_EQ(numbers_at_server(), expected);
  EXPECT_EQ(relay->counters().to_server.lost, kCount - expected.size());
  EXPECT_EQ(relay->counters().to_server.forwarded, expected.size());
  // About 30 %, and a different seed loses a different set.
  EXPECT_GT(relay->counters().to_server.lost, 200u);
  EXPECT_LT(relay->counters().to_server.lost, 400u);
  ImpairmentDice other(43, RelayDirection::to_server);
  std::set<std::uint32_t> other_kept;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    if (!other.roll(config.to_server).lost) {
      other_kept.insert(i);
    }
  }
  EXPECT_NE(other_kept, expected);
}

TEST_F(ImpairmentRelayTest, TheSameSeedLosesTheSameDatagramsInEveryRun) {
  std::vector<std::set<std::uint32_t>> runs;
  for (int run = 0; run < 2; ++run) {
    Peer sink(io, asio::ip::address_v4::loopback(), false);
    ImpairmentConfig config;
    config.seed = 7;
    config.to_server.loss = 0.5;
    config.listen = udp::endpoint(asio::ip::address_v4::loopback(), 0);
    config.server = sink.endpoint();
    auto relay = ImpairmentRelay::start(io.get_executor(), config);
    ASSERT_TRUE(relay);
    for (std::uint32_t i = 0; i < 200; ++i) {
      client.send(numbered(i), (*relay)->client_endpoint());
    }
    ASSERT_TRUE(run_until(io, [&] {
      return (*relay)->counters().to_server.received == 200 &&
             sink.received().size() == (*relay)->counters().to_server.forwarded;
    }));
    std::set<std::uint32_t> kept;
    for (const auto& r : sink.received()) {
      kept.insert(number_of(r.bytes));
    }
    runs.push_back(kept);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_LT(runs[0].size(), 200u);
}

TEST_F(ImpairmentRelayTest, DuplicationDeliversEveryDatagramTwice) {
  ImpairmentConfig config;
  config.to_server.duplicate = 1.0;
  auto relay = start(config);
  ASSERT_TRUE(relay);
  send_through(*relay, 40);
  ASSERT_TRUE(run_until(io, [&] { return server.received().size() == 80; }));
  std::map<std::uint32_t, int> copies;
  for (const auto& r : server.received()) {
    EXPECT_EQ(r.bytes, numbered(number_of(r.bytes)));
    ++copies[number_of(r.bytes)];
  }
  EXPECT_EQ(copies.size(), 40u);
  for (const auto& [seq, n] : copies) {
    EXPECT_EQ(n, 2) << seq;
  }
  EXPECT_EQ(relay->counters().to_server.duplicated, 40u);
  EXPECT_EQ(relay->counters().to_server.forwarded, 80u);
}

TEST_F(ImpairmentRelayTest, CorruptionFlipsExactlyOneByte) {
  ImpairmentConfig config;
  config.to_server.corrupt = 1.0;
  config.seed = 3;
  auto relay = start(config);
  ASSERT_TRUE(relay);
  send_through(*relay, 30, 200);
  ASSERT_TRUE(run_until(io, [&] { return server.received().size() == 30; }));
  ImpairmentDice dice(3, RelayDirection::to_server);
  for (std::uint32_t i = 0; i < 30; ++i) {
    const auto roll = dice.roll(config.to_server);
    auto expected = numbered(i, 200);
    expected[roll.corrupt_position % expected.size()] ^= roll.corrupt_mask;
    const auto& got = server.received()[i].bytes;
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_EQ(got, expected) << i;
    int differing = 0;
    const auto original = numbered(i, 200);
    for (std::size_t b = 0; b < got.size(); ++b) {
      differing += got[b] != original[b] ? 1 : 0;
    }
    EXPECT_EQ(differing, 1);
  }
  EXPECT_EQ(relay->counters().to_server.corrupted, 30u);
}

TEST_F(ImpairmentRelayTest, ReorderingHoldsDatagramsBackButDeliversThemAll) {
  ImpairmentConfig config;
  config.seed = 11;
  config.to_server.reorder = 0.2;
  config.to_server.reorder_gap = 3;
  config.to_server.reorder_timeout = 1h;  // release by count only, so the order is exact
  auto relay = start(config);
  ASSERT_TRUE(relay);
  constexpr std::uint32_t kCount = 300;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    client.send(numbered(i), relay->client_endpoint());
  }
  ASSERT_TRUE(run_until(io, [&] { return relay->counters().to_server.received == kCount; }));
  // Whatever is still held at the end goes once the timeout is short again.
  auto quick = config.to_server;
  quick.reorder = 0;
  quick.reorder_timeout = 1ms;
  relay->set_impairment(RelayDirection::to_server, quick);
  client.send(numbered(kCount), relay->client_endpoint());  // overtakes what is held
  client.send(numbered(kCount + 1), relay->client_endpoint());
  client.send(numbered(kCount + 2), relay->client_endpoint());
  ASSERT_TRUE(run_until(io, [&] { return server.received().size() == kCount + 3; }))
      << server.received().size();
  EXPECT_EQ(numbers_at_server().size(), kCount + 3);
  std::size_t inversions = 0;
  for (std::size_t i = 1; i < server.received().size(); ++i) {
    inversions += number_of(server.received()[i].bytes) < number_of(server.received()[i - 1].bytes);
  }
  EXPECT_GT(inversions, 0u);
  ImpairmentDice dice(11, RelayDirection::to_server);
  std::uint64_t expected_held = 0;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    expected_held += dice.roll(config.to_server).reordered ? 1U : 0U;
  }
  EXPECT_EQ(relay->counters().to_server.reordered, expected_held);
  EXPECT_GT(expected_held, 30u);
}

TEST_F(ImpairmentRelayTest, DelayHoldsEveryDatagramAtLeastThatLong) {
  ImpairmentConfig config;
  config.to_server.delay = 150ms;
  auto relay = start(config);
  ASSERT_TRUE(relay);
  const auto sent_at = std::chrono::steady_clock::now();
  send_through(*relay, 5);
  ASSERT_TRUE(run_until(io, [&] { return server.received().size() == 5; }));
  for (const auto& r : server.received()) {
    EXPECT_GE(r.at - sent_at, 150ms);  // a lower bound: it can never come early
  }
  EXPECT_EQ(relay->counters().to_server.forwarded, 5u);
}

TEST_F(ImpairmentRelayTest, RateLimitQueuesABurstBoundedAndDropsTheRest) {
  ImpairmentConfig config;
  config.to_server.rate_bytes_per_second = 100'000;
  config.to_server.rate_queue_bytes = 10'000;
  auto relay = start(config);
  ASSERT_TRUE(relay);
  // All 100 are sent before the relay runs, so they reach it as one burst.
  send_through(*relay, 100, 1000);
  const auto& c = relay->counters().to_server;
  EXPECT_EQ(c.forwarded + c.rate_dropped, 100u);
  EXPECT_GE(c.forwarded, 10u);
  EXPECT_GT(c.rate_dropped, 50u);
  ASSERT_TRUE(run_until(io, [&] { return server.received().size() == c.forwarded; }));
}

TEST_F(ImpairmentRelayTest, DelayQueueIsBounded) {
  ImpairmentConfig config;
  config.to_server.delay = 10ms;
  config.max_queued_datagrams = 10;
  auto relay = start(config);
  ASSERT_TRUE(relay);
  send_through(*relay, 25);
  EXPECT_EQ(relay->counters().to_server.queue_dropped + relay->counters().to_server.forwarded, 25u);
  EXPECT_GE(relay->counters().to_server.queue_dropped, 1u);
}

TEST_F(ImpairmentRelayTest, BlackholeDropsEverythingInsideTheWindowOnly) {
  auto relay = start({});
  ASSERT_TRUE(relay);
  send_through(*relay, 3);  // sets the epoch
  relay->blackhole_for(RelayDirection::to_server, 200ms);
  std::optional<RelayCounters> lifted;
  relay->on_blackhole_lifted(RelayDirection::to_server,
                             [&](const RelayCounters& c) { lifted = c; });
  const auto window_start = std::chrono::steady_clock::now();
  for (std::uint32_t i = 3; i < 13; ++i) {
    client.send(numbered(i), relay->client_endpoint());
  }
  ASSERT_TRUE(run_until(io, [&] { return relay->counters().to_server.received == 13; }));
  EXPECT_EQ(relay->counters().to_server.blackholed, 10u);
  // Wait for the end of the window (bounded), then traffic passes again.
  ASSERT_TRUE(
      run_until(io, [&] { return std::chrono::steady_clock::now() - window_start > 250ms; }));
  for (std::uint32_t i = 13; i < 18; ++i) {
    client.send(numbered(i), relay->client_endpoint());
  }
  ASSERT_TRUE(run_until(io, [&] { return server.received().size() == 8; }));
  EXPECT_EQ(numbers_at_server(), (std::set<std::uint32_t>{0, 1, 2, 13, 14, 15, 16, 17}));
  ASSERT_TRUE(lifted);
  EXPECT_EQ(lifted->to_server.blackholed, 10u);
  EXPECT_EQ(lifted->to_server.forwarded, 3u);
}

TEST_F(ImpairmentRelayTest, ConfiguredWindowsCountFromTheFirstDatagram) {
  ImpairmentConfig config;
  config.to_server.blackholes = {{0ms, 1h}};
  auto relay = start(config);
  ASSERT_TRUE(relay);
  send_through(*relay, 20);
  EXPECT_EQ(relay->counters().to_server.blackholed, 20u);
  EXPECT_EQ(relay->counters().to_server.forwarded, 0u);
}

TEST_F(ImpairmentRelayTest, ATriggerFiresOnceAtItsByteMark) {
  auto relay = start({});
  ASSERT_TRUE(relay);
  int fired = 0;
  std::uint64_t at = 0;
  relay->when_received_bytes(RelayDirection::to_server, 1000, [&](ImpairmentRelay& r) {
    ++fired;
    at = r.counters().to_server.received;
  });
  send_through(*relay, 30);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(at, 10u);  // the tenth 100-byte datagram crosses 1000 bytes
}

TEST_F(ImpairmentRelayTest, RebindPortChangesTheSourcePortTheServerSees) {
  Peer echo_server(io, asio::ip::address_v4::loopback(), true);
  ImpairmentConfig config;
  config.listen = udp::endpoint(asio::ip::address_v4::loopback(), 0);
  config.server = echo_server.endpoint();
  auto relay = ImpairmentRelay::start(io.get_executor(), config);
  ASSERT_TRUE(relay);
  client.send(numbered(0), (*relay)->client_endpoint());
  ASSERT_TRUE(run_until(io, [&] { return client.received().size() == 1; }));
  const auto before = echo_server.received().back().from;
  ASSERT_TRUE((*relay)->rebind_port());
  client.send(numbered(1), (*relay)->client_endpoint());
  ASSERT_TRUE(run_until(io, [&] { return client.received().size() == 2; }));
  const auto after = echo_server.received().back().from;
  EXPECT_EQ(after.address(), before.address());
  EXPECT_NE(after.port(), before.port());
  EXPECT_EQ(after, (*relay)->upstream_endpoints()[0]);
  EXPECT_EQ(client.received().back().bytes, numbered(1));  // the reply found its way back
  EXPECT_EQ((*relay)->counters().rebinds, 1u);
  EXPECT_EQ((*relay)->counters().flows, 1u);
}

TEST_F(ImpairmentRelayTest, RebindAddressMovesTheSourceTo127_0_0_2) {
  Peer echo_server(io, asio::ip::address_v4::loopback(), true);
  ImpairmentConfig config;
  config.listen = udp::endpoint(asio::ip::address_v4::loopback(), 0);
  config.server = echo_server.endpoint();
  auto relay = ImpairmentRelay::start(io.get_executor(), config);
  ASSERT_TRUE(relay);
  client.send(numbered(0), (*relay)->client_endpoint());
  ASSERT_TRUE(run_until(io, [&] { return client.received().size() == 1; }));
  EXPECT_EQ(echo_server.received().back().from.address(), asio::ip::make_address("127.0.0.1"));
  ASSERT_TRUE((*relay)->rebind_address(asio::ip::make_address("127.0.0.2")));
  client.send(numbered(1), (*relay)->client_endpoint());
  ASSERT_TRUE(run_until(io, [&] { return client.received().size() == 2; }));
  EXPECT_EQ(echo_server.received().back().from.address(), asio::ip::make_address("127.0.0.2"));
  EXPECT_EQ(client.received().back().bytes, numbered(1));
}

TEST_F(ImpairmentRelayTest, FlowsBeyondTheLimitAreRefused) {
  ImpairmentConfig config;
  config.max_flows = 1;
  auto relay = start(config);
  ASSERT_TRUE(relay);
  Peer second(io, asio::ip::address_v4::loopback(), false);
  client.send(numbered(0), relay->client_endpoint());
  second.send(numbered(1), relay->client_endpoint());
  ASSERT_TRUE(run_until(io, [&] {
    return relay->counters().to_server.received + relay->counters().flows_refused == 2;
  }));
  EXPECT_EQ(relay->counters().flows, 1u);
  EXPECT_EQ(relay->counters().flows_refused, 1u);
}

TEST_F(ImpairmentRelayTest, WorksOverIpv6) {
  Peer echo_server(io, asio::ip::address_v6::loopback(), true);
  Peer client6(io, asio::ip::address_v6::loopback(), false);
  ImpairmentConfig config;
  config.listen = udp::endpoint(asio::ip::address_v6::loopback(), 0);
  config.server = echo_server.endpoint();
  auto relay = ImpairmentRelay::start(io.get_executor(), config);
  ASSERT_TRUE(relay);
  client6.send(numbered(0), (*relay)->client_endpoint());
  ASSERT_TRUE(run_until(io, [&] { return client6.received().size() == 1; }));
  EXPECT_TRUE(echo_server.received().front().from.address().is_v6());
}

TEST_F(ImpairmentRelayTest, RejectsProbabilitiesOutsideZeroToOne) {
  ImpairmentConfig config;
  config.to_client.loss = 1.5;
  config.server = server.endpoint();
  auto relay = ImpairmentRelay::start(io.get_executor(), config);
  ASSERT_FALSE(relay);
  EXPECT_EQ(relay.error(), make_error_code(errc::invalid_argument));
}

}  // namespace
}  // namespace quicreuse::test
