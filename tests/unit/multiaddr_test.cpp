// Multiaddr codec and QUIC multiaddr conversions: Go's vectors (quic_multiaddr_test.go and
// go-multiaddr's tables), round trips text <-> binary, bad input with the message naming the bad
// part, and mutation robustness. Nothing here resolves a name (the resolver's cases are
// integration tests: tests/integration/kernel_lookup_test.cpp).
#include "multiaddr/multibase.hpp"
#include "multiaddr/varint.hpp"

#include <quicreuse/multiaddr.hpp>

#include <gtest/gtest.h>
#include <net/if.h>

#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

namespace quicreuse {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr const char* kCerthashSha256 = "uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g";
constexpr const char* kCerthashMd5 = "u1QEQOFj2IjCsPJFfMAxmQxLGPw";
constexpr const char* kPeerSha256 = "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC";
constexpr const char* kPeerIdentity = "12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV";

Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(
        static_cast<std::uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string to_hex(const Bytes& bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) {
    out.push_back(kDigits[b >> 4U]);
    out.push_back(kDigits[b & 0x0fU]);
  }
  return out;
}

Multiaddr must_parse(std::string_view text) {
  std::string why;
  auto m = Multiaddr::parse(text, &why);
  EXPECT_TRUE(m.has_value()) << text << ": " << why;
  return m ? *m : Multiaddr{};
}

asio::ip::udp::endpoint udp(std::string_view ip, std::uint16_t port) {
  return {asio::ip::make_address(std::string(ip)), port};
}

// A decoded multiaddr must print to text that parses back to the same bytes, and the bytes must
// decode back to the same value.
void expect_round_trip(const Multiaddr& m) {
  std::string why;
  const auto text = m.to_string();
  const auto reparsed = Multiaddr::parse(text, &why);
  ASSERT_TRUE(reparsed) << text << ": " << why;
  EXPECT_EQ(reparsed->to_bytes(), m.to_bytes()) << text;
  const auto decoded = Multiaddr::from_bytes(m.to_bytes(), &why);
  ASSERT_TRUE(decoded) << text << ": " << why;
  EXPECT_EQ(*decoded, m);
  EXPECT_EQ(decoded->to_string(), text);
}

// ----- Go: quic_multiaddr_test.go (spec section 7, items 11-13) -----

TEST(MultiaddrConvert, ToQuicMultiaddr) {  // TestConvertToQuicMultiaddr
  const auto m = to_quic_multiaddr(udp("192.168.0.42", 1337), QuicVersion::v1);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "/ip4/192.168.0.42/udp/1337/quic-v1");
}

TEST(MultiaddrConvert, ToQuicV1Multiaddr) {  // TestConvertToQuicV1Multiaddr (a duplicate in Go)
  const auto m = to_quic_multiaddr(udp("192.168.0.42", 1337));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "/ip4/192.168.0.42/udp/1337/quic-v1");
}

