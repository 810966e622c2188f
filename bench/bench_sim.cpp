#include "bench_sim.hpp"

#include "core/tls_session.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace quicreuse::bench {

SimHost::SimHost(SimNet& net, SocketAddress address, core::EndpointConfig config,
                 std::uint64_t seed)
    : net_(net),
      address_(address),
      rng_(seed),
      endpoint_(std::make_unique<core::Endpoint>(std::move(config), rng_, address)) {}

void SimHost::send(const SocketAddress& remote, std::span<const std::uint8_t> data,
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

void SimHost::on_events(core::Connection& conn, std::span<const core::ConnectionEvent> events) {
  if (on_events_cb) {
    on_events_cb(conn, events);
  }
}

void SimHost::on_incoming() {
  while (auto h = endpoint_->accept()) {
    accepted.push_back(*h);
  }
}

void SimHost::on_removed(core::ConnectionHandle) {
  ++removed;
}

SimNet::SimNet(Duration delay) : delay_(delay), now_(Timestamp(std::chrono::seconds(1))) {}

SimHost& SimNet::add_host(const SocketAddress& address, core::EndpointConfig config) {
  const auto seed = static_cast<std::uint64_t>(hosts_.size()) + 1;
  hosts_.push_back(std::make_unique<SimHost>(*this, address, std::move(config), seed));
  return *hosts_.back();
}

SimHost* SimNet::find(const SocketAddress& address) {
  for (auto& h : hosts_) {
    if (h->address() == address) {
      return h.get();
    }
  }
  return nullptr;
}

void SimNet::transmit(const SocketAddress& from, const SocketAddress& to,
                      std::span<const std::uint8_t> data) {
  if (tap) {
    tap(from, to, data);
  }
  std::vector<std::uint8_t> buf;
  if (!spare_.empty()) {
    buf = std::move(spare_.back());
    spare_.pop_back();
  }
  buf.assign(data.begin(), data.end());
  in_flight_.push_back({now_ + delay_, from, to, std::move(buf)});
}

void SimNet::flush_all() {
  for (auto& h : hosts_) {
    h->endpoint().flush(now_, *h, *h);
    h->endpoint().application_turn();
  }
}

bool SimNet::step() {
  Timestamp next = in_flight_.empty() ? Timestamp::max() : in_flight_.front().when;
  for (auto& h : hosts_) {
    next = std::min(next, h->endpoint().next_expiry());
  }
  if (next == Timestamp::max()) {
    return false;
  }
  now_ = std::max(now_, next);
  while (!in_flight_.empty() && in_flight_.front().when <= now_) {
    Pending p = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (SimHost* host = find(p.to); host != nullptr) {
      ++delivered_;
      (void)host->endpoint().handle_datagram(now_, p.from, p.data, *host);
    }
    spare_.push_back(std::move(p.data));
  }
  for (auto& h : hosts_) {
    if (h->endpoint().next_expiry() <= now_) {
      h->endpoint().handle_expiry(now_);
    }
  }
  flush_all();
  return true;
}

bool SimNet::run_until(const std::function<bool()>& pred, std::size_t max_steps) {
  flush_all();
  for (std::size_t i = 0; i < max_steps; ++i) {
    if (pred()) {
      return true;
    }
    if (!step()) {
      return pred();
    }
  }
  return pred();
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

std::shared_ptr<const TlsServerConfig> bench_server_tls() {
  const std::vector<std::string> names{"localhost"};
  auto identity = TlsIdentity::self_signed(names);
  if (!identity) {
    std::fprintf(stderr, "self_signed: %s\n", identity.error().message().c_str());
    std::abort();
  }
  auto config = std::make_shared<TlsServerConfig>();
  config->default_choice.identity = *identity;
  config->default_choice.alpns = {"bench"};
  return config;
}

std::shared_ptr<const core::ClientTlsContext> bench_client_tls() {
  TlsClientConfig config;
  config.alpns = {"bench"};
  config.server_name = "localhost";
  config.insecure_skip_verify = true;
  auto context = core::make_client_tls_context(config);
  if (!context) {
    std::fprintf(stderr, "make_client_tls_context: %s\n", context.error().message().c_str());
    std::abort();
  }
  return *context;
}

}  // namespace quicreuse::bench
