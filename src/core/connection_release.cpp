// core::Connection after the handshake: what only the handshake needed is freed once it is
// confirmed (the GnuTLS session, about 10 KB per connection, and, on a client, its TLS context
// with GnuTLS credentials); the 1-RTT CRYPTO stream is then judged by PostHandshakeReader.
#include "core/connection.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

namespace quicreuse::core {

int Connection::recv_crypto_data(ngtcp2_conn* conn, ngtcp2_crypto_level level, std::uint64_t offset,
                                 const std::uint8_t* data, std::size_t len, void* ud) noexcept {
  Connection& c = *static_cast<Connection*>(ud);
  // The reader follows the 1-RTT stream from its first byte, so that it is at the right place
  // in a message split across packets when the session goes away.
  std::uint8_t alert = 0;
  if (level == NGTCP2_CRYPTO_LEVEL_APPLICATION) {
    alert = c.post_handshake_.read({data, len});
  }
  if (c.tls_) {
    return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, len, ud);
  }
  if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION) {
    alert = PostHandshakeReader::kUnexpectedMessage;  // those keys are gone: never reached
  }
  if (alert != 0) {
    ngtcp2_conn_set_tls_alert(conn, alert);
    return NGTCP2_ERR_CRYPTO;
  }
  return 0;
}

int Connection::handshake_confirmed(ngtcp2_conn* /*conn*/, void* ud) noexcept {
  // A client is confirmed by HANDSHAKE_DONE; the session is released after this packet.
  auto* c = static_cast<Connection*>(ud);
  c->confirmed_ = true;
  c->release_due_ = true;
  return 0;
}

void Connection::release_handshake_state() noexcept {
  release_due_ = false;
  if (conn_ != nullptr) {
    ngtcp2_conn_set_tls_native_handle(conn_.get(), nullptr);
  }
  tls_.reset();
  server_choice_ = TlsServerChoice{};
  params_.client_tls.reset();
  params_.server_tls.reset();
  params_.token = {};
  params_.qlog = nullptr;
}

}  // namespace quicreuse::core
