#include "test_tls_wiring.hpp"

#include "core/handshake_messages.hpp"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <array>

namespace quicreuse::test {
namespace {

ngtcp2_conn* conn_of(gnutls_session_t session) {
  auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  return ref->get_conn(ref);
}

// The wiring of one session, kept as the extension's session data.
const TlsWiring* wiring_of(gnutls_session_t session) {
  gnutls_ext_priv_data_t data = nullptr;
  if (gnutls_ext_get_data(session, core::kQuicTransportParametersExtension, &data) < 0) {
    return nullptr;
  }
  return static_cast<const TlsWiring*>(data);
}

void record(const TlsWiring& wiring, gnutls_session_t session, const std::uint8_t* key,
            const std::uint8_t* iv, const std::uint8_t* hp_key) {
  ngtcp2_crypto_ctx ctx{};
  ngtcp2_crypto_ctx_tls(&ctx, session);
  const std::size_t key_length = ngtcp2_crypto_aead_keylen(&ctx.aead);
  const std::size_t iv_length = ngtcp2_crypto_packet_protection_ivlen(&ctx.aead);
  OneRttKeys& out = *wiring.record_keys;
  out.ctx = ctx;
  out.key.assign(key, key + key_length);
  out.iv.assign(iv, iv + iv_length);
  out.hp_key.assign(hp_key, hp_key + key_length);
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
  if (tx_secret == nullptr) {
    return 0;
  }
  std::array<std::uint8_t, 64> key{};
  std::array<std::uint8_t, 64> iv{};
  std::array<std::uint8_t, 64> hp_key{};
  if (ngtcp2_crypto_derive_and_install_tx_key(conn, key.data(), iv.data(), hp_key.data(), level,
                                              static_cast<const std::uint8_t*>(tx_secret),
                                              secret_length) != 0) {
    return -1;
  }
  const TlsWiring* wiring = wiring_of(session);
  if (level == NGTCP2_CRYPTO_LEVEL_APPLICATION && wiring != nullptr && wiring->record_keys) {
    record(*wiring, session, key.data(), iv.data(), hp_key.data());
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

int receive_parameters(gnutls_session_t session, const unsigned char* data, std::size_t length) {
  ngtcp2_conn* conn = conn_of(session);
  const int rv = ngtcp2_conn_decode_remote_transport_params(conn, data, length);
  if (rv != 0) {
    ngtcp2_conn_set_tls_error(conn, rv);
    return -1;
  }
  return 0;
}

// GnuTLS leaves an extension out when its send function appends nothing.
int send_parameters(gnutls_session_t session, gnutls_buffer_t out) {
  const TlsWiring* wiring = wiring_of(session);
  if (wiring == nullptr) {
    return -1;
  }
  switch (wiring->parameters) {
    case TlsWiring::Parameters::omitted:
      return 0;
    case TlsWiring::Parameters::raw:
      return gnutls_buffer_append_data(out, wiring->raw_parameters.data(),
                                       wiring->raw_parameters.size()) == 0
                 ? 0
                 : -1;
    case TlsWiring::Parameters::normal:
      break;
  }
  std::array<std::uint8_t, 256> buf{};
  const ngtcp2_ssize n =
      ngtcp2_conn_encode_local_transport_params(conn_of(session), buf.data(), buf.size());
  if (n < 0) {
    return -1;
  }
  return gnutls_buffer_append_data(out, buf.data(), static_cast<std::size_t>(n)) == 0 ? 0 : -1;
}

void free_wiring(gnutls_ext_priv_data_t data) {
  delete static_cast<TlsWiring*>(data);
}

}  // namespace

core::QuicTlsConfigurer test_tls_wiring(TlsWiring wiring) {
  return [wiring = std::move(wiring)](gnutls_session_t session) {
    gnutls_handshake_set_secret_function(session, on_secret);
    gnutls_handshake_set_read_function(session, on_handshake_data);
    gnutls_alert_set_read_function(session, on_alert);
    const int rv = gnutls_session_ext_register(
        session, "QUIC Transport Parameters", core::kQuicTransportParametersExtension,
        GNUTLS_EXT_TLS, receive_parameters, send_parameters, free_wiring, nullptr, nullptr,
        GNUTLS_EXT_FLAG_TLS | GNUTLS_EXT_FLAG_CLIENT_HELLO | GNUTLS_EXT_FLAG_EE);
    if (rv != 0) {
      return -1;
    }
    gnutls_ext_set_data(session, core::kQuicTransportParametersExtension, new TlsWiring(wiring));
    return 0;
  };
}

core::QuicTlsConfigurer tls_without_transport_parameters() {
  return test_tls_wiring({TlsWiring::Parameters::omitted, {}, nullptr});
}

core::QuicTlsConfigurer tls_with_raw_transport_parameters(std::vector<std::uint8_t> raw) {
  return test_tls_wiring({TlsWiring::Parameters::raw, std::move(raw), nullptr});
}

}  // namespace quicreuse::test
