// Datagram classification as a table (decision D12).
#include "core/datagram_classifier.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace quicreuse::core {
namespace {

struct Case {
  const char* name;
  std::vector<std::uint8_t> bytes;
  DatagramKind kind;
  bool fixed_bit;
  bool truncated;
};

std::vector<std::uint8_t> stun(std::uint16_t type, std::uint16_t length, bool cookie,
                               std::size_t actual_attr_bytes) {
  std::vector<std::uint8_t> d = {
      static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type),
      static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
  if (cookie) {
    d.insert(d.end(), {0x21, 0x12, 0xA4, 0x42});
  } else {
    d.insert(d.end(), {0x00, 0x00, 0x00, 0x00});
  }
  for (int i = 0; i < 12; ++i) {
    d.push_back(static_cast<std::uint8_t>(i + 1));  // transaction id
  }
  d.resize(d.size() + actual_attr_bytes, 0);
  return d;
}

std::vector<std::uint8_t> long_header(std::uint8_t b0, std::uint32_t version, std::uint8_t dcid_len,
                                      std::uint8_t scid_len, std::size_t pad) {
  std::vector<std::uint8_t> d = {b0,
                                 static_cast<std::uint8_t>(version >> 24),
                                 static_cast<std::uint8_t>(version >> 16),
                                 static_cast<std::uint8_t>(version >> 8),
                                 static_cast<std::uint8_t>(version),
                                 dcid_len};
  for (int i = 0; i < dcid_len; ++i) {
    d.push_back(0xd0);
  }
  d.push_back(scid_len);
  for (int i = 0; i < scid_len; ++i) {
    d.push_back(0x5c);
  }
  d.resize(d.size() + pad, 0);
  return d;
}

std::vector<std::uint8_t> short_header(std::uint8_t b0, std::size_t total) {
  std::vector<std::uint8_t> d(total, 0xab);
  d[0] = b0;
  return d;
}

TEST(DatagramClassifier, Table) {
  constexpr std::size_t kCid = 8;
  const std::vector<Case> cases = {
      {"empty", {}, DatagramKind::empty, false, false},
      {"initial v1", long_header(0xC3, 1, 8, 8, 1150), DatagramKind::quic_long_header, true, false},
      {"long header, greased fixed bit", long_header(0x83, 1, 8, 8, 100),
       DatagramKind::quic_long_header, false, false},
      {"long header, unknown version", long_header(0xC0, 0x1a2a3a4a, 8, 0, 1200),
       DatagramKind::quic_long_header, true, false},
      {"long header, 5 bytes", {0xC0, 0, 0, 0, 1}, DatagramKind::quic_long_header, true, true},
      {"long header, DCID cut",
       {0xC0, 0, 0, 0, 1, 20, 1, 2, 3},
       DatagramKind::quic_long_header,
       true,
       true},
      {"long header, SCID cut", long_header(0xC0, 1, 4, 9, 0), DatagramKind::quic_long_header, true,
       false},
      {"short header, fixed bit", short_header(0x41, 40), DatagramKind::quic_short_header, true,
       false},
      {"short header, greased (fixed bit clear)", short_header(0x01, 40),
       DatagramKind::quic_short_header, false, false},
      {"short header, truncated DCID", short_header(0x41, 5), DatagramKind::quic_short_header, true,
       true},
      {"stun binding request", stun(0x0001, 0, true, 0), DatagramKind::stun, false, false},
      {"stun with attributes", stun(0x0101, 12, true, 12), DatagramKind::stun, false, false},
      {"stun without magic cookie", stun(0x0001, 0, false, 0), DatagramKind::quic_short_header,
       false, false},
      {"stun with wrong length", stun(0x0001, 8, true, 4), DatagramKind::quic_short_header, false,
       false},
      {"stun with unaligned length", stun(0x0001, 6, true, 6), DatagramKind::quic_short_header,
       false, false},
      {"stun truncated header",
       {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42},
       DatagramKind::quic_short_header,
       false,
       true},
      {"dtls change_cipher_spec", short_header(20, 30), DatagramKind::dtls, false, false},
      {"dtls alert", short_header(21, 30), DatagramKind::dtls, false, false},
      {"dtls handshake", short_header(22, 60), DatagramKind::dtls, false, false},
      {"dtls application data", short_header(23, 60), DatagramKind::dtls, false, false},
      {"dtls 1.3 unified header", short_header(0x2f, 60), DatagramKind::dtls, false, false},
      {"just below dtls range", short_header(19, 30), DatagramKind::quic_short_header, false,
       false},
      {"just above dtls range", short_header(64, 30), DatagramKind::quic_short_header, true, false},
      {"rtp-like (top bit set): a long header, here malformed", short_header(0x80, 30),
       DatagramKind::quic_long_header, false, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const DatagramInfo info = classify_datagram(c.bytes, kCid);
    EXPECT_EQ(info.kind, c.kind);
    if (!c.bytes.empty()) {
      EXPECT_EQ(info.fixed_bit, c.fixed_bit);
    }
    EXPECT_EQ(info.truncated, c.truncated);
  }
}

TEST(DatagramClassifier, LongHeaderFieldsAreExtracted) {
  const auto d = long_header(0xC0, 0x00000001, 8, 4, 10);
  const DatagramInfo info = classify_datagram(d, 8);
  EXPECT_EQ(info.version, 1u);
  ASSERT_EQ(info.dcid.size(), 8u);
  EXPECT_EQ(info.dcid[0], 0xd0);
  ASSERT_EQ(info.scid.size(), 4u);
  EXPECT_EQ(info.scid[0], 0x5c);
}

TEST(DatagramClassifier, ShortHeaderDcidUsesTheEndpointLength) {
  auto d = short_header(0x40, 30);
  for (int i = 1; i <= 16; ++i) {
    d[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  }
  const DatagramInfo info = classify_datagram(d, 16);
  ASSERT_EQ(info.dcid.size(), 16u);
  EXPECT_EQ(info.dcid[0], 1);
  EXPECT_EQ(info.dcid[15], 16);
}

TEST(DatagramClassifier, StrictStunRule) {
  EXPECT_TRUE(is_stun_message(stun(0x0001, 0, true, 0)));
  EXPECT_TRUE(is_stun_message(stun(0x0111, 8, true, 8)));
  EXPECT_FALSE(is_stun_message(stun(0x0001, 0, false, 0)));
  auto top = stun(0x0001, 0, true, 0);
  top[0] = 0x40;  // first two bits must be zero
  EXPECT_FALSE(is_stun_message(top));
  EXPECT_FALSE(is_stun_message(stun(0x0001, 4, true, 0)));
}

}  // namespace
}  // namespace quicreuse::core