TEST(MultiaddrConvert, FromQuicV1Multiaddr) {  // TestConvertFromQuicV1Multiaddr
  const auto result = from_quic_multiaddr(must_parse("/ip4/192.168.0.42/udp/1337/quic-v1"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->first.address(), asio::ip::make_address("192.168.0.42"));
  EXPECT_EQ(result->first.port(), 1337);
  EXPECT_EQ(result->second, QuicVersion::v1);
}

// ----- protocol table -----

TEST(MultiaddrProtocols, CodesMatchTheMulticodecTable) {
  // multiformats/multicodec table.csv and go-multiaddr protocols.go.
  const struct {
    std::string_view name;
    Protocol protocol;
    std::uint32_t code;
  } table[] = {
      {"ip4", Protocol::ip4, 0x04},
      {"tcp", Protocol::tcp, 0x06},
      {"ip6", Protocol::ip6, 0x29},
      {"ip6zone", Protocol::ip6zone, 0x2a},
      {"dns", Protocol::dns, 0x35},
      {"dns4", Protocol::dns4, 0x36},
      {"dns6", Protocol::dns6, 0x37},
      {"udp", Protocol::udp, 0x0111},
      {"webrtc-direct", Protocol::webrtc_direct, 0x0118},
      {"p2p", Protocol::p2p, 0x01a5},
      {"quic", Protocol::quic, 0x01cc},
      {"quic-v1", Protocol::quic_v1, 0x01cd},
      {"webtransport", Protocol::webtransport, 0x01d1},
      {"certhash", Protocol::certhash, 0x01d2},
  };
  for (const auto& row : table) {
    EXPECT_EQ(protocol_code(row.protocol), row.code) << row.name;
    EXPECT_EQ(protocol_name(row.protocol), row.name);
    EXPECT_EQ(protocol_by_name(row.name), row.protocol) << row.name;
    EXPECT_EQ(protocol_by_code(row.code), row.protocol) << row.name;
  }
  EXPECT_EQ(quic_v1_protocol_code(), 0x01cdU);
  EXPECT_FALSE(protocol_by_name("ipfs"));
  EXPECT_FALSE(protocol_by_name("QUIC-V1"));
  EXPECT_FALSE(protocol_by_code(0x0115));
  EXPECT_EQ(protocol_name(static_cast<Protocol>(0x9999)), "unknown");
}

// ----- good vectors -----

TEST(MultiaddrParse, GoodVectorsRoundTrip) {
  const std::string vectors[] = {
      "/ip4/127.0.0.1/udp/1234",
      "/ip4/0.0.0.0/udp/0/quic-v1",
      "/ip4/192.168.0.42/udp/1337/quic-v1",
      "/ip4/1.2.3.4/tcp/4321",
      "/ip4/1.2.3.4/udp/1234/quic",
      "/ip6/::1/udp/4001/quic-v1",
      "/ip6/::/udp/65535/quic-v1",
      "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic-v1",
      "/ip6/::ffff:1.2.3.4/udp/1/quic-v1",
      "/ip6zone/x/ip6/fe80::1/udp/1234/quic-v1",
      "/ip6zone/x%y/ip6/::",
      "/ip6zone/eth0/ip6/fe80::1/udp/4001/quic-v1/p2p/" + std::string(kPeerIdentity),
      "/dns4/example.com/udp/443/quic-v1",
      "/dns6/example.com/udp/443/quic-v1",
      "/dns/example.com/udp/443/quic-v1/webtransport",
      "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/" + std::string(kCerthashSha256) +
          "/certhash/" + kCerthashMd5,
      "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/" + std::string(kCerthashSha256) +
          "/p2p/" + kPeerSha256,
      "/ip4/1.2.3.4/udp/4001/quic-v1/p2p/" + std::string(kPeerSha256),
      "/p2p/" + std::string(kPeerIdentity),
      "/ip4/1.2.3.4/udp/9090/webrtc-direct/certhash/" + std::string(kCerthashSha256) + "/p2p/" +
          kPeerIdentity,
      "/quic-v1",
  };
  for (const auto& text : vectors) {
    SCOPED_TRACE(text);
    const auto m = must_parse(text);
    EXPECT_EQ(m.to_string(), text);
    expect_round_trip(m);
  }
}

TEST(MultiaddrParse, NonCanonicalTextPrintsCanonically) {
  const struct {
    std::string in;
    std::string out;
  } vectors[] = {
      {"/ip4/1.2.3.4/udp/1234/", "/ip4/1.2.3.4/udp/1234"},  // trailing slashes, as Go
      {"/ip4/1.2.3.4/udp/1234///", "/ip4/1.2.3.4/udp/1234"},
      {"/udp/0080", "/udp/80"},
      {"/ip6/0:0:0:0:0:0:0:1", "/ip6/::1"},
      {"/ip6/2001:DB8::1", "/ip6/2001:db8::1"},
      {"/ip6/2001:db8:0:0:1:0:0:1", "/ip6/2001:db8::1:0:0:1"},  // first of equal runs
      {"/ip6/2001:0:0:1:0:0:0:1", "/ip6/2001:0:0:1::1"},        // longest run
      {"/ip6/1:0:1:1:1:1:1:1", "/ip6/1:0:1:1:1:1:1:1"},         // one zero group stays
      {"/ip6/::0102:0304", "/ip6/::102:304"},                   // not IPv4-mapped: hex, as Go
      // /certhash in other multibases prints as base64url.
      {"/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy", std::string("/certhash/") + kCerthashMd5},
      {"/certhash/zQmbWTwYGcmdyK9CYfNBcfs9nhZs17a6FQ4Y8oea278xx41",
       std::string("/certhash/") + kCerthashSha256},
      {"/certhash/fd501103858f62230ac3c915f300c664312c63f",
       std::string("/certhash/") + kCerthashMd5},
      {"/certhash/fD501103858F62230AC3C915F300C664312C63F",
       "/certhash/" + std::string(kCerthashMd5)},
      {"/certhash/m1QEQOFj2IjCsPJFfMAxmQxLGPw", std::string("/certhash/") + kCerthashMd5},
      // /p2p as a libp2p-key CIDv1 (base32, base36) prints as a base58btc multihash.
      {"/p2p/bafzbeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm",
       std::string("/p2p/") + kPeerSha256},
      {"/p2p/bafzaajaiaejcalj543iwv2d7pkjt7ykvefrkfu7qjfi6sduakhso4lay6abn2d5u",
       std::string("/p2p/") + kPeerIdentity},
      {"/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
       std::string("/p2p/") + kPeerSha256},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.in);
    const auto m = must_parse(v.in);
    EXPECT_EQ(m.to_string(), v.out);
    EXPECT_EQ(must_parse(v.out), m);
    expect_round_trip(m);
  }
}

