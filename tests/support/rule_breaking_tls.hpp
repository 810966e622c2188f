// TLS wirings for simulated peers that break QUIC's TLS rules (RFC 9001), to test that our
// endpoints refuse them cleanly instead of reaching an ngtcp2 assertion.
#pragma once

#include "core/tls_session.hpp"

#include <cstdint>
#include <vector>

namespace quicreuse::test {

// Returns a wiring that connects the session to ngtcp2 (secrets, handshake data, alerts) and
// decodes the peer's quic_transport_parameters extension, but never sends its own: a ClientHello
// (client) or EncryptedExtensions (server) without transport parameters.
core::QuicTlsConfigurer tls_without_transport_parameters();

// Returns the same wiring, except that raw_parameters are sent verbatim as the extension's body
// (e.g. garbage).
core::QuicTlsConfigurer tls_with_raw_transport_parameters(std::vector<std::uint8_t> raw_parameters);

}  // namespace quicreuse::test
