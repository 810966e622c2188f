// Fuzzes the address-validation tokens of src/core/tokens.hpp with a fixed key: token_kind and
// both verifiers on arbitrary tokens (what a client's Initial carries), and the round trips
// make -> verify for Retry and NEW_TOKEN tokens with fuzzed addresses, connection IDs, times and
// lifetimes, including the bindings each token promises (address, connection ID, key, age,
// integrity of every byte).
//
// Input: see tokens_input.hpp.
#include "core/connection_id.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"
#include "core/tokens.hpp"
#include "fuzz_check.hpp"
#include "tokens_input.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

using quicreuse::core::ConnectionId;
using quicreuse::core::Duration;
using quicreuse::core::SocketAddress;
using quicreuse::core::StaticKey;
using quicreuse::core::Timestamp;
using quicreuse::core::TokenKind;

constexpr StaticKey kKey = quicreuse::fuzz::kTokenKey;
constexpr StaticKey kOtherKey = quicreuse::fuzz::fixed_key(0xa5);

// Returns address with another port (v4 and v6 alike).
SocketAddress with_other_port(const SocketAddress& address) {
  SocketAddress other = address;
  auto* in = reinterpret_cast<sockaddr_in*>(other.data());  // sin_port is where sin6_port is
  in->sin_port = static_cast<std::uint16_t>(in->sin_port ^ 1U);
  return other;
}

// Returns address with another IP (first address byte changed).
SocketAddress with_other_ip(const SocketAddress& address) {
  SocketAddress other = address;
  if (other.is_v4()) {
    reinterpret_cast<sockaddr_in*>(other.data())->sin_addr.s_addr ^= 1U;
  } else {
    auto& first = reinterpret_cast<sockaddr_in6*>(other.data())->sin6_addr.s6_addr[0];
    first = static_cast<std::uint8_t>(first ^ 1U);
  }
  return other;
}

ConnectionId other_cid(const ConnectionId& cid) {
  ConnectionId other = cid;
  if (other.length == 0) {
    other.length = 8;
  } else {
    other.bytes[0] = static_cast<std::uint8_t>(other.bytes[0] ^ 1U);
  }
  return other;
}

void check_arbitrary_token(const std::vector<std::uint8_t>& token, std::uint32_t version,
                           const SocketAddress& remote, const ConnectionId& dcid, Duration lifetime,
                           Timestamp now) {
  const TokenKind kind = quicreuse::core::token_kind(token);
  if (token.empty()) {
    QUICREUSE_FUZZ_CHECK(kind == TokenKind::none);
  } else if (token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    QUICREUSE_FUZZ_CHECK(kind == TokenKind::retry);
  } else if (token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR) {
    QUICREUSE_FUZZ_CHECK(kind == TokenKind::regular);
  } else {
    QUICREUSE_FUZZ_CHECK(kind == TokenKind::unknown);
  }
  // A token that verifies is of the verifier's kind (forging one would break the AEAD).
  if (quicreuse::core::verify_retry_token(kKey, token, version, remote, dcid, lifetime, now)) {
    QUICREUSE_FUZZ_CHECK(kind == TokenKind::retry);
  }
  if (quicreuse::core::verify_regular_token(kKey, token, remote, lifetime, now)) {
    QUICREUSE_FUZZ_CHECK(kind == TokenKind::regular);
  }
}

