// core::Connection and ngtcp2: the callbacks ngtcp2 calls (struct Connection::Callbacks), and
// init(), which installs them as the connection's callback table and creates the ngtcp2
// connection and its TLS session.
#include "core/cipher_suites.hpp"
#include "core/connection_internal.hpp"
#include "core/ngtcp2_conn.hpp"
#include "core/transport_limits.hpp"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <cstring>

namespace quicreuse::core {
namespace {

// Our advertised max_datagram_frame_size (RFC 9221).
constexpr std::uint64_t kMaxDatagramFrameSize = 65535;

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
      if (const ngtcp2_transport_params* tp =
              ngtcp2_conn_get_remote_transport_params(c.conn_.get());
          tp != nullptr) {
        c.set_keep_alive(tp->max_idle_timeout);  // now that the peer's idle timeout is known
      }
      if (auto chain = peer_chain(c.tls_.get()); !chain.empty()) {
        c.peer_chain_ = std::make_shared<const CertificateChain>(std::move(chain));
      }
      if (const ngtcp2_transport_params* tp =
              ngtcp2_conn_get_remote_transport_params(c.conn_.get());
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
      c.datagrams_.push_received({data, len});
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
    return static_cast<Connection*>(ref->user_data)->conn_.get();
  }
};

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
  const Ngtcp2ConnSetup setup{params_.role, &dcid,     &scid, &path, params_.version,
                              &cb,          &settings, &tp,   this};
  auto made = make_ngtcp2_conn(setup);
  if (!made) {
    return fail(made.error());
  }
  conn_ = std::move(*made);

  conn_ref_.get_conn = Callbacks::get_conn;
  conn_ref_.user_data = this;
  auto session = params_.role == Role::client
                     ? make_client_session(*params_.client_tls, &conn_ref_, params_.configure_tls)
                     : make_server_session(*params_.server_tls, &conn_ref_, params_.configure_tls);
  if (!session) {
    return fail(session.error());
  }
  tls_ = std::move(*session);
  ngtcp2_conn_set_tls_native_handle(conn_.get(), tls_.get());

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

}  // namespace quicreuse::core
