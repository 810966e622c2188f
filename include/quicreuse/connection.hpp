// Connection: one QUIC connection of an Endpoint (dialed or accepted).
#pragma once

#include <quicreuse/detail/io_fwd.hpp>
#include <quicreuse/error.hpp>
#include <quicreuse/stream.hpp>
#include <quicreuse/tls.hpp>

#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/udp.hpp>
#include <asio/use_awaitable.hpp>

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace quicreuse {

// ConnectionStats is a snapshot of a connection's estimates and counters.
struct ConnectionStats {
  std::chrono::nanoseconds smoothed_rtt{};
  std::chrono::nanoseconds min_rtt{};
  std::chrono::nanoseconds latest_rtt{};
  std::uint64_t congestion_window = 0;  // bytes
  std::uint64_t bytes_in_flight = 0;
  std::uint64_t bytes_sent = 0;  // UDP payload bytes
  std::uint64_t bytes_received = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t datagrams_dropped = 0;      // RFC 9221 datagrams dropped (queue full, too large)
  std::uint64_t key_updates_initiated = 0;  // key updates this side started
  // ECN (RFC 9000 13.4). ngtcp2 chooses the marks and validates the path itself; version 0.12
  // exposes neither its validation state nor the peer's ECN counts, so these are counted by the
  // library.
  std::uint64_t ecn_ect0_sent = 0;      // UDP datagrams sent marked ECT(0)
  std::uint64_t ecn_ect0_received = 0;  // UDP datagrams received marked ECT(0)
  std::uint64_t ecn_ect1_received = 0;  // ... ECT(1)
  std::uint64_t ecn_ce_received = 0;    // ... CE (Congestion Experienced)
  // The highest ECN counts the peer reported in its 1-RTT ACK frames: how many of our packets
  // reached it marked ECT(0), ECT(1) and CE.
  std::uint64_t ecn_peer_ect0 = 0;
  std::uint64_t ecn_peer_ect1 = 0;
  std::uint64_t ecn_peer_ce = 0;
  // True once ngtcp2 found the path ECN-capable: it marks at most 10 datagrams while testing a
  // path and keeps marking only after the peer's ACK frames counted those marks, so more than 10
  // marked datagrams with marks counted by the peer means validated. (A path change restarts the
  // test; if validation fails, marking stops and this stays false.)
  bool ecn_validated = false;
};

// Connection is a shared handle to a QUIC connection; copies refer to the same connection.
//
// Lifetime: the connection lives until it is closed (by close(), the peer, a timeout or its
// endpoint closing). When the last Connection handle and the last Stream of it are destroyed
// while it is still open, it is closed with application code 0. Threading: use it on its
// endpoint's executor only (like an Asio socket).
class Connection {
 public:
  using executor_type = asio::any_io_executor;

 private:
  using StreamStarter = void (*)(const std::shared_ptr<detail::ConnectionRef>&, bool,
                                 detail::StreamCompletion);
  template <class CompletionToken>
  auto initiate_stream(CompletionToken& token, StreamStarter starter, bool bidi);

 public:
  // An empty handle; only operator bool and the destructor may be used.
  Connection() = default;

  [[nodiscard]] explicit operator bool() const noexcept { return ref_ != nullptr; }
  [[nodiscard]] executor_type get_executor() const;

  // Accepts the next bidirectional stream the peer opens. Completes with (error, Stream).
  // Errors: the connection's close error. Supports per-operation cancellation.
  template <class CompletionToken>
  auto async_accept_stream(CompletionToken&& token) {
    return initiate_stream(token, &Connection::start_accept, true);
  }
  // Accepts the next unidirectional stream the peer opens.
  template <class CompletionToken>
  auto async_accept_uni_stream(CompletionToken&& token) {
    return initiate_stream(token, &Connection::start_accept, false);
  }
  // Opens a bidirectional stream, waiting while the peer's stream limit blocks it.
  template <class CompletionToken>
  auto async_open_stream(CompletionToken&& token) {
    return initiate_stream(token, &Connection::start_open, true);
  }
  // Opens a unidirectional (send-only) stream, waiting while the peer's limit blocks it.
  template <class CompletionToken>
  auto async_open_uni_stream(CompletionToken&& token) {
    return initiate_stream(token, &Connection::start_open, false);
  }

  // Coroutine forms of the above: co_await conn.accept_stream() -> Result<Stream>.
  asio::awaitable<Result<Stream>> accept_stream();
  asio::awaitable<Result<Stream>> open_stream();

  // Sends an RFC 9221 datagram (unreliable; an empty one is allowed). Errors:
  // errc::datagrams_disabled, errc::datagram_too_large, errc::queue_full, the connection's close
  // error.
  Result<void> send_datagram(std::span<const std::uint8_t> data);
  // Receives the next datagram. Completes with (error, bytes).
  template <class CompletionToken>
  auto async_receive_datagram(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, std::vector<std::uint8_t>)>(
        [](auto handler, const std::shared_ptr<detail::ConnectionRef>& ref, executor_type ex) {
          start_receive_datagram(ref, detail::DatagramCompletion(std::move(handler), ex));
        },
        token, ref_, get_executor());
  }

  // Waits until the connection is closed; completes with its close error (errc::connection_closed
  // for a local close, the peer's code for a remote one, errc::idle_timeout...).
  template <class CompletionToken>
  auto async_wait_closed(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code)>(
        [](auto handler, const std::shared_ptr<detail::ConnectionRef>& ref, executor_type ex) {
          start_wait_closed(ref, detail::ErrorCompletion(std::move(handler), ex));
        },
        token, ref_, get_executor());
  }

  // Registers callback to run once, posted to the connection's executor, when the connection
  // closes (at once if it is already closed). Unlike async_wait_closed it does not keep the
  // connection open: it is how owners of per-connection resources learn the end.
  void on_close(std::function<void(const CloseInfo&)> callback);

  // Closes the connection with an application error code and reason; a CONNECTION_CLOSE goes out
  // after data already queued, and pending operations complete with errc::connection_closed.
  // A reason longer than 512 bytes is cut (at a UTF-8 boundary) so that it fits one packet.
  // Idempotent.
  void close(std::uint64_t code = 0, std::string_view reason = {});

  // True until the connection is closed (by either side or a timeout).
  [[nodiscard]] bool is_open() const;
  // Returns how the connection ended (kind none while open).
  [[nodiscard]] CloseInfo close_info() const;
  // Returns the negotiated ALPN protocol.
  [[nodiscard]] std::string alpn() const;
  // Returns the negotiated TLS cipher suite (nothing before the handshake completed).
  [[nodiscard]] std::optional<CipherSuite> cipher_suite() const;
  // Starts a QUIC key update (RFC 9001 6); the peer follows. When RFC 9001 does not allow one
  // yet (handshake not confirmed, the previous update not yet confirmed by the peer, or less than
  // 3 PTO ago) it happens with the first packet sent once it does; stats().key_updates_initiated
  // counts those done. Errors: the close error once closed; errc::key_update_not_ready while an
  // earlier request still waits.
  Result<void> initiate_key_update();
  // Returns the peer's certificate chain, leaf first (DER).
  [[nodiscard]] CertificateChain peer_certificates() const;
  // Returns our address on the connection's path: on an endpoint bound to a wildcard address
  // (0.0.0.0, ::), the address the peer sent to (accepted connections) or the source address the
  // routing table chose (dialed ones), never the wildcard.
  [[nodiscard]] asio::ip::udp::endpoint local_endpoint() const;
  [[nodiscard]] asio::ip::udp::endpoint remote_endpoint() const;
  // Returns the connection's statistics now; once it has closed, the final snapshot taken when
  // it closed (never zeros).
  [[nodiscard]] ConnectionStats stats() const;
  // Returns the value the endpoint's connection-context hook attached (accepted connections).
  [[nodiscard]] const std::any& user_value() const;
  // True for connections this side dialed.
  [[nodiscard]] bool is_client() const;

  friend bool operator==(const Connection& a, const Connection& b) noexcept;

 private:
  friend struct detail::Access;  // builds handles from internal state
  explicit Connection(std::shared_ptr<detail::ConnectionRef> ref);
  static void start_accept(const std::shared_ptr<detail::ConnectionRef>& ref, bool bidi,
                           detail::StreamCompletion c);
  static void start_open(const std::shared_ptr<detail::ConnectionRef>& ref, bool bidi,
                         detail::StreamCompletion c);
  static void start_receive_datagram(const std::shared_ptr<detail::ConnectionRef>& ref,
                                     detail::DatagramCompletion c);
  static void start_wait_closed(const std::shared_ptr<detail::ConnectionRef>& ref,
                                detail::ErrorCompletion c);

  std::shared_ptr<detail::ConnectionRef> ref_;
};

template <class CompletionToken>
auto Connection::initiate_stream(CompletionToken& token, StreamStarter starter, bool bidi) {
  return asio::async_initiate<CompletionToken, void(std::error_code, Stream)>(
      [](auto handler, const std::shared_ptr<detail::ConnectionRef>& ref, StreamStarter start,
         bool bidi_stream, executor_type ex) {
        start(ref, bidi_stream, detail::StreamCompletion(std::move(handler), ex));
      },
      token, ref_, starter, bidi, get_executor());
}

inline asio::awaitable<Result<Stream>> Connection::accept_stream() {
  auto [ec, s] = co_await async_accept_stream(asio::experimental::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return fail(ec);
  }
  co_return std::move(s);
}

inline asio::awaitable<Result<Stream>> Connection::open_stream() {
  auto [ec, s] = co_await async_open_stream(asio::experimental::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return fail(ec);
  }
  co_return std::move(s);
}

}  // namespace quicreuse
