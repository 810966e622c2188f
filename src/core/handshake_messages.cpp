#include "core/handshake_messages.hpp"

#include <string>
#include <vector>

namespace quicreuse::core {
namespace {

constexpr std::size_t kAlpnExtension = 16;
constexpr std::size_t kServerNameExtension = 0;
constexpr std::size_t kHostName = 0;
constexpr std::size_t kRandomLength = 32;

// Reads a big-endian integer of n bytes; false when out of data.
bool read_uint(std::span<const std::uint8_t>& in, std::size_t n, std::size_t& value) {
  if (in.size() < n) {
    return false;
  }
  value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    value = (value << 8) | in[i];
  }
  in = in.subspan(n);
  return true;
}

// Splits a length-prefixed field off in; false when it does not fit.
bool read_vector(std::span<const std::uint8_t>& in, std::size_t length_bytes,
                 std::span<const std::uint8_t>& out) {
  std::size_t len = 0;
  if (!read_uint(in, length_bytes, len) || in.size() < len) {
    return false;
  }
  out = in.first(len);
  in = in.subspan(len);
  return true;
}

void parse_alpn_extension(std::span<const std::uint8_t> data, ClientHelloInfo& info) {
  std::span<const std::uint8_t> list;
  if (!read_vector(data, 2, list) || !data.empty()) {
    return;
  }
  std::vector<std::string> alpns;
  while (!list.empty()) {
    std::span<const std::uint8_t> name;
    if (!read_vector(list, 1, name) || name.empty()) {
      return;  // malformed: offer nothing
    }
    alpns.emplace_back(reinterpret_cast<const char*>(name.data()), name.size());
  }
  info.alpns = std::move(alpns);
}

void parse_sni_extension(std::span<const std::uint8_t> data, ClientHelloInfo& info) {
  std::span<const std::uint8_t> list;
  if (!read_vector(data, 2, list)) {
    return;
  }
  while (!list.empty()) {
    std::size_t type = 0;
    std::span<const std::uint8_t> name;
    if (!read_uint(list, 1, type) || !read_vector(list, 2, name)) {
      return;
    }
    if (type == kHostName) {
      info.server_name.assign(reinterpret_cast<const char*>(name.data()), name.size());
      return;
    }
  }
}

// Walks an extensions vector (type(2) data<2>); calls on_extension for each. False when a length
// does not fit.
template <class F>
bool for_each_extension(std::span<const std::uint8_t> extensions, F&& on_extension) {
  while (!extensions.empty()) {
    std::size_t type = 0;
    std::span<const std::uint8_t> data;
    if (!read_uint(extensions, 2, type) || !read_vector(extensions, 2, data)) {
      return false;
    }
    on_extension(type, data);
  }
  return true;
}

}  // namespace

ClientHelloSummary parse_client_hello_message(std::span<const std::uint8_t> in) {
  ClientHelloSummary summary;
  std::size_t ignored = 0;
  std::span<const std::uint8_t> field;
  // legacy_version(2) random(32) session_id<0..32> cipher_suites<2..> compression<1..>
  if (!read_uint(in, 2, ignored) || in.size() < kRandomLength) {
    return summary;
  }
  in = in.subspan(kRandomLength);
  if (!read_vector(in, 1, field) || !read_vector(in, 2, field) || !read_vector(in, 1, field)) {
    return summary;
  }
  std::span<const std::uint8_t> extensions;
  if (!read_vector(in, 2, extensions) || !in.empty()) {
    return summary;
  }
  ClientHelloInfo info;
  bool has_tp = false;
  const bool ok = for_each_extension(extensions, [&](std::size_t type, auto data) {
    if (type == kAlpnExtension) {
      parse_alpn_extension(data, info);
    } else if (type == kServerNameExtension) {
      parse_sni_extension(data, info);
    } else if (type == kQuicTransportParametersExtension) {
      has_tp = true;
    }
  });
  if (!ok) {
    return summary;
  }
  summary.well_formed = true;
  summary.has_quic_transport_parameters = has_tp;
  summary.info = std::move(info);
  return summary;
}

ClientHelloInfo parse_client_hello(std::span<const std::uint8_t> body) {
  return parse_client_hello_message(body).info;
}

ExtensionsSummary parse_encrypted_extensions(std::span<const std::uint8_t> in) {
  ExtensionsSummary summary;
  std::span<const std::uint8_t> extensions;
  if (!read_vector(in, 2, extensions) || !in.empty()) {
    return summary;
  }
  bool has_tp = false;
  if (!for_each_extension(extensions, [&](std::size_t type, auto) {
        has_tp = has_tp || type == kQuicTransportParametersExtension;
      })) {
    return summary;
  }
  summary.well_formed = true;
  summary.has_quic_transport_parameters = has_tp;
  return summary;
}

}  // namespace quicreuse::core
