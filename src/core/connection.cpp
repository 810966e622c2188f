#include "core/connection.hpp"

#include "core/cipher_suites.hpp"
#include "core/ngtcp2_memory.hpp"
#include "core/short_packet_padding.hpp"
#include "core/transport_limits.hpp"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace quicreuse::core {
namespace {

// Most packets one write() call produces (also the GSO batch limit of Linux).
constexpr std::size_t kMaxPacketsPerWrite = 64;
// A DATAGRAM frame has at most 1 type byte + an 8-byte length; the packet adds at most a
// 1+20+4 byte short header and a 16-byte AEAD tag.
constexpr std::size_t kDatagramOverhead = 1 + 8 + 1 + 20 + 4 + 16;
// Packets in a row a queued datagram may fail to fit before it is dropped.
constexpr std::uint32_t kDatagramAttempts = 3;
// Before the handshake completes, silence ends it only once this many probes (PTO
// retransmissions of our flight) went unanswered: a lossy path gets that many more chances, as
// many as a 100 ms initial RTT's backoff fits into the whole-handshake limit (0.3 + 0.6 + 1.2 +
// 2.4 + 4.8 s), instead of the three sends that fit into the silence alone.
constexpr std::uint32_t kHandshakeProbes = 3;
// Our advertised max_datagram_frame_size (RFC 9221).
constexpr std::uint64_t kMaxDatagramFrameSize = 65535;
// Closing: resend CONNECTION_CLOSE at most this often in reply to incoming packets.
constexpr std::uint32_t kMaxCloseResends = 16;
// Datagrams ngtcp2 0.12 marks ECT(0) while it tests a path for ECN
// (NGTCP2_ECN_MAX_NUM_VALIDATION_PKTS, in its private ngtcp2_conn.h).
constexpr std::uint64_t kEcnTestDatagrams = 10;
// Longest CONNECTION_CLOSE reason phrase we send (a packet must hold it).
constexpr std::size_t kMaxCloseReason = 512;
// ngtcp2's window auto-tuning rule: grow when a window's worth was consumed within 2 RTTs.
constexpr std::uint64_t kWindowRttFactor = 2;

bool is_bidi(std::int64_t id) noexcept {
  return (id & 0x2) == 0;
}
bool is_client_initiated(std::int64_t id) noexcept {
  return (id & 0x1) == 0;
}

// The connection whose packets ngtcp2_conn_read_pkt is processing on this thread: ngtcp2's
// decrypt callback has no user data, and the frame guard runs there (see Callbacks::decrypt).
thread_local Connection* receiving = nullptr;

class ReceivingScope {
 public:
  explicit ReceivingScope(Connection* c) : previous_(receiving) { receiving = c; }
  ReceivingScope(const ReceivingScope&) = delete;
  ReceivingScope& operator=(const ReceivingScope&) = delete;
  ReceivingScope(ReceivingScope&&) = delete;
  ReceivingScope& operator=(ReceivingScope&&) = delete;
  ~ReceivingScope() { receiving = previous_; }