TEST(MultiaddrParse, KnownBinaryEncodings) {
  const struct {
    std::string text;
    std::string hex;
  } vectors[] = {
      {"/ip4/127.0.0.1/udp/1234", "047f000001910204d2"},  // go-multiaddr's vector
      {"/ip4/127.0.0.1/tcp/4321", "047f0000010610e1"},
      {"/ip4/127.0.0.1/udp/1234/ip4/127.0.0.1/tcp/4321", "047f000001910204d2047f0000010610e1"},
      {"/ip4/192.168.0.42/udp/1337/quic-v1", "04c0a8002a91020539cd03"},
      {"/ip6/::1/udp/1/quic", "290000000000000000000000000000000191020001cc03"},
      {"/ip6zone/x/ip6/fe80::1", "2a017829fe800000000000000000000000000001"},
      {"/dns/a.b/udp/1", "3503612e6291020001"},
      {"/dns4/a.b/udp/1", "3603612e6291020001"},
      {"/dns6/a.b/udp/1", "3703612e6291020001"},
      {"/ip4/1.2.3.4/udp/9090/webrtc-direct", "0401020304910223829802"},
      {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/" + std::string(kCerthashSha256) +
           "/certhash/" + kCerthashMd5,
       "047f000001910204d2cd03d103d203221220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a39607"
       "14caef0c4f2d20313d501103858f62230ac3c915f300c664312c63f"},
      {"/p2p/" + std::string(kPeerSha256),
       "a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.text);
    const auto m = must_parse(v.text);
    EXPECT_EQ(to_hex(m.to_bytes()), v.hex);
    std::string why;
    const auto decoded = Multiaddr::from_bytes(from_hex(v.hex), &why);
    ASSERT_TRUE(decoded) << why;
    EXPECT_EQ(decoded->to_string(), v.text);
  }
}

// ----- bad vectors -----

TEST(MultiaddrParse, BadTextNamesTheBadPart) {
  const struct {
    std::string text;
    std::string message;  // a part of *why
  } vectors[] = {
      {"", "empty multiaddr"},
      {"/", "empty multiaddr"},
      {"ip4/1.2.3.4", "starts with '/'"},
      {"/foo/1", "unknown protocol 'foo'"},
      {"/ipfs/" + std::string(kPeerSha256), "unknown protocol 'ipfs'"},
      {"/ip4/1.2.3", "bad /ip4 address '1.2.3'"},
      {"/ip4/256.0.0.1", "bad /ip4 address '256.0.0.1'"},
      {"/ip4/::1", "bad /ip4 address '::1'"},
      {"/ip4/fdpsofodsajfdoisa", "bad /ip4 address 'fdpsofodsajfdoisa'"},
      {"/ip6/1:2:3", "bad /ip6 address '1:2:3'"},
      {"/ip6/1.2.3.4", "bad /ip6 address '1.2.3.4'"},
      {"/ip6/fe80::1%eth0", "put the zone in /ip6zone"},
      {"/ip4/1.2.3.4/udp/70000", "bad /udp port '70000'"},
      {"/ip4/1.2.3.4/udp/65536", "bad /udp port '65536'"},
      {"/ip4/1.2.3.4/tcp/-1", "bad /tcp port '-1'"},
      {"/ip4/1.2.3.4/udp/+1", "bad /udp port '+1'"},
      {"/ip4/1.2.3.4/udp/12a", "bad /udp port '12a'"},
      {"/ip4/1.2.3.4/udp/99999999999999999999", "bad /udp port"},
      {"/ip4/1.2.3.4/udp", "missing value for /udp"},
      {"/ip4/1.2.3.4/udp/", "missing value for /udp"},
      {"/ip4", "missing value for /ip4"},
      {"/dns4", "missing value for /dns4"},
      {"/p2p", "missing value for /p2p"},
      {"/ip6zone/eth0", "/ip6zone/eth0 must be followed by /ip6"},
      {"/ip6zone/eth0/ip4/1.2.3.4", "/ip6zone/eth0 must be followed by /ip6"},
      {"/ip6zone/a/ip6zone/b/ip6/::1", "/ip6zone/a must be followed by /ip6"},
      {"/ip6zone//ip6/fe80::1", "empty /ip6zone value"},
      {"/dns4//udp/1", "empty /dns4 value"},
      {"//ip4/1.2.3.4", "empty protocol name at offset 1"},
      {"/ip4/1.2.3.4//udp/1", "empty protocol name"},
      {"/ip4/1.2.3.4/udp/1234/quic-v1/garbage", "unknown protocol 'garbage'"},
      {"/ip4/127.0.0.1/quic-v1/1234", "unknown protocol '1234'"},
      {"/certhash/b2uaraocy6yrdblb4sfptaddgimjmmp", "bad /certhash value 'b2uaraocy6yrdblb4s"},
      {"/certhash/xabc", "unsupported multibase prefix 'x'"},
      {"/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE", "digest length 32 but 31 bytes"},
      {"/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8", "invalid base64url length 45"},
      {"/certhash/u", "invalid multihash"},
      {"/certhash/u!!!!", "invalid base64url character '!'"},
      {"/p2p/QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY", "digest length 33 but 32 bytes"},
      {"/p2p/bafzbeeaaaebagbafaydqqcikbmga2dqp", "sha2-256 digest has 16 bytes, want 32"},
      {"/p2p/k2jmtxwoe2phm1hbqp0e7nufqf6umvuu2e9qd7ana7h411a0haqj6i2z", "not libp2p-key"},
      {"/p2p/?unknownmultibase", "unsupported multibase prefix '?'"},
      {"/p2p/Qm0", "invalid base58btc character '0'"},
      {"/p2p/tcp", "bad /p2p value 'tcp'"},
      {"/p2p/" + std::string(kCerthashMd5), "not a CIDv1"},
      {"/ip4/1.2.3.4\n", "bad /ip4 address '1.2.3.4\\x0a'"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.text);
    std::string why;
    const auto m = Multiaddr::parse(v.text, &why);
    ASSERT_FALSE(m) << m->to_string();
    EXPECT_EQ(m.error(), make_error_code(errc::invalid_argument));
    EXPECT_NE(why.find(v.message), std::string::npos) << "why: " << why;
    EXPECT_FALSE(Multiaddr::parse(v.text));  // why is optional
  }
}

TEST(MultiaddrParse, LongBadValueIsCutInTheMessage) {
  std::string why;
  EXPECT_FALSE(Multiaddr::parse("/ip4/" + std::string(10000, '7'), &why));
  EXPECT_LT(why.size(), 200U);
  EXPECT_NE(why.find("...'"), std::string::npos) << why;
  // base58 is quadratic: over-long values are refused before decoding.
  EXPECT_FALSE(Multiaddr::parse("/p2p/Qm" + std::string(100000, 'z'), &why));
  EXPECT_NE(why.find("longer than"), std::string::npos) << why;
}

TEST(MultiaddrBinary, BadBytesNameTheBadPart) {
  const struct {
    std::string hex;
    std::string message;
  } vectors[] = {
      {"", "empty multiaddr"},
      {"047f0000", "truncated value of /ip4 at byte 0: has 3 bytes, want 4"},
      {"047f00000191", "truncated varint at byte 5"},
      {"047f0000019102", "truncated value of /udp at byte 5: has 0 bytes, want 2"},
      {"047f000001910204", "truncated value of /udp at byte 5: has 1 bytes, want 2"},
      {"80808080808080808001", "over-long varint at byte 0"},
      {"8400", "non-minimal varint at byte 0"},
      {"ff01", "unknown protocol code 0xff at byte 0"},
      {"047f000001910204d207", "unknown protocol code 0x7 at byte 9"},  // trailing garbage
      {"047f000001910204d291", "truncated varint at byte 9"},
      {"047f000001910204d2cd0300", "unknown protocol code 0x0 at byte 11"},
      {"3600", "empty /dns4 value at byte 0"},
      {"360561", "truncated value of /dns4 at byte 0: has 1 bytes, want 5"},
      {"36ffffffffffffffff7f", "truncated value of /dns4 at byte 0: has 0 bytes"},
      {"36ffffffffffffffffff01", "over-long varint at byte 1 (length of /dns4)"},
      {"3603612f62", "contains '/'"},
      {"3603610062", "NUL byte"},
      {"2a0178", "/ip6zone/x must be followed by /ip6"},
      {"2a0178047f000001", "/ip6zone/x must be followed by /ip6"},
      {"a50303120100", "sha2-256 digest has 1 bytes, want 32"},
      {"a503021300", "multihash code 0x13 is neither sha2-256 nor identity"},
      {"d203021205", "invalid multihash: digest length 5 but 0 bytes follow"},
      {"d20303920000", "invalid multihash: non-minimal varint in its code"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.hex);
    std::string why;
    const auto m = Multiaddr::from_bytes(from_hex(v.hex), &why);
    ASSERT_FALSE(m) << m->to_string();
    EXPECT_EQ(m.error(), make_error_code(errc::invalid_argument));
    EXPECT_NE(why.find(v.message), std::string::npos) << "why: " << why;
  }
}

// ----- components -----

TEST(MultiaddrComponents, ParseAndBuild) {
  std::string why;
  const auto port = Component::parse(Protocol::udp, "443", &why);
  ASSERT_TRUE(port) << why;
  EXPECT_EQ(port->value, (Bytes{0x01, 0xbb}));
  EXPECT_EQ(port->value_text(), "443");
  EXPECT_EQ(port->to_string(), "/udp/443");

  EXPECT_FALSE(Component::parse(Protocol::quic_v1, "x", &why));
  EXPECT_NE(why.find("/quic-v1 takes no value"), std::string::npos) << why;
  EXPECT_FALSE(Component::parse(static_cast<Protocol>(0x9999), "", &why));
  EXPECT_NE(why.find("unknown protocol code 0x9999"), std::string::npos) << why;

  const auto ip = Component::parse(Protocol::ip4, "10.0.0.1");
  const auto quic = Component::parse(Protocol::quic_v1, "");
  ASSERT_TRUE(ip && quic);
  const auto m = Multiaddr::from_components({*ip, *port, *quic}, &why);
  ASSERT_TRUE(m) << why;
  EXPECT_EQ(m->to_string(), "/ip4/10.0.0.1/udp/443/quic-v1");
  EXPECT_EQ(m->components().size(), 3U);
  EXPECT_EQ(m->components()[1], *port);
  EXPECT_EQ(Multiaddr::from_components({})->to_string(), "");
}

TEST(MultiaddrComponents, HandBuiltInvalidComponentsAreRejected) {
  const struct {
    Component component;
    std::string message;
  } vectors[] = {
      {{Protocol::ip4, {1, 2, 3}}, "value of /ip4 has 3 bytes, want 4"},
      {{Protocol::ip6, {1}}, "value of /ip6 has 1 bytes, want 16"},
      {{Protocol::udp, {}}, "value of /udp has 0 bytes, want 2"},
      {{Protocol::quic_v1, {1}}, "value of /quic-v1 has 1 bytes, want none"},
      {{Protocol::dns4, {}}, "empty /dns4 value"},
      {{Protocol::p2p, {0x12}}, "bad /p2p value"},
      {{static_cast<Protocol>(0x9999), {}}, "unknown protocol code 0x9999"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.message);
    std::string why;
    EXPECT_FALSE(Multiaddr::from_components({v.component}, &why));
    EXPECT_NE(why.find(v.message), std::string::npos) << "why: " << why;
  }
  // Printing a hand-built invalid component does not crash: the bytes are shown in hex.
  EXPECT_EQ((Component{Protocol::ip4, {1, 2, 3}}.value_text()), "0x010203");
  EXPECT_EQ((Component{Protocol::quic_v1, {1}}.to_string()), "/quic-v1/0x01");
}

// ----- value semantics and helpers -----

TEST(MultiaddrValue, EqualityHashAndOrder) {
  const auto a = must_parse("/ip4/1.2.3.4/udp/1/quic-v1");
  const auto b = must_parse("/ip4/1.2.3.4/udp/0001/quic-v1/");
  const auto c = must_parse("/ip4/1.2.3.4/udp/2/quic-v1");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::hash<Multiaddr>{}(a), std::hash<Multiaddr>{}(b));
  std::unordered_set<Multiaddr> set{a, b, c};
  EXPECT_EQ(set.size(), 2U);
  std::map<Multiaddr, int> map{{a, 1}, {c, 2}};
  EXPECT_EQ(map.at(b), 1);
  EXPECT_TRUE(a < c);
  const Multiaddr empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.to_string(), "");
  EXPECT_TRUE(empty.to_bytes().empty());
}

