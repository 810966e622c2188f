// core::Endpoint: the sans-IO QUIC endpoint of one UDP socket (the counterpart of quic-go's
// Transport): one connection-ID table for accepted and dialed connections alike, new-connection
// handling (Retry, Version Negotiation, refusal), stateless resets, and the non-QUIC decision.
//
// The driver (io::Endpoint in production, the simulator in tests) feeds it datagrams and timer
// expiries with explicit timestamps and gives it a PacketSink for output. Nothing here reads a
// clock, touches a socket or includes Asio.
#pragma once

#include "core/cid_index.hpp"
#include "core/connection.hpp"
#include "core/datagram_classifier.hpp"
#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"
#include "core/token_bucket.hpp"
#include "core/tokens.hpp"
#include "core/turn_queue.hpp"

#include <quicreuse/error.hpp>
#include <quicreuse/tls.hpp>
#include <quicreuse/transport_config.hpp>

#include <any>
#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace quicreuse::core {

// DropReason says why a received datagram was discarded.
enum class DropReason {
  empty,
  malformed_long_header,
  unknown_connection,   // long header for no connection, not a new-connection Initial
  not_listening,        // an Initial while not listening
  unsupported_version,  // too small to deserve a Version Negotiation packet
  invalid_initial,      // ngtcp2_accept refused it (too short, bad header)
  too_many_connections,
  accept_queue_full,   // the application is not accepting: new Initials are refused
  invalid_token,       // a Retry token we cannot verify (answered with INVALID_TOKEN)
  reset_rate_limited,  // stateless reset not sent: rate limit
  reset_too_small,     // stateless reset not sent: the packet was too small
  connection_init_failed,
  invalid_address,        // the sender's address family is not the socket's (IPv4 or IPv6)
  too_many_half_open,     // a validated Initial while twice max_half_open handshakes are under way
  undecryptable_initial,  // a new-connection Initial of which nothing decrypted (corrupt, forged)
  damaged_version,        // a version one byte away from v1: a damaged v1 packet, not answered
  count,                  // number of reasons
};
std::string_view to_string(DropReason reason) noexcept;

// DatagramOutcome says what handle_datagram did with a datagram.
enum class DatagramOutcome {
  routed,    // given to an existing connection
  accepted,  // created a new server connection
  non_quic,  // not QUIC: the driver hands it to the non-QUIC reader
  version_negotiation_sent,
  retry_sent,
  stateless_reset_sent,
  refused,  // CONNECTION_CLOSE sent without creating a connection
  dropped,  // see the drop counters
};

// kCloseKinds is the number of CloseInfo::Kind values.
inline constexpr std::size_t kCloseKinds = 8;
// Handshake-duration histogram bucket upper bounds, in seconds.
inline constexpr std::array<double, 12> kHandshakeBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0};

// EndpointStats are the endpoint's counters (monotonic).
struct EndpointStats {
  std::uint64_t datagrams_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t datagrams_sent = 0;  // counted by the driver's sink if it wants; see io layer
  std::uint64_t non_quic_received = 0;
  std::uint64_t version_negotiations_sent = 0;
  std::uint64_t retries_sent = 0;
  std::uint64_t retries_for_half_open = 0;  // of which forced by max_half_open
  std::uint64_t half_open_peak = 0;         // most server handshakes under way at once
  std::uint64_t stateless_resets_sent = 0;
  std::uint64_t stateless_resets_received = 0;
  std::uint64_t connections_incoming = 0;  // server connections created from an Initial
  std::uint64_t connections_accepted = 0;  // server connections whose handshake completed
  std::uint64_t connections_dialed = 0;
  std::uint64_t connections_refused = 0;  // hook refusals, full tables, full accept queue
  std::uint64_t connections_closed = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(DropReason::count)> dropped{};
  // Closed connections by role (0 client, 1 server) and by CloseInfo::Kind.
  std::array<std::array<std::uint64_t, kCloseKinds>, 2> closed_by_kind{};
  // Handshake durations by role: counts per bucket of kHandshakeBuckets (upper bounds, seconds;
  // a last implicit +Inf bucket), their sum and count.
  std::array<std::array<std::uint64_t, kHandshakeBuckets.size() + 1>, 2> handshake_buckets{};
  std::array<double, 2> handshake_seconds{};
  std::array<std::uint64_t, 2> handshakes{};
};

