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

// ----- fuzz_multiaddr_binary: regression-p2p-too-long-for-text -----

// Returns the binary multiaddr /p2p/<identity multihash of digest_length 0xff bytes>.
std::vector<std::uint8_t> long_identity_peer(std::size_t digest_length) {
  const auto varint = [](std::vector<std::uint8_t>& out, std::size_t v) {
    for (; v >= 0x80; v >>= 7) {
      out.push_back(static_cast<std::uint8_t>((v & 0x7f) | 0x80));
    }
    out.push_back(static_cast<std::uint8_t>(v));
  };
  std::vector<std::uint8_t> value = {0x00};  // identity multihash
  varint(value, digest_length);
  value.insert(value.end(), digest_length, 0xff);
  std::vector<std::uint8_t> out;
  varint(out, 0x01a5);  // /p2p
  varint(out, value.size());
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

// A 1603-byte identity peer ID (the regression input: digest of 1600 bytes) decoded, but its
// base58btc text has more characters than the decoder accepts, so to_string() gave text that
// Multiaddr::parse rejected (multiaddr.hpp: "The text parses back to an equal multiaddr").
// Peer IDs are now limited to 1494 bytes, whose text always fits.
TEST(FuzzRegression, MultiaddrPeerIdsAreNoLongerThanTheirTextAllows) {
  std::string why;
  const auto too_long = Multiaddr::from_bytes(long_identity_peer(1600), &why);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(why, "bad /p2p value: peer ID of 1603 bytes (at most 1494) at byte 0");

  const auto longest = Multiaddr::from_bytes(long_identity_peer(1491), &why);  // 1494 bytes
  ASSERT_TRUE(longest) << why;
  const auto reparsed = Multiaddr::parse(longest->to_string(), &why);
  ASSERT_TRUE(reparsed) << why;
  EXPECT_EQ(*reparsed, *longest);
  EXPECT_FALSE(Multiaddr::from_bytes(long_identity_peer(1492)));
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