TEST(MultiaddrValue, EncapsulatePrefixFind) {
  const auto base = must_parse("/ip4/1.2.3.4/udp/1");
  const auto full = base.encapsulate(must_parse("/quic-v1/webtransport"));
  EXPECT_EQ(full.to_string(), "/ip4/1.2.3.4/udp/1/quic-v1/webtransport");
  expect_round_trip(full);
  EXPECT_EQ(full.prefix_until(Protocol::quic_v1), base);
  EXPECT_EQ(full.prefix_until(Protocol::p2p), full);
  EXPECT_TRUE(full.prefix_until(Protocol::ip4).empty());
  // Cutting before an /ip6 drops its /ip6zone, which may not dangle.
  EXPECT_TRUE(must_parse("/ip6zone/x/ip6/::1").prefix_until(Protocol::ip6).empty());
  ASSERT_NE(full.find(Protocol::udp), nullptr);
  EXPECT_EQ(full.find(Protocol::udp)->value_text(), "1");
  EXPECT_EQ(full.find(Protocol::certhash), nullptr);
  EXPECT_TRUE(full.contains(Protocol::webtransport));
  EXPECT_FALSE(full.contains(Protocol::quic));
  std::ostringstream out;
  out << full;
  EXPECT_EQ(out.str(), full.to_string());
}