 private:
  Connection* previous_;
};

// A reason phrase that does not fit one packet would make ngtcp2 write no CONNECTION_CLOSE at
// all: keep at most kMaxCloseReason bytes, cut at a UTF-8 character boundary.
std::string truncate_reason(std::string_view reason) {
  std::size_t n = std::min(reason.size(), kMaxCloseReason);
  while (n > 0 && n < reason.size() && (static_cast<unsigned char>(reason[n]) & 0xc0) == 0x80) {
    --n;
  }
  return std::string(reason.substr(0, n));
}

template <class F>
int guarded(F&& f) noexcept {
  try {
    return f();
  } catch (...) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ngtcp2 callbacks: record state only; never call ngtcp2 write APIs from here.
struct Connection::Callbacks {
  static Connection& self(void* ud) noexcept { return *static_cast<Connection*>(ud); }

  static void rand(std::uint8_t* dest, std::size_t len, const ngtcp2_rand_ctx* ctx) noexcept {
    static_cast<Rng*>(ctx->native_handle)->fill({dest, len});
  }

  // Decrypts a packet, then lets the frame guard screen a 1-RTT payload before ngtcp2 parses it;
  // a dropped packet is reported as undecryptable (ngtcp2 discards it silently).
  static int decrypt(std::uint8_t* dest, const ngtcp2_crypto_aead* aead,
                     const ngtcp2_crypto_aead_ctx* aead_ctx, const std::uint8_t* ciphertext,
                     std::size_t ciphertext_length, const std::uint8_t* nonce,
                     std::size_t nonce_length, const std::uint8_t* aad,
                     std::size_t aad_length) noexcept {
    const int rv = packet_decrypt_callback()(dest, aead, aead_ctx, ciphertext, ciphertext_length,
                                             nonce, nonce_length, aad, aad_length);
    Connection* c = receiving;
    const bool short_header = aad_length > 0 && (aad[0] & 0x80) == 0;
    if (rv != 0 || c == nullptr || !short_header || ciphertext_length < aead->max_overhead) {
      return rv;
    }
    const bool handshake_pending = c->params_.role == Role::client && !c->transitioned_;
    const std::span<std::uint8_t> plaintext(dest, ciphertext_length - aead->max_overhead);
    try {
      return c->frame_guard_.inspect(plaintext, handshake_pending) == PeerFrameGuard::Verdict::drop
                 ? NGTCP2_ERR_DECRYPT
                 : 0;
    } catch (...) {
      return NGTCP2_ERR_CALLBACK_FAILURE;  // out of memory
    }
  }

  static int get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token,
                                   std::size_t cidlen, void* ud) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      for (int attempt = 0; attempt < 8; ++attempt) {
        c.host_.rng().fill({cid->data, cidlen});
        cid->datalen = cidlen;
        const ConnectionId id = ConnectionId::from(*cid);
        if (c.host_.register_cid(c.params_.handle, id)) {
          c.cids_.push_back(id);
          const ResetToken t = derive_reset_token(c.host_.reset_key(), id);
          std::memcpy(token, t.bytes.data(), t.bytes.size());
          return 0;
        }
      }
      return static_cast<int>(NGTCP2_ERR_CALLBACK_FAILURE);
    });
  }

  static int remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* ud) noexcept {
    Connection& c = self(ud);
    const ConnectionId id = ConnectionId::from(*cid);
    c.host_.unregister_cid(c.params_.handle, id);
    std::erase(c.cids_, id);
    return 0;
  }

  static int handshake_completed(ngtcp2_conn*, void* ud) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      c.handshake_completed_ = true;
      c.confirmed_ = c.confirmed_ || c.params_.role == Role::server;
      if (c.state_ == State::handshaking) {
        c.state_ = State::established;
      }
      c.alpn_ = selected_alpn(c.tls_.get());
      c.cipher_suite_ = negotiated_cipher_suite(c.tls_.get());
      if (const ngtcp2_transport_params* tp = ngtcp2_conn_get_remote_transport_params(c.conn_);
          tp != nullptr) {
        c.set_keep_alive(tp->max_idle_timeout);  // now that the peer's idle timeout is known
      }
      if (auto chain = peer_chain(c.tls_.get()); !chain.empty()) {
        c.peer_chain_ = std::make_shared<const CertificateChain>(std::move(chain));
      }
      if (const ngtcp2_transport_params* tp = ngtcp2_conn_get_remote_transport_params(c.conn_);
          tp != nullptr && tp->preferred_address_present != 0) {
        c.frame_guard_.note_sequence(1);  // the preferred address's connection ID
      }
      if (c.params_.role == Role::server) {
        // The client has our SCID now: stop routing its initial DCID to us (D13).
        c.host_.unregister_cid(c.params_.handle, c.params_.client_initial_dcid);
        std::erase(c.cids_, c.params_.client_initial_dcid);
        c.new_token_due_ = true;
        c.release_due_ = true;    // a server's handshake is confirmed when it completes
        c.note_validated_path();  // completing the handshake validated the client's address
      }
      c.emit(ConnectionEvent::Type::handshake_completed);
      return 0;
    });
  }

  static int stream_open(ngtcp2_conn*, std::int64_t id, void* ud) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      if (c.is_local_stream(id)) {
        return 0;
      }
      c.create_stream(id, false);
      (is_bidi(id) ? c.incoming_bidi_ : c.incoming_uni_).push_back(id);
      c.emit(ConnectionEvent::Type::stream_opened, id, is_bidi(id));
      return 0;
    });
  }

  static int recv_stream_data(ngtcp2_conn* conn, std::uint32_t flags, std::int64_t id,
                              std::uint64_t, const std::uint8_t* data, std::size_t len, void* ud,
                              void*) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      StreamState* s = c.find_stream(id);
      if (s == nullptr || s->read_stopped) {
        // Nobody will read it: give the credit back at once.
        ngtcp2_conn_extend_max_stream_offset(conn, id, len);
        ngtcp2_conn_extend_max_offset(conn, len);
        return 0;
      }
      s->recv.append({data, len});
      c.recv_held_ += len;
      c.host_.buffer_budget().add_receive(len);
      if ((flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0) {
        s->fin_received = true;
      }
      c.emit(ConnectionEvent::Type::stream_readable, id);
      return 0;
    });
  }

  static int acked_stream_data_offset(ngtcp2_conn*, std::int64_t id, std::uint64_t offset,
                                      std::uint64_t len, void* ud, void*) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      if (StreamState* s = c.find_stream(id); s != nullptr) {
        const std::size_t before = s->send.size();
        s->send.consume_to(offset + len);
        c.release_send(before - s->send.size());
        c.emit(ConnectionEvent::Type::stream_writable, id);
      }
      return 0;
    });
  }

  static int stream_close(ngtcp2_conn*, std::uint32_t flags, std::int64_t id,
                          std::uint64_t app_error_code, void* ud, void*) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      StreamState* s = c.find_stream(id);
      if (s == nullptr) {
        return 0;
      }
      if (s->stopped_by_peer && !s->stop_sending_code &&
          (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0) {
        s->stop_sending_code = app_error_code;
      }
      s->closed_by_transport = true;
      s->send_closed = true;
      const std::size_t held = s->send.size();
      s->send.clear();
      c.release_send(held);
      c.emit(ConnectionEvent::Type::stream_readable, id);
      c.emit(ConnectionEvent::Type::stream_writable, id);
      c.maybe_erase_stream(id);
      return 0;
    });
  }

  static int stream_reset(ngtcp2_conn*, std::int64_t id, std::uint64_t, std::uint64_t code,
                          void* ud, void*) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      StreamState* s = c.find_stream(id);
      if (s == nullptr) {
        return 0;
      }
      s->reset_code = code;
      c.discard_received(*s);
      c.emit(ConnectionEvent::Type::stream_readable, id);
      return 0;
    });
  }

  static int extend_max_stream_data(ngtcp2_conn*, std::int64_t id, std::uint64_t, void* ud,
                                    void*) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      if (StreamState* s = c.find_stream(id); s != nullptr && s->blocked) {
        s->blocked = false;
        c.schedule_send(*s);
      }
      return 0;
    });
  }

  static int extend_max_local_streams_bidi(ngtcp2_conn*, std::uint64_t, void* ud) noexcept {
    return guarded([&] {
      self(ud).emit(ConnectionEvent::Type::streams_available, -1, true);
      return 0;
    });
  }

  static int extend_max_local_streams_uni(ngtcp2_conn*, std::uint64_t, void* ud) noexcept {
    return guarded([&] {
      self(ud).emit(ConnectionEvent::Type::streams_available, -1, false);
      return 0;
    });
  }

  static int recv_datagram(ngtcp2_conn*, std::uint32_t, const std::uint8_t* data, std::size_t len,
                           void* ud) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      if (c.datagrams_in_.size() >=
          std::max<std::size_t>(1, c.params_.transport.datagram_receive_queue)) {
        c.datagrams_in_.pop_front();  // the oldest is the least useful: drop it, count it
        ++c.datagrams_dropped_;
      }
      c.datagrams_in_.emplace_back(data, data + len);
      c.emit(ConnectionEvent::Type::datagram_received);
      return 0;
    });
  }

  static int dcid_status(ngtcp2_conn*, int type, std::uint64_t, const ngtcp2_cid*,
                         const std::uint8_t* token, void* ud) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      if (type == NGTCP2_CONNECTION_ID_STATUS_TYPE_ACTIVATE) {
        c.transitioned_ = true;  // a client's first activation is its post-handshake transition
      }
      if (token == nullptr) {
        return 0;
      }
      ResetToken t;
      std::memcpy(t.bytes.data(), token, t.bytes.size());
      if (type == NGTCP2_CONNECTION_ID_STATUS_TYPE_ACTIVATE) {
        c.host_.register_reset_token(c.params_.handle, t);
        c.peer_tokens_.push_back(t);
      } else {
        c.host_.unregister_reset_token(c.params_.handle, t);
        std::erase(c.peer_tokens_, t);
      }
      return 0;
    });
  }

  static int recv_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*,
                                  void* ud) noexcept {
    self(ud).stateless_reset_received_ = true;
    return 0;
  }

  static int recv_new_token(ngtcp2_conn*, const ngtcp2_vec* token, void* ud) noexcept {
    return guarded([&] {
      Connection& c = self(ud);
      c.host_.store_token(c.remote_,
                          std::vector<std::uint8_t>(token->base, token->base + token->len));
      return 0;
    });
  }

  static void qlog_write(void* ud, std::uint32_t flags, const void* data,
                         std::size_t len) noexcept {
    Connection& c = self(ud);
    if (c.qlog_) {
      try {
        c.qlog_->write({static_cast<const std::uint8_t*>(data), len},
                       (flags & NGTCP2_QLOG_WRITE_FLAG_FIN) != 0);
      } catch (...) {
        c.qlog_.reset();  // qlog is best effort
      }
    }
  }

  static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) noexcept {
    return static_cast<Connection*>(ref->user_data)->conn_;
  }
};

// ---------------------------------------------------------------------------------------------

Connection::Connection(ConnectionHost& host, ConnectionParams params)
    : host_(host), params_(std::move(params)), remote_(params_.remote), local_(params_.local) {}

Connection::~Connection() {
  BufferBudget& budget = host_.buffer_budget();
  budget.remove_send(send_held_);
  budget.remove_receive(recv_held_);
  budget.release_window(window_growth_);
  if (waiting_for_budget_) {
    budget.cancel_wait(params_.handle);
  }
  for (const auto& cid : cids_) {
    host_.unregister_cid(params_.handle, cid);
  }
  for (const auto& token : peer_tokens_) {
    host_.unregister_reset_token(params_.handle, token);
  }
  if (conn_ != nullptr) {
    ngtcp2_conn_del(conn_);
  }
}

