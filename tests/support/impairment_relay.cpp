#include "impairment_relay.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <deque>

namespace quicreuse::test {

using Clock = std::chrono::steady_clock;
using asio::ip::udp;

namespace {

constexpr std::size_t kMaxDatagram = 65'536;
constexpr int kSocketBuffer = 4 * 1024 * 1024;

std::size_t index_of(RelayDirection d) {
  return d == RelayDirection::to_server ? 0 : 1;
}

// splitmix64: small, fast, and the same on every platform (std distributions are not).
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Opens sock bound to local (v6-only for IPv6), non-blocking, with large buffers.
std::error_code open_bound(udp::socket& sock, const udp::endpoint& local) {
  std::error_code ec;
  sock.open(local.protocol(), ec);
  if (!ec && local.protocol() == udp::v6()) {
    sock.set_option(asio::ip::v6_only(true), ec);
  }
  if (!ec) {
    sock.bind(local, ec);
  }
  if (!ec) {
    sock.non_blocking(true, ec);
  }
  if (!ec) {
    std::error_code ignored;  // the kernel may cap them; that is fine
    sock.set_option(asio::socket_base::receive_buffer_size(kSocketBuffer), ignored);
    sock.set_option(asio::socket_base::send_buffer_size(kSocketBuffer), ignored);
  }
  return ec;
}

// True for a QUIC v1 Retry: long header (top bit), a non-zero version, long packet type 3.
bool is_quic_retry(const std::vector<std::uint8_t>& d) {
  return d.size() >= 5 && (d[0] & 0x80) != 0 && ((d[0] >> 4) & 0x03) == 3 &&
         (d[1] | d[2] | d[3] | d[4]) != 0;
}

bool valid_probability(double p) {
  return p >= 0 && p <= 1;
}

bool valid(const DirectionImpairment& d) {
  return valid_probability(d.loss) && valid_probability(d.corrupt) &&
         valid_probability(d.duplicate) && valid_probability(d.reorder);
}

}  // namespace

ImpairmentDice::ImpairmentDice(std::uint64_t seed, RelayDirection direction)
    : state_(seed ^ (direction == RelayDirection::to_server ? 0x7365727665720000ULL
                                                            : 0x636c69656e740000ULL)) {}

std::uint64_t ImpairmentDice::next() {
  return splitmix64(state_);
}

double ImpairmentDice::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

ImpairmentDice::Roll ImpairmentDice::roll(const DirectionImpairment& impairment) {
  // Always six draws, so one probability never shifts the decisions of another.
  Roll r;
  r.lost = uniform() < impairment.loss;
  r.corrupted = uniform() < impairment.corrupt;
  r.corrupt_position = next();
  r.corrupt_mask = static_cast<std::uint8_t>(1 + next() % 255);
  r.duplicated = uniform() < impairment.duplicate;
  r.reordered = uniform() < impairment.reorder;
  return r;
}

struct ImpairmentRelay::State : std::enable_shared_from_this<ImpairmentRelay::State> {
  struct Flow {
    udp::endpoint client;
    std::shared_ptr<udp::socket> upstream;
  };
  struct Queued {
    Clock::time_point at;
    std::vector<std::uint8_t> bytes;
    std::size_t flow = 0;
  };
  struct Held {
    std::vector<std::uint8_t> bytes;
    std::size_t flow = 0;
    int copies = 1;
    std::size_t remaining = 0;  // later datagrams to let pass first
    Clock::time_point deadline;
  };
  struct Trigger {
    std::uint64_t bytes = 0;
    std::function<void(ImpairmentRelay&)> action;
  };
  struct Lane {
    Lane(const asio::any_io_executor& ex, std::uint64_t seed, RelayDirection d,
         DirectionImpairment imp)
        : impairment(std::move(imp)), dice(seed, d), timer(ex), held_timer(ex) {}
    DirectionImpairment impairment;
    ImpairmentDice dice;
    std::deque<Queued> queue;  // sorted by time
    asio::steady_timer timer;
    std::optional<Clock::time_point> armed_at;
    Clock::time_point rate_free_at{};
    std::deque<Held> held;
    asio::steady_timer held_timer;
    std::optional<Clock::time_point> held_armed_at;
    std::vector<Trigger> triggers;
    std::vector<std::function<void(const RelayCounters&)>> on_lifted;
    std::vector<ImpairmentWindow> extra_blackholes;  // from blackhole_for, relative to epoch
    bool in_blackhole = false;
  };

  State(const asio::any_io_executor& ex, ImpairmentConfig c)
      : executor(ex),
        config(std::move(c)),
        front(ex),
        lanes{Lane(ex, config.seed, RelayDirection::to_server, config.to_server),
              Lane(ex, config.seed, RelayDirection::to_client, config.to_client)} {}

