// ImpairmentRelay: a userspace UDP forwarder that impairs traffic between a client and a server
// (loss, corruption, reordering, duplication, delay, rate limit, blackholes, NAT rebinding), for
// tests on loopback. The kernel of our CI machines has no netem, so this stands in for it.
//
// Topology: the client sends to client_endpoint(); for each client address (a "flow", as a NAT
// mapping) the relay opens an upstream socket and forwards to the server from it, so the server
// sees the relay's upstream address as the client. Replies to an upstream socket go back to its
// client from the client-facing socket. rebind_port() and rebind_address() move every flow to a
// new upstream socket, as a NAT that lost its mappings would.
//
// Determinism: each direction draws from its own generator seeded from (seed, direction), and
// every datagram draws the same number of values whatever is decided, so the k-th datagram of a
// direction is treated the same in every run with the same seed (ImpairmentDice replays it).
// What depends on time (delay, rate, blackhole windows, reorder timeouts) follows the clock.
//
// Threading: the relay runs on the executor given to start() (no thread of its own) and, like an
// Asio socket, must be used from that executor only; tests run it on the io_context that also
// runs the endpoint under test. Every queue is bounded; what does not fit is dropped and
// counted.
#pragma once

#include <quicreuse/error.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace quicreuse::test {

// Direction of a datagram through the relay.
enum class RelayDirection { to_server, to_client };

// ImpairmentWindow is a time span [from, to) measured from the relay's epoch: the arrival of the
// first datagram it relayed (in either direction).
struct ImpairmentWindow {
  std::chrono::milliseconds from{0};
  std::chrono::milliseconds to{0};
};

// DirectionImpairment configures what happens to the datagrams of one direction, in this order:
// blackhole, loss, corruption, duplication, reordering, then rate limit and delay.
struct DirectionImpairment {
  double loss = 0;              // probability that a datagram is dropped
  double corrupt = 0;           // probability that one random byte of a datagram is flipped
  double duplicate = 0;         // probability that a datagram is sent twice
  double reorder = 0;           // probability that a datagram is held back...
  std::size_t reorder_gap = 3;  // ...until this many later ones have passed,
  std::chrono::milliseconds reorder_timeout{20};  // or this long, whichever comes first
  std::chrono::milliseconds delay{0};             // fixed one-way delay
  std::uint64_t rate_bytes_per_second = 0;        // 0: unlimited
  std::size_t rate_queue_bytes = 256 * 1024;      // bytes waiting for the rate limiter; more drop
  std::vector<ImpairmentWindow> blackholes;       // everything in these windows is dropped
};

// ImpairmentConfig configures a relay.
struct ImpairmentConfig {
  asio::ip::udp::endpoint listen;  // client-facing address (port 0: the kernel picks)
  asio::ip::udp::endpoint server;  // where datagrams from clients go
  // Source address of the upstream sockets (what the server sees); default: the loopback
  // address of the server's family.
  std::optional<asio::ip::address> upstream_address;
  std::uint64_t seed = 1;
  DirectionImpairment to_server;
  DirectionImpairment to_client;
  std::size_t max_flows = 16;               // client addresses served; datagrams of more drop
  std::size_t max_queued_datagrams = 8192;  // per direction, waiting for delay or rate limit
  std::size_t max_held_datagrams = 64;      // per direction, held back for reordering
};

// DirectionCounters counts what the relay did to the datagrams of one direction.
struct DirectionCounters {
  std::uint64_t received = 0;  // datagrams read
  std::uint64_t received_bytes = 0;
  std::uint64_t forwarded = 0;  // datagrams sent on (duplicates included)
  std::uint64_t forwarded_bytes = 0;
  std::uint64_t lost = 0;           // dropped by the loss probability
  std::uint64_t blackholed = 0;     // dropped inside a blackhole window
  std::uint64_t corrupted = 0;      // had one byte flipped
  std::uint64_t duplicated = 0;     // sent twice
  std::uint64_t reordered = 0;      // held back and released later
  std::uint64_t rate_dropped = 0;   // the rate limiter's queue was full
  std::uint64_t queue_dropped = 0;  // the delay queue was full, or no flow for it
  std::uint64_t send_errors = 0;    // the socket refused the datagram
  std::uint64_t quic_retries = 0;   // datagrams received that are QUIC Retry packets (RFC 9000)
  [[nodiscard]] std::uint64_t dropped() const {
    return lost + blackholed + rate_dropped + queue_dropped + send_errors;
  }
};

