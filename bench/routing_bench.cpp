// Routing cost per datagram in the sans-IO core: core::Endpoint::handle_datagram on one endpoint
// that holds N connections, for each path a datagram can take (no sockets, virtual time).
//
// The endpoint under test ("A") dials a second endpoint ("B") in the simulator and completes a
// real handshake; the 1-RTT packets B then sends to A are captured. N - 1 more connections are
// created with core::Endpoint::connect (real ngtcp2 + GnuTLS client connections whose first flight
// is never sent), so the CID index and the connection table hold N connections' entries. A captured
// packet replayed to A takes the full routing path (classify, CID lookup, connection lookup,
// ngtcp2 header-protection removal and AEAD decryption) and is then discarded by ngtcp2 as a
// duplicate packet number, so frame processing is not included (the transfer benchmarks cover it).
#include "bench_packets.hpp"
#include "bench_sim.hpp"
#include "core/cid_index.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

namespace quicreuse::bench {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kTableSize = 1024;  // power of two

// DiscardSink drops what the endpoint sends (stateless resets, Version Negotiation, ...).
class DiscardSink final : public core::PacketSink {
 public:
  void send(const SocketAddress&, std::span<const std::uint8_t> data, std::size_t,
            const core::PathInfo&) override {
    ++sends;
    bytes += data.size();
  }
  std::uint64_t sends = 0;
  std::uint64_t bytes = 0;
};

// NullObserver ignores connection events.
class NullObserver final : public core::EndpointObserver {
 public:
  void on_events(core::Connection&, std::span<const core::ConnectionEvent>) override {}
  void on_incoming() override {}
  void on_removed(core::ConnectionHandle) override {}
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "routing fixture: %s\n", what);
  std::abort();
}

