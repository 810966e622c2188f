// SimNetwork: a deterministic in-memory network on a virtual clock, for core::Endpoint tests.
//
// Modelled on ngtcp2's examples/sim and quinn's test Pair: datagrams travel through links with a
// delay, seeded loss, corruption and reordering (extra delay on some datagrams); time jumps
// straight to the next delivery or endpoint timer, so a test of a 30 s idle timeout takes
// microseconds. Every run is bounded (steps and virtual time). It needs no GoogleTest: the
// benchmarks (bench/) drive it too, so the datagram path copies each payload once into a
// recycled buffer and finds nodes without building strings.
#pragma once

#include "core/endpoint.hpp"
#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace quicreuse::test {

using core::Duration;
using core::SocketAddress;
using core::Timestamp;

// LinkConfig describes the path between any two nodes (the same in both directions).
struct LinkConfig {
  Duration delay = std::chrono::milliseconds(10);
  double loss = 0.0;     // probability that a datagram is lost
  double reorder = 0.0;  // probability that a datagram is delayed by reorder_delay more
  Duration reorder_delay = std::chrono::milliseconds(7);
  double corrupt = 0.0;  // probability that one byte of a datagram is XORed with a nonzero mask
};

class SimNetwork;

// SimNode is one host: a core::Endpoint plus the observer and sink that the simulator drives.
class SimNode final : public core::PacketSink, public core::EndpointObserver {
 public:
  SimNode(SimNetwork& net, SocketAddress address, core::EndpointConfig config, std::uint64_t seed);

  core::Endpoint& endpoint() { return *endpoint_; }
  const SocketAddress& address() const { return address_; }

  // Called for every connection event (after the endpoint processed a step).
  std::function<void(core::Connection&, const core::ConnectionEvent&)> on_event;
  // Called for every datagram the endpoint classified as non-QUIC.
  std::function<void(const SocketAddress&, std::span<const std::uint8_t>)> on_non_quic;
  // Called when a server connection is ready in the accept queue.
  std::function<void()> on_incoming_cb;

  std::vector<core::ConnectionHandle> removed;  // handles reported by on_removed

  // PacketSink / EndpointObserver
  void send(const SocketAddress& remote, std::span<const std::uint8_t> data,
            std::size_t segment_size, const core::PathInfo& path) override;
  void on_events(core::Connection& conn, std::span<const core::ConnectionEvent> events) override;
  void on_incoming() override;
  void on_removed(core::ConnectionHandle handle) override;

 private:
  SimNetwork& net_;
  SocketAddress address_;
  core::SeededRng rng_;
  std::unique_ptr<core::Endpoint> endpoint_;
};

class SimNetwork {
 public:
  explicit SimNetwork(LinkConfig link = {}, std::uint64_t seed = 1);

  Timestamp now() const { return now_; }
  LinkConfig& link() { return link_; }

  // Adds a node at address (replacing a removed one is allowed: a "restart").
  SimNode& add_node(const SocketAddress& address, core::EndpointConfig config);
  // Removes the node at address; in-flight datagrams to it are lost.
  void remove_node(const SocketAddress& address);

  // Sends a raw datagram (as a node's sink does); subject to loss and delay.
  void transmit(const SocketAddress& from, const SocketAddress& to,
                std::span<const std::uint8_t> data);
  // Delivers now, bypassing the link model (for hand-made packets).
  void inject(const SocketAddress& from, const SocketAddress& to, std::vector<std::uint8_t> data);

  // Called for every datagram a node sends (one call per datagram of a GSO batch), before the
  // link model. Returning true takes the datagram away from the link: the test may inject()
  // copies of it, altered or not; false lets it travel as usual.
  std::function<bool(const SocketAddress& from, const SocketAddress& to,
                     std::span<const std::uint8_t> data)>
      intercept;

  // Advances to the next event and processes it; false when nothing is scheduled.
  bool step();
  // Steps until pred() is true; false if it never became true within max_time of virtual time or
  // max_steps steps (whichever comes first).
  bool run_until(const std::function<bool()>& pred, Duration max_time = std::chrono::seconds(120),
                 std::size_t max_steps = 2'000'000);
  // Steps until virtual time reaches now() + d (or nothing is scheduled).
  void run_for(Duration d);

  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t lost() const { return lost_; }
  std::uint64_t corrupted() const { return corrupted_; }

 private:
  struct Pending {
    Timestamp when;
    std::uint64_t seq;
    SocketAddress from;
    SocketAddress to;
    std::vector<std::uint8_t> data;
    bool operator>(const Pending& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  // A node and the key that orders the nodes (its address as text, as a std::map would).
  struct Slot {
    std::string key;
    std::unique_ptr<SimNode> node;
  };
  SimNode* find(const SocketAddress& address);
  void push(Pending p);
  void flush_all();

  LinkConfig link_;
  std::mt19937_64 rng_;
  Timestamp now_;
  std::uint64_t seq_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t lost_ = 0;
  std::uint64_t corrupted_ = 0;
  std::vector<Pending> in_flight_;                // a min-heap on (when, seq)
  std::vector<std::vector<std::uint8_t>> spare_;  // recycled payload buffers
  std::vector<Slot> nodes_;                       // sorted by key
};

// A sink that keeps what an endpoint sends, for hand-made packets fed to handle_datagram.
struct CaptureSink final : core::PacketSink {
  std::vector<std::vector<std::uint8_t>> sent;
  void send(const SocketAddress& /*remote*/, std::span<const std::uint8_t> data,
            std::size_t /*segment_size*/, const core::PathInfo& /*path*/) override {
    sent.emplace_back(data.begin(), data.end());
  }
};

// Helpers to build addresses and configs for tests.
SocketAddress sim_address(std::uint8_t host, std::uint16_t port);
core::EndpointConfig sim_config(std::uint8_t key_byte = 1);

}  // namespace quicreuse::test