// ----- QUIC conversions (spec section 6) -----

TEST(MultiaddrConvert, ToQuicMultiaddrFamiliesAndZones) {
  EXPECT_EQ(to_quic_multiaddr(udp("::ffff:10.1.2.3", 9))->to_string(),
            "/ip4/10.1.2.3/udp/9/quic-v1");  // IPv4-mapped -> /ip4
  EXPECT_EQ(to_quic_multiaddr(udp("::1", 4001))->to_string(), "/ip6/::1/udp/4001/quic-v1");
  EXPECT_EQ(to_quic_multiaddr(udp("0.0.0.0", 0))->to_string(), "/ip4/0.0.0.0/udp/0/quic-v1");

  // A scope ID without an interface is printed as the number, and converts back.
  asio::ip::udp::endpoint zoned(asio::ip::make_address_v6("fe80::1"), 5);
  auto v6 = zoned.address().to_v6();
  v6.scope_id(999999);
  zoned.address(v6);
  const auto numbered = to_quic_multiaddr(zoned);
  ASSERT_TRUE(numbered);
  EXPECT_EQ(numbered->to_string(), "/ip6zone/999999/ip6/fe80::1/udp/5/quic-v1");
  const auto back = from_quic_multiaddr(*numbered);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->first, zoned);
  EXPECT_EQ(back->first.address().to_v6().scope_id(), 999999U);

  // A scope ID with an interface is printed as its name.
  // Linux always has "lo" (the loopback tests need it anyway).
  const unsigned lo = ::if_nametoindex("lo");
  ASSERT_NE(lo, 0U) << "no loopback interface named lo";
  v6.scope_id(lo);
  zoned.address(v6);
  const auto named = to_quic_multiaddr(zoned);
  ASSERT_TRUE(named);
  EXPECT_EQ(named->to_string(), "/ip6zone/lo/ip6/fe80::1/udp/5/quic-v1");
  EXPECT_EQ(from_quic_multiaddr(*named)->first, zoned);
}