  asio::any_io_executor executor;
  ImpairmentConfig config;
  ImpairmentRelay* owner = nullptr;
  udp::socket front;
  std::vector<Flow> flows;
  std::array<Lane, 2> lanes;
  RelayCounters counters;
  std::optional<Clock::time_point> epoch;
  bool closed = false;

  DirectionCounters& counters_of(RelayDirection d) {
    return d == RelayDirection::to_server ? counters.to_server : counters.to_client;
  }
  Lane& lane(RelayDirection d) { return lanes[index_of(d)]; }

  Result<std::shared_ptr<udp::socket>> open_upstream(const asio::ip::address& address) {
    auto sock = std::make_shared<udp::socket>(executor);
    if (auto ec = open_bound(*sock, udp::endpoint(address, 0))) {
      return fail(ec);
    }
    return sock;
  }

  asio::ip::address default_upstream_address() const {
    if (config.upstream_address) {
      return *config.upstream_address;
    }
    return config.server.address().is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                           : asio::ip::address(asio::ip::address_v4::loopback());
  }

  static asio::awaitable<void> receive_front(std::shared_ptr<State> s) {
    std::vector<std::uint8_t> buf(kMaxDatagram);
    for (;;) {
      udp::endpoint from;
      auto [ec, n] = co_await s->front.async_receive_from(
          asio::buffer(buf), from, asio::experimental::as_tuple(asio::use_awaitable));
      if (s->closed || ec == asio::error::operation_aborted) {
        co_return;
      }
      if (ec) {
        continue;  // e.g. an ICMP error reported on the socket
      }
      s->from_client(from, std::vector<std::uint8_t>(buf.data(), buf.data() + n));
    }
  }

  static asio::awaitable<void> receive_upstream(std::shared_ptr<State> s, std::size_t flow,
                                                std::shared_ptr<udp::socket> sock) {
    std::vector<std::uint8_t> buf(kMaxDatagram);
    for (;;) {
      udp::endpoint from;
      auto [ec, n] = co_await sock->async_receive_from(
          asio::buffer(buf), from, asio::experimental::as_tuple(asio::use_awaitable));
      if (s->closed || ec == asio::error::operation_aborted || !sock->is_open()) {
        co_return;
      }
      if (ec) {
        continue;
      }
      if (s->flows[flow].upstream != sock) {
        co_return;  // rebound meanwhile: the old mapping is gone
      }
      s->ingress(RelayDirection::to_client, std::vector<std::uint8_t>(buf.data(), buf.data() + n),
                 flow);
    }
  }

  void from_client(const udp::endpoint& from, std::vector<std::uint8_t> bytes) {
    auto it =
        std::find_if(flows.begin(), flows.end(), [&](const Flow& f) { return f.client == from; });
    if (it == flows.end()) {
      if (flows.size() >= config.max_flows) {
        ++counters.flows_refused;
        return;
      }
      auto sock = open_upstream(default_upstream_address());
      if (!sock) {
        ++counters.flows_refused;
        return;
      }
      flows.push_back({from, *sock});
      ++counters.flows;
      asio::co_spawn(executor, receive_upstream(shared_from_this(), flows.size() - 1, *sock),
                     asio::detached);
      it = flows.end() - 1;
    }
    ingress(RelayDirection::to_server, std::move(bytes),
            static_cast<std::size_t>(it - flows.begin()));
  }

  bool in_window(Lane& l, Clock::time_point now) const {
    const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now - *epoch);
    auto inside = [&](const ImpairmentWindow& w) { return since >= w.from && since < w.to; };
    return std::any_of(l.impairment.blackholes.begin(), l.impairment.blackholes.end(), inside) ||
           std::any_of(l.extra_blackholes.begin(), l.extra_blackholes.end(), inside);
  }

  void ingress(RelayDirection d, std::vector<std::uint8_t> bytes, std::size_t flow) {
    const auto now = Clock::now();
    if (!epoch) {
      epoch = now;
    }
    Lane& l = lane(d);
    DirectionCounters& c = counters_of(d);
    ++c.received;
    c.received_bytes += bytes.size();
    c.quic_retries += is_quic_retry(bytes) ? 1U : 0U;
    run_triggers(d);
    if (closed) {
      return;
    }
    const auto roll = l.dice.roll(l.impairment);  // every datagram rolls: replayable
    if (in_window(l, now)) {
      l.in_blackhole = true;
      ++c.blackholed;
      return;
    }
    if (l.in_blackhole) {
      l.in_blackhole = false;
      for (const auto& f : l.on_lifted) {
        f(counters);
      }
      l.on_lifted.clear();
    }
    if (roll.lost) {
      ++c.lost;
      return;
    }
    if (roll.corrupted && !bytes.empty()) {
      bytes[roll.corrupt_position % bytes.size()] ^= roll.corrupt_mask;
      ++c.corrupted;
    }
    const int copies = roll.duplicated ? 2 : 1;
    if (roll.duplicated) {
      ++c.duplicated;
    }
    if (roll.reordered && l.impairment.reorder_gap > 0) {
      if (l.held.size() >= config.max_held_datagrams) {
        release_held(d, 0);  // the oldest goes now
      }
      l.held.push_back({std::move(bytes), flow, copies, l.impairment.reorder_gap,
                        now + l.impairment.reorder_timeout});
      arm_held(d);
      return;
    }
    emit(d, bytes, flow, copies, now);
    // Held datagrams are overtaken by this one; release those that waited long enough.
    for (auto& h : l.held) {
      if (h.remaining > 0) {
        --h.remaining;
      }
    }
    while (!l.held.empty()) {
      auto it = std::find_if(l.held.begin(), l.held.end(),
                             [](const Held& h) { return h.remaining == 0; });
      if (it == l.held.end()) {
        break;
      }
      release_held(d, static_cast<std::size_t>(it - l.held.begin()));
    }
  }

