// Hand-made datagrams for the classification and routing benchmarks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace quicreuse::bench {

using Datagram = std::vector<std::uint8_t>;

// Returns a 1-RTT (short header) packet shape: fixed bit set, dcid, then random bytes up to size.
Datagram make_short_header(std::span<const std::uint8_t> dcid, std::size_t size,
                           std::mt19937_64& rng);
// Returns a QUIC v1 Initial shape (long header, 16-byte DCID and SCID, empty token, random
// payload) of size bytes (>= 1200 for a client Initial).
Datagram make_initial(std::size_t size, std::mt19937_64& rng);
// Returns a STUN Binding Request (20 bytes, magic cookie, random transaction ID).
Datagram make_stun_binding_request(std::mt19937_64& rng);
// Returns a DTLS 1.2 handshake record of size bytes (first byte 22).
Datagram make_dtls_record(std::size_t size, std::mt19937_64& rng);
// Returns size random bytes.
Datagram make_junk(std::size_t size, std::mt19937_64& rng);
// Returns n random bytes (for connection IDs).
std::vector<std::uint8_t> random_bytes(std::size_t n, std::mt19937_64& rng);

}  // namespace quicreuse::bench