TEST(MultiaddrConvert, ToQuicMultiaddrRejectsOtherVersions) {
  std::string why;
  const auto m = to_quic_multiaddr(udp("192.168.0.42", 1337), QuicVersion::draft29, &why);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), make_error_code(errc::invalid_argument));
  EXPECT_EQ(why, "unknown QUIC version");
  EXPECT_FALSE(to_quic_multiaddr(udp("::1", 1), static_cast<QuicVersion>(0x6b3343cf)));
}

TEST(MultiaddrConvert, FromQuicMultiaddrIgnoresWhatFollowsQuicV1) {
  const auto m = must_parse("/ip6/2001:db8::7/udp/4433/quic-v1/webtransport/certhash/" +
                            std::string(kCerthashSha256) + "/p2p/" + kPeerSha256);
  const auto result = from_quic_multiaddr(m);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->first, udp("2001:db8::7", 4433));
  EXPECT_EQ(result->second, QuicVersion::v1);
  // Only the first /quic-v1 counts.
  EXPECT_EQ(from_quic_multiaddr(must_parse("/ip4/1.2.3.4/udp/5/quic-v1/quic-v1"))->first,
            udp("1.2.3.4", 5));
  // With two /udp, the first one after the host is used (go-multiaddr DialArgs).
  EXPECT_EQ(from_quic_multiaddr(must_parse("/ip4/1.2.3.4/udp/5/udp/6/quic-v1"))->first,
            udp("1.2.3.4", 5));
}

TEST(MultiaddrConvert, FromQuicMultiaddrErrorsInTheDocumentedOrder) {
  const struct {
    Multiaddr address;
    std::string message;
  } vectors[] = {
      // 1. nothing before /quic-v1 (checked first, even when there is no /quic-v1 at all)
      {Multiaddr{}, "no addr before QUIC component"},
      {must_parse("/quic-v1"), "no addr before QUIC component"},
      {must_parse("/quic-v1/ip4/1.2.3.4/udp/1"), "no addr before QUIC component"},
      // 2. no /quic-v1: legacy /quic and bare UDP alike
      {must_parse("/ip4/1.2.3.4/udp/1/quic"), "unknown QUIC version"},
      {must_parse("/ip4/1.2.3.4/udp/1"), "unknown QUIC version"},
      {must_parse("/quic"), "unknown QUIC version"},
      {must_parse("/ip4/1.2.3.4/tcp/1"), "unknown QUIC version"},
      // 3. conversion by the last protocol before /quic-v1
      {must_parse("/ip4/1.2.3.4/tcp/1/quic-v1"), "not a UDP address: /ip4/1.2.3.4/tcp/1"},
      {must_parse("/ip4/1.2.3.4/quic-v1"), "not a UDP address"},
      {must_parse("/ip6/::1/quic-v1"), "not a UDP address"},
      {must_parse("/dns4/localhost/quic-v1"), "network not supported: dns4"},
      {must_parse("/ip4/1.2.3.4/udp/1/webtransport/quic-v1"),
       "network not supported: webtransport"},
      {must_parse("/udp/1/quic-v1"), "starts with /udp/1, not with an IP or DNS host"},
      {must_parse("/p2p/" + std::string(kPeerSha256) + "/udp/1/quic-v1"), "not with an IP or DNS"},
      {must_parse("/ip4/1.2.3.4/tcp/2/udp/1/quic-v1"), "not a UDP address"},
      {must_parse("/ip6zone/no-such-if0/ip6/fe80::1/udp/1/quic-v1"),
       "unknown IPv6 zone 'no-such-if0'"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.address.to_string());
    std::string why;
    const auto result = from_quic_multiaddr(v.address, &why);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(errc::invalid_argument));
    EXPECT_NE(why.find(v.message), std::string::npos) << "why: " << why;
  }
}

// ----- listen side (spec section 3.1 step 1) -----

TEST(MultiaddrListen, ToListenAddress) {
  const struct {
    std::string text;
    std::string network;
    asio::ip::udp::endpoint endpoint;
  } vectors[] = {
      {"/ip4/0.0.0.0/udp/1234", "udp4", udp("0.0.0.0", 1234)},  // no /quic-v1 needed
      {"/ip4/127.0.0.1/udp/0/quic-v1", "udp4", udp("127.0.0.1", 0)},
      {"/ip4/127.0.0.1/udp/0/quic-v1/webtransport/certhash/" + std::string(kCerthashSha256), "udp4",
       udp("127.0.0.1", 0)},
      {"/ip4/127.0.0.1/udp/9/webrtc-direct", "udp4", udp("127.0.0.1", 9)},
      {"/ip4/127.0.0.1/udp/9/quic", "udp4", udp("127.0.0.1", 9)},
      {"/ip6/::/udp/4001/quic-v1", "udp6", udp("::", 4001)},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.text);
    std::string why;
    const auto result = to_listen_address(must_parse(v.text), &why);
    ASSERT_TRUE(result) << why;
    EXPECT_EQ(result->network, v.network);
    EXPECT_EQ(result->endpoint, v.endpoint);
  }
  // DNS names need the resolver: tests/integration/kernel_lookup_test.cpp.
}

