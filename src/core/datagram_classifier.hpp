// Datagram classification: what a received UDP datagram looks like, before any lookup.
//
// Decision D12: the first byte alone cannot separate QUIC from other protocols, because ngtcp2 and
// quinn peers clear the QUIC fixed bit (0x40) on purpose (grease_quic_bit). So this function only
// describes the shape of the datagram; the endpoint routes by destination connection ID first and
// uses the kind only for datagrams that match no connection. A datagram with the top bit set is a
// QUIC long header whatever its fixed bit (STUN, DTLS and TURN all start below 0x80).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace quicreuse::core {

enum class DatagramKind {
  empty,              // zero bytes
  quic_long_header,   // top bit set
  quic_short_header,  // top bit clear and not STUN or DTLS: maybe QUIC, maybe greased
  stun,               // a well-formed STUN message (RFC 5389 magic cookie, matching length)
  dtls,               // first byte in 20..63 (RFC 7983 DTLS range, DTLS 1.3 unified header)
};

// DatagramInfo describes a datagram. Spans point into the classified buffer.
struct DatagramInfo {
  DatagramKind kind = DatagramKind::empty;
  bool fixed_bit = false;                // bit 0x40 of the first byte
  bool truncated = false;                // too short to hold the header fields named below
  std::uint32_t version = 0;             // long header only
  std::span<const std::uint8_t> dcid{};  // destination connection ID (long: as encoded; short:
                                         // the first short_dcid_length bytes after byte 0)
  std::span<const std::uint8_t> scid{};  // long header only
};

// Returns the description of datagram, reading short-header DCIDs as short_dcid_length bytes.
DatagramInfo classify_datagram(std::span<const std::uint8_t> datagram,
                               std::size_t short_dcid_length) noexcept;

// Returns true if datagram is a STUN message by the strict rule: first two bits zero, magic cookie
// 0x2112A442 at bytes 4..8, and a message length (bytes 2..4) that is a multiple of 4 and equals
// the datagram size minus the 20-byte header.
bool is_stun_message(std::span<const std::uint8_t> datagram) noexcept;

}  // namespace quicreuse::core