Result<void> Connection::init() {
  const TransportConfig& tc = params_.transport;
  if (!valid_transport_config(tc) || params_.local.empty() || params_.remote.empty()) {
    return fail(errc::invalid_argument);  // ngtcp2 would assert on these
  }
  ngtcp2_callbacks cb{};
  if (params_.role == Role::client) {
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    cb.recv_new_token = Callbacks::recv_new_token;
  } else {
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  }
  cb.recv_crypto_data = recv_crypto_data;
  cb.handshake_confirmed = handshake_confirmed;
  set_packet_protection_callbacks(cb);  // encrypt, decrypt, hp_mask
  cb.decrypt = Callbacks::decrypt;      // which decrypts with packet_decrypt_callback()
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = Callbacks::rand;
  cb.get_new_connection_id = Callbacks::get_new_connection_id;
  cb.remove_connection_id = Callbacks::remove_connection_id;
  cb.handshake_completed = Callbacks::handshake_completed;
  cb.stream_open = Callbacks::stream_open;
  cb.recv_stream_data = Callbacks::recv_stream_data;
  cb.acked_stream_data_offset = Callbacks::acked_stream_data_offset;
  cb.stream_close = Callbacks::stream_close;
  cb.stream_reset = Callbacks::stream_reset;
  cb.extend_max_stream_data = Callbacks::extend_max_stream_data;
  cb.extend_max_local_streams_bidi = Callbacks::extend_max_local_streams_bidi;
  cb.extend_max_local_streams_uni = Callbacks::extend_max_local_streams_uni;
  cb.recv_datagram = Callbacks::recv_datagram;
  cb.dcid_status = Callbacks::dcid_status;
  cb.recv_stateless_reset = Callbacks::recv_stateless_reset;
  cb.path_validation = path_validation;

  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = to_ngtcp2(params_.now);
  settings.rand_ctx.native_handle = &host_.rng();
  settings.max_stream_window = tc.max_stream_window;
  settings.max_window = 0;  // connection-level growth is ours, gated by allow_window_increase_
  settings.initial_rtt = to_ngtcp2(std::chrono::duration_cast<Duration>(tc.initial_rtt));
  settings.handshake_timeout =
      to_ngtcp2(std::chrono::duration_cast<Duration>(tc.handshake_idle_timeout) * 2);
  if (!params_.token.empty()) {
    settings.token = {params_.token.data(), params_.token.size()};
  }
  const ConnectionId qlog_odcid =
      params_.role == Role::client ? params_.dcid : params_.original_dcid;
  if (params_.qlog) {
    qlog_ = params_.qlog(qlog_odcid, params_.role);
    if (qlog_) {
      settings.qlog.write = Callbacks::qlog_write;
      settings.qlog.odcid = qlog_odcid.to_ngtcp2();
    }
  }

  ngtcp2_transport_params tp;
  ngtcp2_transport_params_default(&tp);
  tp.initial_max_stream_data_bidi_local = tc.initial_stream_window;
  tp.initial_max_stream_data_bidi_remote = tc.initial_stream_window;
  tp.initial_max_stream_data_uni = tc.initial_stream_window;
  tp.initial_max_data = tc.initial_connection_window;
  tp.initial_max_streams_bidi = tc.max_incoming_bidi_streams;
  tp.initial_max_streams_uni = tc.max_incoming_uni_streams;
  tp.max_idle_timeout = to_ngtcp2(std::chrono::duration_cast<Duration>(tc.max_idle_timeout));
  tp.active_connection_id_limit = 4;
  tp.max_datagram_frame_size = tc.enable_datagrams ? kMaxDatagramFrameSize : 0;
  if (params_.role == Role::server) {
    tp.original_dcid = params_.original_dcid.to_ngtcp2();
    if (params_.retry_scid) {
      tp.retry_scid = params_.retry_scid->to_ngtcp2();
      tp.retry_scid_present = 1;
    }
    tp.stateless_reset_token_present = 1;
    const ResetToken t = derive_reset_token(host_.reset_key(), params_.scid);
    std::memcpy(tp.stateless_reset_token, t.bytes.data(), t.bytes.size());
  }

  ngtcp2_addr local = params_.local.as_ngtcp2();
  ngtcp2_addr remote = remote_.as_ngtcp2();
  ngtcp2_path path{local, remote, nullptr};
  const ngtcp2_cid dcid = params_.dcid.to_ngtcp2();
  const ngtcp2_cid scid = params_.scid.to_ngtcp2();
  int rv = params_.role == Role::client
               ? ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, params_.version, &cb,
                                        &settings, &tp, ngtcp2_allocator(), this)
               : ngtcp2_conn_server_new(&conn_, &dcid, &scid, &path, params_.version, &cb,
                                        &settings, &tp, ngtcp2_allocator(), this);
  if (rv != 0) {
    conn_ = nullptr;
    return fail(std::error_code(rv, ngtcp2_category()));
  }

  conn_ref_.get_conn = Callbacks::get_conn;
  conn_ref_.user_data = this;
  auto session = params_.role == Role::client
                     ? make_client_session(*params_.client_tls, &conn_ref_, params_.configure_tls)
                     : make_server_session(*params_.server_tls, &conn_ref_, params_.configure_tls);
  if (!session) {
    return fail(session.error());
  }
  tls_ = std::move(*session);
  ngtcp2_conn_set_tls_native_handle(conn_, tls_.get());

  set_keep_alive(0);

  if (!host_.register_cid(params_.handle, params_.scid)) {
    return fail(errc::internal_error);
  }
  cids_.push_back(params_.scid);
  if (params_.role == Role::server && !params_.client_initial_dcid.span().empty()) {
    if (host_.register_cid(params_.handle, params_.client_initial_dcid)) {
      cids_.push_back(params_.client_initial_dcid);
    }
  }
  connection_window_ = tc.initial_connection_window;
  last_receive_ = params_.now;
  return {};
}

// ---------------------------------------------------------------------------------------------
// Packet path

void Connection::receive(Timestamp now, const SocketAddress& remote,
                         std::span<const std::uint8_t> datagram, const PathInfo& path_info) {
  ++packets_received_;
  ++ecn_received_[path_info.ecn & NGTCP2_ECN_MASK];
  bytes_received_ += datagram.size();
  if (state_ == State::closed || state_ == State::draining) {
    return;
  }
  if (close_pending_ && close_is_error_) {
    // ngtcp2 failed on an earlier packet and the CONNECTION_CLOSE goes out on the next write():
    // ngtcp2 may have left the connection half-updated, so it must not read anything more.
    return;
  }
  if (state_ == State::closing) {
    // RFC 9000 10.2.1: answer packets in the closing state with CONNECTION_CLOSE, with backoff.
    if (++packets_since_resend_ >= (1u << std::min(close_resends_, 10u)) &&
        close_resends_ < kMaxCloseResends) {
      packets_since_resend_ = 0;
      ++close_resends_;
      resend_close_due_ = true;
      host_.mark_dirty(params_.handle);
    }
    return;
  }
  SocketAddress local_copy = path_info.local.empty() ? local_ : path_info.local;
  SocketAddress remote_copy = remote;
  ngtcp2_path path{local_copy.as_ngtcp2(), remote_copy.as_ngtcp2(), nullptr};
  ngtcp2_pkt_info pi{};
  pi.ecn = path_info.ecn & NGTCP2_ECN_MASK;
  const ReceivingScope scope(this);
  const int rv =
      ngtcp2_conn_read_pkt(conn_, &path, &pi, datagram.data(), datagram.size(), to_ngtcp2(now));
  if (rv != 0) {
    handle_read_error(rv, now);
  } else {
    last_receive_ = now;
    silent_probes_ = 0;
    if (handshake_completed_ && !confirmed_ && params_.role == Role::client &&
        confirm_deadline_ == Timestamp::max()) {
      confirm_deadline_ =
          now + std::chrono::duration_cast<Duration>(params_.transport.handshake_idle_timeout);
    }
  }
  if (release_due_) {
    release_handshake_state();
  }
  host_.mark_dirty(params_.handle);
}

