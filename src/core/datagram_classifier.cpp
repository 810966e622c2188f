#include "core/datagram_classifier.hpp"

namespace quicreuse::core {

bool is_stun_message(std::span<const std::uint8_t> d) noexcept {
  if (d.size() < 20 || (d[0] & 0xC0) != 0) {
    return false;
  }
  if (d[4] != 0x21 || d[5] != 0x12 || d[6] != 0xA4 || d[7] != 0x42) {
    return false;
  }
  const std::size_t length = (static_cast<std::size_t>(d[2]) << 8) | d[3];
  return length % 4 == 0 && length + 20 == d.size();
}

DatagramInfo classify_datagram(std::span<const std::uint8_t> d,
                               std::size_t short_dcid_length) noexcept {
  DatagramInfo info;
  if (d.empty()) {
    return info;
  }
  const std::uint8_t b0 = d[0];
  info.fixed_bit = (b0 & 0x40) != 0;
  if ((b0 & 0x80) != 0) {
    info.kind = DatagramKind::quic_long_header;
    // Invariant long header (RFC 8999): flags, version (4), DCID length, DCID, SCID length, SCID.
    if (d.size() < 6) {
      info.truncated = true;
      return info;
    }
    info.version = (static_cast<std::uint32_t>(d[1]) << 24) |
                   (static_cast<std::uint32_t>(d[2]) << 16) |
                   (static_cast<std::uint32_t>(d[3]) << 8) | d[4];
    const std::size_t dcid_len = d[5];
    if (d.size() < 6 + dcid_len + 1) {
      info.truncated = true;
      return info;
    }
    info.dcid = d.subspan(6, dcid_len);
    const std::size_t scid_len = d[6 + dcid_len];
    if (d.size() < 7 + dcid_len + scid_len) {
      info.truncated = true;
      return info;
    }
    info.scid = d.subspan(7 + dcid_len, scid_len);
    return info;
  }
  if (is_stun_message(d)) {
    info.kind = DatagramKind::stun;
    return info;
  }
  if (b0 >= 20 && b0 <= 63) {
    info.kind = DatagramKind::dtls;
    return info;
  }
  info.kind = DatagramKind::quic_short_header;
  if (d.size() < 1 + short_dcid_length) {
    info.truncated = true;
    return info;
  }
  info.dcid = d.subspan(1, short_dcid_length);
  return info;
}

}  // namespace quicreuse::core
