#include "endpoint_pair.hpp"

#include "core/tls_session.hpp"

#include <quicreuse/tls.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace quicreuse::fuzz {
namespace {

core::SocketAddress address_of(std::uint8_t host, std::uint16_t port) {
  const std::uint8_t bytes[4] = {10, 0, 0, host};
  return core::SocketAddress::v4(bytes, port);
}

// The server's TLS configuration, made once: key generation is the slowest part of a run, and
// one identity keeps every run's handshake the same size.
std::shared_ptr<const TlsServerConfig> server_tls() {
  static const std::shared_ptr<const TlsServerConfig> config = [] {
    auto identity = TlsIdentity::self_signed({"localhost"});
    if (!identity) {
      std::fprintf(stderr, "endpoint_pair: no TLS identity: %s\n",
                   identity.error().message().c_str());
      std::abort();
    }
    auto made = std::make_shared<TlsServerConfig>();
    made->default_choice.identity = *identity;
    made->default_choice.alpns = {"fuzz/1"};
    return made;
  }();
  return config;
}

std::shared_ptr<const core::ClientTlsContext> client_tls() {
  static const std::shared_ptr<const core::ClientTlsContext> context = [] {
    TlsClientConfig config;
    config.alpns = {"fuzz/1"};
    config.server_name = "localhost";
    config.insecure_skip_verify = true;
    auto made = core::make_client_tls_context(config);
    if (!made) {
      std::fprintf(stderr, "endpoint_pair: no client TLS context: %s\n",
                   made.error().message().c_str());
      std::abort();
    }
    return *made;
  }();
  return context;
}

}  // namespace

core::EndpointConfig pair_config(std::uint8_t key_byte) {
  core::EndpointConfig config;
  config.reset_key.fill(key_byte);
  config.token_key.fill(static_cast<std::uint8_t>(key_byte + 1));
  return config;
}

// ----- Node -----

Node::Node(core::SocketAddress address, core::EndpointConfig config, std::uint64_t seed)
    : address_(address),
      rng_(seed),
      endpoint_(std::make_unique<core::Endpoint>(std::move(config), rng_, address)) {}

Node::~Node() = default;

std::vector<Datagram> Node::take_outbox() {
  return std::exchange(outbox_, {});
}

void Node::send(const core::SocketAddress& remote, std::span<const std::uint8_t> data,
                std::size_t segment_size, const core::PathInfo& /*path*/) {
  if (segment_size == 0) {
    segment_size = data.size();
  }
  while (!data.empty()) {
    const std::size_t n = std::min(segment_size, data.size());
    outbox_.push_back(
        {address_, remote, {data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n)}});
    data = data.subspan(n);
  }
}

void Node::on_events(core::Connection& conn, std::span<const core::ConnectionEvent> events) {
  if (!on_event) {
    return;
  }
  for (const auto& ev : events) {
    on_event(conn, ev);
  }
}

void Node::on_incoming() {
  while (auto handle = endpoint_->accept()) {
    connections.push_back(*handle);
  }
}

void Node::on_removed(core::ConnectionHandle handle) {
  std::erase(connections, handle);
}

// ----- EndpointPair -----

EndpointPair::EndpointPair(std::uint64_t seed)
    : now_(core::Timestamp(std::chrono::seconds(1))),
      server_(address_of(1, 4001), pair_config(1), seed),
      client_(address_of(2, 5002), pair_config(3), seed + 1) {
  if (!server_.endpoint().listen(server_tls())) {
    std::fprintf(stderr, "endpoint_pair: listen failed\n");
    std::abort();
  }
}

EndpointPair::~EndpointPair() = default;

core::Connection* EndpointPair::connection(Side side) {
  Node& n = node(side);
  return n.connections.empty() ? nullptr : n.endpoint().find(n.connections.back());
}

bool EndpointPair::connect(std::shared_ptr<const core::ClientTlsContext> tls) {
  auto handle =
      client_.endpoint().connect(now_, server_.address(), tls != nullptr ? tls : client_tls());
  if (!handle) {
    return false;
  }
  client_.connections.push_back(*handle);
  return true;
}

void EndpointPair::flush() {
  server_.endpoint().flush(now_, server_, server_);
  client_.endpoint().flush(now_, client_, client_);
}

void EndpointPair::advance(core::Duration d) {
  now_ += d;
  for (Node* n : {&server_, &client_}) {
    if (n->endpoint().next_expiry() <= now_) {
      n->endpoint().handle_expiry(now_);
    }
  }
  flush();
}

core::DatagramOutcome EndpointPair::deliver(Side to, const core::SocketAddress& from,
                                            std::span<const std::uint8_t> bytes) {
  Node& n = node(to);
  const auto outcome = n.endpoint().handle_datagram(now_, from, bytes, n);
  flush();
  return outcome;
}

bool EndpointPair::exchange(const std::function<bool()>& done, std::size_t max_steps,
                            core::Duration max_idle) {
  flush();
  for (std::size_t step = 0; step < max_steps && !done(); ++step) {
    bool delivered = false;
    for (const Side from : {Side::server, Side::client}) {
      for (const Datagram& d : node(from).take_outbox()) {
        if (!(d.to == node(peer_of(from)).address())) {
          continue;  // to nobody on this link
        }
        const Side to = peer_of(from);
        if (tap) {
          tap(to, d);
        }
        deliver(to, d.from, d.bytes);
        delivered = true;
      }
    }
    if (!delivered) {
      const core::Timestamp next =
          std::min(server_.endpoint().next_expiry(), client_.endpoint().next_expiry());
      if (next == core::Timestamp::max()) {
        break;
      }
      // Whole milliseconds, at least one, as records express time (fuzz/support/records.hpp):
      // a recorded exchange then replays exactly.
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
          std::clamp(next - now_, core::Duration(0), max_idle));
      const auto step_ms = std::max(wait, std::chrono::milliseconds(1));
      if (advance_tap) {
        advance_tap(step_ms);
      }
      advance(step_ms);
    }
  }
  return done();
}

bool EndpointPair::quiet(core::Duration horizon) {
  if (!server_.outbox_empty() || !client_.outbox_empty()) {
    return false;
  }
  const core::Timestamp next =
      std::min(server_.endpoint().next_expiry(), client_.endpoint().next_expiry());
  return next == core::Timestamp::max() || next > now_ + horizon;
}

bool EndpointPair::complete_handshake() {
  return exchange([this] {
    core::Connection* s = connection(Side::server);
    core::Connection* c = connection(Side::client);
    return s != nullptr && c != nullptr && s->handshake_completed() && c->handshake_completed();
  });
}

}  // namespace quicreuse::fuzz
