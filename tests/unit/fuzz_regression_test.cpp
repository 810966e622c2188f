// Regressions found by the libFuzzer harnesses (fuzz/): each test feeds the input that made a
// harness fail, copied here byte for byte (the same file is in fuzz/corpus/<harness>/, named
// regression-*), through the API the harness called, and checks the behaviour the header
// comments promise.
#include "core/connection_id.hpp"
#include "core/tokens.hpp"

#include <quicreuse/multiaddr.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace quicreuse {
namespace {

using namespace std::chrono_literals;

// ----- fuzz_multiaddr_binary: regression-newline-in-zone-message -----

// An /ip6zone whose zone bytes hold a newline and non-ASCII bytes, with no /ip6 after it. The
// explanation used to copy the zone bytes raw, so it spanned two lines (and could forge log
// lines); multiaddr.hpp promises a one-line explanation.
TEST(FuzzRegression, MultiaddrZoneBytesAreEscapedInTheExplanation) {
  const std::vector<std::uint8_t> input = {0x2a, 0x04, 0xc6, 0xff, 0x37, 0x0a};
  std::string why;
  const auto m = Multiaddr::from_bytes(input, &why);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), make_error_code(errc::invalid_argument));
  EXPECT_EQ(why, "/ip6zone/\\xc6\\xff7\\x0a must be followed by /ip6");
}

// The same raw copy existed in the messages of the UDP conversions: /dns names and zones may hold
// any byte but '/' and NUL.
TEST(FuzzRegression, MultiaddrConversionExplanationsStayOnOneLine) {
  std::string why;
  const auto dns = Multiaddr::parse("/dns4/a\nb/tcp/1", &why);
  ASSERT_TRUE(dns) << why;
  ASSERT_FALSE(to_listen_address(*dns, &why));
  EXPECT_EQ(why, "not a UDP address: /dns4/a\\x0ab is followed by /tcp/1, not /udp");

  const auto zone = Multiaddr::parse("/ip6zone/e\nth0/ip6/fe80::1/tcp/1/quic-v1", &why);
  ASSERT_TRUE(zone) << why;
  ASSERT_FALSE(from_quic_multiaddr(*zone, &why));
  EXPECT_EQ(why, "not a UDP address: /ip6zone/e\\x0ath0/ip6/fe80::1/tcp/1");

  const auto no_udp = Multiaddr::parse("/dns/x\ty", &why);
  ASSERT_TRUE(no_udp) << why;
  ASSERT_FALSE(to_listen_address(*no_udp, &why));
  EXPECT_EQ(why, "not a UDP address: no /udp after /dns/x\\x09y");
}

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
