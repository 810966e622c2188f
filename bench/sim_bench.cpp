// Transfer and handshake cost in the deterministic simulator: two core::Endpoints with real
// ngtcp2 + GnuTLS (no crypto shortcut) on a lossless 1 ms link and virtual time. Wall-clock time
// is therefore pure CPU of both endpoints (plus one memcpy per datagram in the simulator) on one
// thread; the virtual time a transfer takes is reported separately (virt_Gbit_s).
#include "bench_packets.hpp"
#include "bench_sim.hpp"

#include <benchmark/benchmark.h>

#include <set>

namespace quicreuse::bench {
namespace {

using namespace std::chrono_literals;
using Type = core::ConnectionEvent::Type;

constexpr std::size_t kChunk = std::size_t{64} * 1024;
constexpr std::size_t kMaxSteps = 5'000'000;  // what the benchmarks' own simulator allowed

// SimPair is a client host and a listening server host on a 1 ms link.
struct SimPair {
  SimPair() {
    client = &net.add_node(sim_address(1, 5000), sim_config(1));
    server = &net.add_node(sim_address(2, 4433), sim_config(3));
    ok = static_cast<bool>(server->endpoint().listen(server_tls));
    server->on_incoming_cb = [this] {
      while (auto h = server->endpoint().accept()) {
        accepted.push_back(*h);
      }
    };
  }
  // Dials the server and runs until both sides completed the handshake; 0 on failure.
  core::ConnectionHandle handshake() {
    const std::size_t accepted_before = accepted.size();
    auto h = client->endpoint().connect(net.now(), server->address(), client_tls);
    if (!h) {
      return 0;
    }
    const bool up = net.run_until(
        [&] {
          const core::Connection* c = client->endpoint().find(*h);
          return c != nullptr && c->handshake_completed() && accepted.size() > accepted_before;
        },
        kNoVirtualTimeLimit, kMaxSteps);
    return up ? *h : 0;
  }

  SimNetwork net{LinkConfig{1ms}};
  std::shared_ptr<const TlsServerConfig> server_tls = bench_server_tls();
  std::shared_ptr<const core::ClientTlsContext> client_tls = bench_client_tls();
  SimNode* client = nullptr;
  SimNode* server = nullptr;
  std::vector<core::ConnectionHandle> accepted;  // server connections, in order
  bool ok = false;
};

// One stream transfer per iteration: the client writes `bytes` and a FIN on a new bidirectional
// stream; the server reads everything and answers the FIN with its own; the iteration ends when
// the client reads that FIN.
void sim_transfer(benchmark::State& state) {
  const auto bytes = static_cast<std::uint64_t>(state.range(0));
  SimPair pair;
  const core::ConnectionHandle handle = pair.ok ? pair.handshake() : 0;
  if (handle == 0) {
    state.SkipWithError("handshake failed");
    return;
  }
  std::mt19937_64 rng(1);
  const auto chunk = random_bytes(kChunk, rng);
  std::vector<std::uint8_t> scratch(kChunk);

  // Client side: the stream being written, what is left, and whether the server's FIN arrived.
  std::int64_t stream = -1;
  std::uint64_t remaining = 0;
  bool done = false;
  bool failed = false;
  auto pump = [&](core::Connection& conn) {
    while (remaining > 0) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, kChunk));
      auto w = conn.write_stream(stream, std::span(chunk).first(n), remaining == n);
      if (!w) {
        failed = true;
        return;
      }
      if (*w == 0) {
        return;
      }
      remaining -= *w;
    }
  };
  pair.client->on_event = [&](core::Connection& conn, const core::ConnectionEvent& ev) {
    if (stream < 0 || ev.stream_id != stream) {
      return;
    }
    if (ev.type == Type::stream_writable) {
      pump(conn);
    } else if (ev.type == Type::stream_readable) {
      auto r = conn.read_stream(stream, scratch, pair.net.now());
      if (!r) {
        failed = true;
      } else if (r->fin) {
        done = true;
        conn.release_stream(stream);
        stream = -1;  // later events of this batch may name the released stream
      }
    }
  };
  // Server side: sink every stream, answer its FIN with a FIN.
  std::uint64_t received = 0;
  std::set<std::int64_t> finished;  // released streams (later events may still name them)
  pair.server->on_event = [&](core::Connection& conn, const core::ConnectionEvent& ev) {
    if (ev.type == Type::stream_opened) {
      while (conn.accept_stream(true)) {
      }
    } else if (ev.type == Type::stream_readable && finished.count(ev.stream_id) == 0) {
      for (;;) {
        auto r = conn.read_stream(ev.stream_id, scratch, pair.net.now());
        if (!r) {
          failed = true;
          break;
        }
        received += r->bytes;
        if (r->fin) {
          (void)conn.write_stream(ev.stream_id, {}, true);
          conn.release_stream(ev.stream_id);
          finished.insert(ev.stream_id);
          break;
        }
        if (r->bytes == 0) {
          break;
        }
      }
    }
  };

  const Timestamp virtual_start = pair.net.now();
  for (auto _ : state) {
    core::Connection* conn = pair.client->endpoint().find(handle);
    if (conn == nullptr) {
      state.SkipWithError("connection gone");
      return;
    }
    auto s = conn->open_stream(true);
    if (!s) {
      state.SkipWithError("open_stream failed");
      return;
    }
    stream = *s;
    remaining = bytes;
    done = false;
    pump(*conn);
    if (!pair.net.run_until([&] { return done || failed; }, kNoVirtualTimeLimit, kMaxSteps) ||
        failed) {
      state.SkipWithError("transfer did not complete");
      return;
    }
  }
  const double virtual_seconds =
      std::chrono::duration<double>(pair.net.now() - virtual_start).count();
  const auto total = static_cast<double>(state.iterations()) * static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(total));
  state.counters["Gbit_s"] = benchmark::Counter(total * 8 / 1e9, benchmark::Counter::kIsRate);
  state.counters["virt_Gbit_s"] = total * 8 / 1e9 / virtual_seconds;
  state.counters["datagrams"] = benchmark::Counter(static_cast<double>(pair.net.delivered()),
                                                   benchmark::Counter::kAvgIterations);
  if (received != static_cast<std::uint64_t>(total)) {
    state.SkipWithError("byte count mismatch");
  }
}

// Sequential full handshakes: connect, both sides handshaken, client closes, both sides removed
// (the closing/draining periods pass in virtual time).
void sim_handshake(benchmark::State& state) {
  SimPair pair;
  if (!pair.ok) {
    state.SkipWithError("listen failed");
    return;
  }
  for (auto _ : state) {
    const std::size_t removed_before = pair.client->removed.size() + pair.server->removed.size();
    const core::ConnectionHandle h = pair.handshake();
    core::Connection* conn = h != 0 ? pair.client->endpoint().find(h) : nullptr;
    if (conn == nullptr) {
      state.SkipWithError("handshake failed");
      return;
    }
    conn->close(0, {});
    if (!pair.net.run_until(
            [&] {
              return pair.client->removed.size() + pair.server->removed.size() ==
                     removed_before + 2;
            },
            kNoVirtualTimeLimit, kMaxSteps)) {
      state.SkipWithError("close did not complete");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(sim_transfer)
    ->ArgName("bytes")
    ->Arg(16 << 20)
    ->Iterations(4)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(sim_handshake)->Unit(benchmark::kMicrosecond);

}  // namespace quicreuse::bench
