// Fuzzes parse_client_hello_message and parse_encrypted_extensions
// (src/core/handshake_messages.hpp), which read the ClientHello of every incoming connection (and
// the server's EncryptedExtensions on a client) before GnuTLS has checked them, to pick the TLS
// identity and ALPNs and to refuse messages without QUIC transport parameters.
//
// Every input is used twice:
//   1. as a ClientHello body, as is: the parser must stay in bounds, and what it reports must be
//      something a ClientHello can carry (ALPNs of 1..255 bytes taken from the input);
//   2. as the choices (FuzzedDataProvider) for a well-formed ClientHello built here with an ALPN
//      list, a server name and unrelated extensions in any order: the parser must report exactly
//      those ALPNs and that name and whether transport parameters are present, and call the
//      message malformed (reporting nothing) with bytes after the extensions or truncated.
#include "core/handshake_messages.hpp"
#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;
using quicreuse::ClientHelloInfo;

constexpr std::uint16_t kServerName = 0;
constexpr std::uint16_t kAlpn = 16;

void put16(Bytes& out, std::size_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

void append(Bytes& out, const Bytes& more) {
  out.insert(out.end(), more.begin(), more.end());
}

void append(Bytes& out, const std::string& more) {
  out.insert(out.end(), more.begin(), more.end());
}

Bytes extension(std::uint16_t type, const Bytes& data) {
  Bytes out;
  put16(out, type);
  put16(out, data.size());
  append(out, data);
  return out;
}

Bytes alpn_extension(const std::vector<std::string>& alpns) {
  Bytes list;
  for (const auto& a : alpns) {
    list.push_back(static_cast<std::uint8_t>(a.size()));
    append(list, a);
  }
  Bytes data;
  put16(data, list.size());
  append(data, list);
  return extension(kAlpn, data);
}

// An SNI extension, optionally with an entry of another name type before the host name (the
// parser must skip it).
Bytes sni_extension(const std::string& host, const Bytes& other_entry) {
  Bytes list;
  if (!other_entry.empty()) {
    list.push_back(0x01);
    put16(list, other_entry.size());
    append(list, other_entry);
  }
  list.push_back(0x00);  // host_name
  put16(list, host.size());
  append(list, host);
  Bytes data;
  put16(data, list.size());
  append(data, list);
  return extension(kServerName, data);
}

// What the built ClientHello offers, and the message itself.
struct Built {
  ClientHelloInfo expected;
  bool has_transport_parameters = false;
  Bytes body;
};

Built build_client_hello(FuzzedDataProvider& in) {
  Built built;
  Bytes& body = built.body;
  put16(body, 0x0303);  // legacy_version
  for (int i = 0; i < 32; ++i) {
    body.push_back(in.ConsumeIntegral<std::uint8_t>());  // random
  }
  const Bytes session_id =
      in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange<std::size_t>(0, 32));
  body.push_back(static_cast<std::uint8_t>(session_id.size()));
  append(body, session_id);
  const auto suites = in.ConsumeIntegralInRange<std::size_t>(1, 16);
  put16(body, suites * 2);
  for (std::size_t i = 0; i < suites * 2; ++i) {
    body.push_back(in.ConsumeIntegral<std::uint8_t>());
  }
  body.push_back(1);  // one compression method: null
  body.push_back(0);

  std::vector<Bytes> extensions;
  const auto unrelated = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < unrelated; ++i) {
    auto type = in.ConsumeIntegral<std::uint16_t>();
    if (type == kServerName || type == kAlpn) {
      type = 0x39;  // quic_transport_parameters
    }
    built.has_transport_parameters = built.has_transport_parameters || type == 0x39;
    extensions.push_back(extension(
        type, in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange<std::size_t>(0, 64))));
  }
  if (in.ConsumeBool()) {
    const auto count = in.ConsumeIntegralInRange(1, 4);
    for (int i = 0; i < count; ++i) {
      std::string alpn = in.ConsumeRandomLengthString(255);
      if (alpn.empty()) {
        alpn = "h3";
      }
      built.expected.alpns.push_back(std::move(alpn));
    }
    extensions.push_back(alpn_extension(built.expected.alpns));
  }
  if (in.ConsumeBool()) {
    const Bytes other = in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange<std::size_t>(0, 8));
    built.expected.server_name = in.ConsumeRandomLengthString(255);
    extensions.push_back(sni_extension(built.expected.server_name, other));
  }
  // Any order: rotate by a fuzzed amount.
  if (!extensions.empty()) {
    const auto by = in.ConsumeIntegralInRange<std::size_t>(0, extensions.size() - 1);
    std::rotate(extensions.begin(), extensions.begin() + static_cast<std::ptrdiff_t>(by),
                extensions.end());
  }
  Bytes all;
  for (const auto& e : extensions) {
    append(all, e);
  }
  put16(body, all.size());
  append(body, all);
  return built;
}

bool same(const ClientHelloInfo& a, const ClientHelloInfo& b) {
  return a.alpns == b.alpns && a.server_name == b.server_name;
}

bool nothing(const ClientHelloInfo& info) {
  return info.alpns.empty() && info.server_name.empty();
}

void check_arbitrary(std::span<const std::uint8_t> body) {
  const auto summary = quicreuse::core::parse_client_hello_message(body);
  const ClientHelloInfo& info = summary.info;
  std::size_t reported = info.server_name.size();
  for (const auto& alpn : info.alpns) {
    QUICREUSE_FUZZ_CHECK(!alpn.empty() && alpn.size() <= 255);
    reported += alpn.size() + 1;
  }
  QUICREUSE_FUZZ_CHECK(reported <= body.size());
  QUICREUSE_FUZZ_CHECK(summary.well_formed ||
                       (nothing(info) && !summary.has_quic_transport_parameters));
  const auto ee = quicreuse::core::parse_encrypted_extensions(body);
  QUICREUSE_FUZZ_CHECK(ee.well_formed || !ee.has_quic_transport_parameters);
}

void check_built(FuzzedDataProvider& in) {
  const Built built = build_client_hello(in);
  const auto summary = quicreuse::core::parse_client_hello_message(built.body);
  QUICREUSE_FUZZ_CHECK(summary.well_formed);
  QUICREUSE_FUZZ_CHECK(same(summary.info, built.expected));
  QUICREUSE_FUZZ_CHECK(summary.has_quic_transport_parameters == built.has_transport_parameters);

  // Bytes after the extensions block: a malformed message, which reports nothing.
  Bytes longer = built.body;
  append(longer, in.ConsumeBytes<std::uint8_t>(16));
  if (longer.size() > built.body.size()) {
    const auto extra = quicreuse::core::parse_client_hello_message(longer);
    QUICREUSE_FUZZ_CHECK(!extra.well_formed && nothing(extra.info));
  }

  // A truncated message offers nothing: every field up to the extensions block is required, and
  // the block's length covers the rest of the message.
  const auto cut = in.ConsumeIntegralInRange<std::size_t>(0, built.body.size() - 1);
  const std::span<const std::uint8_t> truncated(built.body.data(), cut);
  const auto short_summary = quicreuse::core::parse_client_hello_message(truncated);
  QUICREUSE_FUZZ_CHECK(!short_summary.well_formed && nothing(short_summary.info));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_arbitrary({data, size});
  FuzzedDataProvider in(data, size);
  check_built(in);
  return 0;
}
