// Parsing of the TLS 1.3 handshake messages that quicreuse inspects before GnuTLS acts on them:
// the ClientHello (server side: offered ALPNs, SNI, whether QUIC transport parameters are present)
// and EncryptedExtensions (client side: whether QUIC transport parameters are present).
//
// RFC 9001 8.2: an endpoint must abort the handshake with missing_extension when the peer's
// ClientHello or EncryptedExtensions lacks quic_transport_parameters. ngtcp2 0.12 does not check
// this before it starts writing 1-RTT packets, and asserts on the missing negotiated version, so
// the check happens here, in hooks that run before GnuTLS processes the message.
#pragma once

#include <quicreuse/tls.hpp>

#include <cstdint>
#include <span>

namespace quicreuse::core {

// The TLS extension codepoint of QUIC transport parameters (RFC 9001 8.2).
inline constexpr std::uint16_t kQuicTransportParametersExtension = 0x39;

// ClientHelloSummary is what the server learns from a ClientHello message body.
struct ClientHelloSummary {
  bool well_formed = false;  // every length field fits; false leaves the rest empty
  bool has_quic_transport_parameters = false;
  ClientHelloInfo info;  // offered ALPNs (client order) and SNI name
};

// Parses a ClientHello handshake message body (legacy_version onwards, as GnuTLS hands it to
// handshake hooks). Never reads outside body.
ClientHelloSummary parse_client_hello_message(std::span<const std::uint8_t> body);

// Returns the offered ALPNs and SNI name of a ClientHello body; empty when malformed.
ClientHelloInfo parse_client_hello(std::span<const std::uint8_t> body);

// ExtensionsSummary is what the client learns from an EncryptedExtensions message body.
struct ExtensionsSummary {
  bool well_formed = false;
  bool has_quic_transport_parameters = false;
};

// Parses an EncryptedExtensions handshake message body (the extensions vector).
ExtensionsSummary parse_encrypted_extensions(std::span<const std::uint8_t> body);

}  // namespace quicreuse::core
