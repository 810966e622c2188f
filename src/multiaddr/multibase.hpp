// Multibase text encodings (https://github.com/multiformats/multibase) used by multiaddr values:
// /certhash is multibase text, /p2p is base58btc or a multibase CID.
#pragma once

#include <tl/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace quicreuse::detail {

// DecodedBytes is the decoded payload, or a message saying what is wrong with the text.
using DecodedBytes = tl::expected<std::vector<std::uint8_t>, std::string>;

// kMaxBaseNLength bounds base58/base36 input: their decoding is quadratic in the length, and no
// multiaddr value (peer IDs, certificate hashes) comes near it.
inline constexpr std::size_t kMaxBaseNLength = 2048;

// Decodes multibase text: a prefix character, then the payload. Supported prefixes: 'u' base64url,
// 'm' base64 (both without padding), 'z' base58btc, 'f' base16 (either case), 'b' base32 (lower
// case, no padding), 'k' base36 (lower case). Bits left over after the last whole byte of base64
// and base32 are ignored, as Go's decoders do. Errors name the prefix or the bad character.
DecodedBytes multibase_decode(std::string_view text);

// Decodes base58btc text (Bitcoin alphabet, no prefix). Empty text gives no bytes.
DecodedBytes base58btc_decode(std::string_view text);

// Returns data in base58btc (Bitcoin alphabet, no prefix).
std::string base58btc_encode(std::span<const std::uint8_t> data);

// Returns data in base64url without padding and without a multibase prefix.
std::string base64url_encode(std::span<const std::uint8_t> data);

}  // namespace quicreuse::detail