void set_per_datagram_counters(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  state.counters["per_dgram"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// RoutingFixture is endpoint A with N connections, one of them established with B.
struct RoutingFixture {
  explicit RoutingFixture(std::size_t n);

  SimNetwork net{LinkConfig{1ms}};
  SimNode* a = nullptr;
  SimNode* b = nullptr;
  std::vector<core::ConnectionHandle> accepted;  // server connections of A and B
  core::ConnectionHandle target = 0;
  Datagram large;  // a captured full-size 1-RTT packet from B to A (stream data)
  Datagram small;  // a captured ACK-only-size 1-RTT packet from B to A
  Timestamp now{};
  double setup_seconds = 0;
};

RoutingFixture::RoutingFixture(std::size_t n) {
  const auto started = std::chrono::steady_clock::now();
  auto server_tls = bench_server_tls();
  auto client_tls = bench_client_tls();
  core::EndpointConfig config_a = sim_config(1);
  config_a.max_connections = n + 64;
  a = &net.add_node(sim_address(1, 4433), config_a);
  b = &net.add_node(sim_address(2, 4433), sim_config(3));
  for (SimNode* node : {a, b}) {
    node->on_incoming_cb = [this, node] {
      while (auto h = node->endpoint().accept()) {
        accepted.push_back(*h);
      }
    };
  }
  if (!a->endpoint().listen(server_tls) || !b->endpoint().listen(server_tls)) {
    die("listen");
  }
  auto dialed = a->endpoint().connect(net.now(), b->address(), client_tls);
  if (!dialed) {
    die("connect");
  }
  target = *dialed;
  const bool up = net.run_until(
      [&] {
        const core::Connection* c = a->endpoint().find(target);
        return c != nullptr && c->handshake_completed() && !accepted.empty();
      },
      kNoVirtualTimeLimit);
  if (!up) {
    die("handshake");
  }
  core::Connection* ca = a->endpoint().find(target);
  core::Connection* cb = b->endpoint().find(accepted.front());

  // Capture B's 1-RTT datagrams to A: an ACK for a small write of A, then a full-size packet.
  net.intercept = [this](const SocketAddress& from, const SocketAddress&,
                         std::span<const std::uint8_t> data) {
    if (!(from == b->address()) || data.empty() || (data[0] & 0x80) != 0) {
      return false;  // looked at, never taken: it travels as usual
    }
    if (data.size() < 100 && small.empty()) {
      small.assign(data.begin(), data.end());
    } else if (data.size() > 1000 && large.empty()) {
      large.assign(data.begin(), data.end());
    }
    return false;
  };
  std::mt19937_64 rng(7);
  auto sa = ca->open_stream(false);
  const auto hello = random_bytes(100, rng);
  if (!sa || !ca->write_stream(*sa, hello, true)) {
    die("client write");
  }
  if (!net.run_until([&] { return !small.empty(); }, kNoVirtualTimeLimit, 10'000)) {
    die("capture ACK");
  }
  auto sb = cb->open_stream(false);
  const auto payload = random_bytes(1100, rng);
  if (!sb || !cb->write_stream(*sb, payload, true)) {
    die("server write");
  }
  if (!net.run_until([&] { return !large.empty(); }, kNoVirtualTimeLimit, 10'000)) {
    die("capture 1-RTT");
  }
  // Let A receive everything in flight (so replays are duplicates), then stop the simulation.
  (void)net.run_until([&] { return false; }, kNoVirtualTimeLimit, 200);
  net.intercept = nullptr;
  now = net.now();

  // N - 1 more connections on A: real client connections, never flushed.
  for (std::size_t i = 1; i < n; ++i) {
    const auto host = static_cast<std::uint8_t>(10 + i / 60000);
    const auto port = static_cast<std::uint16_t>(1024 + i % 60000);
    if (!a->endpoint().connect(now, sim_address(host, port), client_tls)) {
      die("filler connect");
    }
  }
  if (a->endpoint().connection_count() != n) {
    die("connection count");
  }
  setup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

// Returns the fixture for n connections, built on first use and kept for the whole run (Google
// Benchmark calls a benchmark function several times while it picks an iteration count).
RoutingFixture& fixture(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<RoutingFixture>> fixtures;
  auto& slot = fixtures[n];
  if (!slot) {
    slot = std::make_unique<RoutingFixture>(n);
  }
  return *slot;
}

// Feeds the datagrams of table (cycling) to endpoint A of the fixture at the fixture's fixed
// time, after checking that the first datagram takes the expected path (when one is given).
void route_table(benchmark::State& state, RoutingFixture& fx, const std::vector<Datagram>& table,
                 std::optional<core::DatagramOutcome> expected) {
  DiscardSink sink;
  core::Endpoint& ep = fx.a->endpoint();
  const SocketAddress from = fx.b->address();
  if (auto first = ep.handle_datagram(fx.now, from, table.front(), sink);
      expected && first != *expected) {
    state.SkipWithError("unexpected outcome for the first datagram");
    return;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto outcome = ep.handle_datagram(fx.now, from, table[i++ % table.size()], sink);
    benchmark::DoNotOptimize(outcome);
  }
  set_per_datagram_counters(state);
  state.counters["conns"] = static_cast<double>(ep.connection_count());
  state.counters["replies"] =
      benchmark::Counter(static_cast<double>(sink.sends), benchmark::Counter::kAvgIterations);
}

// (a) A captured 1-RTT packet of the established connection, among N connections.
void route_short_header(benchmark::State& state) {
  RoutingFixture& fx = fixture(static_cast<std::size_t>(state.range(0)));
  const Datagram& packet = state.range(1) != 0 ? fx.large : fx.small;
  const std::vector<Datagram> table{packet};
  route_table(state, fx, table, core::DatagramOutcome::routed);
  state.counters["bytes"] = static_cast<double>(packet.size());
  state.counters["setup_s"] = fx.setup_seconds;
}

// (b) STUN Binding Requests (non-QUIC): one CID lookup miss, then handed to the non-QUIC reader.
void route_stun(benchmark::State& state) {
  RoutingFixture& fx = fixture(static_cast<std::size_t>(state.range(0)));
  std::mt19937_64 rng(11);
  std::vector<Datagram> table;
  for (std::size_t i = 0; i < kTableSize; ++i) {
    table.push_back(make_stun_binding_request(rng));
  }
  route_table(state, fx, table, core::DatagramOutcome::non_quic);
}

// (c) Short headers (fixed bit set, 1200 bytes) with unknown DCIDs: CID miss, reset-token miss,
// then the stateless-reset path. At a fixed time the token bucket (100/s, burst 20) is empty
// after the first 20 datagrams, so this measures the rate-limited drop.
void route_unknown_dcid_rate_limited(benchmark::State& state) {
  RoutingFixture& fx = fixture(static_cast<std::size_t>(state.range(0)));
  std::mt19937_64 rng(13);
  std::vector<Datagram> table;
  for (std::size_t i = 0; i < kTableSize; ++i) {
    const auto dcid = random_bytes(16, rng);
    table.push_back(make_short_header(dcid, 1200, rng));
  }
  // Drain the bucket first: the fixture's clock never advances.
  DiscardSink sink;
  for (int i = 0; i < 64; ++i) {
    (void)fx.a->endpoint().handle_datagram(fx.now, fx.b->address(), table[0], sink);
  }
  route_table(state, fx, table, core::DatagramOutcome::dropped);
}

// (c') The same datagrams when every one is answered: a dedicated endpoint whose virtual clock
// advances 10 ms per datagram, so the 100/s bucket always has a token. Measures the reset token
// derivation (HKDF), random padding and packet write.
void route_unknown_dcid_reset_sent(benchmark::State& state) {
  core::SeededRng rng(5);
  core::Endpoint ep(sim_config(1), rng, sim_address(1, 4433));
  std::mt19937_64 gen(13);
  std::vector<Datagram> table;
  for (std::size_t i = 0; i < kTableSize; ++i) {
    const auto dcid = random_bytes(16, gen);
    table.push_back(make_short_header(dcid, 1200, gen));
  }
  DiscardSink sink;
  const SocketAddress from = sim_address(2, 4433);
  Timestamp now(std::chrono::seconds(1));
  std::uint64_t sent = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    now += 10ms;
    auto outcome = ep.handle_datagram(now, from, table[i++ & (kTableSize - 1)], sink);
    sent += outcome == core::DatagramOutcome::stateless_reset_sent ? 1U : 0U;
  }
  set_per_datagram_counters(state);
  state.counters["reset_ratio"] =
      benchmark::Counter(static_cast<double>(sent), benchmark::Counter::kAvgIterations);
}

// (d) Random junk of 1..1500 bytes: mostly long headers with random versions (Version Negotiation
// for those >= 1200 bytes, drops for the rest) and unknown short headers (rate-limited resets).
void route_junk(benchmark::State& state) {
  RoutingFixture& fx = fixture(static_cast<std::size_t>(state.range(0)));
  std::mt19937_64 rng(17);
  std::uniform_int_distribution<std::size_t> size(1, 1500);
  std::vector<Datagram> table;
  for (std::size_t i = 0; i < kTableSize; ++i) {
    table.push_back(make_junk(size(rng), rng));
  }
  DiscardSink sink;
  core::Endpoint& ep = fx.a->endpoint();
  std::array<std::uint64_t, 8> outcomes{};
  for (const auto& d : table) {
    ++outcomes.at(static_cast<std::size_t>(ep.handle_datagram(fx.now, fx.b->address(), d, sink)));
  }
  route_table(state, fx, table, std::nullopt);
  const auto share = [&](core::DatagramOutcome o) {
    return static_cast<double>(outcomes.at(static_cast<std::size_t>(o))) /
           static_cast<double>(table.size());
  };
  state.counters["vn_share"] = share(core::DatagramOutcome::version_negotiation_sent);
  state.counters["non_quic_share"] = share(core::DatagramOutcome::non_quic);
  state.counters["drop_share"] = share(core::DatagramOutcome::dropped);
}

// (e) Well-formed v1 Initial headers with random payloads (1200 bytes), as from an Initial flood:
// each one makes the listening endpoint create a server connection (ngtcp2_conn + GnuTLS
// session), which fails to decrypt and is dropped at the next flush (every 64 datagrams, like the
// io driver's receive batch).
void route_junk_initial(benchmark::State& state) {
  static const auto server_tls = bench_server_tls();
  core::SeededRng rng(9);
  core::Endpoint ep(sim_config(1), rng, sim_address(1, 4433));
  if (!ep.listen(server_tls)) {
    state.SkipWithError("listen");
    return;
  }
  std::mt19937_64 gen(19);
  std::vector<Datagram> table;
  for (std::size_t i = 0; i < kTableSize; ++i) {
    table.push_back(make_initial(1200, gen));
  }
  DiscardSink sink;
  NullObserver observer;
  const SocketAddress from = sim_address(2, 4433);
  const Timestamp now(std::chrono::seconds(1));
  std::uint64_t accepted = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    auto outcome = ep.handle_datagram(now, from, table[i & (kTableSize - 1)], sink);
    accepted += outcome == core::DatagramOutcome::accepted ? 1U : 0U;
    if ((++i & 63) == 0) {
      ep.flush(now, sink, observer);
    }
  }
  ep.flush(now, sink, observer);
  set_per_datagram_counters(state);
  state.counters["accept_ratio"] =
      benchmark::Counter(static_cast<double>(accepted), benchmark::Counter::kAvgIterations);
  state.counters["conns_left"] = static_cast<double>(ep.connection_count());
}

// CidIndex::find alone: random hits among N entries, and misses.
void cid_index_find(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bool hit = state.range(1) != 0;
  std::mt19937_64 rng(23);
  core::SipKey key{rng(), rng()};
  core::CidIndex index(key);
  std::vector<core::ConnectionId> cids;
  cids.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto bytes = random_bytes(16, rng);
    cids.push_back(core::ConnectionId::from(bytes));
    (void)index.insert(cids.back(), i + 1);
  }
  constexpr std::size_t kLookups = 4096;
  std::vector<core::ConnectionId> lookups;
  lookups.reserve(kLookups);
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  for (std::size_t i = 0; i < kLookups; ++i) {
    if (hit) {
      lookups.push_back(cids[pick(rng)]);
    } else {
      const auto bytes = random_bytes(16, rng);
      lookups.push_back(core::ConnectionId::from(bytes));
    }
  }
  std::size_t i = 0;
  std::uint64_t found = 0;
  for (auto _ : state) {
    auto h = index.find(lookups[i++ & (kLookups - 1)].span());
    found += h.has_value() ? 1U : 0U;
    benchmark::DoNotOptimize(h);
  }
  set_per_datagram_counters(state);
  state.counters["hit_ratio"] =
      benchmark::Counter(static_cast<double>(found), benchmark::Counter::kAvgIterations);
}

}  // namespace

BENCHMARK(route_short_header)
    ->ArgNames({"conns", "full_size"})
    ->ArgsProduct({{1, 1000, 10000}, {0, 1}});
BENCHMARK(route_stun)->ArgName("conns")->Arg(1)->Arg(10000);
BENCHMARK(route_unknown_dcid_rate_limited)->ArgName("conns")->Arg(1)->Arg(10000);
BENCHMARK(route_unknown_dcid_reset_sent);
BENCHMARK(route_junk)->ArgName("conns")->Arg(1)->Arg(10000);
BENCHMARK(route_junk_initial);
BENCHMARK(cid_index_find)
    ->ArgNames({"entries", "hit"})
    ->ArgsProduct({{1, 1000, 10000, 100000}, {0, 1}});

}  // namespace quicreuse::bench
