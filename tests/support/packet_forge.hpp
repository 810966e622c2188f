// PacketForge: protected 1-RTT packets with frames of the test's choosing, written with the keys
// a simulated peer recorded during its handshake (see TlsWiring::record_keys). It lets a test
// play a peer that sends what no well-behaved stack sends (a frame sequence that reaches an
// ngtcp2 assertion, a frame at the wrong time) through the real receive path: header protection,
// decryption, frame parsing.
#pragma once

#include "test_tls_wiring.hpp"

#include <gnutls/gnutls.h>

#include <cstdint>
#include <span>
#include <vector>

namespace quicreuse::test {

// Returns a short-header packet to dcid numbered pn (key phase 0, 4-byte packet number) whose
// payload is frames, protected with keys (and their recorded ciphers). frames must not be empty.
std::vector<std::uint8_t> forge_one_rtt_packet(const OneRttKeys& keys,
                                               std::span<const std::uint8_t> dcid, std::uint64_t pn,
                                               std::span<const std::uint8_t> frames);

// Frame encoders (RFC 9000 19).
std::vector<std::uint8_t> ping_frame();
std::vector<std::uint8_t> handshake_done_frame();
// A NEW_CONNECTION_ID with an 8-byte connection ID and a reset token derived from seq.
std::vector<std::uint8_t> new_connection_id_frame(std::uint64_t seq, std::uint64_t retire_prior_to);

}  // namespace quicreuse::test