  void run_triggers(RelayDirection d) {
    Lane& l = lane(d);
    const auto received = counters_of(d).received_bytes;
    for (std::size_t i = 0; i < l.triggers.size();) {
      if (received >= l.triggers[i].bytes) {
        auto action = std::move(l.triggers[i].action);
        l.triggers.erase(l.triggers.begin() + static_cast<std::ptrdiff_t>(i));
        action(*owner);
      } else {
        ++i;
      }
    }
  }

  void release_held(RelayDirection d, std::size_t index) {
    Lane& l = lane(d);
    Held h = std::move(l.held[index]);
    l.held.erase(l.held.begin() + static_cast<std::ptrdiff_t>(index));
    ++counters_of(d).reordered;
    emit(d, h.bytes, h.flow, h.copies, Clock::now());
  }

  void arm_held(RelayDirection d) {
    Lane& l = lane(d);
    if (l.held.empty()) {
      return;
    }
    auto earliest =
        std::min_element(l.held.begin(), l.held.end(), [](const Held& a, const Held& b) {
          return a.deadline < b.deadline;
        })->deadline;
    if (l.held_armed_at && *l.held_armed_at <= earliest) {
      return;
    }
    l.held_armed_at = earliest;
    l.held_timer.expires_at(earliest);
    l.held_timer.async_wait([s = shared_from_this(), d](std::error_code ec) {
      if (ec || s->closed) {
        return;
      }
      Lane& lane = s->lane(d);
      lane.held_armed_at.reset();
      const auto now = Clock::now();
      for (std::size_t i = 0; i < lane.held.size();) {
        if (lane.held[i].deadline <= now) {
          s->release_held(d, i);
        } else {
          ++i;
        }
      }
      s->arm_held(d);
    });
  }

  void emit(RelayDirection d, const std::vector<std::uint8_t>& bytes, std::size_t flow, int copies,
            Clock::time_point now) {
    Lane& l = lane(d);
    DirectionCounters& c = counters_of(d);
    for (int i = 0; i < copies; ++i) {
      const auto& imp = l.impairment;
      if (imp.rate_bytes_per_second == 0 && imp.delay.count() == 0 && l.queue.empty()) {
        send_now(d, bytes, flow);
        continue;
      }
      if (l.queue.size() >= config.max_queued_datagrams) {
        ++c.queue_dropped;
        continue;
      }
      auto at = now;
      if (imp.rate_bytes_per_second > 0) {
        const auto start = std::max(now, l.rate_free_at);
        const auto backlog =
            static_cast<double>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(start - now).count()) *
            static_cast<double>(imp.rate_bytes_per_second) / 1e9;
        if (backlog + static_cast<double>(bytes.size()) >
            static_cast<double>(imp.rate_queue_bytes)) {
          ++c.rate_dropped;
          continue;
        }
        l.rate_free_at = start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                     static_cast<double>(bytes.size()) * 1e9 /
                                     static_cast<double>(imp.rate_bytes_per_second)));
        at = l.rate_free_at;
      }
      at += imp.delay;
      Queued q{at, bytes, flow};
      auto pos = std::upper_bound(l.queue.begin(), l.queue.end(), at,
                                  [](Clock::time_point t, const Queued& e) { return t < e.at; });
      l.queue.insert(pos, std::move(q));
    }
    arm(d);
  }

  void arm(RelayDirection d) {
    Lane& l = lane(d);
    if (l.queue.empty()) {
      return;
    }
    const auto at = l.queue.front().at;
    if (l.armed_at && *l.armed_at <= at) {
      return;
    }
    l.armed_at = at;
    l.timer.expires_at(at);
    l.timer.async_wait([s = shared_from_this(), d](std::error_code ec) {
      if (ec || s->closed) {
        return;
      }
      s->lane(d).armed_at.reset();
      s->flush(d);
    });
  }

  void flush(RelayDirection d) {
    Lane& l = lane(d);
    const auto now = Clock::now();
    while (!l.queue.empty() && l.queue.front().at <= now) {
      Queued q = std::move(l.queue.front());
      l.queue.pop_front();
      send_now(d, q.bytes, q.flow);
    }
    arm(d);
  }

  void send_now(RelayDirection d, const std::vector<std::uint8_t>& bytes, std::size_t flow) {
    DirectionCounters& c = counters_of(d);
    std::error_code ec;
    if (d == RelayDirection::to_server) {
      flows[flow].upstream->send_to(asio::buffer(bytes), config.server, 0, ec);
    } else {
      front.send_to(asio::buffer(bytes), flows[flow].client, 0, ec);
    }
    if (ec) {
      ++c.send_errors;
      return;
    }
    ++c.forwarded;
    c.forwarded_bytes += bytes.size();
  }

  Result<void> rebind(std::optional<asio::ip::address> address) {
    for (std::size_t i = 0; i < flows.size(); ++i) {
      auto& f = flows[i];
      std::error_code ignored;
      const auto current = f.upstream->local_endpoint(ignored).address();
      auto sock = open_upstream(address.value_or(current));
      if (!sock) {
        return fail(sock.error());
      }
      f.upstream->close(ignored);
      f.upstream = *sock;
      asio::co_spawn(executor, receive_upstream(shared_from_this(), i, *sock), asio::detached);
    }
    ++counters.rebinds;
    return {};
  }

  void close() {
    if (closed) {
      return;
    }
    closed = true;
    std::error_code ignored;
    front.close(ignored);
    for (auto& f : flows) {
      f.upstream->close(ignored);
    }
    for (auto& l : lanes) {
      l.timer.cancel();
      l.held_timer.cancel();
      l.queue.clear();
      l.held.clear();
      l.triggers.clear();
      l.on_lifted.clear();
    }
  }
};

