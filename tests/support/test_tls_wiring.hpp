// TLS wirings for simulated peers: the session is connected to ngtcp2 (secrets, handshake data,
// alerts, transport parameters) by test code instead of ngtcp2_crypto_gnutls, so that a peer can
// break QUIC's TLS rules (RFC 9001) or hand its own packet keys to a packet forge. Used to test
// that our endpoints refuse hostile peers cleanly instead of reaching an ngtcp2 assertion.
#pragma once

#include "core/tls_session.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace quicreuse::test {

// OneRttKeys are the 1-RTT packet protection keys a peer sends with (filled during its
// handshake when recorded).
struct OneRttKeys {
  ngtcp2_crypto_ctx ctx{};  // the negotiated AEAD and header protection cipher
  std::vector<std::uint8_t> key;
  std::vector<std::uint8_t> iv;
  std::vector<std::uint8_t> hp_key;
};

// TlsWiring says how a test session treats the quic_transport_parameters extension.
struct TlsWiring {
  enum class Parameters {
    normal,   // ours, encoded by ngtcp2
    omitted,  // none: a ClientHello or EncryptedExtensions without the extension
    raw,      // raw_parameters verbatim (e.g. garbage)
  };
  Parameters parameters = Parameters::normal;
  std::vector<std::uint8_t> raw_parameters;
  // When set, receives the session's 1-RTT transmit keys.
  std::shared_ptr<OneRttKeys> record_keys;
};

// Returns a wiring for new sessions of an endpoint (EndpointConfig::configure_tls). The peer's
// parameters are always decoded normally.
core::QuicTlsConfigurer test_tls_wiring(TlsWiring wiring);

// Shorthands: no transport parameters sent; raw_parameters sent as the extension's body.
core::QuicTlsConfigurer tls_without_transport_parameters();
core::QuicTlsConfigurer tls_with_raw_transport_parameters(std::vector<std::uint8_t> raw_parameters);

}  // namespace quicreuse::test
