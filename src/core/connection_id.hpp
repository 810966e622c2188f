// ConnectionId: a QUIC connection ID (0 to 20 bytes) held by value.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace quicreuse::core {

// kMaxCidLength is the largest connection ID QUIC v1 allows.
inline constexpr std::size_t kMaxCidLength = NGTCP2_MAX_CIDLEN;

// ConnectionId stores up to 20 bytes; longer inputs are truncated by from() callers' checks.
struct ConnectionId {
  std::array<std::uint8_t, kMaxCidLength> bytes{};
  std::uint8_t length = 0;

  // Returns a ConnectionId copied from data; data.size() must be <= 20 (checked, else empty).
  static ConnectionId from(std::span<const std::uint8_t> data) noexcept {
    ConnectionId cid;
    if (data.size() <= kMaxCidLength) {
      // std::copy, not memcpy: an empty span may have a null data(), which memcpy must not get.
      std::copy(data.begin(), data.end(), cid.bytes.begin());
      cid.length = static_cast<std::uint8_t>(data.size());
    }
    return cid;
  }
  static ConnectionId from(const ngtcp2_cid& c) noexcept { return from({c.data, c.datalen}); }

  [[nodiscard]] std::span<const std::uint8_t> span() const noexcept {
    return {bytes.data(), length};
  }
  [[nodiscard]] ngtcp2_cid to_ngtcp2() const noexcept {
    ngtcp2_cid c{};
    ngtcp2_cid_init(&c, bytes.data(), length);
    return c;
  }
  // Returns the lowercase hex form (used in qlog file names).
  [[nodiscard]] std::string hex() const;

  friend bool operator==(const ConnectionId& a, const ConnectionId& b) noexcept {
    return a.length == b.length && std::memcmp(a.bytes.data(), b.bytes.data(), a.length) == 0;
  }
};

}  // namespace quicreuse::core
