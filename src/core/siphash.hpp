// SipHash-2-4: a keyed hash, so that peers who choose connection IDs cannot flood one bucket.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace quicreuse::core {

// SipKey is the 128-bit SipHash key.
using SipKey = std::array<std::uint64_t, 2>;

// Returns SipHash-2-4 of data under key (reference algorithm by Aumasson and Bernstein).
std::uint64_t siphash24(const SipKey& key, std::span<const std::uint8_t> data) noexcept;

}  // namespace quicreuse::core