void Connection::handle_read_error(int rv, Timestamp now) {
  switch (rv) {
    case NGTCP2_ERR_DRAINING: {
      state_ = State::draining;
      drain_deadline_ = now + Duration(3 * ngtcp2_conn_get_pto(conn_));
      CloseInfo info;
      info.remote = true;
      if (stateless_reset_received_) {
        info.kind = CloseInfo::Kind::stateless_reset;
        info.error = make_error_code(errc::stateless_reset);
      } else {
        ngtcp2_connection_close_error ccerr{};
        ngtcp2_conn_get_connection_close_error(conn_, &ccerr);
        info.code = ccerr.error_code;
        if (ccerr.reason != nullptr) {
          info.reason.assign(reinterpret_cast<const char*>(ccerr.reason), ccerr.reasonlen);
        }
        if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
          info.kind = CloseInfo::Kind::application;
          info.error = make_application_error(ccerr.error_code);
        } else {
          info.kind = CloseInfo::Kind::transport;
          info.error = make_transport_error(ccerr.error_code);
        }
      }
      set_close_info(std::move(info));
      return;
    }
    case NGTCP2_ERR_RECV_VERSION_NEGOTIATION: {
      CloseInfo info;
      info.kind = CloseInfo::Kind::internal;
      info.remote = true;
      info.error = make_error_code(errc::version_negotiation);
      enter_closed(std::move(info));
      return;
    }
    case NGTCP2_ERR_DROP_CONN: {
      CloseInfo info;
      info.kind = CloseInfo::Kind::internal;
      info.error = std::error_code(rv, ngtcp2_category());
      enter_closed(std::move(info));
      return;
    }
    case NGTCP2_ERR_CRYPTO: {
      const std::uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
      ngtcp2_connection_close_error_set_transport_error_tls_alert(&pending_close_, alert, nullptr,
                                                                  0);
      CloseInfo info;
      info.kind = CloseInfo::Kind::transport;
      info.code = pending_close_.error_code;
      info.error = make_transport_error(info.code);
      close_pending_ = true;
      close_is_error_ = true;
      set_close_info(std::move(info));
      return;
    }
    default:
      fail_with_liberr(rv);
      return;
  }
}

void Connection::fail_with_liberr(int liberr) {
  ngtcp2_connection_close_error_set_transport_error_liberr(&pending_close_, liberr, nullptr, 0);
  CloseInfo info;
  info.kind = CloseInfo::Kind::transport;
  info.code = pending_close_.error_code;
  info.error = make_transport_error(info.code);
  close_pending_ = true;
  close_is_error_ = true;
  set_close_info(std::move(info));
  host_.mark_dirty(params_.handle);
}

void Connection::set_close_info(CloseInfo info) {
  if (close_info_.kind == CloseInfo::Kind::none) {
    close_info_ = std::move(info);
  }
  if (!closed_emitted_) {
    closed_emitted_ = true;
    emit(ConnectionEvent::Type::closed);
  }
}

void Connection::enter_closed(CloseInfo info) {
  state_ = State::closed;
  set_close_info(std::move(info));
}

void Connection::write(Timestamp now, PacketSink& sink) {
  if (state_ == State::closed || state_ == State::draining) {
    return;
  }
  if (state_ == State::closing) {
    if (resend_close_due_) {
      resend_close_due_ = false;
      if (!close_packet_.empty()) {
        sink.send(remote_, close_packet_, close_packet_.size(), PathInfo{local_});
        bytes_sent_ += close_packet_.size();
        ++packets_sent_;
      }
    }
    return;
  }
  if (!close_is_error_) {
    resume_after_budget();
    if (new_token_due_) {
      new_token_due_ = false;
      auto token = make_regular_token(host_.token_key(), remote_, now);
      if (!token.empty()) {
        ngtcp2_conn_submit_new_token(conn_, token.data(), token.size());
      }
    }
    if (key_update_pending_) {
      try_key_update(now);
    }
    write_packets(now, sink);
  }
  if (close_pending_ && state_ != State::closed) {
    // A graceful close lingers (at most one PTO) until stream data queued before it has been
    // sent: pacing may have held it back, and the peer should see it before the close.
    if (!close_is_error_ && !send_queue_.empty()) {
      if (close_linger_deadline_ == Timestamp::max()) {
        close_linger_deadline_ = now + Duration(ngtcp2_conn_get_pto(conn_));
      }
      if (now < close_linger_deadline_) {
        return;
      }
    }
    write_close(now, sink);
  }
}