Result<std::unique_ptr<ImpairmentRelay>> ImpairmentRelay::start(
    const asio::any_io_executor& executor, ImpairmentConfig config) {
  if (!valid(config.to_server) || !valid(config.to_client) || config.server.port() == 0 ||
      config.max_flows == 0) {
    return fail(errc::invalid_argument);
  }
  auto state = std::make_shared<State>(executor, std::move(config));
  if (auto ec = open_bound(state->front, state->config.listen)) {
    return fail(ec);
  }
  std::unique_ptr<ImpairmentRelay> relay(new ImpairmentRelay(state));
  state->owner = relay.get();
  asio::co_spawn(executor, State::receive_front(state), asio::detached);
  return relay;
}

ImpairmentRelay::~ImpairmentRelay() {
  close();
}

asio::ip::udp::endpoint ImpairmentRelay::client_endpoint() const {
  std::error_code ignored;
  return state_->front.local_endpoint(ignored);
}

std::vector<asio::ip::udp::endpoint> ImpairmentRelay::upstream_endpoints() const {
  std::vector<udp::endpoint> out;
  for (const auto& f : state_->flows) {
    std::error_code ignored;
    out.push_back(f.upstream->local_endpoint(ignored));
  }
  return out;
}

const RelayCounters& ImpairmentRelay::counters() const {
  return state_->counters;
}

bool ImpairmentRelay::idle() const {
  return std::all_of(state_->lanes.begin(), state_->lanes.end(),
                     [](const State::Lane& l) { return l.queue.empty() && l.held.empty(); });
}

Result<void> ImpairmentRelay::rebind_port() {
  return state_->rebind(std::nullopt);
}

Result<void> ImpairmentRelay::rebind_address(const asio::ip::address& address) {
  return state_->rebind(address);
}

void ImpairmentRelay::set_impairment(RelayDirection direction, DirectionImpairment impairment) {
  state_->lane(direction).impairment = std::move(impairment);
}

void ImpairmentRelay::blackhole_for(RelayDirection direction, std::chrono::milliseconds duration) {
  const auto now = Clock::now();
  if (!state_->epoch) {
    state_->epoch = now;
  }
  const auto from = std::chrono::duration_cast<std::chrono::milliseconds>(now - *state_->epoch);
  state_->lane(direction).extra_blackholes.push_back({from, from + duration});
}

void ImpairmentRelay::when_received_bytes(RelayDirection direction, std::uint64_t bytes,
                                          std::function<void(ImpairmentRelay&)> action) {
  state_->lane(direction).triggers.push_back({bytes, std::move(action)});
}

void ImpairmentRelay::on_blackhole_lifted(RelayDirection direction,
                                          std::function<void(const RelayCounters&)> action) {
  state_->lane(direction).on_lifted.push_back(std::move(action));
}

void ImpairmentRelay::close() {
  state_->close();
}

}  // namespace quicreuse::test
