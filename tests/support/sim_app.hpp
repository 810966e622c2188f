// Small applications for simulator tests: an echo server and a stream writer/reader, written
// against the sans-IO core::Connection API (what the io layer does with completions). No
// GoogleTest here: the tests' shorthands that assert are in sim_gtest.hpp.
#pragma once

#include "sim_network.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace quicreuse::test {

// Returns n pseudo-random bytes from seed (deterministic).
std::vector<std::uint8_t> pattern_bytes(std::size_t n, std::uint64_t seed);
// Returns bytes of s.
std::vector<std::uint8_t> to_bytes(const std::string& s);

// StreamPump writes queued buffers to streams as send space allows and collects what arrives.
class StreamPump {
 public:
  // Queues data (then FIN if fin) for stream id of conn.
  void queue(core::Connection& conn, std::int64_t id, std::vector<std::uint8_t> data, bool fin);
  // Pushes as much queued data as the streams accept.
  void pump(core::Connection& conn);
  // Reads everything available on stream id into received(id); returns true once FIN was seen.
  bool drain(core::Connection& conn, std::int64_t id, core::Timestamp now);

  const std::vector<std::uint8_t>& received(std::int64_t id) { return in_[id]; }
  bool finished(std::int64_t id) const { return fin_.count(id) != 0; }
  std::error_code last_error;

 private:
  struct Out {
    std::vector<std::uint8_t> data;
    std::size_t offset = 0;
    bool fin = false;
    bool done = false;
  };
  std::map<std::int64_t, Out> out_;
  std::map<std::int64_t, std::vector<std::uint8_t>> in_;
  std::map<std::int64_t, bool> fin_;
};

// Makes node an echo server: every stream the peer opens is echoed back, FIN answered with FIN.
// Accepted connections are recorded in accepted.
struct EchoServer {
  explicit EchoServer(SimNetwork& net, SimNode& node);
  SimNetwork& net;
  SimNode& node;
  StreamPump pump;
  std::vector<core::ConnectionHandle> accepted;
  std::set<std::pair<core::ConnectionHandle, std::int64_t>> echoed;
};

// Client side of an echo exchange on one stream (pairs with EchoServer).
struct EchoClient {
  EchoClient(SimNetwork& n, SimNode& nd);
  // Dials server, then sends data with FIN on a new stream once the handshake completes; true
  // once the echo's FIN arrived, false if the handshake or the echo did not finish within limit
  // (virtual time, each).
  bool send(const SimNode& server, std::vector<std::uint8_t> data, Duration limit);

  SimNetwork& net;
  SimNode& node;
  StreamPump pump;
  std::optional<core::ConnectionHandle> handle;
  std::int64_t stream = -1;
  bool fin = false;
};

// One connection over link, seeded: a server and a client node, a 1 KiB echo on one stream.
struct EchoRun {
  bool echoed = false;  // the echo came back byte-exact
  std::string why;      // when not echoed: the client's close error, "gone" or "not done"
  Duration took{};      // virtual time from the dial to the end
};
EchoRun echo_over(const LinkConfig& link, std::uint64_t seed,
                  Duration limit = std::chrono::seconds(60));

// What dial_until_settled saw: the dial's error, whether the handshake settled (completed or
// failed) within the limit, and the client connection then (nullptr if it is gone).
struct DialOutcome {
  std::error_code connect_error;
  bool settled = false;
  core::Connection* connection = nullptr;
};
// Dials server from client and runs the network until the handshake completed or failed.
DialOutcome dial_until_settled(SimNetwork& net, SimNode& client, const SimNode& server,
                               std::shared_ptr<const core::ClientTlsContext> tls,
                               Duration limit = std::chrono::seconds(20));

// Returns a server TLS configuration with a fresh self-signed identity and the given ALPNs.
Result<std::shared_ptr<const TlsServerConfig>> make_test_server_tls(std::vector<std::string> alpns);
// Returns a client TLS context that skips verification and offers alpns.
Result<std::shared_ptr<const core::ClientTlsContext>> make_test_client_tls(
    std::vector<std::string> alpns);

}  // namespace quicreuse::test