void check_retry_round_trip(std::uint32_t version, const SocketAddress& remote,
                            const ConnectionId& scid, const ConnectionId& odcid, Timestamp now,
                            Duration lifetime, std::size_t corrupt_at) {
  const auto token = quicreuse::core::make_retry_token(kKey, version, remote, scid, odcid, now);
  if (token.empty()) {
    return;  // refused (documented: empty on failure)
  }
  QUICREUSE_FUZZ_CHECK(quicreuse::core::token_kind(token) == TokenKind::retry);
  const auto verify = [&](const std::vector<std::uint8_t>& t, const StaticKey& key,
                          const SocketAddress& from, const ConnectionId& dcid, Timestamp at) {
    return quicreuse::core::verify_retry_token(key, t, version, from, dcid, lifetime, at);
  };
  const auto got = verify(token, kKey, remote, scid, now);
  QUICREUSE_FUZZ_CHECK(got.has_value() && *got == odcid);
  const auto later = verify(token, kKey, remote, scid, now + lifetime - Duration(1));
  QUICREUSE_FUZZ_CHECK(later.has_value() && *later == odcid);
  // Bound to its age, the client's address and port, the Retry SCID and the key. Not to the
  // version: ngtcp2 0.12.1 writes the version into the token's associated data and then
  // overwrites it with the address (crypto/shared.c, crypto_generate_retry_token_aad does not
  // move past the version), so a token verifies for any version. Harmless here: the endpoint
  // only verifies tokens in QUIC v1 Initials.
  QUICREUSE_FUZZ_CHECK(!verify(token, kKey, remote, scid, now + lifetime));
  QUICREUSE_FUZZ_CHECK(!verify(token, kKey, with_other_port(remote), scid, now));
  QUICREUSE_FUZZ_CHECK(!verify(token, kKey, with_other_ip(remote), scid, now));
  QUICREUSE_FUZZ_CHECK(!verify(token, kKey, remote, other_cid(scid), now));
  QUICREUSE_FUZZ_CHECK(!verify(token, kOtherKey, remote, scid, now));
  // Every byte is covered (magic, ciphertext, tag, and the salt that derives the key).
  auto corrupted = token;
  auto& byte = corrupted[corrupt_at % corrupted.size()];
  byte = static_cast<std::uint8_t>(byte ^ 0x80U);
  QUICREUSE_FUZZ_CHECK(!verify(corrupted, kKey, remote, scid, now));
  // Not a NEW_TOKEN token.
  QUICREUSE_FUZZ_CHECK(!quicreuse::core::verify_regular_token(kKey, token, remote, lifetime, now));
}

void check_regular_round_trip(const SocketAddress& remote, Timestamp now, Duration lifetime,
                              std::size_t corrupt_at) {
  const auto token = quicreuse::core::make_regular_token(kKey, remote, now);
  if (token.empty()) {
    return;
  }
  QUICREUSE_FUZZ_CHECK(quicreuse::core::token_kind(token) == TokenKind::regular);
  const auto verify = [&](const std::vector<std::uint8_t>& t, const StaticKey& key,
                          const SocketAddress& from, Timestamp at) {
    return quicreuse::core::verify_regular_token(key, t, from, lifetime, at);
  };
  QUICREUSE_FUZZ_CHECK(verify(token, kKey, remote, now));
  QUICREUSE_FUZZ_CHECK(verify(token, kKey, remote, now + lifetime - Duration(1)));
  // Bound to the IP (not the port: NAT rebinding), its age and the key.
  QUICREUSE_FUZZ_CHECK(verify(token, kKey, with_other_port(remote), now));
  QUICREUSE_FUZZ_CHECK(!verify(token, kKey, with_other_ip(remote), now));
  QUICREUSE_FUZZ_CHECK(!verify(token, kKey, remote, now + lifetime));
  QUICREUSE_FUZZ_CHECK(!verify(token, kOtherKey, remote, now));
  auto corrupted = token;
  auto& byte = corrupted[corrupt_at % corrupted.size()];
  byte = static_cast<std::uint8_t>(byte ^ 0x80U);
  QUICREUSE_FUZZ_CHECK(!verify(corrupted, kKey, remote, now));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const quicreuse::fuzz::TokenInput t = quicreuse::fuzz::read_token_input(in);
  check_arbitrary_token(t.token, t.version, t.remote, t.scid, t.lifetime, t.now);
  check_retry_round_trip(t.version, t.remote, t.scid, t.odcid, t.now, t.lifetime, t.corrupt_at);
  check_regular_round_trip(t.remote, t.now, t.lifetime, t.corrupt_at);
  return 0;
}
