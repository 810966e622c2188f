#include "sim_network.hpp"

#include <algorithm>

namespace quicreuse::test {

SimNode::SimNode(SimNetwork& net, SocketAddress address, core::EndpointConfig config,
                 std::uint64_t seed)
    : net_(net),
      address_(address),
      rng_(seed),
      endpoint_(std::make_unique<core::Endpoint>(std::move(config), rng_, address)) {}

void SimNode::send(const SocketAddress& remote, std::span<const std::uint8_t> data,
                   std::size_t segment_size, const core::PathInfo& /*path*/) {
  if (segment_size == 0) {
    segment_size = data.size();
  }
  while (!data.empty()) {
    const std::size_t n = std::min(segment_size, data.size());
    net_.transmit(address_, remote, data.first(n));
    data = data.subspan(n);
  }
}

void SimNode::on_events(core::Connection& conn, std::span<const core::ConnectionEvent> events) {
  if (!on_event) {
    return;
  }
  for (const auto& ev : events) {
    on_event(conn, ev);
  }
}

void SimNode::on_incoming() {
  if (on_incoming_cb) {
    on_incoming_cb();
  }
}

void SimNode::on_removed(core::ConnectionHandle handle) {
  removed.push_back(handle);
}

SimNetwork::SimNetwork(LinkConfig link, std::uint64_t seed)
    : link_(link), rng_(seed), now_(Timestamp(std::chrono::seconds(1))) {}

SimNode& SimNetwork::add_node(const SocketAddress& address, core::EndpointConfig config) {
  auto node = std::make_unique<SimNode>(*this, address, std::move(config), rng_());
  SimNode& ref = *node;
  std::string key = address.to_string();
  auto it = std::lower_bound(nodes_.begin(), nodes_.end(), key,
                             [](const Slot& s, const std::string& k) { return s.key < k; });
  if (it != nodes_.end() && it->key == key) {
    it->node = std::move(node);
  } else {
    nodes_.insert(it, Slot{std::move(key), std::move(node)});
  }
  return ref;
}

void SimNetwork::remove_node(const SocketAddress& address) {
  std::erase_if(nodes_, [&](const Slot& s) { return s.node->address() == address; });
}

SimNode* SimNetwork::find(const SocketAddress& address) {
  for (auto& slot : nodes_) {
    if (slot.node->address() == address) {
      return slot.node.get();
    }
  }
  return nullptr;
}

void SimNetwork::push(Pending p) {
  in_flight_.push_back(std::move(p));
  std::push_heap(in_flight_.begin(), in_flight_.end(), std::greater<>{});
}

void SimNetwork::transmit(const SocketAddress& from, const SocketAddress& to,
                          std::span<const std::uint8_t> data) {
  if (intercept && intercept(from, to, data)) {
    return;
  }
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  if (link_.loss > 0 && coin(rng_) < link_.loss) {
    ++lost_;
    return;
  }
  Duration delay = link_.delay;
  if (link_.reorder > 0 && coin(rng_) < link_.reorder) {
    delay += link_.reorder_delay;
  }
  std::vector<std::uint8_t> bytes;
  if (!spare_.empty()) {
    bytes = std::move(spare_.back());
    spare_.pop_back();
  }
  bytes.assign(data.begin(), data.end());
  if (link_.corrupt > 0 && !bytes.empty() && coin(rng_) < link_.corrupt) {
    ++corrupted_;
    bytes[rng_() % bytes.size()] ^= static_cast<std::uint8_t>(1 + rng_() % 255);
  }
  push({now_ + delay, seq_++, from, to, std::move(bytes)});
}

void SimNetwork::inject(const SocketAddress& from, const SocketAddress& to,
                        std::vector<std::uint8_t> data) {
  push({now_, seq_++, from, to, std::move(data)});
}

void SimNetwork::flush_all() {
  // By index: a callback may add or remove nodes.
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    SimNode& node = *nodes_[i].node;
    node.endpoint().flush(now_, node, node);
    // The simulated applications run inside the flush (observer callbacks): their turn is over.
    node.endpoint().application_turn();
  }
}

bool SimNetwork::step() {
  Timestamp next = Timestamp::max();
  if (!in_flight_.empty()) {
    next = in_flight_.front().when;
  }
  for (const auto& slot : nodes_) {
    next = std::min(next, slot.node->endpoint().next_expiry());
  }
  if (next == Timestamp::max()) {
    return false;
  }
  now_ = std::max(now_, next);
  while (!in_flight_.empty() && in_flight_.front().when <= now_) {
    std::pop_heap(in_flight_.begin(), in_flight_.end(), std::greater<>{});
    Pending p = std::move(in_flight_.back());
    in_flight_.pop_back();
    SimNode* node = find(p.to);
    if (node == nullptr) {
      ++lost_;
    } else {
      ++delivered_;
      const auto outcome = node->endpoint().handle_datagram(now_, p.from, p.data, *node);
      if (outcome == core::DatagramOutcome::non_quic && node->on_non_quic) {
        node->on_non_quic(p.from, p.data);
      }
    }
    spare_.push_back(std::move(p.data));
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    core::Endpoint& endpoint = nodes_[i].node->endpoint();
    if (endpoint.next_expiry() <= now_) {
      endpoint.handle_expiry(now_);
    }
  }
  flush_all();
  return true;
}

bool SimNetwork::run_until(const std::function<bool()>& pred, Duration max_time,
                           std::size_t max_steps) {
  flush_all();
  const Timestamp deadline = now_ + max_time;
  for (std::size_t i = 0; i < max_steps; ++i) {
    if (pred()) {
      return true;
    }
    if (now_ > deadline || !step()) {
      return pred();
    }
  }
  return pred();
}

void SimNetwork::run_for(Duration d) {
  const Timestamp until = now_ + d;
  run_until([&] { return now_ >= until; }, d + std::chrono::seconds(1));
}

SocketAddress sim_address(std::uint8_t host, std::uint16_t port) {
  const std::uint8_t bytes[4] = {10, 0, 0, host};
  return SocketAddress::v4(bytes, port);
}

core::EndpointConfig sim_config(std::uint8_t key_byte) {
  core::EndpointConfig config;
  config.reset_key.fill(key_byte);
  config.token_key.fill(static_cast<std::uint8_t>(key_byte + 1));
  return config;
}

}  // namespace quicreuse::test