// EndpointConfig configures a core endpoint.
struct EndpointConfig {
  StaticKey reset_key{};  // stateless-reset key (32 bytes)
  StaticKey token_key{};  // Retry / NEW_TOKEN key (32 bytes)
  TransportConfig transport;
  std::size_t cid_length = 16;  // our SCID length, for every connection (D13); 4..20
  std::size_t max_connections = 10'000;
  // Most packets one connection's write produces, and the largest batch handed to the
  // PacketSink at once: the driver sets it to what its socket sends in one call (Linux GSO: 64
  // segments). 0 counts as 1.
  std::size_t max_packets_per_write = 64;
  // Endpoint-wide budget for stream data held in send buffers plus window growth beyond the
  // initial windows (see BufferBudget).
  std::uint64_t max_buffered_stream_data = std::uint64_t{64} * 1024 * 1024;
  // Handshaken server connections not yet accepted; while this many have waited since the
  // application last had its turn (Endpoint::application_turn), new Initials are refused with
  // CONNECTION_REFUSED.
  std::size_t accept_queue = 32;
  // Server handshakes under way whose client has not proved its address; past this many, new
  // clients get a Retry first (validated ones are refused past twice this).
  std::size_t max_half_open = 256;
  Duration retry_token_lifetime = std::chrono::seconds(10);
  Duration new_token_lifetime = std::chrono::hours(24);
  double stateless_resets_per_second = 100;
  double stateless_reset_burst = 20;
  QlogFactory qlog;
  // Wires each connection's TLS session to ngtcp2; empty (the default) is ngtcp2's own wiring.
  // A test seam for peers that break the TLS rules.
  QuicTlsConfigurer configure_tls;
  // Returns true when a client without a validated token must do a Retry round trip first.
  std::function<bool(const SocketAddress& remote)> verify_source_address;
  // Runs for every new incoming connection; an error refuses it (the peer sees
  // CONNECTION_REFUSED), a value is attached to the connection (Connection::user_value).
  std::function<Result<std::any>(const SocketAddress& remote, bool address_validated)>
      connection_context;
};

// EndpointObserver receives what happens to connections during flush(). Called on the
// endpoint's thread; implementations may call Connection methods (they only mark dirty).
class EndpointObserver {
 public:
  EndpointObserver() = default;
  EndpointObserver(const EndpointObserver&) = delete;
  EndpointObserver& operator=(const EndpointObserver&) = delete;
  EndpointObserver(EndpointObserver&&) = delete;
  EndpointObserver& operator=(EndpointObserver&&) = delete;
  virtual ~EndpointObserver() = default;
  virtual void on_events(Connection& conn, std::span<const ConnectionEvent> events) = 0;
  // A server connection finished its handshake and waits in the accept queue.
  virtual void on_incoming() = 0;
  // The connection is gone (after closing/draining); its handle is invalid from now on.
  virtual void on_removed(ConnectionHandle handle) = 0;
};

class Endpoint final : public ConnectionHost {
 public:
  // Creates an endpoint for a socket bound to local. rng must outlive the endpoint.
  Endpoint(EndpointConfig config, Rng& rng, SocketAddress local);
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
  Endpoint(Endpoint&&) = delete;
  Endpoint& operator=(Endpoint&&) = delete;
  ~Endpoint() override;

  // Starts accepting connections with this TLS configuration. Errors: errc::already_listening,
  // errc::invalid_argument (no identity, no ALPN and no select hook).
  // allow_window_increase, when set, gates the flow-control window growth of every accepted
  // connection (decision D3: absent means allow).
  [[nodiscard]] Result<void> listen(
      std::shared_ptr<const TlsServerConfig> tls,
      std::function<bool(const Connection&, std::uint64_t delta)> allow_window_increase = {});
  // Stops accepting new connections. Established ones continue; handshakes still under way are
  // closed with CONNECTION_REFUSED (they belonged to this listener: as quic-go, never let them
  // complete with no owner or be taken by a later listen()). Their CONNECTION_CLOSE goes out on
  // the next flush(). Idempotent.
  void stop_listening();
  [[nodiscard]] bool listening() const noexcept { return server_tls_ != nullptr; }

  // Starts a client connection to remote; its first packets go out on the next flush(). local is
  // the source address to use on a socket bound to a wildcard address (empty: the socket's).
  // Errors: errc::address_family_mismatch, errc::queue_full (too many connections), TLS and
  // ngtcp2 errors.
  [[nodiscard]] Result<ConnectionHandle> connect(Timestamp now, const SocketAddress& remote,
                                                 std::shared_ptr<const ClientTlsContext> tls,
                                                 const SocketAddress& local = {});

  // Processes one received datagram; path.local, when set, is the address it was sent to (on a
  // wildcard socket), which becomes a new connection's local address and the source of answers.
  // Responses that need no connection (Version Negotiation, Retry, stateless reset, refusal) are
  // written to sink at once.
  DatagramOutcome handle_datagram(Timestamp now, const SocketAddress& remote,
                                  std::span<const std::uint8_t> datagram, PacketSink& sink,
                                  const PathInfo& path = {});

  // Writes what every dirty connection has to send, reports events to observer, and removes
  // connections that are gone. Call after handle_datagram, handle_expiry and application calls.
  void flush(Timestamp now, PacketSink& sink, EndpointObserver& observer);

  // Returns when handle_expiry should run next (Timestamp::max() when never).
  [[nodiscard]] Timestamp next_expiry();
  // Runs the timers of connections due at now (then call flush).
  void handle_expiry(Timestamp now);

