// UdpRelay: a loopback UDP relay between one client and one server that records the source
// address and ECN codepoint of every datagram it forwards, and can re-mark them (tests of the
// IP-level path: source addresses on wildcard sockets, ECN).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace quicreuse::test {

// Observed is one datagram the relay forwarded.
struct Observed {
  asio::ip::udp::endpoint from;  // its sender
  std::uint8_t ecn = 0;          // its ECN codepoint on arrival (two low bits of TOS / TCLASS)
  std::size_t size = 0;
};

// UdpRelay forwards datagrams between the first client that writes to address() and target,
// keeping each datagram's ECN codepoint unless told to set another. Use it on io's thread only;
// close() (or the destructor) ends its loops.
class UdpRelay : public std::enable_shared_from_this<UdpRelay> {
 public:
  // Creates and starts a relay on the loopback address of target's family.
  static std::shared_ptr<UdpRelay> start(asio::io_context& io, asio::ip::udp::endpoint target);
  UdpRelay(asio::io_context& io, asio::ip::udp::endpoint target);
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;
  UdpRelay(UdpRelay&&) = delete;
  UdpRelay& operator=(UdpRelay&&) = delete;
  ~UdpRelay();

  // Returns the address clients send to.
  [[nodiscard]] asio::ip::udp::endpoint address() const;
  // Stops relaying. Idempotent.
  void close();

  // Datagrams from the server (to the client) and from the client (to the server), in order.
  std::vector<Observed> from_server;
  std::vector<Observed> from_client;
  // When set, datagrams forwarded to the server carry this ECN codepoint instead of their own.
  std::optional<std::uint8_t> ecn_to_server;

 private:
  static asio::awaitable<void> pump(std::shared_ptr<UdpRelay> self, bool from_client_side);

  asio::ip::udp::socket front_;  // faces the client
  asio::ip::udp::socket back_;   // faces the server
  asio::ip::udp::endpoint target_;
  std::optional<asio::ip::udp::endpoint> client_;
};

}  // namespace quicreuse::test
