// A minimal deterministic network for benchmarks: core::Endpoints joined by a lossless link with a
// fixed delay, on virtual time (the shape of tests/support/sim_network, reduced to what the
// benchmarks need so that bench/ does not depend on GoogleTest).
//
// With a constant delay, datagrams arrive in the order they were sent, so the in-flight queue is a
// FIFO, and payload buffers are recycled: the simulator itself adds one memcpy per datagram.
#pragma once

#include "core/endpoint.hpp"
#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"

#include <quicreuse/tls.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace quicreuse::bench {

using core::Duration;
using core::SocketAddress;
using core::Timestamp;

class SimNet;

// SimHost is one simulated host: a core::Endpoint plus the sink and observer that SimNet drives.
class SimHost final : public core::PacketSink, public core::EndpointObserver {
 public:
  SimHost(SimNet& net, SocketAddress address, core::EndpointConfig config, std::uint64_t seed);
  SimHost(const SimHost&) = delete;
  SimHost& operator=(const SimHost&) = delete;
  SimHost(SimHost&&) = delete;
  SimHost& operator=(SimHost&&) = delete;
  ~SimHost() override = default;

  [[nodiscard]] core::Endpoint& endpoint() { return *endpoint_; }
  [[nodiscard]] const SocketAddress& address() const { return address_; }

  // Receives the events of each connection after every flush (optional).
  std::function<void(core::Connection&, std::span<const core::ConnectionEvent>)> on_events_cb;
  // Server connections taken from the accept queue, in order.
  std::vector<core::ConnectionHandle> accepted;
  std::size_t removed = 0;

  void send(const SocketAddress& remote, std::span<const std::uint8_t> data,
            std::size_t segment_size, const core::PathInfo& path) override;
  void on_events(core::Connection& conn, std::span<const core::ConnectionEvent> events) override;
  void on_incoming() override;
  void on_removed(core::ConnectionHandle handle) override;

 private:
  SimNet& net_;
  SocketAddress address_;
  core::SeededRng rng_;
  std::unique_ptr<core::Endpoint> endpoint_;
};

// SimNet moves datagrams between hosts and jumps virtual time to the next delivery or timer.
class SimNet {
 public:
  explicit SimNet(Duration delay);

  [[nodiscard]] Timestamp now() const { return now_; }
  // Adds a host; the reference stays valid while the SimNet lives.
  SimHost& add_host(const SocketAddress& address, core::EndpointConfig config);
  // Queues a datagram for delivery after the link delay.
  void transmit(const SocketAddress& from, const SocketAddress& to,
                std::span<const std::uint8_t> data);
  // Delivers everything due at the next event time, runs due timers and flushes every host;
  // false when nothing is scheduled.
  bool step();
  // Flushes, then steps until pred() holds; false after max_steps steps or when idle.
  bool run_until(const std::function<bool()>& pred, std::size_t max_steps = 5'000'000);

  // Sees every datagram as it is transmitted (optional; for capturing packets).
  std::function<void(const SocketAddress& from, const SocketAddress& to,
                     std::span<const std::uint8_t> data)>
      tap;
  [[nodiscard]] std::uint64_t delivered() const { return delivered_; }

 private:
  struct Pending {
    Timestamp when;
    SocketAddress from;
    SocketAddress to;
    std::vector<std::uint8_t> data;
  };
  SimHost* find(const SocketAddress& address);
  void flush_all();

  Duration delay_;
  Timestamp now_;
  std::uint64_t delivered_ = 0;
  std::deque<Pending> in_flight_;
  std::vector<std::vector<std::uint8_t>> spare_;  // recycled payload buffers
  std::vector<std::unique_ptr<SimHost>> hosts_;
};

// Returns the IPv4 address 10.0.0.host:port.
SocketAddress sim_address(std::uint8_t host, std::uint16_t port);
// Returns a core endpoint configuration with fixed keys (cid_length 16).
core::EndpointConfig sim_config(std::uint8_t key_byte);
// Returns a server TLS configuration with a fresh self-signed identity offering ALPN "bench".
// Aborts if GnuTLS cannot make the identity.
std::shared_ptr<const TlsServerConfig> bench_server_tls();
// Returns a client TLS context offering ALPN "bench" that skips certificate verification.
std::shared_ptr<const core::ClientTlsContext> bench_client_tls();

}  // namespace quicreuse::bench