void Connection::write_packets(Timestamp now, PacketSink& sink) {
  const ngtcp2_tstamp ts = to_ngtcp2(now);
  const std::size_t max_udp = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
  const std::size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_);
  const std::size_t max_packets = std::clamp<std::size_t>(
      ngtcp2_conn_get_send_quantum(conn_) / max_udp, 1, kMaxPacketsPerWrite);
  // One transmit buffer per endpoint, not per connection: the sink consumes packets at once.
  std::vector<std::uint8_t>& tx_buffer = host_.tx_buffer();
  if (tx_buffer.size() < kMaxPacketsPerWrite * max_udp) {
    tx_buffer.resize(kMaxPacketsPerWrite * max_udp);
  }
  std::uint8_t* const tx = tx_buffer.data();
  std::size_t pos = 0;
  std::size_t batch_count = 0;
  std::size_t segment = 0;
  std::size_t total = 0;
  SocketAddress batch_remote;
  PathInfo batch_path;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};

  const bool duplicate = std::exchange(duplicate_probe_, false);
  auto flush = [&] {
    if (pos > 0) {
      sink.send(batch_remote, {tx, pos}, segment, batch_path);
      bytes_sent_ += pos;
      // A server's copy must stay within the anti-amplification limit (RFC 9000 8.1), which
      // ngtcp2 counts without it: three times what the unvalidated address sent us.
      if (duplicate && (params_.role == Role::client || handshake_completed_ ||
                        bytes_sent_ + pos <= 3 * bytes_received_)) {
        sink.send(batch_remote, {tx, pos}, segment, batch_path);
        bytes_sent_ += pos;
        ecn_ect0_sent_ += batch_path.ecn == NGTCP2_ECN_ECT_0 ? batch_count : 0;  // the copies
      }
    }
    pos = 0;
    batch_count = 0;
  };
  // Adds the packet of n bytes at tx + pos to the GSO batch; returns false to stop writing.
  auto emit_packet = [&](std::size_t n) {
    ++packets_sent_;
    ++total;
    SocketAddress to(ps.path.remote.addr, ps.path.remote.addrlen);
    if (to.empty()) {
      to = remote_;
    } else if (!(to == remote_)) {
      remote_ = to;  // the peer's address changed (migration or NAT rebinding)
    }
    // ngtcp2 marks whole datagrams (pi is per datagram): ECT(0) while it tests the path's ECN
    // support and once the path is validated.
    PathInfo from{SocketAddress(ps.path.local.addr, ps.path.local.addrlen),
                  static_cast<std::uint8_t>(pi.ecn & NGTCP2_ECN_MASK)};
    ecn_ect0_sent_ += from.ecn == NGTCP2_ECN_ECT_0 ? 1 : 0;
    if (from.local.empty()) {
      from.local = local_;
    } else if (!(from.local == local_)) {
      local_ = from.local;  // the peer moved to another of our addresses
    }
    if (batch_count == 0) {
      segment = n;
      batch_remote = to;
      batch_path = from;
    } else if (!(to == batch_remote) || !(from.local == batch_path.local) ||
               from.ecn != batch_path.ecn || n > segment || (segment > path_max && n != segment)) {
      // This packet cannot join the batch: send the earlier packets, then start a new batch
      // with this one moved to the front of the buffer.
      const std::size_t earlier = pos;
      flush();
      std::memmove(tx, tx + earlier, n);
      segment = n;
      batch_remote = to;
      batch_path = from;
    }
    pos += n;
    ++batch_count;
    if (batch_count == max_packets || n < segment) {
      flush();
    }
    return total < max_packets;
  };

  for (;;) {
    // Unreliable datagrams go first: they are small and time-sensitive. One that does not fit
    // what is left of a packet goes into the next, fresh one; only one that fails to fit
    // kDatagramAttempts packets in a row (ACK frames and control frames take room) is dropped.
    // Nothing is dropped for want of congestion window: writing stops and resumes later.
    if (!datagrams_out_.empty() && handshake_completed_) {
      int accepted = 0;
      auto& front = datagrams_out_.front();
      ngtcp2_vec v{front.data(), front.size()};
      // An empty datagram is a DATAGRAM frame without data: no vector at all, since ngtcp2
      // asserts that every vector it copies is non-empty.
      const std::size_t vcnt = front.empty() ? 0 : 1;
      PaddingScope padding(tx + pos + max_udp, may_pad_short_packets());
      const ngtcp2_ssize n = ngtcp2_conn_writev_datagram(conn_, &ps.path, &pi, tx + pos, max_udp,
                                                         &accepted, NGTCP2_WRITE_DATAGRAM_FLAG_MORE,
                                                         next_datagram_id_, &v, vcnt, ts);
      if (n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE) {
        datagrams_out_.pop_front();  // the peer cannot take it
        ++datagrams_dropped_;
        datagram_attempts_ = 0;
        continue;
      }
      if (accepted != 0) {
        datagrams_out_.pop_front();
        ++next_datagram_id_;
        datagram_attempts_ = 0;
      } else if (n > 0 && ++datagram_attempts_ >= kDatagramAttempts) {
        datagrams_out_.pop_front();
        ++datagrams_dropped_;
        datagram_attempts_ = 0;
      }
      if (n == NGTCP2_ERR_WRITE_MORE) {
        continue;  // the packet has room left: fill it
      }
      if (n < 0) {
        fail_with_liberr(static_cast<int>(n));
        return;
      }
      if (n == 0 && accepted == 0 && !datagrams_out_.empty() &&
          datagrams_out_.front().size() + kDatagramOverhead > path_max) {
        datagrams_out_.pop_front();  // the path shrank under it: it can never fit
        ++datagrams_dropped_;
        datagram_attempts_ = 0;
        continue;
      }
      if (n == 0 || !emit_packet(static_cast<std::size_t>(n) + padding.added())) {
        break;  // congestion window, pacing or the batch limit: later
      }
      continue;
    }

    StreamState* s = nullptr;
    while (!send_queue_.empty()) {
      s = find_stream(send_queue_.front());
      if (s != nullptr && s->queued && !s->send_closed && !s->blocked && has_pending_send(*s)) {
        break;
      }
      if (s != nullptr) {
        s->queued = false;
      }
      send_queue_.pop_front();
      s = nullptr;
    }
    std::array<ngtcp2_vec, 16> vec{};
    std::size_t vcnt = 0;
    std::int64_t sid = -1;
    std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    bool with_fin = false;
    if (s != nullptr) {
      const bool has_data = s->sent < s->send.end_offset();
      if (has_data && ngtcp2_conn_get_max_data_left(conn_) == 0) {
        s = nullptr;  // connection-level flow control: only control frames this round
      } else {
        sid = s->id;
        vcnt = s->send.peek(s->sent, vec);
        std::uint64_t covered = 0;
        for (std::size_t i = 0; i < vcnt; ++i) {
          covered += vec[i].len;
        }
        if (s->fin_requested && s->sent + covered == s->send.end_offset()) {
          flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
          with_fin = true;
        }
      }
    }
    ngtcp2_ssize ndatalen = -1;
    // Padding may lengthen a short packet sealed by this call (short_packet_padding.hpp); the
    // buffer ngtcp2 gets ends where the padding must, too.
    PaddingScope padding(tx + pos + max_udp, may_pad_short_packets());
    const ngtcp2_ssize n = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, tx + pos, max_udp,
                                                     &ndatalen, flags, sid, vec.data(), vcnt, ts);
    if (n < 0) {
      switch (n) {
        case NGTCP2_ERR_STREAM_DATA_BLOCKED:
          s->blocked = true;
          s->queued = false;
          send_queue_.pop_front();
          continue;
        case NGTCP2_ERR_STREAM_SHUT_WR:
        case NGTCP2_ERR_STREAM_NOT_FOUND:
          // Not reset by us: the peer sent STOP_SENDING (ngtcp2 answered with RESET_STREAM).
          if (!s->reset_locally) {
            s->stopped_by_peer = true;
            emit(ConnectionEvent::Type::stream_writable, s->id);
          }
          s->send_closed = true;
          s->queued = false;
          send_queue_.pop_front();
          continue;
        case NGTCP2_ERR_WRITE_MORE:
          advance_stream(*s, static_cast<std::size_t>(ndatalen), with_fin);
          continue;
        default:
          fail_with_liberr(static_cast<int>(n));
          return;
      }
    }
    if (s != nullptr && ndatalen >= 0) {
      advance_stream(*s, static_cast<std::size_t>(ndatalen), with_fin);
      if (s->queued && !send_queue_.empty() && send_queue_.front() == s->id) {
        // Round robin: a stream that filled a packet goes to the back of the queue.
        send_queue_.pop_front();
        send_queue_.push_back(s->id);
      }
    }
    if (n == 0) {
      break;
    }
    if (!emit_packet(static_cast<std::size_t>(n) + padding.added())) {
      break;
    }
  }
  flush();
  // ngtcp2 0.12 paces with the 333 ms initial RTT until it has a sample, which holds a client's
  // Finished and first data back by ~22 ms after its 1200-byte Initial (fixed upstream in 0.14,
  // "Use 1ms as initial srtt when calculating pacing rate"). No pacing before the first sample.
  ngtcp2_conn_stat stat{};
  ngtcp2_conn_get_conn_stat(conn_, &stat);
  if (stat.first_rtt_sample_ts != UINT64_MAX) {
    ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  }
}

bool Connection::has_pending_send(const StreamState& s) const noexcept {
  return s.sent < s.send.end_offset() || (s.fin_requested && !s.fin_sent);
}

void Connection::advance_stream(StreamState& s, std::size_t written, bool with_fin) {
  s.sent += written;
  if (with_fin && s.sent == s.send.end_offset()) {
    s.fin_sent = true;
  }
  if (!has_pending_send(s)) {
    s.queued = false;
    if (!send_queue_.empty() && send_queue_.front() == s.id) {
      send_queue_.pop_front();
    }
  }
}

void Connection::write_close(Timestamp now, PacketSink& sink) {
  close_pending_ = false;
  std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> buf{};
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  PaddingScope padding(buf.data() + buf.size(), may_pad_short_packets());
  const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      conn_, &ps.path, &pi, buf.data(), buf.size(), &pending_close_, to_ngtcp2(now));
  if (n <= 0) {
    // Nothing can be sent (e.g. a client that never sent an Initial): done.
    state_ = State::closed;
    return;
  }
  close_packet_.assign(buf.data(), buf.data() + n + padding.added());
  sink.send(remote_, close_packet_, close_packet_.size(),
            PathInfo{local_, static_cast<std::uint8_t>(pi.ecn & NGTCP2_ECN_MASK)});
  bytes_sent_ += close_packet_.size();
  ++packets_sent_;
  state_ = State::closing;
  drain_deadline_ = now + Duration(3 * ngtcp2_conn_get_pto(conn_));
}

