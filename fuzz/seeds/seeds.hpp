// The seed generator's parts (make_seeds.cpp runs them): each writes the seeds of some harnesses
// into <corpus>/<harness>/. Seeds captured from other programs (coturn's STUN messages, GnuTLS's
// DTLS and TLS-over-TCP ClientHellos) are checked in as they are and not written here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace quicreuse::fuzz {

// Writes bytes to corpus/harness/name (creating the directory), or exits with a message.
void write_seed(const std::filesystem::path& corpus, std::string_view harness,
                std::string_view name, std::span<const std::uint8_t> bytes);
void write_seed(const std::filesystem::path& corpus, std::string_view harness,
                std::string_view name, std::string_view text);

// The datagram classifier's and the ClientHello parser's seeds, from a real exchange between a
// core::Endpoint client and server: the client's Initial, the server's first flight, a 1-RTT
// packet, and the ClientHello GnuTLS sent (captured by a handshake hook on the client session).
// The packets of a build with transparent packet protection (the fuzz build) get a
// "-transparent" suffix: the checked-in quic-* seeds were captured with real protection.
void write_quic_seeds(const std::filesystem::path& corpus);

// The multiaddr (text and binary), multibase, STUN and token seeds.
void write_codec_seeds(const std::filesystem::path& corpus);

// The endpoint harness's seeds: exchanges after a handshake, recorded as records.
void write_endpoint_seeds(const std::filesystem::path& corpus);

}  // namespace quicreuse::fuzz
