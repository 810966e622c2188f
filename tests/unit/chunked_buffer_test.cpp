#include "core/chunked_buffer.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace quicreuse::core {
namespace {

std::vector<std::uint8_t> seq(std::size_t n, std::uint8_t start = 0) {
  std::vector<std::uint8_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

TEST(ChunkedBuffer, AppendReadRoundTripAcrossBlocks) {
  ChunkedBuffer b;
  const auto data = seq(200'000);
  b.append(std::span(data).first(70'000));
  b.append(std::span(data).subspan(70'000));
  EXPECT_EQ(b.size(), data.size());
  std::vector<std::uint8_t> out(data.size());
  std::size_t got = 0;
  while (got < out.size()) {
    const std::size_t n =
        b.read(std::span(out).subspan(got, std::min<std::size_t>(9'999, out.size() - got)));
    ASSERT_GT(n, 0u);
    got += n;
  }
  EXPECT_EQ(out, data);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.begin_offset(), data.size());
}

TEST(ChunkedBuffer, PeekedBytesStayInPlaceWhileAppending) {
  ChunkedBuffer b;
  const auto data = seq(100);
  b.append(data);
  ngtcp2_vec v[4];
  ASSERT_EQ(b.peek(10, v), 1u);
  const std::uint8_t* before = v[0].base;
  EXPECT_EQ(v[0].len, 90u);
  EXPECT_EQ(*before, 10);
  // Appending a lot must not move the bytes already handed out.
  b.append(seq(100'000));
  ASSERT_GE(b.peek(10, v), 2u);
  EXPECT_EQ(v[0].base, before);
}

TEST(ChunkedBuffer, ConsumeReleasesAcknowledgedPrefix) {
  ChunkedBuffer b;
  b.append(seq(10'000));
  b.consume_to(4'000);
  EXPECT_EQ(b.begin_offset(), 4'000u);
  EXPECT_EQ(b.size(), 6'000u);
  ngtcp2_vec v[2];
  ASSERT_EQ(b.peek(4'000, v), 1u);  // one 10'000-byte block
  EXPECT_EQ(v[0].len, 6'000u);
  EXPECT_EQ(*v[0].base, static_cast<std::uint8_t>(4'000 % 256));
  b.consume_to(50'000);  // clamped to the end
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.begin_offset(), 10'000u);
  b.append(seq(5, 7));
  EXPECT_EQ(b.end_offset(), 10'005u);
  std::uint8_t out[5];
  EXPECT_EQ(b.read(out), 5u);
  EXPECT_EQ(out[0], 7);
}

}  // namespace
}  // namespace quicreuse::core
