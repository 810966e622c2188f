// pad_short_packet: which packets the encrypt callback lengthens, by how much, and when not.
#include "core/short_packet_padding.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace quicreuse::core {
namespace {

constexpr std::size_t kTag = 16;

// A packet laid out as ngtcp2 lays it out: header bytes, then plaintext, in one buffer.
struct Packet {
  std::array<std::uint8_t, 128> buf{};
  std::size_t header = 7;  // 1 + 4-byte DCID + 2-byte packet number
  std::size_t plaintext = 3;

  explicit Packet(std::uint8_t first_byte) {
    buf.fill(0xee);
    buf[0] = first_byte;
  }
  std::size_t pad() {
    return pad_short_packet(buf.data(), header, buf.data() + header, plaintext, kTag) - plaintext;
  }
  [[nodiscard]] const std::uint8_t* end() const { return buf.data() + buf.size(); }
};

TEST(ShortPacketPadding, AShortHeaderPacketIsPaddedToTheMinimumWithZeros) {
  Packet p(0x40);
  PaddingScope scope(p.end(), true);
  const std::size_t added = p.pad();
  EXPECT_EQ(p.header + p.plaintext + added + kTag, kMinShortPacketLength);
  EXPECT_EQ(scope.added(), added);
  for (std::size_t i = p.header + p.plaintext; i < p.header + p.plaintext + added; ++i) {
    EXPECT_EQ(p.buf[i], 0) << i;
  }
  EXPECT_EQ(p.buf[p.header + p.plaintext + added], 0xee);  // nothing beyond
}

TEST(ShortPacketPadding, LongHeaderPacketsAreLeftAlone) {
  Packet p(0xc0);
  PaddingScope scope(p.end(), true);
  EXPECT_EQ(p.pad(), 0u);
  EXPECT_EQ(scope.added(), 0u);
}

TEST(ShortPacketPadding, NothingIsPaddedWithoutAnEnabledScope) {
  Packet p(0x40);
  EXPECT_EQ(p.pad(), 0u);  // no scope at all
  PaddingScope scope(p.end(), false);
  EXPECT_EQ(p.pad(), 0u);
  EXPECT_EQ(scope.added(), 0u);
}

TEST(ShortPacketPadding, ADisabledInnerScopeShieldsAnEnabledOuterOne) {
  Packet p(0x40);
  PaddingScope outer(p.end(), true);
  {
    PaddingScope inner(p.end(), false);
    EXPECT_EQ(p.pad(), 0u);
  }
  EXPECT_EQ(outer.added(), 0u);
  EXPECT_GT(p.pad(), 0u);  // the outer scope is back
}

TEST(ShortPacketPadding, APacketAlreadyLongEnoughIsLeftAlone) {
  Packet p(0x40);
  p.plaintext = kMinShortPacketLength - p.header - kTag;
  PaddingScope scope(p.end(), true);
  EXPECT_EQ(p.pad(), 0u);
}

TEST(ShortPacketPadding, NoRoomMeansNoPadding) {
  Packet p(0x40);
  PaddingScope scope(p.buf.data() + kMinShortPacketLength - 1, true);
  EXPECT_EQ(p.pad(), 0u);
  EXPECT_EQ(p.buf[p.header + p.plaintext], 0xee);
}

TEST(ShortPacketPadding, OnlyOnePacketPerScopeIsPadded) {
  Packet p(0x40);
  PaddingScope scope(p.end(), true);
  const std::size_t first = p.pad();
  EXPECT_GT(first, 0u);
  EXPECT_EQ(p.pad(), 0u);
  EXPECT_EQ(scope.added(), first);
}

TEST(ShortPacketPadding, PlaintextNotRightAfterTheHeaderIsLeftAlone) {
  Packet p(0x40);
  PaddingScope scope(p.end(), true);
  EXPECT_EQ(
      pad_short_packet(p.buf.data(), p.header, p.buf.data() + p.header + 1, p.plaintext, kTag),
      p.plaintext);
}

}  // namespace
}  // namespace quicreuse::core
