// Endpoint: one UDP socket that listens, dials and shares the port with non-QUIC traffic (the
// counterpart of quic-go's Transport).
#pragma once

#include <quicreuse/connection.hpp>
#include <quicreuse/detail/io_fwd.hpp>
#include <quicreuse/error.hpp>
#include <quicreuse/tls.hpp>
#include <quicreuse/transport_config.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/udp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/use_awaitable.hpp>

#include <any>
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace quicreuse {

// IncomingConnectionInfo is what the connection-context hook knows of a new connection.
struct IncomingConnectionInfo {
  asio::ip::udp::endpoint remote;
  bool address_validated = false;  // the client proved its address (Retry or NEW_TOKEN token)
};

// EndpointConfig configures an Endpoint. Every field has a usable default.
struct EndpointConfig {
  using Key = std::array<std::uint8_t, 32>;
  // Stateless-reset key: an endpoint restarted with the same key can reset its old peers'
  // connections. Default: random per endpoint.
  std::optional<Key> stateless_reset_key;
  // Key protecting Retry and NEW_TOKEN tokens. Default: random per endpoint.
  std::optional<Key> token_key;
  TransportConfig transport;
  // Length of our connection IDs (4..20): one length for every connection of the socket.
  std::size_t connection_id_length = 16;
  // qlog directory; files are <original DCID hex>_<client|server>.sqlog (then -2, -3... up to 16
  // connections with the same original DCID). Default: $QLOGDIR when set, else no qlog.
  std::optional<std::filesystem::path> qlog_dir;
  std::size_t max_connections = 10'000;
  // Memory bound across all connections of the endpoint: stream data held in send buffers plus
  // the growth of flow-control windows beyond their initial size (a window is memory the peer
  // may fill). While it is used up, windows stop growing and peers get no credit for new streams
  // until data drains; writes are never refused for it (TransportConfig::connection_send_buffer
  // bounds them per connection). With the defaults, a peer can make the endpoint hold about
  // max_connection_window + connection_send_buffer (19 MiB) at most.
  std::uint64_t max_buffered_stream_data = std::uint64_t{64} * 1024 * 1024;
  // Handshaken connections waiting for async_accept; while this many wait, new connection
  // attempts are refused (CONNECTION_REFUSED). Handshakes already under way still complete.
  std::size_t accept_queue = 32;
  // Server handshakes under way whose clients have not proved their addresses (each holds most
  // of a connection's memory). Past this many, new clients must do a Retry round trip first,
  // which costs the endpoint no state; clients that did are refused (CONNECTION_REFUSED) past
  // twice this many handshakes.
  std::size_t max_half_open_connections = 256;
  // After many connections went away (64 or more), give free heap memory back to the system at
  // most once a second (glibc's malloc_trim, which covers the whole process), so that RSS falls
  // after a burst or a flood.
  bool release_memory_after_bursts = true;
  // Non-QUIC datagrams waiting for async_read_non_quic_packet; more are dropped (counted).
  std::size_t non_quic_queue = 32;
  // Returns true when a client that has not proved its address must do a Retry first.
  std::function<bool(const asio::ip::udp::endpoint& remote)> verify_source_address;
  // Runs for each new incoming connection: an error refuses it (the peer sees
  // CONNECTION_REFUSED); a value is attached (Connection::user_value()).
  std::function<Result<std::any>(const IncomingConnectionInfo& info)> connection_context;
  // Socket buffer sizes requested with SO_RCVBUF / SO_SNDBUF (0: leave the system default).
  int receive_buffer_size = 4 * 1024 * 1024;
  int send_buffer_size = 4 * 1024 * 1024;
  // Packets kept while the socket is write-blocked (its send buffer full: EAGAIN, or ENOBUFS),
  // in bytes. They go out in order once the socket is writable, and connections write nothing
  // new meanwhile; packets beyond this bound are dropped (EndpointStats::send_queue_dropped).
  std::size_t send_queue_bytes = std::size_t{1024} * 1024;
};

// ListenOptions are per-listener settings.
struct ListenOptions {
  // Asked before a connection's flow-control window grows by delta bytes, with the connection's
  // ALPN; false keeps the window at its current size. Absent: always allow (decision D3).
  // remote is the connection's peer address.
  std::function<bool(std::string_view alpn, const asio::ip::udp::endpoint& remote,
                     std::uint64_t delta)>
      allow_window_increase;
  // Push-style accept. When set, connections whose handshakes completed are handed to on_ready
  // as soon as they are ready, all those that became ready together in one call, on the
  // endpoint's executor and before the endpoint reads more datagrams; async_accept is then not
  // available (it completes with errc::invalid_argument). An application that accepts this way
  // never makes the endpoint refuse connections for a full accept queue. on_ready must not block;
  // it may keep, hand on or close the connections.
  std::function<void(std::vector<Connection> ready)> on_ready;
  // With on_ready: called once (posted to the executor) when listening ends, with
  // errc::listener_closed after stop_listening() or errc::endpoint_closed when the endpoint closes.
  std::function<void(std::error_code reason)> on_stopped;
};

// DialOptions are per-dial settings.
struct DialOptions {
  // As ListenOptions::allow_window_increase, for this connection: asked with the negotiated
  // ALPN (never an offered one) before the window grows by delta. Absent: always allow.
  std::function<bool(std::string_view alpn, std::uint64_t delta)> allow_window_increase;
};

// EndpointStats are an endpoint's counters since it was created.
struct EndpointStats {
  std::uint64_t datagrams_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t send_errors = 0;  // datagrams the socket refused (unreachable, too large)
  // Times a send found the socket write-blocked and the endpoint waited for it to be writable.
  std::uint64_t write_blocked = 0;
  // Datagrams dropped while write-blocked because EndpointConfig::send_queue_bytes was reached.
  std::uint64_t send_queue_dropped = 0;
  std::uint64_t non_quic_received = 0;
  std::uint64_t non_quic_delivered = 0;  // handed to async_read_non_quic_packet
  std::uint64_t non_quic_dropped = 0;    // queue full or nobody reading yet
  std::uint64_t version_negotiations_sent = 0;
  std::uint64_t retries_sent = 0;
  std::uint64_t retries_for_half_open = 0;  // of which: max_half_open_connections was reached
  std::uint64_t connections_half_open = 0;  // server handshakes under way now
  std::uint64_t half_open_peak = 0;         // the most at once since the endpoint was created
  std::uint64_t memory_releases = 0;        // times free heap memory was given back
  std::uint64_t stateless_resets_sent = 0;
  std::uint64_t stateless_resets_received = 0;
  std::uint64_t connections_incoming = 0;  // connection attempts that created state
  std::uint64_t connections_accepted = 0;  // handshakes completed as a server
  std::uint64_t connections_dialed = 0;
  std::uint64_t connections_refused = 0;
  std::uint64_t connections_closed = 0;
  std::uint64_t connections_open = 0;
  // Stream data held now: queued or unacknowledged on the send side, unread on the receive side.
  std::uint64_t buffered_send_bytes = 0;
  std::uint64_t buffered_receive_bytes = 0;
  // Flow-control window growth beyond the initial windows, charged to max_buffered_stream_data.
  std::uint64_t window_growth_bytes = 0;
  std::uint64_t window_increases_refused = 0;  // refused because the budget was used up
  std::uint64_t stream_credits_deferred = 0;   // peer stream credit held back for the budget
  std::uint64_t quic_dropped = 0;  // QUIC-looking datagrams dropped (sum of dropped_by_reason)
  // (reason, count) pairs for dropped datagrams: "empty", "unknown_connection", ...
  std::vector<std::pair<std::string, std::uint64_t>> dropped_by_reason;
  // Closed connections by direction ("outgoing" = dialed, "incoming" = accepted) and reason
  // ("transport", "application", "idle_timeout", "handshake_timeout", "stateless_reset",
  // "endpoint_closed", "internal").
  struct ClosedCount {
    std::string direction;
    std::string reason;
    std::uint64_t count = 0;
  };
  std::vector<ClosedCount> connections_closed_by_reason;
  // A histogram of handshake durations (seconds): counts per bucket (upper bounds in `bounds`,
  // plus a last +Inf bucket), their sum and count.
  struct Histogram {
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;
    double sum = 0;
    std::uint64_t count = 0;
  };
  Histogram handshake_outgoing;
  Histogram handshake_incoming;
};

// Endpoint owns one UDP socket and every QUIC connection on it.
//
// It can listen once, dial any number of times, and exchange raw datagrams with other users of
// the port (STUN, DTLS). Datagrams are routed by destination connection ID first; only what
// matches no connection and is not a new QUIC connection is offered to the non-QUIC reader
// (decision D12).
//
// Threading: an Endpoint and its connections and streams are confined to the executor given at
// creation (use a strand if the io_context runs on several threads); call them from that
// executor only, like Asio's own I/O objects. Lifetime: destroying the Endpoint closes it.
class Endpoint {
 public:
  using executor_type = asio::any_io_executor;

  // Binds a UDP socket to local (IPv6 sockets are v6-only) and starts receiving.
  // Errors: the bind's system error (e.g. std::errc::address_in_use), errc::invalid_argument
  // (a config value out of range: connection ID length outside 4..20, no connections allowed,
  // transport windows of 2^62 or more, stream limits above 2^60, timeouts negative or over a
  // year, empty send buffers).
  static Result<Endpoint> bind(const executor_type& executor, const asio::ip::udp::endpoint& local,
                               EndpointConfig config = {});
  // Takes an open, bound socket and starts receiving on it. Errors: errc::invalid_argument when
  // the socket is not open or not bound.
  static Result<Endpoint> adopt(asio::ip::udp::socket socket, EndpointConfig config = {});

  Endpoint() = default;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
  Endpoint(Endpoint&&) noexcept = default;
  Endpoint& operator=(Endpoint&&) noexcept;
  ~Endpoint();

  [[nodiscard]] executor_type get_executor() const;
  [[nodiscard]] explicit operator bool() const noexcept { return state_ != nullptr; }

  // Starts accepting connections (at most once per endpoint). tls chooses identity and ALPNs per
  // connection. Errors: errc::already_listening, errc::invalid_argument (no identity or ALPN and
  // no select hook), errc::endpoint_closed.
  Result<void> listen(TlsServerConfig tls, ListenOptions options = {});
  // Stops accepting new connections; established ones continue. Handshakes still under way are
  // refused (the peer sees CONNECTION_REFUSED), so that none completes with no listener or is
  // taken by a later listen(). Idempotent.
  void stop_listening();
  // Accepts the next connection whose handshake completed. Completes with (error, Connection).
  // Every pending accept is served as connections become ready (keep several pending to take a
  // burst in one turn). Errors: errc::not_listening, errc::endpoint_closed,
  // errc::invalid_argument (the listener hands connections to ListenOptions::on_ready). Supports
  // per-operation cancellation.
  template <class CompletionToken>
  auto async_accept(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, Connection)>(
        [](auto handler, const std::shared_ptr<detail::EndpointState>& s, executor_type ex) {
          start_accept(s, detail::ConnectionCompletion(std::move(handler), ex));
        },
        token, state_, get_executor());
  }

  // Dials remote from this endpoint's socket; completes when the handshake is done.
  // Errors: errc::invalid_argument (no ALPN), errc::address_family_mismatch, TLS configuration
  // errors, the handshake's failure (e.g. transport CRYPTO_ERROR 0x178 for no common ALPN,
  // errc::handshake_timeout, errc::version_negotiation), errc::endpoint_closed. Cancelling it
  // abandons the connection.
  template <class CompletionToken>
  auto async_dial(const asio::ip::udp::endpoint& remote, TlsClientConfig tls, DialOptions options,
                  CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, Connection)>(
        [](auto handler, const std::shared_ptr<detail::EndpointState>& s,
           const asio::ip::udp::endpoint& to, const TlsClientConfig& config, DialOptions opts,
           executor_type ex) {
          start_dial(s, to, config, std::move(opts),
                     detail::ConnectionCompletion(std::move(handler), ex));
        },
        token, state_, remote, std::move(tls), std::move(options), get_executor());
  }
  template <class CompletionToken>
  auto async_dial(const asio::ip::udp::endpoint& remote, TlsClientConfig tls,
                  CompletionToken&& token) {
    return async_dial(remote, std::move(tls), DialOptions{}, std::forward<CompletionToken>(token));
  }

  // Takes a connection whose handshake already completed, without waiting; empty when none is
  // ready (or the endpoint does not listen, or uses ListenOptions::on_ready). Use it after each
  // accept to take a burst in one turn: `while (auto c = ep.try_accept())`.
  std::optional<Connection> try_accept();

  // Coroutine forms: co_await ep.accept() / ep.dial(...) -> Result<Connection>.
  asio::awaitable<Result<Connection>> accept();
  asio::awaitable<Result<Connection>> dial(asio::ip::udp::endpoint remote, TlsClientConfig tls,
                                           DialOptions options = {});

  // Reads the next non-QUIC datagram (STUN, DTLS, anything that is not ours) into buffer.
  // Completes with (error, bytes copied, sender); a datagram longer than buffer is truncated.
  // Datagrams arriving before the first read are dropped; later ones wait in a bounded queue.
  // Errors: errc::endpoint_closed. Supports per-operation cancellation.
  template <class CompletionToken>
  auto async_read_non_quic_packet(asio::mutable_buffer buffer, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken,
                                void(std::error_code, std::size_t, asio::ip::udp::endpoint)>(
        [](auto handler, const std::shared_ptr<detail::EndpointState>& s, asio::mutable_buffer b,
           executor_type ex) {
          start_read_non_quic(s, b, detail::PacketCompletion(std::move(handler), ex));
        },
        token, state_, buffer, get_executor());
  }

  // Sends one raw datagram from the endpoint's socket, bypassing QUIC (hole punching, STUN
  // answers). Errors: errc::endpoint_closed, the socket's error.
  Result<std::size_t> write_to(std::span<const std::uint8_t> datagram,
                               const asio::ip::udp::endpoint& remote);

  // Returns the socket's bound address (with the real port when bound to port 0).
  [[nodiscard]] asio::ip::udp::endpoint local_endpoint() const;
  [[nodiscard]] bool is_open() const noexcept;
  [[nodiscard]] bool is_listening() const noexcept;
  [[nodiscard]] EndpointStats stats() const;
  // Returns the number of connections the endpoint holds (including closing ones).
  [[nodiscard]] std::size_t connection_count() const;

  // Closes every connection (CONNECTION_CLOSE, application code 0), completes pending operations
  // with errc::endpoint_closed and closes the socket. Idempotent.
  void close();

 private:
  explicit Endpoint(std::shared_ptr<detail::EndpointState> state) : state_(std::move(state)) {}
  static void start_accept(const std::shared_ptr<detail::EndpointState>& s,
                           detail::ConnectionCompletion c);
  static void start_dial(const std::shared_ptr<detail::EndpointState>& s,
                         const asio::ip::udp::endpoint& remote, const TlsClientConfig& tls,
                         DialOptions options, detail::ConnectionCompletion c);
  static void start_read_non_quic(const std::shared_ptr<detail::EndpointState>& s,
                                  asio::mutable_buffer b, detail::PacketCompletion c);

  std::shared_ptr<detail::EndpointState> state_;
};

inline asio::awaitable<Result<Connection>> Endpoint::accept() {
  auto [ec, c] = co_await async_accept(asio::experimental::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return fail(ec);
  }
  co_return std::move(c);
}

inline asio::awaitable<Result<Connection>> Endpoint::dial(asio::ip::udp::endpoint remote,
                                                          TlsClientConfig tls,
                                                          DialOptions options) {
  auto [ec, c] = co_await async_dial(remote, std::move(tls), std::move(options),
                                     asio::experimental::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return fail(ec);
  }
  co_return std::move(c);
}

}  // namespace quicreuse