void Connection::abandon(Timestamp now, PacketSink& sink) {
  if (state_ == State::closed) {
    return;
  }
  CloseInfo info;
  info.kind = CloseInfo::Kind::endpoint_closed;
  info.error = make_error_code(errc::endpoint_closed);
  if (state_ == State::handshaking || state_ == State::established) {
    if (!close_pending_) {
      ngtcp2_connection_close_error_set_application_error(&pending_close_, 0, nullptr, 0);
      close_pending_ = true;
    }
    set_close_info(std::move(info));
    write_close(now, sink);
  } else {
    set_close_info(std::move(info));
  }
  state_ = State::closed;
}

Timestamp Connection::expiry() const {
  if (state_ == State::closed) {
    return Timestamp::max();
  }
  if (state_ == State::closing || state_ == State::draining) {
    return drain_deadline_;
  }
  Timestamp t = from_ngtcp2(ngtcp2_conn_get_expiry(conn_));
  if (t <= expiry_handled_) {
    // ngtcp2 0.12 reports some timers as due at exactly the time they were handled (it removes a
    // retired connection ID only once retired + PTO is strictly past): ask again a nanosecond
    // later, or a driver whose clock did not move (a simulator, a coarse clock) spins forever.
    t = expiry_handled_ + Duration(1);
  }
  if (close_pending_) {
    t = std::min(t, close_linger_deadline_);
  }
  if (!handshake_completed_ && silent_probes_ >= kHandshakeProbes) {
    t = std::min(t, last_receive_ + std::chrono::duration_cast<Duration>(
                                        params_.transport.handshake_idle_timeout));
  }
  if (!confirmed_) {
    t = std::min(t, confirm_deadline_);
  }
  return t;
}

void Connection::handle_expiry(Timestamp now) {
  if (state_ == State::closed) {
    return;
  }
  expiry_handled_ = std::max(expiry_handled_, now);
  if (close_pending_ && close_is_error_) {
    // ngtcp2 failed on a packet: nothing but the CONNECTION_CLOSE may touch it (next write()).
    host_.mark_dirty(params_.handle);
    return;
  }
  if (state_ == State::closing || state_ == State::draining) {
    if (now >= drain_deadline_) {
      state_ = State::closed;
    }
    return;
  }
  if ((!handshake_completed_ && silent_probes_ >= kHandshakeProbes &&
       now >= last_receive_ +
                  std::chrono::duration_cast<Duration>(params_.transport.handshake_idle_timeout)) ||
      (!confirmed_ && now >= confirm_deadline_)) {
    // Silence after every probe, or a client whose handshake completed but was never confirmed
    // (HANDSHAKE_DONE lost for good, or the server gave up on our Finished).
    CloseInfo info;
    info.kind = CloseInfo::Kind::handshake_timeout;
    info.error = make_error_code(errc::handshake_timeout);
    enter_closed(std::move(info));
    return;
  }
  if (from_ngtcp2(ngtcp2_conn_get_expiry(conn_)) > now) {
    host_.mark_dirty(params_.handle);
    return;
  }
  if (!confirmed_) {
    ngtcp2_conn_stat cstat;
    ngtcp2_conn_get_conn_stat(conn_, &cstat);
    if (cstat.loss_detection_timer <= to_ngtcp2(now)) {
      // ngtcp2 is about to probe: one more unanswered attempt. RFC 9002 6.2.4 allows two
      // datagrams per PTO; ngtcp2 0.12 writes one before the handshake is confirmed. The probe
      // goes out twice (the peer discards the copy as a duplicate), so a lossy path must lose
      // both: a client's first flight and its Finished, a server's flight.
      silent_probes_ += handshake_completed_ ? 0 : 1;
      duplicate_probe_ = true;
    }
  }
  const int rv = ngtcp2_conn_handle_expiry(conn_, to_ngtcp2(now));
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    CloseInfo info;
    info.kind = CloseInfo::Kind::idle_timeout;
    info.error = make_error_code(errc::idle_timeout);
    enter_closed(std::move(info));
    return;
  }
  if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    CloseInfo info;
    info.kind = CloseInfo::Kind::handshake_timeout;
    info.error = make_error_code(errc::handshake_timeout);
    enter_closed(std::move(info));
    return;
  }
  if (rv != 0) {
    fail_with_liberr(rv);
    return;
  }
  host_.mark_dirty(params_.handle);
}

// ---------------------------------------------------------------------------------------------
// Application side

Result<void> Connection::check_open() const {
  if (is_closed()) {
    return fail(close_error());
  }
  return {};
}

std::error_code Connection::close_error() const {
  if (close_info_.kind == CloseInfo::Kind::none) {
    return make_error_code(errc::connection_closed);
  }
  if (!close_info_.remote && (close_info_.kind == CloseInfo::Kind::application)) {
    return make_error_code(errc::connection_closed);
  }
  return close_info_.error;
}

bool Connection::is_local_stream(std::int64_t id) const noexcept {
  return is_client_initiated(id) == (params_.role == Role::client);
}

StreamState* Connection::find_stream(std::int64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

const StreamState* Connection::stream(std::int64_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

StreamState& Connection::create_stream(std::int64_t id, bool local) {
  StreamState& s = streams_[id];
  s.id = id;
  s.locally_opened = local;
  if (!is_bidi(id)) {
    if (local) {
      s.read_stopped = true;  // a local unidirectional stream has no receive side
    } else {
      s.send_closed = true;  // a peer's unidirectional stream has no send side
    }
  }
  return s;
}

void Connection::schedule_send(StreamState& s) {
  if (!s.queued && !s.blocked && !s.send_closed && has_pending_send(s)) {
    s.queued = true;
    send_queue_.push_back(s.id);
    host_.mark_dirty(params_.handle);
  }
}

void Connection::maybe_erase_stream(std::int64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end() || !it->second.closed_by_transport || !it->second.released) {
    return;
  }
  const bool local = it->second.locally_opened;
  streams_.erase(it);
  if (!local && conn_ != nullptr && !is_closed()) {
    // The peer may open another stream of this kind only now that we are done with this one:
    // this bounds the state a peer can make us keep.
    grant_stream_credit(is_bidi(id));
  }
}

void Connection::set_keep_alive(std::uint64_t peer_idle_timeout) {
  // RFC 9000 10.1: the effective idle timeout is the smaller of both sides' (0 = none). A
  // keep-alive at half of it survives one lost PING.
  const TransportConfig& tc = params_.transport;
  if (tc.keep_alive_period.count() <= 0) {
    return;
  }
  auto idle = std::chrono::duration_cast<Duration>(tc.max_idle_timeout);
  if (peer_idle_timeout > 0 && (idle.count() <= 0 || Duration(peer_idle_timeout) < idle)) {
    idle = Duration(peer_idle_timeout);
  }
  auto period = std::chrono::duration_cast<Duration>(tc.keep_alive_period);
  if (idle.count() > 0) {
    period = std::min(period, idle / 2);
  }
  ngtcp2_conn_set_keep_alive_timeout(conn_, to_ngtcp2(period));
}

void Connection::grant_stream_credit(bool bidi) {
  BufferBudget& budget = host_.buffer_budget();
  if (budget.exhausted()) {
    // New streams wait while the endpoint holds all it may: the credit goes out once the budget
    // has room again (resume_after_budget).
    ++(bidi ? deferred_bidi_credit_ : deferred_uni_credit_);
    budget.count_deferred_stream();
    if (!waiting_for_budget_) {
      waiting_for_budget_ = true;
      budget.wait(params_.handle);
    }
    return;
  }
  if (bidi) {
    ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
  } else {
    ngtcp2_conn_extend_max_streams_uni(conn_, 1);
  }
  host_.mark_dirty(params_.handle);
}

void Connection::resume_after_budget() {
  if (!waiting_for_budget_ || conn_ == nullptr || is_closed()) {
    return;
  }
  if (host_.buffer_budget().exhausted()) {
    host_.buffer_budget().wait(params_.handle);  // taken by someone else meanwhile
    return;
  }
  waiting_for_budget_ = false;
  if (deferred_bidi_credit_ > 0) {
    ngtcp2_conn_extend_max_streams_bidi(conn_, deferred_bidi_credit_);
  }
  if (deferred_uni_credit_ > 0) {
    ngtcp2_conn_extend_max_streams_uni(conn_, deferred_uni_credit_);
  }
  deferred_bidi_credit_ = 0;
  deferred_uni_credit_ = 0;
}

void Connection::release_send(std::uint64_t bytes) {
  if (bytes == 0) {
    return;
  }
  send_held_ -= std::min(bytes, send_held_);
  host_.buffer_budget().remove_send(bytes);
  if (!send_budget_waiters_.empty()) {
    // Streams whose writes the connection budget cut short may write again.
    for (std::int64_t id : send_budget_waiters_) {
      emit(ConnectionEvent::Type::stream_writable, id);
    }
    send_budget_waiters_.clear();
  }
}

void Connection::release_receive(std::uint64_t bytes) {
  recv_held_ -= std::min(bytes, recv_held_);
  host_.buffer_budget().remove_receive(bytes);
}

void Connection::discard_received(StreamState& s) {
  const std::size_t unread = s.recv.size();
  s.recv.clear();
  release_receive(unread);
  if (unread > 0 && conn_ != nullptr) {
    // Unread bytes still count against the connection window: release them.
    ngtcp2_conn_extend_max_offset(conn_, unread);
  }
}

Result<std::int64_t> Connection::open_stream(bool bidi) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  std::int64_t id = -1;
  const int rv = bidi ? ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr)
                      : ngtcp2_conn_open_uni_stream(conn_, &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) {
    return fail(errc::stream_limit_reached);
  }
  if (rv != 0) {
    return fail(std::error_code(rv, ngtcp2_category()));
  }
  create_stream(id, true);
  return id;
}

