// Seeds of the codec harnesses: multiaddr text and binary, multibase, STUN, tokens (seeds.hpp).
#include "core/tokens.hpp"
#include "multiaddr/multibase.hpp"
#include "seeds.hpp"
#include "tokens_input.hpp"

#include <quicreuse/multiaddr.hpp>
#include <quicreuse/stun.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace quicreuse::fuzz {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Peer IDs and certificate hashes from go-multiaddr's and go-libp2p's test vectors.
constexpr const char* kPeerIdentity = "12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV";
constexpr const char* kPeerSha256 = "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC";
constexpr const char* kCerthashSha256 = "uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g";
constexpr const char* kCerthashMd5 = "u1QEQOFj2IjCsPJFfMAxmQxLGPw";

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "make_seeds: %s\n", what.c_str());
  std::exit(1);
}

// RFC 4648 base32, lower case, no padding (multibase 'b'); multibase.hpp only decodes it.
std::string base32_lower(const Bytes& data) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  std::uint32_t buffer = 0;
  unsigned bits = 0;
  for (const std::uint8_t b : data) {
    buffer = (buffer << 8U) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kAlphabet[(buffer >> bits) & 0x1fU]);
    }
    buffer &= (1U << bits) - 1U;
  }
  if (bits > 0) {
    out.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1fU]);
  }
  return out;
}

// The identity peer ID as a CIDv1 with the libp2p-key codec, in multibase base32.
std::string peer_cid_base32() {
  auto multihash = detail::base58btc_decode(kPeerIdentity);
  if (!multihash) {
    fail("bad peer ID");
  }
  Bytes cid = {0x01, 0x72};
  cid.insert(cid.end(), multihash->begin(), multihash->end());
  return "b" + base32_lower(cid);
}

void write_multiaddr_seeds(const std::filesystem::path& corpus) {
  const std::pair<const char*, std::string> seeds[] = {
      {"ip4-udp-quic-v1", "/ip4/1.2.3.4/udp/4001/quic-v1"},
      {"ip4-udp-quic-v1-go-vector", "/ip4/192.168.0.42/udp/1337/quic-v1"},
      {"ip6-udp-quic-v1-p2p-identity", std::string("/ip6/::1/udp/1/quic-v1/p2p/") + kPeerIdentity},
      {"ip6zone-ip6-udp-quic-v1", "/ip6zone/eth0/ip6/fe80::1/udp/4001/quic-v1"},
      {"ip6-v4-mapped-udp-quic", "/ip6/::ffff:1.2.3.4/udp/4001/quic"},
      {"dns4-webtransport-two-certhashes",
       std::string("/dns4/example.com/udp/443/quic-v1/webtransport/certhash/") + kCerthashSha256 +
           "/certhash/" + kCerthashMd5},
      {"ip4-webrtc-direct-certhash",
       std::string("/ip4/127.0.0.1/udp/9090/webrtc-direct/certhash/") + kCerthashSha256},
      {"ip4-tcp-p2p-sha256", std::string("/ip4/1.2.3.4/tcp/4001/p2p/") + kPeerSha256},
      {"dns-udp-quic-v1", "/dns/localhost/udp/0/quic-v1"},
      {"dns6-p2p-cid-base32", "/dns6/h.example/udp/65535/quic-v1/p2p/" + peer_cid_base32()},
  };
  for (const auto& [name, text] : seeds) {
    std::string why;
    const auto m = Multiaddr::parse(text, &why);
    if (!m) {
      fail(text + ": " + why);
    }
    write_seed(corpus, "multiaddr_text", name, text);
    write_seed(corpus, "multiaddr_binary", name, m->to_bytes());
  }
}

void write_multibase_seeds(const std::filesystem::path& corpus) {
  const std::pair<const char*, std::string> seeds[] = {
      {"base64url-certhash-sha256", kCerthashSha256},
      {"base64url-certhash-md5", kCerthashMd5},
      {"base58btc-peer-identity", std::string("z") + kPeerIdentity},
      {"base58btc-peer-sha256", std::string("z") + kPeerSha256},
      {"base64-certhash-sha256", "mEiDDq4/xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g"},
      {"base16-lower", "f01720024080112209a6f6e2d3d1c"},
      {"base16-upper", "f01720024080112209A6F6E2D3D1C"},
      {"base32-peer-cid", peer_cid_base32()},
      {"base36-ipns-key", "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8"},
  };
  for (const auto& [name, text] : seeds) {
    if (!detail::multibase_decode(text)) {
      fail("bad multibase seed " + text);
    }
    write_seed(corpus, "multibase", name, text);
  }
}

void write_stun_seeds(const std::filesystem::path& corpus) {
  const stun::TransactionId id = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                  0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
  const auto request = stun::make_binding_request(id);
  write_seed(corpus, "stun", "quicreuse-binding-request", request);
  const asio::ip::udp::endpoint v4(asio::ip::make_address("203.0.113.9"), 4001);
  const asio::ip::udp::endpoint v6(asio::ip::make_address("2001:db8::9"), 4001);
  write_seed(corpus, "stun", "quicreuse-binding-response-v4",
             *stun::make_binding_response(request, v4));
  write_seed(corpus, "stun", "quicreuse-binding-response-v6",
             *stun::make_binding_response(request, v6));
}

