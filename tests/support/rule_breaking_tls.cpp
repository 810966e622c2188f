#include "rule_breaking_tls.hpp"

#include "core/handshake_messages.hpp"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <memory>

namespace quicreuse::test {
namespace {

ngtcp2_conn* conn_of(gnutls_session_t session) {
  auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  return ref->get_conn(ref);
}

int on_secret(gnutls_session_t session, gnutls_record_encryption_level_t gtls_level,
              const void* rx_secret, const void* tx_secret, std::size_t secret_length) {
  ngtcp2_conn* conn = conn_of(session);
  const auto level = ngtcp2_crypto_gnutls_from_gnutls_record_encryption_level(gtls_level);
  if (rx_secret != nullptr &&
      ngtcp2_crypto_derive_and_install_rx_key(conn, nullptr, nullptr, nullptr, level,
                                              static_cast<const std::uint8_t*>(rx_secret),
                                              secret_length) != 0) {
    return -1;
  }
  if (tx_secret != nullptr &&
      ngtcp2_crypto_derive_and_install_tx_key(conn, nullptr, nullptr, nullptr, level,
                                              static_cast<const std::uint8_t*>(tx_secret),
                                              secret_length) != 0) {
    return -1;
  }
  return 0;
}

int on_handshake_data(gnutls_session_t session, gnutls_record_encryption_level_t gtls_level,
                      gnutls_handshake_description_t type, const void* data, std::size_t length) {
  if (type == GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC) {
    return 0;
  }
  ngtcp2_conn* conn = conn_of(session);
  const int rv = ngtcp2_conn_submit_crypto_data(
      conn, ngtcp2_crypto_gnutls_from_gnutls_record_encryption_level(gtls_level),
      static_cast<const std::uint8_t*>(data), length);
  if (rv != 0) {
    ngtcp2_conn_set_tls_error(conn, rv);
    return -1;
  }
  return 0;
}

int on_alert(gnutls_session_t session, gnutls_record_encryption_level_t, gnutls_alert_level_t,
             gnutls_alert_description_t description) {
  ngtcp2_conn_set_tls_alert(conn_of(session), static_cast<std::uint8_t>(description));
  return 0;
}

void wire_session(gnutls_session_t session) {
  gnutls_handshake_set_secret_function(session, on_secret);
  gnutls_handshake_set_read_function(session, on_handshake_data);
  gnutls_alert_set_read_function(session, on_alert);
}

int receive_parameters(gnutls_session_t session, const unsigned char* data, std::size_t length) {
  ngtcp2_conn* conn = conn_of(session);
  const int rv = ngtcp2_conn_decode_remote_transport_params(conn, data, length);
  if (rv != 0) {
    ngtcp2_conn_set_tls_error(conn, rv);
    return -1;
  }
  return 0;
}

// Sends the bytes stored as the extension's session data; none stored: the extension is left
// out (GnuTLS omits an extension whose send function appends nothing).
int send_raw_parameters(gnutls_session_t session, gnutls_buffer_t out) {
  gnutls_ext_priv_data_t data = nullptr;
  if (gnutls_ext_get_data(session, core::kQuicTransportParametersExtension, &data) < 0 ||
      data == nullptr) {
    return 0;
  }
  const auto& raw = *static_cast<const std::vector<std::uint8_t>*>(data);
  return gnutls_buffer_append_data(out, raw.data(), raw.size()) == 0 ? 0 : -1;
}

void free_raw_parameters(gnutls_ext_priv_data_t data) {
  delete static_cast<std::vector<std::uint8_t>*>(data);
}

int register_extension(gnutls_session_t session) {
  return gnutls_session_ext_register(
      session, "QUIC Transport Parameters", core::kQuicTransportParametersExtension, GNUTLS_EXT_TLS,
      receive_parameters, send_raw_parameters, free_raw_parameters, nullptr, nullptr,
      GNUTLS_EXT_FLAG_TLS | GNUTLS_EXT_FLAG_CLIENT_HELLO | GNUTLS_EXT_FLAG_EE);
}

}  // namespace

core::QuicTlsConfigurer tls_without_transport_parameters() {
  return [](gnutls_session_t session) {
    wire_session(session);
    return register_extension(session) == 0 ? 0 : -1;
  };
}

core::QuicTlsConfigurer tls_with_raw_transport_parameters(std::vector<std::uint8_t> raw) {
  return [raw = std::move(raw)](gnutls_session_t session) {
    wire_session(session);
    if (register_extension(session) != 0) {
      return -1;
    }
    gnutls_ext_set_data(session, core::kQuicTransportParametersExtension,
                        std::make_unique<std::vector<std::uint8_t>>(raw).release());
    return 0;
  };
}

}  // namespace quicreuse::test
