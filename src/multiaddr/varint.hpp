// Unsigned varints (LEB128) as multiformats uses them: at most 9 bytes, values below 2^63,
// minimal encodings only (the rules of go-varint, so that every binary multiaddr has exactly one
// encoding and decode -> encode gives back the input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace quicreuse::detail {

// kMaxVarintLength is the longest varint accepted (9 bytes carry 63 bits).
inline constexpr std::size_t kMaxVarintLength = 9;

// VarintStatus says why read_uvarint failed.
enum class VarintStatus {
  ok,
  truncated,    // the input ended inside the varint
  too_long,     // more than kMaxVarintLength bytes
  non_minimal,  // a trailing zero byte (the value has a shorter encoding)
};

// VarintRead is the result of read_uvarint: value and length are meaningful only when ok.
struct VarintRead {
  std::uint64_t value = 0;
  std::size_t length = 0;
  VarintStatus status = VarintStatus::ok;
};

// Reads one varint from the start of in. Never reads past in.
inline VarintRead read_uvarint(std::span<const std::uint8_t> in) noexcept {
  VarintRead read;
  for (std::size_t i = 0; i < kMaxVarintLength; ++i) {
    if (i == in.size()) {
      read.status = VarintStatus::truncated;
      return read;
    }
    const std::uint8_t byte = in[i];
    read.value |= static_cast<std::uint64_t>(byte & 0x7fU) << (7 * i);
    if ((byte & 0x80U) == 0) {
      read.length = i + 1;
      if (i > 0 && byte == 0) {
        read.status = VarintStatus::non_minimal;
      }
      return read;
    }
  }
  read.status = VarintStatus::too_long;
  return read;
}

// Appends the varint encoding of value (value must be below 2^63).
inline void append_uvarint(std::vector<std::uint8_t>& out, std::uint64_t value) {
  while (value >= 0x80U) {
    out.push_back(static_cast<std::uint8_t>((value & 0x7fU) | 0x80U));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

}  // namespace quicreuse::detail
