// Fuzzes classify_datagram and is_stun_message (src/core/datagram_classifier.hpp), the first code
// that sees every received datagram, and checks what their comments promise against a reference
// reading of the same rules written out here.
//
// Input: byte 0 is the short-header DCID length the endpoint would use (taken modulo 32, so the
// lengths an endpoint may configure, 4..20, and a few out-of-range ones); the rest is the
// datagram.
#include "core/datagram_classifier.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace {

using quicreuse::core::DatagramKind;
using Bytes = std::span<const std::uint8_t>;

// Returns true when part (possibly empty) lies within whole. An empty part must still not point
// outside whole: callers may do pointer arithmetic with it.
bool within(Bytes part, Bytes whole) {
  if (part.empty() && part.data() == nullptr) {
    return true;
  }
  const std::uint8_t* begin = whole.data();
  const std::uint8_t* end = whole.data() + whole.size();
  return part.data() >= begin && part.data() <= end &&
         part.size() <= static_cast<std::size_t>(end - part.data());
}

// The strict STUN rule, restated: two zero top bits, the magic cookie, a length that is a
// multiple of 4 and covers exactly the bytes after the 20-byte header.
bool reference_is_stun(Bytes d) {
  if (d.size() < 20 || d[0] >= 0x40) {
    return false;
  }
  if (d[4] != 0x21 || d[5] != 0x12 || d[6] != 0xA4 || d[7] != 0x42) {
    return false;
  }
  const std::size_t length = std::size_t{d[2]} * 256 + d[3];
  return length % 4 == 0 && d.size() - 20 == length;
}

void check_long_header(Bytes d, const quicreuse::core::DatagramInfo& info) {
  // flags(1) version(4) dcid_len(1) dcid scid_len(1) scid: truncated exactly when one of these
  // fields does not fit.
  if (d.size() < 6) {
    QUICREUSE_FUZZ_CHECK(info.truncated && info.dcid.empty() && info.scid.empty());
    return;
  }
  const std::uint32_t version = (std::uint32_t{d[1]} << 24) | (std::uint32_t{d[2]} << 16) |
                                (std::uint32_t{d[3]} << 8) | std::uint32_t{d[4]};
  QUICREUSE_FUZZ_CHECK(info.version == version);
  const std::size_t dcid_len = d[5];
  if (d.size() < 7 + dcid_len) {
    QUICREUSE_FUZZ_CHECK(info.truncated && info.dcid.empty() && info.scid.empty());
    return;
  }
  QUICREUSE_FUZZ_CHECK(info.dcid.data() == d.data() + 6 && info.dcid.size() == dcid_len);
  const std::size_t scid_len = d[6 + dcid_len];
  if (d.size() < 7 + dcid_len + scid_len) {
    QUICREUSE_FUZZ_CHECK(info.truncated && info.scid.empty());
    return;
  }
  QUICREUSE_FUZZ_CHECK(!info.truncated);
  QUICREUSE_FUZZ_CHECK(info.scid.data() == d.data() + 7 + dcid_len && info.scid.size() == scid_len);
}

void check_short_header(Bytes d, std::size_t dcid_length,
                        const quicreuse::core::DatagramInfo& info) {
  QUICREUSE_FUZZ_CHECK(info.version == 0 && info.scid.empty());
  if (d.size() < 1 + dcid_length) {
    QUICREUSE_FUZZ_CHECK(info.truncated && info.dcid.empty());
    return;
  }
  QUICREUSE_FUZZ_CHECK(!info.truncated);
  QUICREUSE_FUZZ_CHECK(info.dcid.data() == d.data() + 1 && info.dcid.size() == dcid_length);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::size_t dcid_length = data[0] % 32;
  const Bytes d(data + 1, size - 1);
  const auto info = quicreuse::core::classify_datagram(d, dcid_length);

  // Whatever the input: spans point into it, and the flags describe its first byte.
  QUICREUSE_FUZZ_CHECK(within(info.dcid, d));
  QUICREUSE_FUZZ_CHECK(within(info.scid, d));
  QUICREUSE_FUZZ_CHECK(quicreuse::core::is_stun_message(d) == reference_is_stun(d));
  if (d.empty()) {
    QUICREUSE_FUZZ_CHECK(info.kind == DatagramKind::empty && !info.fixed_bit && !info.truncated);
    QUICREUSE_FUZZ_CHECK(info.dcid.empty() && info.scid.empty() && info.version == 0);
    return 0;
  }
  QUICREUSE_FUZZ_CHECK(info.fixed_bit == ((d[0] & 0x40) != 0));

  // The kind follows the documented order: top bit, then strict STUN, then the DTLS range.
  if ((d[0] & 0x80) != 0) {
    QUICREUSE_FUZZ_CHECK(info.kind == DatagramKind::quic_long_header);
    check_long_header(d, info);
  } else if (reference_is_stun(d)) {
    QUICREUSE_FUZZ_CHECK(info.kind == DatagramKind::stun);
    QUICREUSE_FUZZ_CHECK(!info.truncated && info.dcid.empty() && info.scid.empty());
  } else if (d[0] >= 20 && d[0] <= 63) {
    QUICREUSE_FUZZ_CHECK(info.kind == DatagramKind::dtls);
    QUICREUSE_FUZZ_CHECK(!info.truncated && info.dcid.empty() && info.scid.empty());
  } else {
    QUICREUSE_FUZZ_CHECK(info.kind == DatagramKind::quic_short_header);
    check_short_header(d, dcid_length, info);
  }
  return 0;
}