// Builds an input that FuzzedDataProvider reads back as the values given, in the same order:
// integers are taken from the end of the input (most significant byte first), byte strings from
// the front.
class ProviderInput {
 public:
  // Adds an integer read with ConsumeIntegralInRange(min, max) (ConsumeIntegral<T> is the full
  // range of T, ConsumeBool is 0..255 of which the low bit counts).
  void integral(std::uint64_t value, std::uint64_t min, std::uint64_t max) {
    const std::uint64_t range = max - min;
    const std::uint64_t offset = value - min;
    std::size_t count = 0;
    while (count < 8 && (range >> (8 * count)) > 0) {
      ++count;
    }
    for (std::size_t i = count; i > 0; --i) {
      back_.push_back(static_cast<std::uint8_t>(offset >> (8 * (i - 1))));
    }
  }
  void bytes(std::span<const std::uint8_t> data) {
    front_.insert(front_.end(), data.begin(), data.end());
  }
  // Returns the input, with rest as what ConsumeRemainingBytes gets.
  [[nodiscard]] Bytes finish(std::span<const std::uint8_t> rest) const {
    Bytes out = front_;
    out.insert(out.end(), rest.begin(), rest.end());
    out.insert(out.end(), back_.rbegin(), back_.rend());
    return out;
  }

 private:
  Bytes front_;
  Bytes back_;  // in the order they are consumed
};

Bytes token_input(const TokenInput& t) {
  ProviderInput in;
  in.integral(t.version, 0, 0xffffffff);
  in.integral(t.remote.is_v6() ? 1 : 0, 0, 255);
  in.integral(t.remote.port(), 0, 0xffff);
  if (t.remote.is_v6()) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(t.remote.data());
    in.bytes(a->sin6_addr.s6_addr);
    in.integral(a->sin6_scope_id, 0, 0xffffffff);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(t.remote.data());
    in.bytes({reinterpret_cast<const std::uint8_t*>(&a->sin_addr), 4});
  }
  for (const core::ConnectionId* cid : {&t.scid, &t.odcid}) {
    in.integral(cid->length, 0, core::kMaxCidLength);
    in.bytes(cid->span());
  }
  in.integral(static_cast<std::uint64_t>(t.now.time_since_epoch().count()), 0, kMaxTokenTime);
  in.integral(static_cast<std::uint64_t>(t.lifetime.count()), 1, kMaxTokenLifetime);
  in.integral(t.corrupt_at, 0, 0xffff);
  Bytes out = in.finish(t.token);
  // The harness must read back exactly these values.
  FuzzedDataProvider reader(out.data(), out.size());
  const TokenInput back = read_token_input(reader);
  if (back.version != t.version || !(back.remote == t.remote) || !(back.scid == t.scid) ||
      !(back.odcid == t.odcid) || back.now != t.now || back.lifetime != t.lifetime ||
      back.corrupt_at != t.corrupt_at || back.token != t.token) {
    fail("token seed does not read back");
  }
  return out;
}

core::ConnectionId cid_of(std::uint8_t fill, std::size_t length) {
  const Bytes bytes(length, fill);
  return core::ConnectionId::from(bytes);
}

void write_token_seeds(const std::filesystem::path& corpus) {
  using namespace std::chrono_literals;
  const std::uint8_t v4[4] = {192, 0, 2, 1};
  const std::uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};

  TokenInput retry;
  retry.version = NGTCP2_PROTO_VER_V1;
  retry.remote = core::SocketAddress::v4(v4, 4433);
  retry.scid = cid_of(0xbb, 16);
  retry.odcid = cid_of(0xaa, 8);
  retry.now = core::Timestamp(5s);
  retry.lifetime = 10s;
  retry.corrupt_at = 40;
  retry.token = core::make_retry_token(kTokenKey, retry.version, retry.remote, retry.scid,
                                       retry.odcid, retry.now);
  if (!core::verify_retry_token(kTokenKey, retry.token, retry.version, retry.remote, retry.scid,
                                retry.lifetime, retry.now)) {
    fail("Retry token seed does not verify");
  }
  write_seed(corpus, "tokens", "valid-retry-token-v4", token_input(retry));

  TokenInput regular;
  regular.version = NGTCP2_PROTO_VER_V1;
  regular.remote = core::SocketAddress::v6(v6, 443);
  regular.scid = cid_of(0x11, 20);
  regular.odcid = {};
  regular.now = core::Timestamp(1h);
  regular.lifetime = 24h;
  regular.corrupt_at = 7;
  regular.token = core::make_regular_token(kTokenKey, regular.remote, regular.now);
  if (!core::verify_regular_token(kTokenKey, regular.token, regular.remote, regular.lifetime,
                                  regular.now)) {
    fail("NEW_TOKEN token seed does not verify");
  }
  write_seed(corpus, "tokens", "valid-regular-token-v6", token_input(regular));

  TokenInput none = retry;
  none.token.clear();
  write_seed(corpus, "tokens", "no-token", token_input(none));
}

}  // namespace

void write_codec_seeds(const std::filesystem::path& corpus) {
  write_multiaddr_seeds(corpus);
  write_multibase_seeds(corpus);
  write_stun_seeds(corpus);
  write_token_seeds(corpus);
}

}  // namespace quicreuse::fuzz
