// core::Connection: one QUIC connection (ngtcp2_conn + GnuTLS session), sans-IO.
//
// The endpoint feeds it packets (receive) and timer expiries (handle_expiry) and pulls packets out
// (write). The application side (streams, datagrams, close) is a set of non-blocking calls; what
// changed is reported as ConnectionEvents that the driver turns into completions. Time is always
// passed in. The connection never calls back into ngtcp2 from inside an ngtcp2 callback: callbacks
// only record state, and work that needs the write APIs happens in write().
#pragma once

#include "core/buffer_budget.hpp"
#include "core/chunked_buffer.hpp"
#include "core/cid_index.hpp"
#include "core/connection_id.hpp"
#include "core/datagram_queue.hpp"
#include "core/fifo.hpp"
#include "core/ngtcp2_conn.hpp"
#include "core/packet_protection.hpp"
#include "core/packet_writer.hpp"
#include "core/path_info.hpp"
#include "core/peer_frame_guard.hpp"
#include "core/post_handshake.hpp"
#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"
#include "core/tls_session.hpp"
#include "core/tokens.hpp"

#include <quicreuse/error.hpp>
#include <quicreuse/tls.hpp>
#include <quicreuse/transport_config.hpp>

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <any>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace quicreuse::core {

// QlogWriter receives one connection's qlog (JSON-SEQ) as ngtcp2 produces it.
class QlogWriter {
 public:
  QlogWriter() = default;
  QlogWriter(const QlogWriter&) = delete;
  QlogWriter& operator=(const QlogWriter&) = delete;
  QlogWriter(QlogWriter&&) = delete;
  QlogWriter& operator=(QlogWriter&&) = delete;
  virtual ~QlogWriter() = default;
  // Appends data; fin is true for the last call of the connection.
  virtual void write(std::span<const std::uint8_t> data, bool fin) = 0;
};

// QlogFactory makes the writer of a connection, named by its original DCID and role; nullptr
// disables qlog for that connection.
using QlogFactory = std::function<std::unique_ptr<QlogWriter>(const ConnectionId& odcid, Role)>;

// ConnectionHost is what a connection needs from its endpoint. Implemented by core::Endpoint.
class ConnectionHost {
 public:
  ConnectionHost() = default;
  ConnectionHost(const ConnectionHost&) = delete;
  ConnectionHost& operator=(const ConnectionHost&) = delete;
  ConnectionHost(ConnectionHost&&) = delete;
  ConnectionHost& operator=(ConnectionHost&&) = delete;
  virtual ~ConnectionHost() = default;

  // Routes packets for cid to handle; false when the cid is taken.
  virtual bool register_cid(ConnectionHandle handle, const ConnectionId& cid) = 0;
  virtual void unregister_cid(ConnectionHandle handle, const ConnectionId& cid) = 0;
  // Remembers a stateless-reset token the peer issued, to recognise its resets.
  virtual void register_reset_token(ConnectionHandle handle, const ResetToken& token) = 0;
  virtual void unregister_reset_token(ConnectionHandle handle, const ResetToken& token) = 0;
  // Says that the connection has something to write or new events.
  virtual void mark_dirty(ConnectionHandle handle) = 0;
  // Stores a NEW_TOKEN token received from the server at remote (client side).
  virtual void store_token(const SocketAddress& remote, std::vector<std::uint8_t> token) = 0;
  virtual Rng& rng() = 0;
  [[nodiscard]] virtual const StaticKey& reset_key() const = 0;
  [[nodiscard]] virtual const StaticKey& token_key() const = 0;
  [[nodiscard]] virtual std::size_t cid_length() const = 0;
  // Returns a scratch buffer for outgoing packets, shared by the endpoint's connections (its
  // contents are only valid during one write()).
  virtual std::vector<std::uint8_t>& tx_buffer() = 0;
  // Returns the most packets one write() may produce, which is also the largest GSO batch: what
  // the driver's socket sends in one call (at least 1).
  [[nodiscard]] virtual std::size_t max_packets_per_write() const = 0;
  // Returns the endpoint-wide budget for buffered stream data.
  virtual BufferBudget& buffer_budget() = 0;
};

// ConnectionEvent is a change the application may be waiting for.
struct ConnectionEvent {
  enum class Type {
    handshake_completed,
    stream_opened,      // the peer opened stream_id (bidi says which kind)
    stream_readable,    // data, FIN or a reset arrived on stream_id
    stream_writable,    // send buffer space, STOP_SENDING or stream end on stream_id
    streams_available,  // the peer raised our stream limit (bidi says which kind)
    datagram_received,
    closed,  // the connection is closed or closing; close_info() says why
  };
  Type type = Type::handshake_completed;
  std::int64_t stream_id = -1;
  bool bidi = true;
};

// StreamState is the library-side state of one stream.
struct StreamState {
  std::int64_t id = 0;
  // Send side.
  ChunkedBuffer send;      // unacknowledged bytes, from the acked offset to the written end
  std::uint64_t sent = 0;  // offset up to which bytes were handed to ngtcp2
  bool fin_requested = false;
  bool fin_sent = false;
  bool send_closed = false;  // reset locally, STOP_SENDING received, or no send side
  bool reset_locally = false;
  // The peer sent STOP_SENDING (ngtcp2 0.12 reports it only when a write is attempted; its code
  // becomes known when the stream closes).
  bool stopped_by_peer = false;
  std::optional<std::uint64_t> stop_sending_code;
  bool queued = false;   // in the send queue
  bool blocked = false;  // stream-level flow control blocked
  // Receive side.
  ChunkedBuffer recv;  // received, not yet read by the application
  bool fin_received = false;
  std::optional<std::uint64_t> reset_code;  // peer's RESET_STREAM code
  bool read_stopped = false;                // STOP_SENDING sent or no receive side
  // Lifetime.
  bool closed_by_transport = false;  // ngtcp2 freed the stream
  bool released = false;             // the application dropped its handle
  bool locally_opened = false;
};

// ConnectionStats is a snapshot of a connection's counters and estimates.
struct ConnectionStats {
  Duration smoothed_rtt{};
  Duration min_rtt{};
  Duration latest_rtt{};
  std::uint64_t congestion_window = 0;
  std::uint64_t bytes_in_flight = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t datagrams_dropped = 0;      // received datagrams dropped for a full queue
  std::uint64_t key_updates_initiated = 0;  // key updates we started (initiate_key_update)
  // ECN, counted here: ngtcp2 0.12 picks the marks and validates the path but exposes neither
  // its validation state nor the peer's counts.
  std::uint64_t ecn_ect0_sent = 0;              // datagrams sent marked ECT(0)
  std::array<std::uint64_t, 4> ecn_received{};  // datagrams received, by codepoint
  PeerFrameGuard::EcnCounts ecn_peer;           // highest counts in the peer's 1-RTT ACKs
  bool ecn_validated = false;                   // see Connection::stats()
};

// ConnectionParams are the inputs of a new connection, filled by the endpoint.
struct ConnectionParams {
  Role role = Role::client;
  ConnectionHandle handle = 0;
  TransportConfig transport;
  SocketAddress local;
  SocketAddress remote;
  ConnectionId dcid;                 // client: random initial DCID; server: client's SCID
  ConnectionId scid;                 // our first source connection ID
  ConnectionId original_dcid;        // server: the DCID of the client's first Initial
  ConnectionId client_initial_dcid;  // server: DCID of the Initial that created us (ODCID, or our
                                     // Retry SCID after a Retry); routed to us until handshake done
  std::optional<ConnectionId> retry_scid;  // server: our Retry SCID when the client was retried
  std::vector<std::uint8_t> token;         // client: token to send; server: token received
  std::uint32_t version = NGTCP2_PROTO_VER_V1;
  Timestamp now{};
  QlogFactory qlog;
  QuicTlsConfigurer configure_tls;  // empty: ngtcp2's (see QuicTlsConfigurer)
  std::shared_ptr<const ClientTlsContext> client_tls;
  std::shared_ptr<const TlsServerConfig> server_tls;
  std::any user_value;  // attached by the endpoint's connection-context hook
};

class Connection {
 public:
  enum class State { handshaking, established, closing, draining, closed };

  // Creates a connection; init() must succeed before use.
  Connection(ConnectionHost& host, ConnectionParams params);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&&) = delete;
  Connection& operator=(Connection&&) = delete;
  ~Connection();

  // Creates the ngtcp2 connection and the TLS session. Errors: ngtcp2/gnutls codes,
  // errc::tls_configuration.
  [[nodiscard]] Result<void> init();

  // ---- Packet path (called by the endpoint) ----
  // Processes one datagram received from remote; path.local, when set, is the address it was
  // sent to (else the connection's local address).
  void receive(Timestamp now, const SocketAddress& remote, std::span<const std::uint8_t> datagram,
               const PathInfo& path = {});
  // Writes every packet that may be sent now to sink.
  void write(Timestamp now, PacketSink& sink);
  // Returns when handle_expiry must be called next (Timestamp::max() when never).
  [[nodiscard]] Timestamp expiry() const;
  // Runs timers that are due at now.
  void handle_expiry(Timestamp now);
  // Ends the connection at once because its endpoint is going away: writes a CONNECTION_CLOSE
  // (application code 0) to sink if the handshake has progressed, then moves to closed.
  void abandon(Timestamp now, PacketSink& sink);

  // ---- Application side ----
  // Opens a stream. Errors: errc::stream_limit_reached (wait for streams_available),
  // errc::connection_closed or the close error.
  [[nodiscard]] Result<std::int64_t> open_stream(bool bidi);
  // Returns the next stream the peer opened, if any.
  std::optional<std::int64_t> accept_stream(bool bidi);
  // Queues data (and FIN when fin) on a stream; returns how many bytes were taken (0 when the
  // send buffer is full: wait for stream_writable). Errors: errc::stream_stopped,
  // errc::stream_closed, errc::wrong_stream_direction, connection errors.
  [[nodiscard]] Result<std::size_t> write_stream(std::int64_t id,
                                                 std::span<const std::uint8_t> data, bool fin);
  struct ReadResult {
    std::size_t bytes = 0;
    bool fin = false;  // the stream's data ended (after these bytes)
  };
  // Copies received data; {0, false} means nothing yet. Errors: errc::stream_reset,
  // errc::wrong_stream_direction, connection errors.
  // now drives flow-control auto-tuning.
  [[nodiscard]] Result<ReadResult> read_stream(std::int64_t id, std::span<std::uint8_t> out,
                                               Timestamp now);
  // Resets the send side with an application code (RESET_STREAM).
  [[nodiscard]] Result<void> reset_stream(std::int64_t id, std::uint64_t code);
  // Asks the peer to stop sending (STOP_SENDING) and discards unread data.
  [[nodiscard]] Result<void> stop_sending(std::int64_t id, std::uint64_t code);
  // Says the application dropped its handle: unread data is discarded (STOP_SENDING 0 if the
  // peer is still sending), and the state is freed once the transport is done with the stream.
  void release_stream(std::int64_t id);
  // Returns the stream's state, or nullptr if unknown.
  [[nodiscard]] const StreamState* stream(std::int64_t id) const;
  // Returns how many bytes write_stream would take now on stream s: the free space of its send
  // buffer, within what the connection's send budget has left.
  [[nodiscard]] std::size_t send_space(const StreamState& s) const;
  // Returns the stream bytes held for sending (unacknowledged or unsent) on every stream.
  [[nodiscard]] std::uint64_t buffered_send() const noexcept { return send_held_; }
  // Returns the received stream bytes the application has not read yet.
  [[nodiscard]] std::uint64_t buffered_receive() const noexcept { return recv_held_; }
  // Returns the guard that screens the peer's frames (counters for tests and statistics).
  [[nodiscard]] const PeerFrameGuard& frame_guard() const noexcept { return frame_guard_; }
  // Returns the connection-level receive window currently granted to the peer.
  [[nodiscard]] std::uint64_t receive_window() const noexcept { return connection_window_; }

  // Starts a QUIC key update (RFC 9001 6): packets use the next generation of keys from now on,
  // or, when RFC 9001 does not allow one yet (handshake not confirmed, previous update not yet
  // confirmed by the peer, or less than 3 PTO ago), from the first write that it does. Errors:
  // the close error once closed; errc::key_update_not_ready while an earlier request waits.
  Result<void> initiate_key_update(Timestamp now);

  // Queues an unreliable datagram (empty ones included: a DATAGRAM frame may carry no data).
  // Errors: errc::datagrams_disabled, errc::datagram_too_large, errc::queue_full, connection
  // errors.
  [[nodiscard]] Result<void> send_datagram(std::span<const std::uint8_t> data);
  // Returns the oldest received datagram, if any.
  std::optional<std::vector<std::uint8_t>> receive_datagram();

  // Closes with an application error code and reason; CONNECTION_CLOSE goes out on the next
  // write(), after data already queued. Idempotent.
  void close(std::uint64_t app_code, std::string_view reason);
  // Closes with a transport error code (e.g. CONNECTION_REFUSED). Idempotent.
  void close_transport(std::uint64_t code, std::string_view reason);

  // Moves out the events recorded since the last call.
  std::vector<ConnectionEvent> take_events();
  void set_window_increase_policy(std::function<bool(std::uint64_t delta)> allow) {
    allow_window_increase_ = std::move(allow);
  }

  // ---- Information ----
  [[nodiscard]] Role role() const noexcept { return params_.role; }
  [[nodiscard]] ConnectionHandle handle() const noexcept { return params_.handle; }
  [[nodiscard]] State state() const noexcept { return state_; }
  // True once closing, draining or closed: no application operation can succeed.
  [[nodiscard]] bool is_closed() const noexcept {
    return state_ >= State::closing || close_pending_;
  }
  // True when the endpoint may forget the connection.
  [[nodiscard]] bool terminated() const noexcept { return state_ == State::closed; }
  [[nodiscard]] bool handshake_completed() const noexcept { return handshake_completed_; }
  // True once the handshake is confirmed (RFC 9001 4.1.2): at completion on a server, when
  // HANDSHAKE_DONE arrives on a client.
  [[nodiscard]] bool is_confirmed() const noexcept { return confirmed_; }
  [[nodiscard]] const std::string& alpn() const noexcept { return alpn_; }
  // Returns the negotiated TLS cipher suite once the handshake completed.
  [[nodiscard]] std::optional<CipherSuite> cipher_suite() const noexcept { return cipher_suite_; }
  [[nodiscard]] const CertificateChain& peer_certificates() const noexcept {
    static const CertificateChain none;
    return peer_chain_ ? *peer_chain_ : none;
  }
  // The same chain, shared: the io layer keeps it after the core forgets the connection.
  [[nodiscard]] const std::shared_ptr<const CertificateChain>& shared_peer_certificates()
      const noexcept {
    return peer_chain_;
  }
  [[nodiscard]] const CloseInfo& close_info() const noexcept { return close_info_; }
  // Returns the error an application operation gets on a closed connection.
  [[nodiscard]] std::error_code close_error() const;
  [[nodiscard]] const SocketAddress& remote() const noexcept { return remote_; }
  // Returns our address on the connection's current path (the one packets are sent from).
  [[nodiscard]] const SocketAddress& local() const noexcept { return local_; }
  [[nodiscard]] const ConnectionId& original_dcid() const noexcept { return params_.original_dcid; }
  [[nodiscard]] Timestamp created() const noexcept { return params_.now; }
  [[nodiscard]] ConnectionStats stats() const;
  [[nodiscard]] std::any& user_value() noexcept { return params_.user_value; }
  [[nodiscard]] bool datagrams_negotiated() const;
  // Connection IDs we registered (for the endpoint's cleanup).
  [[nodiscard]] const std::vector<ConnectionId>& registered_cids() const noexcept { return cids_; }

  // ---- Callbacks from ngtcp2 and GnuTLS (internal) ----
  struct Callbacks;
  friend struct Callbacks;
  ngtcp2_conn* native() const noexcept { return conn_.get(); }
  // Called by the TLS layer with a parsed ClientHello (server side); returns 0 or a GnuTLS error.
  int on_client_hello(const ClientHelloInfo& info);
  // Called by the TLS layer to verify the peer chain; returns 0 to accept.
  int on_verify_peer();

 private:
  void emit(ConnectionEvent::Type type, std::int64_t id = -1, bool bidi = true);
  StreamState* find_stream(std::int64_t id);
  StreamState& create_stream(std::int64_t id, bool local);
  void schedule_send(StreamState& s);
  void maybe_erase_stream(std::int64_t id);
  void credit_connection(std::uint64_t bytes, Timestamp now);
  void release_send(std::uint64_t bytes);
  void release_receive(std::uint64_t bytes);
  void grant_stream_credit(bool bidi);
  // Sets the keep-alive to min(keep_alive_period, effective idle timeout / 2); the peer's idle
  // timeout (nanoseconds, 0 = unknown or none) is known once the handshake completes.
  void set_keep_alive(std::uint64_t peer_idle_timeout);
  void try_key_update(Timestamp now);
  void resume_after_budget();
  void discard_received(StreamState& s);
  void write_packets(Timestamp now, PacketSink& sink);
  [[nodiscard]] bool has_pending_send(const StreamState& s) const noexcept;
  void advance_stream(StreamState& s, std::size_t written, bool with_fin);
  // What close() and close_transport() share: records the close and queues CONNECTION_CLOSE
  // with an application or a transport error code (kind says which) for the next write().
  void request_close(CloseInfo::Kind kind, std::uint64_t code, std::string_view reason);
  void set_close_info(CloseInfo info);
  void enter_closed(CloseInfo info);
  void fail_with_liberr(int liberr);
  void handle_read_error(int rv, Timestamp now);
  void write_close(Timestamp now, PacketSink& sink);
  Result<void> check_open() const;
  bool is_local_stream(std::int64_t id) const noexcept;

  ConnectionHost& host_;
  ConnectionParams params_;
  SocketAddress remote_;
  SocketAddress local_;  // our address on the current path (params_.local until it changes)
  State state_ = State::handshaking;
  bool handshake_completed_ = false;
  std::string alpn_;
  std::shared_ptr<const CertificateChain> peer_chain_;  // null when the peer sent none
  CloseInfo close_info_;
  std::vector<ConnectionEvent> events_;
  std::vector<ConnectionId> cids_;  // our SCIDs registered with the host
  std::vector<ResetToken> peer_tokens_;

  std::unordered_map<std::int64_t, StreamState> streams_;
  Fifo<std::int64_t> send_queue_;
  Fifo<std::int64_t> incoming_bidi_;
  Fifo<std::int64_t> incoming_uni_;

  DatagramQueue datagrams_{params_.transport.datagram_send_queue,
                           params_.transport.datagram_receive_queue};
  TlsServerChoice server_choice_;  // keeps the chosen identity alive for the session

  // Closing.
  bool close_pending_ = false;
  bool close_is_error_ = false;  // a local error: do not write anything but the close
  bool closed_emitted_ = false;
  bool resend_close_due_ = false;
  bool new_token_due_ = false;
  std::string close_reason_;
  ngtcp2_connection_close_error pending_close_{};
  Timestamp close_linger_deadline_ = Timestamp::max();
  std::vector<std::uint8_t> close_packet_;
  std::uint32_t close_resends_ = 0;
  std::uint32_t packets_since_resend_ = 0;
  Timestamp drain_deadline_ = Timestamp::max();
  bool stateless_reset_received_ = false;

  // Connection-level flow-control auto-tuning, gated by allow_window_increase_ and the
  // endpoint's buffer budget.
  std::function<bool(std::uint64_t)> allow_window_increase_;
  std::uint64_t connection_window_ = 0;
  std::uint64_t window_growth_ = 0;  // beyond the initial window, charged to the budget

  // Memory bounds: bytes held on the send side (bounded by connection_send_buffer) and unread on
  // the receive side (bounded by the window); streams whose write was cut short by the
  // connection's send budget; peer stream credit deferred while the endpoint budget is exhausted.
  std::uint64_t send_held_ = 0;
  std::uint64_t recv_held_ = 0;
  std::vector<std::int64_t> send_budget_waiters_;
  std::uint64_t deferred_bidi_credit_ = 0;
  std::uint64_t deferred_uni_credit_ = 0;
  bool waiting_for_budget_ = false;
  std::uint64_t consumed_since_update_ = 0;
  Timestamp last_window_update_ = Timestamp::min();

  // Frames from the peer that ngtcp2 0.12 must not see (see PeerFrameGuard); transitioned_ is
  // set when a client makes ngtcp2's post-handshake transition (its first write after the TLS
  // handshake), which ngtcp2 reports by activating the first connection ID.
  PeerFrameGuard frame_guard_;
  bool transitioned_ = false;

  Timestamp last_receive_{};
  // Loss-detection timer expiries (probes) since the last packet received, before the handshake
  // completes; see kHandshakeProbes.
  std::uint32_t silent_probes_ = 0;
  bool duplicate_probe_ = false;  // the next write is a client's handshake probe: send it twice
  // Handshake confirmed (RFC 9001 4.1.2): at completion on a server, by HANDSHAKE_DONE on a
  // client, which waits for it until confirm_deadline_ (set when the handshake completes).
  bool confirmed_ = false;
  std::optional<CipherSuite> cipher_suite_;
  bool key_update_pending_ = false;  // initiate_key_update() waits for RFC 9001 to allow it
  std::uint64_t key_updates_initiated_ = 0;
  Timestamp confirm_deadline_ = Timestamp::max();
  Timestamp expiry_handled_ = Timestamp::min();  // the latest handle_expiry() time
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t bytes_received_ = 0;
  std::uint64_t packets_sent_ = 0;
  std::uint64_t packets_received_ = 0;
  std::uint64_t ecn_ect0_sent_ = 0;
  std::array<std::uint64_t, 4> ecn_received_{};

  // After the handshake (connection_release.cpp). recv_crypto_data is ngtcp2's recv_crypto_data:
  // GnuTLS reads the CRYPTO streams while the session lives, post_handshake_ alone afterwards.
  static int recv_crypto_data(ngtcp2_conn* conn, ngtcp2_crypto_level level, std::uint64_t offset,
                              const std::uint8_t* data, std::size_t len, void* ud) noexcept;
  // ngtcp2's handshake_confirmed, called on clients only (a server is confirmed when its
  // handshake completes).
  static int handshake_confirmed(ngtcp2_conn* conn, void* ud) noexcept;
  // Frees the GnuTLS session and what only the handshake used (TLS configuration references, the
  // token, the qlog factory). Runs once release_due_ is set, after ngtcp2_conn_read_pkt returns.
  void release_handshake_state() noexcept;
  bool release_due_ = false;
  PostHandshakeReader post_handshake_{params_.role == Role::client};

  // Short packet padding (connection_padding.cpp, short_packet_padding.hpp). True when the
  // packets of the next ngtcp2 write may be padded: the handshake is confirmed and, on a server,
  // ngtcp2's current path leads to the peer address last validated.
  [[nodiscard]] bool may_pad_short_packets() const noexcept;
  // Records ngtcp2's current peer address as validated (a server, when its handshake completes).
  void note_validated_path() noexcept;
  // ngtcp2's path_validation: a successful validation makes its peer address the validated one.
  static int path_validation(ngtcp2_conn* conn, std::uint32_t flags, const ngtcp2_path* path,
                             ngtcp2_path_validation_result res, void* ud) noexcept;
  SocketAddress validated_remote_;

  std::unique_ptr<QlogWriter> qlog_;
  ngtcp2_crypto_conn_ref conn_ref_{};
  TlsSessionPtr tls_;   // destroyed after conn_ (declared before it)
  Ngtcp2ConnPtr conn_;  // null until init() succeeds
};

}  // namespace quicreuse::core
