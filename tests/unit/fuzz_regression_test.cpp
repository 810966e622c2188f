// Regressions found by the libFuzzer harnesses (fuzz/): each test feeds the input that made a
// harness fail, copied here byte for byte (the same file is in fuzz/corpus/<harness>/, named
// regression-*), through the API the harness called, and checks the behaviour the header
// comments promise.
#include "core/connection_id.hpp"
#include "core/tokens.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

namespace quicreuse {
namespace {

using namespace std::chrono_literals;

// ----- fuzz_tokens: regression-empty-connection-id -----

// The empty input: the harness reads it as version 0, 0.0.0.0:0, empty connection IDs, time 0
// and a 1 ns lifetime. ConnectionId::from got an empty span whose data() is null and passed it to
// memcpy, which must never get a null pointer (UBSan: "null pointer passed as argument 2").
TEST(FuzzRegression, EmptyConnectionIdFromNullSpan) {
  const std::vector<std::uint8_t> none;
  const core::ConnectionId cid = core::ConnectionId::from(std::span<const std::uint8_t>(none));
  EXPECT_EQ(cid.length, 0);
  EXPECT_EQ(cid, core::ConnectionId{});
  EXPECT_TRUE(cid.span().empty());
}

TEST(FuzzRegression, TokensWithEmptyConnectionIdsRoundTrip) {
  core::StaticKey key;
  key.fill(0x5a);
  const std::uint8_t zero[4] = {};
  const core::SocketAddress remote = core::SocketAddress::v4(zero, 0);
  const core::ConnectionId empty = core::ConnectionId::from(std::span<const std::uint8_t>{});
  const core::Timestamp now{};
  const core::Duration lifetime(1);

  const auto retry = core::make_retry_token(key, 0, remote, empty, empty, now);
  ASSERT_FALSE(retry.empty());
  const auto odcid = core::verify_retry_token(key, retry, 0, remote, empty, lifetime, now);
  ASSERT_TRUE(odcid);
  EXPECT_EQ(*odcid, empty);
  EXPECT_FALSE(core::verify_retry_token(key, retry, 0, remote, empty, lifetime, now + lifetime));

  const auto regular = core::make_regular_token(key, remote, now);
  ASSERT_FALSE(regular.empty());
  EXPECT_TRUE(core::verify_regular_token(key, regular, remote, lifetime, now));
  EXPECT_FALSE(core::verify_regular_token(key, regular, remote, lifetime, now + lifetime));
  EXPECT_EQ(core::token_kind({}), core::TokenKind::none);
}

}  // namespace
}  // namespace quicreuse
