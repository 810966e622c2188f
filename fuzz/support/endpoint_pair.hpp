// EndpointPair: a core::Endpoint server and a core::Endpoint client on a virtual clock, joined by
// an in-memory link without delay or loss, for the fuzz harnesses and the seed generator (which
// must not depend on GoogleTest, unlike tests/support/sim_network).
//
// Randomness is seeded (core::SeededRng), time only moves when the caller says so, and the TLS
// identity is made once per process, so two runs of the same calls send datagrams of the same
// shape (the TLS secrets still differ: GnuTLS draws its own random numbers).
#pragma once

#include "core/endpoint.hpp"
#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace quicreuse::fuzz {

// Side names one of the two endpoints.
enum class Side : std::uint8_t { server = 0, client = 1 };

// Returns the other side.
constexpr Side peer_of(Side side) noexcept {
  return side == Side::server ? Side::client : Side::server;
}

// Datagram is one UDP payload with its source and destination addresses.
struct Datagram {
  core::SocketAddress from;
  core::SocketAddress to;
  std::vector<std::uint8_t> bytes;
};

// Node is one endpoint with what its driver needs: the sink that queues what it sends, and the
// observer that accepts incoming connections and notes events.
class Node final : public core::PacketSink, public core::EndpointObserver {
 public:
  Node(core::SocketAddress address, core::EndpointConfig config, std::uint64_t seed);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  Node(Node&&) = delete;
  Node& operator=(Node&&) = delete;
  ~Node() override;

  [[nodiscard]] core::Endpoint& endpoint() noexcept { return *endpoint_; }
  [[nodiscard]] const core::SocketAddress& address() const noexcept { return address_; }
  // Datagrams sent since the last take_outbox(), split into packets as the sink got them.
  std::vector<Datagram> take_outbox();
  [[nodiscard]] bool outbox_empty() const noexcept { return outbox_.empty(); }
  // The datagrams waiting in the outbox (valid until the node sends again).
  [[nodiscard]] std::span<const Datagram> outbox() const noexcept { return outbox_; }
  // Handles of the connections this node accepted (server) or dialed (client), oldest first.
  std::vector<core::ConnectionHandle> connections;
  // Called for every connection event, after the endpoint's flush() reported it.
  std::function<void(core::Connection&, const core::ConnectionEvent&)> on_event;

  // PacketSink / EndpointObserver
  void send(const core::SocketAddress& remote, std::span<const std::uint8_t> data,
            std::size_t segment_size, const core::PathInfo& path) override;
  void on_events(core::Connection& conn, std::span<const core::ConnectionEvent> events) override;
  void on_incoming() override;
  void on_removed(core::ConnectionHandle handle) override;

 private:
  core::SocketAddress address_;
  core::SeededRng rng_;
  std::unique_ptr<core::Endpoint> endpoint_;
  std::vector<Datagram> outbox_;
};

// EndpointPair owns both nodes and the clock.
class EndpointPair {
 public:
  // Makes the pair: a listening server (ALPN "fuzz/1", self-signed identity) and a client.
  explicit EndpointPair(std::uint64_t seed = 1);
  EndpointPair(const EndpointPair&) = delete;
  EndpointPair& operator=(const EndpointPair&) = delete;
  EndpointPair(EndpointPair&&) = delete;
  EndpointPair& operator=(EndpointPair&&) = delete;
  ~EndpointPair();

  [[nodiscard]] Node& node(Side side) noexcept { return side == Side::server ? server_ : client_; }
  [[nodiscard]] core::Timestamp now() const noexcept { return now_; }
  // Returns the newest connection of side, or nullptr when it has none (or it is gone).
  [[nodiscard]] core::Connection* connection(Side side);

  // Starts the client's connection to the server (its Initial goes out on the next flush), with
  // tls or, when null, the pair's client context (ALPN "fuzz/1", no certificate check).
  bool connect(std::shared_ptr<const core::ClientTlsContext> tls = nullptr);
  // Flushes both endpoints (server first).
  void flush();
  // Moves time forward by d and runs the timers that are due, then flushes.
  void advance(core::Duration d);
  // Hands one datagram to side's endpoint, then flushes.
  core::DatagramOutcome deliver(Side to, const core::SocketAddress& from,
                                std::span<const std::uint8_t> bytes);

  // Called with every datagram exchange() delivers, before it is delivered.
  std::function<void(Side to, const Datagram&)> tap;
  // Called with every clock advance exchange() makes while nothing is in flight, before it.
  std::function<void(std::chrono::milliseconds)> advance_tap;
  // True when nothing waits in an outbox and no timer is due within horizon.
  [[nodiscard]] bool quiet(core::Duration horizon);
  // Delivers what both endpoints send, and runs their timers when nothing is in flight, until
  // done() is true or max_steps rounds have passed (time moves at most max_idle per round, in
  // whole milliseconds). Returns done().
  bool exchange(const std::function<bool()>& done, std::size_t max_steps = 200,
                core::Duration max_idle = std::chrono::milliseconds(100));
  // Runs exchange() until both sides have completed the handshake (after connect()).
  bool complete_handshake();
  // Runs connect() then complete_handshake().
  bool handshake() { return connect() && complete_handshake(); }

 private:
  core::Timestamp now_;
  Node server_;
  Node client_;
};

// Returns the endpoint configuration both nodes use (keys fixed, everything else default).
core::EndpointConfig pair_config(std::uint8_t key_byte);

}  // namespace quicreuse::fuzz
