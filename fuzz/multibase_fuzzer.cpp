// Fuzzes the multibase codecs of src/multiaddr/multibase.hpp (the /certhash and /p2p values of
// multiaddr text): decoding arbitrary text, and encoding arbitrary bytes then decoding them back.
//
// Input: read twice, once as multibase text and once as the bytes to encode.
#include "fuzz_check.hpp"
#include "multiaddr/multibase.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using quicreuse::detail::DecodedBytes;
using Bytes = std::vector<std::uint8_t>;

constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool only(std::string_view text, std::string_view alphabet) {
  return std::all_of(text.begin(), text.end(),
                     [&](char c) { return alphabet.find(c) != std::string_view::npos; });
}

std::string lower_hex(const Bytes& bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4U]);
    out.push_back(kDigits[b & 0x0fU]);
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return out;
}

// Checks a successful decoding of text against its prefix's rules: the payload size fixes the
// output size (base16, base32, base64), bounds it (base58, base36), and the canonical encoders
// reproduce the payload where the encoding has a single form.
void check_decoded(std::string_view text, const Bytes& out) {
  const std::string_view payload = text.substr(1);
  switch (text.front()) {
    case 'u': {
      QUICREUSE_FUZZ_CHECK(out.size() == payload.size() * 6 / 8);
      // Leftover bits are ignored, so re-encoding may differ from payload, but it must decode to
      // the same bytes and be no longer.
      const std::string again = quicreuse::detail::base64url_encode(out);
      QUICREUSE_FUZZ_CHECK(again.size() == payload.size());
      const DecodedBytes back = quicreuse::detail::multibase_decode("u" + again);
      QUICREUSE_FUZZ_CHECK(back.has_value() && *back == out);
      break;
    }
    case 'm':
      QUICREUSE_FUZZ_CHECK(out.size() == payload.size() * 6 / 8);
      break;
    case 'b':
      QUICREUSE_FUZZ_CHECK(out.size() == payload.size() * 5 / 8);
      break;
    case 'f':
      QUICREUSE_FUZZ_CHECK(out.size() * 2 == payload.size());
      QUICREUSE_FUZZ_CHECK(lower_hex(out) == lower(payload));
      break;
    case 'z': {
      // Base58 with leading '1's as zero bytes has one encoding per value.
      QUICREUSE_FUZZ_CHECK(out.size() <= payload.size());
      QUICREUSE_FUZZ_CHECK(quicreuse::detail::base58btc_encode(out) == payload);
      const DecodedBytes plain = quicreuse::detail::base58btc_decode(payload);
      QUICREUSE_FUZZ_CHECK(plain.has_value() && *plain == out);
      break;
    }
    case 'k':
      QUICREUSE_FUZZ_CHECK(out.size() <= payload.size());
      break;
    default:
      QUICREUSE_FUZZ_CHECK(false && "decoded an unsupported prefix");
  }
}

// Checks that the encoders' output uses only their alphabet and decodes back to data.
void check_encoders(std::span<const std::uint8_t> data) {
  const Bytes expected(data.begin(), data.end());
  const std::string url = quicreuse::detail::base64url_encode(data);
  QUICREUSE_FUZZ_CHECK(url.size() == (data.size() * 8 + 5) / 6);
  QUICREUSE_FUZZ_CHECK(only(url, kBase64UrlAlphabet));
  const DecodedBytes url_back = quicreuse::detail::multibase_decode("u" + url);
  QUICREUSE_FUZZ_CHECK(url_back.has_value() && *url_back == expected);

  // Base58 encoding is quadratic and its decoder refuses text over kMaxBaseNLength: stay below
  // (each byte takes at most log(256)/log(58) < 1.37 characters).
  if (data.size() > quicreuse::detail::kMaxBaseNLength * 100 / 137) {
    return;
  }
  const std::string b58 = quicreuse::detail::base58btc_encode(data);
  QUICREUSE_FUZZ_CHECK(only(b58, kBase58Alphabet));
  const DecodedBytes b58_back = quicreuse::detail::base58btc_decode(b58);
  QUICREUSE_FUZZ_CHECK(b58_back.has_value() && *b58_back == expected);
  const DecodedBytes z_back = quicreuse::detail::multibase_decode("z" + b58);
  QUICREUSE_FUZZ_CHECK(z_back.has_value() && *z_back == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const DecodedBytes decoded = quicreuse::detail::multibase_decode(text);
  if (decoded) {
    check_decoded(text, *decoded);
  } else {
    QUICREUSE_FUZZ_CHECK(!decoded.error().empty());
  }
  check_encoders({data, size});
  return 0;
}
