// Multibase decoding and the two encodings multiaddr text uses (see multibase.hpp).
#include "multiaddr/multibase.hpp"

#include <algorithm>
#include <cstdio>

namespace quicreuse::detail {
namespace {

constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase36Alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Returns c quoted for an error message; bytes outside printable ASCII as \xNN.
std::string quote_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) {
    return std::string("'") + c + "'";
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "'\\x%02x'", static_cast<unsigned>(byte));
  return buf;
}

tl::unexpected<std::string> bad_char(std::string_view base, char c) {
  return tl::unexpected("invalid " + std::string(base) + " character " + quote_char(c));
}

// Big-number base conversion for base58 and base36: leading zero digits are leading zero bytes.
DecodedBytes decode_base_n(std::string_view text, std::string_view alphabet,
                           std::string_view base) {
  if (text.size() > kMaxBaseNLength) {
    return tl::unexpected(std::string(base) + " text longer than " +
                          std::to_string(kMaxBaseNLength) + " characters");
  }
  const auto radix = static_cast<std::uint32_t>(alphabet.size());
  std::size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == alphabet[0]) {
    ++zeros;
  }
  std::vector<std::uint8_t> little_endian;  // the magnitude, least significant byte first
  little_endian.reserve(text.size());
  for (const char c : text.substr(zeros)) {
    const std::size_t digit = alphabet.find(c);
    if (digit == std::string_view::npos) {
      return bad_char(base, c);
    }
    auto carry = static_cast<std::uint32_t>(digit);
    for (auto& byte : little_endian) {
      carry += static_cast<std::uint32_t>(byte) * radix;
      byte = static_cast<std::uint8_t>(carry & 0xffU);
      carry >>= 8;
    }
    while (carry != 0) {
      little_endian.push_back(static_cast<std::uint8_t>(carry & 0xffU));
      carry >>= 8;
    }
  }
  std::vector<std::uint8_t> out(zeros, 0);
  out.insert(out.end(), little_endian.rbegin(), little_endian.rend());
  return out;
}

std::string encode_base_n(std::span<const std::uint8_t> data, std::string_view alphabet) {
  const auto radix = static_cast<std::uint32_t>(alphabet.size());
  std::size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) {
    ++zeros;
  }
  std::vector<std::uint8_t> digits;  // base-radix digits, least significant first
  digits.reserve(data.size() * 2);
  for (const std::uint8_t byte : data.subspan(zeros)) {
    std::uint32_t carry = byte;
    for (auto& digit : digits) {
      carry += static_cast<std::uint32_t>(digit) << 8;
      digit = static_cast<std::uint8_t>(carry % radix);
      carry /= radix;
    }
    while (carry != 0) {
      digits.push_back(static_cast<std::uint8_t>(carry % radix));
      carry /= radix;
    }
  }
  std::reverse(digits.begin(), digits.end());
  std::string out(zeros, alphabet[0]);
  for (const std::uint8_t digit : digits) {
    out.push_back(alphabet[digit]);
  }
  return out;
}

// RFC 4648 base32 and base64 without padding: groups of `bits` bits, high bits first.
DecodedBytes decode_bit_groups(std::string_view text, std::string_view alphabet, unsigned bits,
                               std::string_view base) {
  // A final group too short to hold a whole byte means the text was cut.
  const std::size_t group = bits == 5 ? 8 : 4;
  const std::size_t rest = text.size() % group;
  const bool bad_length = bits == 5 ? (rest == 1 || rest == 3 || rest == 6) : rest == 1;
  if (bad_length) {
    return tl::unexpected("invalid " + std::string(base) + " length " +
                          std::to_string(text.size()));
  }
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * bits / 8);
  std::uint32_t buffer = 0;
  unsigned buffered = 0;
  for (const char c : text) {
    const std::size_t value = alphabet.find(c);
    if (value == std::string_view::npos) {
      return bad_char(base, c);
    }
    buffer = (buffer << bits) | static_cast<std::uint32_t>(value);
    buffered += bits;
    if (buffered >= 8) {
      buffered -= 8;
      out.push_back(static_cast<std::uint8_t>(buffer >> buffered));
      buffer &= (1U << buffered) - 1U;
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

DecodedBytes decode_base16(std::string_view text) {
  if (text.size() % 2 != 0) {
    return tl::unexpected("invalid base16 length " + std::to_string(text.size()));
  }
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int high = hex_value(text[i]);
    const int low = hex_value(text[i + 1]);
    if (high < 0) {
      return bad_char("base16", text[i]);
    }
    if (low < 0) {
      return bad_char("base16", text[i + 1]);
    }
    out.push_back(static_cast<std::uint8_t>((high << 4) | low));
  }
  return out;
}

}  // namespace

DecodedBytes multibase_decode(std::string_view text) {
  if (text.empty()) {
    return tl::unexpected(std::string("empty multibase text"));
  }
  const std::string_view payload = text.substr(1);
  switch (text.front()) {
    case 'u':
      return decode_bit_groups(payload, kBase64UrlAlphabet, 6, "base64url");
    case 'm':
      return decode_bit_groups(payload, kBase64Alphabet, 6, "base64");
    case 'z':
      return decode_base_n(payload, kBase58Alphabet, "base58btc");
    case 'f':
      return decode_base16(payload);
    case 'b':
      return decode_bit_groups(payload, kBase32Alphabet, 5, "base32");
    case 'k':
      return decode_base_n(payload, kBase36Alphabet, "base36");
    default:
      return tl::unexpected("unsupported multibase prefix " + quote_char(text.front()));
  }
}

DecodedBytes base58btc_decode(std::string_view text) {
  return decode_base_n(text, kBase58Alphabet, "base58btc");
}

std::string base58btc_encode(std::span<const std::uint8_t> data) {
  return encode_base_n(data, kBase58Alphabet);
}

std::string base64url_encode(std::span<const std::uint8_t> data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::uint32_t buffer = 0;
  unsigned buffered = 0;
  for (const std::uint8_t byte : data) {
    buffer = (buffer << 8) | byte;
    buffered += 8;
    while (buffered >= 6) {
      buffered -= 6;
      out.push_back(kBase64UrlAlphabet[(buffer >> buffered) & 0x3fU]);
    }
    buffer &= (1U << buffered) - 1U;
  }
  if (buffered > 0) {
    out.push_back(kBase64UrlAlphabet[(buffer << (6 - buffered)) & 0x3fU]);
  }
  return out;
}

}  // namespace quicreuse::detail
