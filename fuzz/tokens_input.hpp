// The input format of the tokens harness (tokens_fuzzer.cpp), shared with the seed generator so
// that seeds carrying a valid token can be written for known parameters.
//
// Read with FuzzedDataProvider (which takes integers from the end of the input and byte strings
// from the front): version, remote address, Retry SCID, original DCID, now, lifetime, the position
// of a byte to corrupt, then the arbitrary token (the rest).
#pragma once

#include "core/connection_id.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"
#include "core/tokens.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace quicreuse::fuzz {

// Returns a key of 32 copies of fill.
constexpr core::StaticKey fixed_key(std::uint8_t fill) {
  core::StaticKey key{};
  for (auto& b : key) {
    b = fill;
  }
  return key;
}
// The harness's token key: fixed, so that a seed can carry a token that verifies.
inline constexpr core::StaticKey kTokenKey = fixed_key(0x5a);

struct TokenInput {
  std::uint32_t version = 0;
  core::SocketAddress remote;
  core::ConnectionId scid;
  core::ConnectionId odcid;
  core::Timestamp now;
  core::Duration lifetime;
  std::uint16_t corrupt_at = 0;
  std::vector<std::uint8_t> token;
};

// Times stay far from the int64 nanosecond limit (292 years): a steady clock never gets there.
inline constexpr std::int64_t kMaxTokenTime = std::int64_t{1} << 62;
inline constexpr std::int64_t kMaxTokenLifetime =
    std::chrono::nanoseconds(std::chrono::hours(48)).count();

inline core::SocketAddress consume_address(FuzzedDataProvider& in) {
  const bool v6 = in.ConsumeBool();
  const auto port = in.ConsumeIntegral<std::uint16_t>();
  if (v6) {
    std::uint8_t bytes[16] = {};
    in.ConsumeData(bytes, sizeof bytes);
    return core::SocketAddress::v6(bytes, port, in.ConsumeIntegral<std::uint32_t>());
  }
  std::uint8_t bytes[4] = {};
  in.ConsumeData(bytes, sizeof bytes);
  return core::SocketAddress::v4(bytes, port);
}

inline core::ConnectionId consume_cid(FuzzedDataProvider& in) {
  const auto length = in.ConsumeIntegralInRange<std::size_t>(0, core::kMaxCidLength);
  const std::vector<std::uint8_t> bytes = in.ConsumeBytes<std::uint8_t>(length);
  return core::ConnectionId::from(bytes);
}

inline TokenInput read_token_input(FuzzedDataProvider& in) {
  TokenInput t;
  t.version = in.ConsumeIntegral<std::uint32_t>();
  t.remote = consume_address(in);
  t.scid = consume_cid(in);
  t.odcid = consume_cid(in);
  t.now =
      core::Timestamp(core::Duration(in.ConsumeIntegralInRange<std::int64_t>(0, kMaxTokenTime)));
  t.lifetime = core::Duration(in.ConsumeIntegralInRange<std::int64_t>(1, kMaxTokenLifetime));
  t.corrupt_at = in.ConsumeIntegral<std::uint16_t>();
  t.token = in.ConsumeRemainingBytes<std::uint8_t>();
  return t;
}

}  // namespace quicreuse::fuzz