// RelayCounters are the counters of both directions and of the flows.
struct RelayCounters {
  DirectionCounters to_server;
  DirectionCounters to_client;
  std::uint64_t flows = 0;          // client addresses seen
  std::uint64_t flows_refused = 0;  // datagrams from clients beyond max_flows
  std::uint64_t rebinds = 0;        // rebind_port / rebind_address calls that moved the flows
  [[nodiscard]] const DirectionCounters& of(RelayDirection d) const {
    return d == RelayDirection::to_server ? to_server : to_client;
  }
};

// ImpairmentDice are the relay's random decisions for the datagrams of one direction, in order.
// A relay with the same seed makes the same decisions; tests replay them to know which datagram
// should have been lost.
class ImpairmentDice {
 public:
  struct Roll {
    bool lost = false;
    bool corrupted = false;
    bool duplicated = false;
    bool reordered = false;
    std::uint64_t corrupt_position = 0;  // byte to flip: this modulo the datagram's size
    std::uint8_t corrupt_mask = 1;       // never 0
  };
  ImpairmentDice(std::uint64_t seed, RelayDirection direction);
  // Returns the decisions for the next datagram under impairment.
  Roll roll(const DirectionImpairment& impairment);

 private:
  double uniform();
  std::uint64_t next();
  std::uint64_t state_;
};

class ImpairmentRelay {
 public:
  // Opens the client-facing socket and starts relaying on executor. Errors: the bind's error,
  // errc::invalid_argument (a probability outside 0..1, no server address).
  static Result<std::unique_ptr<ImpairmentRelay>> start(const asio::any_io_executor& executor,
                                                        ImpairmentConfig config);

  ImpairmentRelay(const ImpairmentRelay&) = delete;
  ImpairmentRelay& operator=(const ImpairmentRelay&) = delete;
  ImpairmentRelay(ImpairmentRelay&&) = delete;
  ImpairmentRelay& operator=(ImpairmentRelay&&) = delete;
  // Closes the sockets; queued datagrams are discarded.
  ~ImpairmentRelay();

  // Returns the address clients send to.
  [[nodiscard]] asio::ip::udp::endpoint client_endpoint() const;
  // Returns the upstream (server-facing) address of every flow, oldest flow first.
  [[nodiscard]] std::vector<asio::ip::udp::endpoint> upstream_endpoints() const;
  [[nodiscard]] const RelayCounters& counters() const;
  // Returns true when nothing waits in a queue (held, delayed or rate-limited).
  [[nodiscard]] bool idle() const;

  // Moves every flow to a new upstream socket with a new port on the same address; the old
  // sockets are closed (datagrams the server sends there are lost, as behind a NAT).
  Result<void> rebind_port();
  // Moves every flow to a new upstream socket on address (e.g. 127.0.0.2), new port.
  Result<void> rebind_address(const asio::ip::address& address);
  // Replaces the impairment of one direction (from the next datagram on).
  void set_impairment(RelayDirection direction, DirectionImpairment impairment);
  // Blackholes direction from now for duration (adds a window).
  void blackhole_for(RelayDirection direction, std::chrono::milliseconds duration);
  // Calls action once, on the relay's executor, when the datagrams received in direction reach
  // bytes in total (before the datagram that crosses the mark is impaired).
  void when_received_bytes(RelayDirection direction, std::uint64_t bytes,
                           std::function<void(ImpairmentRelay&)> action);
  // Calls action with the counters as they are when the first datagram of direction arrives
  // after a blackhole window of that direction ended (before it is impaired).
  void on_blackhole_lifted(RelayDirection direction,
                           std::function<void(const RelayCounters&)> action);
  // Stops relaying and closes every socket. Idempotent.
  void close();

  struct State;

 private:
  explicit ImpairmentRelay(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace quicreuse::test