TEST(MultiaddrListen, ToListenAddressErrors) {
  const struct {
    std::string text;
    std::string message;
  } vectors[] = {
      {"/ip4/1.2.3.4/tcp/1234", "not a UDP address: /ip4/1.2.3.4 is followed by /tcp/1234"},
      {"/ip4/1.2.3.4/tcp/1234/quic-v1", "not a UDP address"},
      {"/ip4/1.2.3.4", "not a UDP address: no /udp after /ip4/1.2.3.4"},
      {"/ip6zone/x/ip6/fe80::1", "no /udp after /ip6/fe80::1"},
      {"/udp/1234", "starts with /udp/1234"},
      {"/quic-v1", "starts with /quic-v1"},
      {"/p2p/" + std::string(kPeerSha256), "not with an IP or DNS host"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.text);
    std::string why;
    const auto result = to_listen_address(must_parse(v.text), &why);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), make_error_code(errc::invalid_argument));
    EXPECT_NE(why.find(v.message), std::string::npos) << "why: " << why;
  }
  std::string why;
  EXPECT_FALSE(to_listen_address(Multiaddr{}, &why));
  EXPECT_NE(why.find("no IP or DNS host"), std::string::npos) << why;
}

// ----- multibase and varint building blocks -----

TEST(MultiaddrMultibase, SpecVectors) {
  // multiformats/multibase test vectors for "yes mani !", and RFC 4648 ones.
  const Bytes yes_mani{'y', 'e', 's', ' ', 'm', 'a', 'n', 'i', ' ', '!'};
  for (const char* text :
       {"z7paNL19xttacUY", "bpfsxgidnmfxgsibb", "f796573206d616e692021", "f796573206D616E692021",
        "meWVzIG1hbmkgIQ", "ueWVzIG1hbmkgIQ", "k2lcpzo5yikidynfl"}) {
    SCOPED_TRACE(text);
    const auto decoded = detail::multibase_decode(text);
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(*decoded, yes_mani);
  }
  const Bytes foobar{'f', 'o', 'o', 'b', 'a', 'r'};
  EXPECT_EQ(*detail::multibase_decode("bmzxw6ytboi"), foobar);
  EXPECT_EQ(*detail::multibase_decode("mZm9vYmFy"), foobar);
  EXPECT_EQ(*detail::multibase_decode("mZm9vYmE"), Bytes(foobar.begin(), foobar.end() - 1));
  EXPECT_EQ(detail::base64url_encode(foobar), "Zm9vYmFy");
  EXPECT_EQ(detail::base64url_encode(Bytes{0xfb, 0xff}), "-_8");
  EXPECT_EQ(detail::base64url_encode(Bytes{}), "");
  EXPECT_EQ(
      detail::base58btc_encode(Bytes{'H', 'e', 'l', 'l', 'o', ' ', 'W', 'o', 'r', 'l', 'd', '!'}),
      "2NEpo7TZRRrLZSi2U");
  EXPECT_EQ(detail::base58btc_encode(Bytes{0, 0, 1}), "112");
  EXPECT_EQ(*detail::base58btc_decode("112"), (Bytes{0, 0, 1}));
  EXPECT_EQ(*detail::base58btc_decode("11"), (Bytes{0, 0}));
  EXPECT_EQ(*detail::multibase_decode("z"), Bytes{});
}

TEST(MultiaddrMultibase, BadText) {
  const struct {
    std::string text;
    std::string message;
  } vectors[] = {
      {"", "empty multibase text"},
      {"Q123", "unsupported multibase prefix 'Q'"},
      {"\x01", "unsupported multibase prefix '\\x01'"},
      {"bA", "invalid base32 length 1"},
      {"babc", "invalid base32 length 3"},
      {"bab1d", "invalid base32 character '1'"},
      {"uZ", "invalid base64url length 1"},
      {"uZm9+", "invalid base64url character '+'"},
      {"mZm9-", "invalid base64 character '-'"},
      {"mZm9vYg==", "invalid base64 character '='"},  // no padding
      {"fabc", "invalid base16 length 3"},
      {"fzz", "invalid base16 character 'z'"},
      {"z0", "invalid base58btc character '0'"},
      {"zl", "invalid base58btc character 'l'"},
      {"kA", "invalid base36 character 'A'"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.text);
    const auto decoded = detail::multibase_decode(v.text);
    ASSERT_FALSE(decoded);
    EXPECT_NE(decoded.error().find(v.message), std::string::npos) << decoded.error();
  }
}