std::optional<std::int64_t> Connection::accept_stream(bool bidi) {
  auto& queue = bidi ? incoming_bidi_ : incoming_uni_;
  if (queue.empty()) {
    return std::nullopt;
  }
  const std::int64_t id = queue.front();
  queue.pop_front();
  return id;
}

std::size_t Connection::send_space(const StreamState& s) const {
  const std::size_t held = s.send.size();
  const std::size_t limit = std::max<std::size_t>(1, params_.transport.stream_send_buffer);
  const std::size_t connection_limit =
      std::max<std::size_t>(1, params_.transport.connection_send_buffer);
  const std::size_t connection_left =
      send_held_ >= connection_limit ? 0 : connection_limit - static_cast<std::size_t>(send_held_);
  return std::min(held >= limit ? 0 : limit - held, connection_left);
}

Result<std::size_t> Connection::write_stream(std::int64_t id, std::span<const std::uint8_t> data,
                                             bool fin) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return fail(errc::stream_closed);
  }
  if (!is_bidi(id) && !s->locally_opened) {
    return fail(errc::wrong_stream_direction);
  }
  if (s->stopped_by_peer) {
    return fail(errc::stream_stopped);
  }
  if (s->send_closed || s->fin_requested) {
    return fail(errc::stream_closed);
  }
  const std::size_t n = std::min(send_space(*s), data.size());
  if (n > 0) {
    s->send.append(data.first(n));
    send_held_ += n;
    host_.buffer_budget().add_send(n);
  }
  if (n < data.size() && send_held_ >= params_.transport.connection_send_buffer &&
      std::find(send_budget_waiters_.begin(), send_budget_waiters_.end(), id) ==
          send_budget_waiters_.end()) {
    // The connection's budget, not the stream's buffer, cut this write short: this stream learns
    // when acknowledgements on any stream make room (release_send).
    send_budget_waiters_.push_back(id);
  }
  if (fin && n == data.size()) {
    s->fin_requested = true;
  }
  schedule_send(*s);
  return n;
}

Result<Connection::ReadResult> Connection::read_stream(std::int64_t id, std::span<std::uint8_t> out,
                                                       Timestamp now) {
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return fail(is_closed() ? close_error() : make_error_code(errc::stream_closed));
  }
  if (!is_bidi(id) && s->locally_opened) {
    return fail(errc::wrong_stream_direction);
  }
  if (s->reset_code) {
    return fail(errc::stream_reset);
  }
  ReadResult result;
  result.bytes = s->recv.read(out);
  release_receive(result.bytes);
  result.fin = s->fin_received && s->recv.empty();
  if (result.bytes > 0 && !is_closed()) {
    ngtcp2_conn_extend_max_stream_offset(conn_, id, result.bytes);
    credit_connection(result.bytes, now);
    host_.mark_dirty(params_.handle);
  }
  if (result.bytes == 0 && !result.fin && is_closed()) {
    // Data that arrived before the close stays readable; after it, the close error.
    return fail(close_error());
  }
  if (result.bytes == 0 && !result.fin && s->read_stopped) {
    return fail(errc::stream_closed);
  }
  return result;
}

void Connection::credit_connection(std::uint64_t bytes, Timestamp now) {
  // Auto-tuning after ngtcp2's own rule (and quic-go's): when a window's worth of data is consumed
  // within kWindowRttFactor RTTs of the previous window update, the window doubles, up to the
  // configured maximum, if allow_window_increase_ agrees.
  std::uint64_t extra = 0;
  consumed_since_update_ += bytes;
  if (consumed_since_update_ * 2 >= connection_window_) {
    ngtcp2_conn_stat stat{};
    ngtcp2_conn_get_conn_stat(conn_, &stat);
    const Duration window_rtt(kWindowRttFactor * stat.smoothed_rtt);
    const std::uint64_t max_window = params_.transport.max_connection_window;
    if (last_window_update_ != Timestamp::min() && now - last_window_update_ < window_rtt &&
        connection_window_ < max_window) {
      const std::uint64_t target = std::min(connection_window_ * 2, max_window);
      const std::uint64_t delta = target - connection_window_;
      if ((!allow_window_increase_ || allow_window_increase_(delta)) &&
          host_.buffer_budget().try_grow_window(delta)) {
        connection_window_ = target;
        window_growth_ += delta;
        extra = delta;
      }
    }
    last_window_update_ = now;
    consumed_since_update_ = 0;
  }
  ngtcp2_conn_extend_max_offset(conn_, bytes + extra);
}

Result<void> Connection::reset_stream(std::int64_t id, std::uint64_t code) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return fail(errc::stream_closed);
  }
  if (!is_bidi(id) && !s->locally_opened) {
    return fail(errc::wrong_stream_direction);
  }
  if (s->send_closed) {
    return {};
  }
  if (const int rv = ngtcp2_conn_shutdown_stream_write(conn_, id, code);
      rv != 0 && rv != NGTCP2_ERR_STREAM_NOT_FOUND) {
    return fail(std::error_code(rv, ngtcp2_category()));
  }
  s->send_closed = true;
  s->reset_locally = true;
  host_.mark_dirty(params_.handle);
  return {};
}

