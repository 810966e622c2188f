// Classification cost per datagram: core::classify_datagram alone (no lookup, no endpoint).
#include "bench_packets.hpp"
#include "core/datagram_classifier.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <string>

namespace quicreuse::bench {
namespace {

constexpr std::size_t kCidLength = 16;
constexpr std::size_t kTableSize = 1024;  // power of two: the index wraps with a mask

enum class Shape { short_header, long_header, stun, dtls, junk, mixed };

// Returns kTableSize datagrams of one shape; "mixed" cycles through the five shapes.
std::vector<Datagram> make_table(Shape shape) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::size_t> junk_size(1, 1500);
  std::vector<Datagram> table;
  table.reserve(kTableSize);
  for (std::size_t i = 0; i < kTableSize; ++i) {
    Shape s = shape;
    if (shape == Shape::mixed) {
      s = static_cast<Shape>(i % 5);
    }
    switch (s) {
      case Shape::short_header: {
        const auto dcid = random_bytes(kCidLength, rng);
        table.push_back(make_short_header(dcid, 1200, rng));
        break;
      }
      case Shape::long_header:
        table.push_back(make_initial(1200, rng));
        break;
      case Shape::stun:
        table.push_back(make_stun_binding_request(rng));
        break;
      case Shape::dtls:
        table.push_back(make_dtls_record(120, rng));
        break;
      case Shape::junk:
      case Shape::mixed:
        table.push_back(make_junk(junk_size(rng), rng));
        break;
    }
  }
  return table;
}

void set_per_datagram_counters(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  // Seconds per datagram (printed with an SI prefix, e.g. "12.3n" = 12.3 ns).
  state.counters["per_dgram"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void classify(benchmark::State& state, Shape shape) {
  const auto table = make_table(shape);
  std::size_t i = 0;
  for (auto _ : state) {
    const Datagram& d = table[i++ & (kTableSize - 1)];
    auto info = core::classify_datagram(d, kCidLength);
    benchmark::DoNotOptimize(info);
  }
  set_per_datagram_counters(state);
}

void stun_check(benchmark::State& state) {
  const auto table = make_table(Shape::mixed);
  std::size_t i = 0;
  for (auto _ : state) {
    const Datagram& d = table[i++ & (kTableSize - 1)];
    bool stun = core::is_stun_message(d);
    benchmark::DoNotOptimize(stun);
  }
  set_per_datagram_counters(state);
}

}  // namespace

BENCHMARK_CAPTURE(classify, short_header, Shape::short_header);
BENCHMARK_CAPTURE(classify, long_header, Shape::long_header);
BENCHMARK_CAPTURE(classify, stun, Shape::stun);
BENCHMARK_CAPTURE(classify, dtls, Shape::dtls);
BENCHMARK_CAPTURE(classify, junk, Shape::junk);
BENCHMARK_CAPTURE(classify, mixed, Shape::mixed);
BENCHMARK(stun_check);

}  // namespace quicreuse::bench
