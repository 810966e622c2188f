// NonQuicPacketConn: a datagram-socket view of a QUIC listener's socket for non-QUIC traffic.
#pragma once

#include <quicreuse/detail/io_fwd.hpp>
#include <quicreuse/error.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace quicreuse {

namespace detail {
struct Access;
struct NonQuicConnState;
}  // namespace detail

// NonQuicPacketConn lets another protocol (WebRTC-direct's STUN and DTLS) use the UDP socket of
// a QUIC listener: it reads the datagrams the endpoint classifies as non-QUIC and writes raw
// datagrams from the same port (spec section 4). All such views of one socket share its bounded
// queue of 32 datagrams. It holds a reference on the socket until close().
//
// Threading: use it on the ConnManager's executor.
class NonQuicPacketConn {
 public:
  NonQuicPacketConn(const NonQuicPacketConn&) = delete;
  NonQuicPacketConn& operator=(const NonQuicPacketConn&) = delete;
  NonQuicPacketConn(NonQuicPacketConn&&) = delete;
  NonQuicPacketConn& operator=(NonQuicPacketConn&&) = delete;
  // Closes (releases the socket reference).
  ~NonQuicPacketConn();

  // Reads the next non-QUIC datagram into buffer (truncated to its size). Completes with (error,
  // bytes, sender). Several reads may be pending at once (as Go allows): each gets its own
  // datagram, in the order the reads started; buffer must stay valid until completion. Errors:
  // std::errc::timed_out when the read deadline passes, errc::connection_closed after close(),
  // errc::endpoint_closed when the socket closed.
  template <class CompletionToken>
  auto async_read_from(asio::mutable_buffer buffer, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken,
                                void(std::error_code, std::size_t, asio::ip::udp::endpoint)>(
        [](auto handler, const std::shared_ptr<detail::NonQuicConnState>& s, asio::mutable_buffer b,
           asio::any_io_executor ex) {
          start_read(s, b, detail::PacketCompletion(std::move(handler), ex));
        },
        token, state_, buffer, executor());
  }
  // Sends one raw datagram from the shared port (still allowed after close(), like the seed).
  Result<std::size_t> write_to(std::span<const std::uint8_t> datagram,
                               const asio::ip::udp::endpoint& remote);
  [[nodiscard]] asio::ip::udp::endpoint local_endpoint() const;
  // Sets the deadline of later reads; std::nullopt (or a zero time point) means no deadline
  // (decision D4). A read pending when the deadline passes fails with std::errc::timed_out.
  void set_read_deadline(std::optional<std::chrono::steady_clock::time_point> deadline);
  // Write deadlines do not exist for raw datagrams: accepted and ignored.
  void set_write_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) noexcept;
  // Fails pending and later reads and releases the socket reference. Idempotent (D5).
  void close();

 private:
  friend struct detail::Access;  // built by ConnManager::shared_non_quic_packet_conn
  explicit NonQuicPacketConn(std::shared_ptr<detail::NonQuicConnState> state);
  [[nodiscard]] asio::any_io_executor executor() const;
  static void start_read(const std::shared_ptr<detail::NonQuicConnState>& s, asio::mutable_buffer b,
                         detail::PacketCompletion c);
  std::shared_ptr<detail::NonQuicConnState> state_;
};

}  // namespace quicreuse