Result<void> Connection::stop_sending(std::int64_t id, std::uint64_t code) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return fail(errc::stream_closed);
  }
  if (!is_bidi(id) && s->locally_opened) {
    return fail(errc::wrong_stream_direction);
  }
  if (s->read_stopped) {
    return {};
  }
  if (const int rv = ngtcp2_conn_shutdown_stream_read(conn_, id, code);
      rv != 0 && rv != NGTCP2_ERR_STREAM_NOT_FOUND) {
    return fail(std::error_code(rv, ngtcp2_category()));
  }
  s->read_stopped = true;
  discard_received(*s);
  host_.mark_dirty(params_.handle);
  return {};
}

void Connection::release_stream(std::int64_t id) {
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return;
  }
  s->released = true;
  if (!s->read_stopped && !s->fin_received && !s->reset_code && !is_closed() && conn_ != nullptr) {
    // Nobody will read the rest: tell the peer, and release the flow-control credit.
    ngtcp2_conn_shutdown_stream_read(conn_, id, 0);
    s->read_stopped = true;
    host_.mark_dirty(params_.handle);
  }
  if (!s->recv.empty()) {
    discard_received(*s);
    host_.mark_dirty(params_.handle);
  }
  maybe_erase_stream(id);
}

bool Connection::datagrams_negotiated() const {
  if (conn_ == nullptr || !params_.transport.enable_datagrams || !handshake_completed_) {
    return false;
  }
  const ngtcp2_transport_params* remote = ngtcp2_conn_get_remote_transport_params(conn_);
  return remote != nullptr && remote->max_datagram_frame_size > 0;
}

Result<void> Connection::initiate_key_update(Timestamp now) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  if (key_update_pending_) {
    return fail(errc::key_update_not_ready);
  }
  key_update_pending_ = true;
  try_key_update(now);
  host_.mark_dirty(params_.handle);
  return {};
}

void Connection::try_key_update(Timestamp now) {
  // ngtcp2 asserts the post-handshake state: no key update while closing or after an error. It
  // refuses one before the handshake is confirmed, while the previous one is unconfirmed, or
  // within 3 PTO of that; the request then waits for a later write.
  if (!handshake_completed_ || !confirmed_ || close_pending_ || state_ != State::established ||
      ngtcp2_conn_is_in_closing_period(conn_) != 0 ||
      ngtcp2_conn_is_in_draining_period(conn_) != 0) {
    return;
  }
  if (ngtcp2_conn_initiate_key_update(conn_, to_ngtcp2(now)) == 0) {
    key_update_pending_ = false;
    ++key_updates_initiated_;
  }
}

Result<void> Connection::send_datagram(std::span<const std::uint8_t> data) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  if (!datagrams_negotiated()) {
    return fail(errc::datagrams_disabled);
  }
  const ngtcp2_transport_params* remote = ngtcp2_conn_get_remote_transport_params(conn_);
  const std::size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_);
  if (data.size() + kDatagramOverhead > path_max ||
      data.size() + 9 > remote->max_datagram_frame_size) {
    return fail(errc::datagram_too_large);
  }
  if (datagrams_out_.size() >= std::max<std::size_t>(1, params_.transport.datagram_send_queue)) {
    return fail(errc::queue_full);
  }
  datagrams_out_.emplace_back(data.begin(), data.end());
  host_.mark_dirty(params_.handle);
  return {};
}

std::optional<std::vector<std::uint8_t>> Connection::receive_datagram() {
  if (datagrams_in_.empty()) {
    return std::nullopt;
  }
  auto d = std::move(datagrams_in_.front());
  datagrams_in_.pop_front();
  return d;
}

void Connection::close(std::uint64_t app_code, std::string_view reason) {
  if (is_closed() || conn_ == nullptr) {
    return;
  }
  close_reason_ = truncate_reason(reason);
  ngtcp2_connection_close_error_set_application_error(
      &pending_close_, app_code, reinterpret_cast<const std::uint8_t*>(close_reason_.data()),
      close_reason_.size());
  close_pending_ = true;
  CloseInfo info;
  info.kind = CloseInfo::Kind::application;
  info.code = app_code;
  info.reason = close_reason_;
  info.error = make_application_error(app_code);
  set_close_info(std::move(info));
  host_.mark_dirty(params_.handle);
}

void Connection::close_transport(std::uint64_t code, std::string_view reason) {
  if (is_closed() || conn_ == nullptr) {
    return;
  }
  close_reason_ = truncate_reason(reason);
  ngtcp2_connection_close_error_set_transport_error(
      &pending_close_, code, reinterpret_cast<const std::uint8_t*>(close_reason_.data()),
      close_reason_.size());
  close_pending_ = true;
  CloseInfo info;
  info.kind = CloseInfo::Kind::transport;
  info.code = code;
  info.reason = close_reason_;
  info.error = make_transport_error(code);
  set_close_info(std::move(info));
  host_.mark_dirty(params_.handle);
}

std::vector<ConnectionEvent> Connection::take_events() {
  std::vector<ConnectionEvent> out;
  out.swap(events_);
  return out;
}

void Connection::emit(ConnectionEvent::Type type, std::int64_t id, bool bidi) {
  events_.push_back({type, id, bidi});
  host_.mark_dirty(params_.handle);
}

ConnectionStats Connection::stats() const {
  ConnectionStats st;
  if (conn_ != nullptr) {
    ngtcp2_conn_stat cs{};
    ngtcp2_conn_get_conn_stat(conn_, &cs);
    st.smoothed_rtt = Duration(cs.smoothed_rtt);
    st.min_rtt = Duration(cs.min_rtt == UINT64_MAX ? 0 : cs.min_rtt);
    st.latest_rtt = Duration(cs.latest_rtt);
    st.congestion_window = cs.cwnd;
    st.bytes_in_flight = cs.bytes_in_flight;
  }
  st.bytes_sent = bytes_sent_;
  st.bytes_received = bytes_received_;
  st.packets_sent = packets_sent_;
  st.packets_received = packets_received_;
  st.datagrams_dropped = datagrams_dropped_;
  st.key_updates_initiated = key_updates_initiated_;
  st.ecn_ect0_sent = ecn_ect0_sent_;
  st.ecn_received = ecn_received_;
  st.ecn_peer = frame_guard_.peer_ecn();
  // ngtcp2 marks at most kEcnTestDatagrams datagrams while it tests a path and every
  // ack-eliciting one once ACK frames counted its marks (its state is private in 0.12): more
  // marks than that, with the peer counting them, means ngtcp2 found the path ECN-capable.
  st.ecn_validated = ecn_ect0_sent_ > kEcnTestDatagrams && st.ecn_peer.ect0 + st.ecn_peer.ce > 0;
  return st;
}

// ---------------------------------------------------------------------------------------------
// TLS hooks

int Connection::on_client_hello(ClientHelloInfo info) {
  try {
    const TlsServerConfig& config = *params_.server_tls;
    if (config.select) {
      auto choice = config.select(info);
      if (!choice) {
        return GNUTLS_E_NO_APPLICATION_PROTOCOL;
      }
      server_choice_ = std::move(*choice);
    } else {
      server_choice_ = config.default_choice;
    }
    return apply_server_choice(tls_.get(), server_choice_);
  } catch (...) {
    return GNUTLS_E_INTERNAL_ERROR;
  }
}

int Connection::on_verify_peer() {
  try {
    const PeerVerifier& verify = params_.role == Role::client
                                     ? params_.client_tls->config.verify_server
                                     : server_choice_.verify_client;
    if (!verify) {
      return 0;
    }
    return verify(peer_chain(tls_.get())) ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
  } catch (...) {
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
}

}  // namespace quicreuse::core
