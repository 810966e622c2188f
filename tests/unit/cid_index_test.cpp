#include "core/cid_index.hpp"

#include "core/siphash.hpp"

#include <gtest/gtest.h>

namespace quicreuse::core {
namespace {

ConnectionId cid(std::initializer_list<std::uint8_t> bytes) {
  std::vector<std::uint8_t> v(bytes);
  return ConnectionId::from(v);
}

TEST(CidIndex, InsertFindEraseByOwner) {
  CidIndex index({1, 2});
  const auto a = cid({1, 2, 3, 4});
  EXPECT_TRUE(index.insert(a, 7));
  EXPECT_FALSE(index.insert(a, 8));  // taken: no silent steal
  ASSERT_TRUE(index.find(a.span()));
  EXPECT_EQ(*index.find(a.span()), 7u);
  index.erase(a, 8);  // a stale owner cannot unmap it
  EXPECT_TRUE(index.find(a.span()));
  index.erase(a, 7);
  EXPECT_FALSE(index.find(a.span()));
}

TEST(CidIndex, LengthIsPartOfTheKey) {
  CidIndex index({1, 2});
  EXPECT_TRUE(index.insert(cid({1, 2, 3, 4}), 1));
  EXPECT_TRUE(index.insert(cid({1, 2, 3, 4, 0}), 2));
  EXPECT_EQ(*index.find(cid({1, 2, 3, 4}).span()), 1u);
  EXPECT_EQ(*index.find(cid({1, 2, 3, 4, 0}).span()), 2u);
  EXPECT_FALSE(index.find(cid({1, 2, 3}).span()));
  const std::vector<std::uint8_t> too_long(21, 1);
  EXPECT_FALSE(index.find(too_long));
}

TEST(CidIndex, ResetTokens) {
  CidIndex index({3, 4});
  ResetToken t;
  t.bytes.fill(9);
  index.insert_token(t, 5);
  EXPECT_EQ(*index.find_token(t), 5u);
  index.erase_token(t, 6);
  EXPECT_TRUE(index.find_token(t));
  index.erase_token(t, 5);
  EXPECT_FALSE(index.find_token(t));
}

TEST(SipHash, MatchesTheReferenceVector) {
  // SipHash-2-4 reference: key 00..0f, message 00..0e (15 bytes) -> a129ca6149be45e5.
  SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  std::vector<std::uint8_t> msg(15);
  for (std::size_t i = 0; i < msg.size(); ++i) {
    msg[i] = static_cast<std::uint8_t>(i);
  }
  EXPECT_EQ(siphash24(key, msg), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(siphash24(key, {}), 0x726fdb47dd0e0e31ULL);
}

}  // namespace
}  // namespace quicreuse::core