TEST(MultiaddrVarint, Limits) {
  using detail::read_uvarint;
  using detail::VarintStatus;
  Bytes out;
  detail::append_uvarint(out, 0x01cd);
  EXPECT_EQ(out, (Bytes{0xcd, 0x03}));
  const Bytes max{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  EXPECT_EQ(read_uvarint(max).status, VarintStatus::ok);
  EXPECT_EQ(read_uvarint(max).value, (std::uint64_t{1} << 63U) - 1);
  EXPECT_EQ(read_uvarint(max).length, 9U);
  out.clear();
  detail::append_uvarint(out, (std::uint64_t{1} << 63U) - 1);
  EXPECT_EQ(out, max);
  EXPECT_EQ(read_uvarint(Bytes{}).status, VarintStatus::truncated);
  EXPECT_EQ(read_uvarint(Bytes{0x80}).status, VarintStatus::truncated);
  EXPECT_EQ(read_uvarint(Bytes(9, 0xff)).status, VarintStatus::too_long);
  EXPECT_EQ(read_uvarint(Bytes{0x80, 0x00}).status, VarintStatus::non_minimal);
  EXPECT_EQ(read_uvarint(Bytes{0x00}).status, VarintStatus::ok);
}

// ----- robustness: truncations and mutations never crash, and what decodes round-trips -----

std::vector<Multiaddr> fuzz_seeds() {
  return {
      must_parse("/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/" +
                 std::string(kCerthashSha256) + "/certhash/" + kCerthashMd5 + "/p2p/" +
                 kPeerSha256),
      must_parse("/ip6zone/eth0/ip6/fe80::1/udp/4001/quic-v1/p2p/" + std::string(kPeerIdentity)),
      must_parse("/dns4/example.com/udp/443/webrtc-direct/certhash/" +
                 std::string(kCerthashSha256)),
      must_parse("/dns/a.b/tcp/1/dns6/c.d/udp/2/quic"),
  };
}

TEST(MultiaddrRobustness, EveryTruncationOfValidBinary) {
  for (const auto& seed : fuzz_seeds()) {
    const Bytes& bytes = seed.to_bytes();
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      std::string why;
      const auto m = Multiaddr::from_bytes(std::span(bytes.data(), n), &why);
      if (m) {
        expect_round_trip(*m);
      } else {
        EXPECT_FALSE(why.empty());
      }
    }
  }
}

TEST(MultiaddrRobustness, EveryOneByteMutationOfValidBinary) {
  std::size_t decoded = 0;
  for (const auto& seed : fuzz_seeds()) {
    Bytes bytes = seed.to_bytes();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const std::uint8_t original = bytes[i];
      for (unsigned v = 0; v < 256; ++v) {
        bytes[i] = static_cast<std::uint8_t>(v);
        std::string why;
        const auto m = Multiaddr::from_bytes(bytes, &why);
        if (m) {
          ++decoded;
          expect_round_trip(*m);
          if (HasFatalFailure()) {
            return;
          }
        } else {
          ASSERT_FALSE(why.empty());
        }
      }
      bytes[i] = original;
    }
  }
  EXPECT_GT(decoded, 0U);
}

TEST(MultiaddrRobustness, TextMutations) {
  const std::string alphabet = std::string("/0123456789abcdefxzuAZ:.%-_+=!?") + '\0' + "\xff";
  for (const auto& seed : fuzz_seeds()) {
    const std::string text = seed.to_string();
    std::vector<std::string> variants;
    for (std::size_t i = 0; i <= text.size(); ++i) {
      variants.push_back(text.substr(0, i));  // truncation
      if (i < text.size()) {
        variants.push_back(text.substr(0, i) + text.substr(i + 1));  // deletion
      }
      for (const char c : alphabet) {
        variants.push_back(text.substr(0, i) + c + text.substr(i));  // insertion
        if (i < text.size()) {
          std::string replaced = text;
          replaced[i] = c;
          variants.push_back(replaced);  // replacement
        }
      }
    }
    for (const auto& variant : variants) {
      std::string why;
      const auto m = Multiaddr::parse(variant, &why);
      if (m) {
        expect_round_trip(*m);
        if (HasFatalFailure()) {
          return;
        }
      } else {
        ASSERT_FALSE(why.empty()) << variant;
      }
    }
  }
}

TEST(MultiaddrRobustness, RandomBytes) {
  std::mt19937 rng(1234);  // fixed seed: reproducible
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 48);
  // Bias towards known protocol codes so that decoding gets past the first varint.
  const Bytes codes{0x04, 0x06, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x91, 0x98,
                    0xa5, 0xcc, 0xcd, 0xd1, 0xd2, 0x01, 0x02, 0x03};
  for (int round = 0; round < 20000; ++round) {
    Bytes bytes(length(rng));
    for (auto& b : bytes) {
      const int r = byte(rng);
      b = r < 128 ? codes[static_cast<std::size_t>(r) % codes.size()]
                  : static_cast<std::uint8_t>(r);
    }
    const auto m = Multiaddr::from_bytes(bytes);
    if (m) {
      expect_round_trip(*m);
      if (HasFatalFailure()) {
        return;
      }
    }
  }
}

}  // namespace
}  // namespace quicreuse