  // Returns the next handshaken server connection, if any.
  std::optional<ConnectionHandle> accept();
  // Says that the application has had a turn to accept since the connections now in the accept
  // queue became ready: from now on they count against EndpointConfig::accept_queue. A driver
  // calls it once the application has run after a flush (the io layer: a handler posted behind
  // the accept completions; the simulator: after each step).
  void application_turn();
  [[nodiscard]] std::size_t accept_backlog() const noexcept { return accept_queue_.size(); }
  // Returns the connection for handle, or nullptr when it is gone.
  [[nodiscard]] Connection* find(ConnectionHandle handle) noexcept;
  [[nodiscard]] std::size_t connection_count() const noexcept { return connections_.size(); }
  [[nodiscard]] std::size_t half_open_count() const noexcept { return half_open_.size(); }

  // Closes every connection (CONNECTION_CLOSE, application code 0) and stops listening; each
  // connection gets a closed event and is removed. Idempotent.
  void close_all(Timestamp now, PacketSink& sink, EndpointObserver& observer);

  [[nodiscard]] const EndpointStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const SocketAddress& local() const noexcept { return local_; }
  [[nodiscard]] const EndpointConfig& config() const noexcept { return config_; }

  // ConnectionHost
  bool register_cid(ConnectionHandle handle, const ConnectionId& cid) override;
  void unregister_cid(ConnectionHandle handle, const ConnectionId& cid) override;
  void register_reset_token(ConnectionHandle handle, const ResetToken& token) override;
  void unregister_reset_token(ConnectionHandle handle, const ResetToken& token) override;
  void mark_dirty(ConnectionHandle handle) override;
  void store_token(const SocketAddress& remote, std::vector<std::uint8_t> token) override;
  Rng& rng() override { return rng_; }
  const StaticKey& reset_key() const override { return config_.reset_key; }
  const StaticKey& token_key() const override { return config_.token_key; }
  std::size_t cid_length() const override { return config_.cid_length; }
  std::vector<std::uint8_t>& tx_buffer() override { return tx_buffer_; }
  std::size_t max_packets_per_write() const override { return config_.max_packets_per_write; }
  BufferBudget& buffer_budget() override { return budget_; }

 private:
  DatagramOutcome drop(DropReason reason) noexcept;
  DatagramOutcome route(ConnectionHandle handle, Timestamp now, const SocketAddress& remote,
                        std::span<const std::uint8_t> datagram, const PathInfo& path);
  DatagramOutcome accept_initial(Timestamp now, const SocketAddress& remote,
                                 std::span<const std::uint8_t> datagram, PacketSink& sink,
                                 const PathInfo& path);
  DatagramOutcome send_version_negotiation(const DatagramInfo& info, const SocketAddress& remote,
                                           PacketSink& sink, const PathInfo& path);
  DatagramOutcome send_stateless_reset(Timestamp now, const DatagramInfo& info,
                                       const SocketAddress& remote, std::size_t size,
                                       PacketSink& sink, const PathInfo& path);
  DatagramOutcome refuse(const ngtcp2_pkt_hd& hd, const SocketAddress& remote, std::uint64_t code,
                         PacketSink& sink, const PathInfo& path);
  ConnectionId new_cid();
  void schedule_timer(Connection& conn);
  void forget_half_open(ConnectionHandle handle);
  void remove(ConnectionHandle handle, EndpointObserver& observer);
  void record_handshake(const Connection& conn, Timestamp now);

  struct AddressHash {
    std::size_t operator()(const SocketAddress& a) const noexcept { return a.hash(); }
  };
  struct TimerEntry {
    Timestamp when;
    ConnectionHandle handle = 0;
    bool operator>(const TimerEntry& o) const noexcept { return when > o.when; }
  };

  EndpointConfig config_;
  Rng& rng_;
  SocketAddress local_;
  CidIndex index_;
  std::shared_ptr<const TlsServerConfig> server_tls_;
  std::function<bool(const Connection&, std::uint64_t)> window_policy_;
  std::unordered_map<ConnectionHandle, std::unique_ptr<Connection>> connections_;
  ConnectionHandle next_handle_ = 1;
  std::vector<ConnectionHandle> dirty_;
  std::unordered_set<ConnectionHandle> dirty_set_;
  // Handshaken server connections not yet accepted; only those that were already there at the
  // last application_turn() (the application had its chance to take them) make new Initials be
  // refused.
  TurnQueue<ConnectionHandle> accept_queue_;
  // Server connections whose handshake is under way, and whether their address was validated.
  std::unordered_map<ConnectionHandle, bool> half_open_;
  std::size_t unvalidated_half_open_ = 0;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  std::unordered_map<ConnectionHandle, Timestamp> armed_;  // the live timer of each connection
  std::unordered_map<SocketAddress, std::vector<std::uint8_t>, AddressHash> tokens_;
  std::deque<SocketAddress> token_order_;
  std::vector<std::uint8_t> tx_buffer_;
  // Stateless responses (resets, Version Negotiation) share one rate limit.
  TokenBucket reset_limiter_;
  BufferBudget budget_;  // outlives connections_ (cleared first in the destructor)
  EndpointStats stats_;
};

}  // namespace quicreuse::core
