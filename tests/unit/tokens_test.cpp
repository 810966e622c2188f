#include "core/tokens.hpp"

#include <gtest/gtest.h>

namespace quicreuse::core {
namespace {

using namespace std::chrono_literals;

StaticKey key(std::uint8_t b) {
  StaticKey k;
  k.fill(b);
  return k;
}

SocketAddress addr(std::uint8_t host, std::uint16_t port) {
  const std::uint8_t bytes[4] = {192, 0, 2, host};
  return SocketAddress::v4(bytes, port);
}

ConnectionId cid(std::uint8_t fill, std::size_t len) {
  std::vector<std::uint8_t> v(len, fill);
  return ConnectionId::from(v);
}

TEST(Tokens, ResetTokenIsDeterministicPerKeyAndCid) {
  const auto t1 = derive_reset_token(key(1), cid(5, 16));
  EXPECT_EQ(t1, derive_reset_token(key(1), cid(5, 16)));  // a restart with the same key agrees
  EXPECT_NE(t1, derive_reset_token(key(2), cid(5, 16)));
  EXPECT_NE(t1, derive_reset_token(key(1), cid(6, 16)));
}

TEST(Tokens, RetryTokenRoundTripAndBinding) {
  const Timestamp now(100s);
  const auto odcid = cid(0xaa, 8);
  const auto retry_scid = cid(0xbb, 16);
  const auto token = make_retry_token(key(3), 1, addr(1, 1000), retry_scid, odcid, now);
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(token_kind(token), TokenKind::retry);
  auto got = verify_retry_token(key(3), token, 1, addr(1, 1000), retry_scid, 10s, now + 1s);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, odcid);
  // Bound to the address (and port), the Retry SCID, the key and the lifetime.
  EXPECT_FALSE(verify_retry_token(key(3), token, 1, addr(2, 1000), retry_scid, 10s, now));
  EXPECT_FALSE(verify_retry_token(key(3), token, 1, addr(1, 1001), retry_scid, 10s, now));
  EXPECT_FALSE(verify_retry_token(key(3), token, 1, addr(1, 1000), cid(0xbc, 16), 10s, now));
  EXPECT_FALSE(verify_retry_token(key(4), token, 1, addr(1, 1000), retry_scid, 10s, now));
  EXPECT_FALSE(verify_retry_token(key(3), token, 1, addr(1, 1000), retry_scid, 10s, now + 11s));
  auto tampered = token;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_FALSE(verify_retry_token(key(3), tampered, 1, addr(1, 1000), retry_scid, 10s, now));
  EXPECT_FALSE(verify_retry_token(key(3), {}, 1, addr(1, 1000), retry_scid, 10s, now));
}

TEST(Tokens, RegularTokenIsBoundToTheIpNotThePort) {
  const Timestamp now(100s);
  const auto token = make_regular_token(key(5), addr(1, 1000), now);
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(token_kind(token), TokenKind::regular);
  EXPECT_TRUE(verify_regular_token(key(5), token, addr(1, 1000), 24h, now + 1h));
  EXPECT_TRUE(verify_regular_token(key(5), token, addr(1, 2000), 24h, now));  // NAT rebinding
  EXPECT_FALSE(verify_regular_token(key(5), token, addr(9, 1000), 24h, now));
  EXPECT_FALSE(verify_regular_token(key(6), token, addr(1, 1000), 24h, now));
  EXPECT_FALSE(verify_regular_token(key(5), token, addr(1, 1000), 24h, now + 25h));
}

TEST(Tokens, TokenKindByFirstByte) {
  EXPECT_EQ(token_kind({}), TokenKind::none);
  const std::uint8_t other[] = {0x01, 2, 3};
  EXPECT_EQ(token_kind(other), TokenKind::unknown);
}

}  // namespace
}  // namespace quicreuse::core
