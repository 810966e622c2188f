// Multiaddr text and binary codecs (see multiaddr.hpp); the conversions to UDP endpoints and QUIC
// addresses are in multiaddr_udp.cpp.
//
// Port of go-multiaddr (codec.go, transcoders.go, net/convert.go DialArgs) for the protocols a
// QUIC connection manager needs, and of go-libp2p quicreuse/quic_multiaddr.go.
#include "multiaddr/multiaddr_internal.hpp"
#include "multiaddr/multibase.hpp"
#include "multiaddr/varint.hpp"

#include <quicreuse/multiaddr.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <ostream>

namespace quicreuse {
namespace {

using namespace multiaddr_detail;

// Check is success, or a message explaining the failure.
using Check = tl::expected<void, std::string>;
using Bytes = std::vector<std::uint8_t>;
using BytesOrWhy = tl::expected<Bytes, std::string>;

enum class ValueKind {
  none,            // no value
  fixed,           // exactly ProtocolSpec::size bytes
  length_prefixed  // a varint length, then that many bytes (at least one)
};

struct ProtocolSpec {
  Protocol protocol;
  std::string_view name;
  ValueKind kind;
  std::size_t size;  // bytes, for ValueKind::fixed
};

// Codes checked against multiformats/multicodec table.csv and go-multiaddr protocols.go.
constexpr std::array kProtocols = {
    ProtocolSpec{Protocol::ip4, "ip4", ValueKind::fixed, 4},
    ProtocolSpec{Protocol::tcp, "tcp", ValueKind::fixed, 2},
    ProtocolSpec{Protocol::ip6, "ip6", ValueKind::fixed, 16},
    ProtocolSpec{Protocol::ip6zone, "ip6zone", ValueKind::length_prefixed, 0},
    ProtocolSpec{Protocol::dns, "dns", ValueKind::length_prefixed, 0},
    ProtocolSpec{Protocol::dns4, "dns4", ValueKind::length_prefixed, 0},
    ProtocolSpec{Protocol::dns6, "dns6", ValueKind::length_prefixed, 0},
    ProtocolSpec{Protocol::udp, "udp", ValueKind::fixed, 2},
    ProtocolSpec{Protocol::webrtc_direct, "webrtc-direct", ValueKind::none, 0},
    ProtocolSpec{Protocol::p2p, "p2p", ValueKind::length_prefixed, 0},
    ProtocolSpec{Protocol::quic, "quic", ValueKind::none, 0},
    ProtocolSpec{Protocol::quic_v1, "quic-v1", ValueKind::none, 0},
    ProtocolSpec{Protocol::webtransport, "webtransport", ValueKind::none, 0},
    ProtocolSpec{Protocol::certhash, "certhash", ValueKind::length_prefixed, 0},
};

// Multihash codes a peer ID may use (libp2p peer-ids spec), and the CID codec of a peer ID.
constexpr std::uint64_t kMultihashIdentity = 0x00;
constexpr std::uint64_t kMultihashSha256 = 0x12;
constexpr std::uint64_t kCidV1 = 0x01;
constexpr std::uint64_t kCodecLibp2pKey = 0x72;
// The longest peer ID accepted. A /p2p value prints as base58btc, at most 1.37 characters per
// byte, and its text must fit the base58 decoder's limit, or a binary multiaddr would print to
// text that does not parse back. Real peer IDs are 34 (sha2-256) to 42 (identity) bytes.
constexpr std::size_t kMaxPeerIdLength = detail::kMaxBaseNLength * 100 / 137;

// User text longer than this is cut in error messages.
constexpr std::size_t kMaxQuotedLength = 80;

const ProtocolSpec* spec_of(Protocol p) noexcept {
  const auto* it = std::find_if(kProtocols.begin(), kProtocols.end(),
                                [p](const ProtocolSpec& s) { return s.protocol == p; });
  return it == kProtocols.end() ? nullptr : &*it;
}

// Returns text with control and non-ASCII bytes as \xNN, so that a message stays on one line.
std::string escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(byte));
      out += buf;
    }
  }
  return out;
}

// Returns text quoted for an error message: escaped, cut when long.

// Returns a component's text for an error message: /dns names and /ip6zone zones may hold any
// byte but '/' and NUL (newlines included), so they are escaped.

std::string hex_number(std::uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string hex_bytes(std::span<const std::uint8_t> bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out = "0x";
  for (const std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4U]);
    out.push_back(kDigits[b & 0x0fU]);
  }
  return out;
}

// Stores why (when asked for) and returns the invalid_argument failure.

std::string_view varint_problem(detail::VarintStatus status) {
  switch (status) {
    case detail::VarintStatus::truncated:
      return "truncated varint";
    case detail::VarintStatus::too_long:
      return "over-long varint";
    case detail::VarintStatus::non_minimal:
      return "non-minimal varint";
    case detail::VarintStatus::ok:
      break;
  }
  return "varint";
}

// Multihash: varint code, varint digest length, digest (exactly the rest of the bytes).
struct Multihash {
  std::uint64_t code = 0;
  std::uint64_t digest_length = 0;
};

tl::expected<Multihash, std::string> read_multihash(std::span<const std::uint8_t> bytes) {
  const auto code = detail::read_uvarint(bytes);
  if (code.status != detail::VarintStatus::ok) {
    return tl::unexpected("invalid multihash: " + std::string(varint_problem(code.status)) +
                          " in its code");
  }
  const auto length = detail::read_uvarint(bytes.subspan(code.length));
  if (length.status != detail::VarintStatus::ok) {
    return tl::unexpected("invalid multihash: " + std::string(varint_problem(length.status)) +
                          " in its length");
  }
  const std::size_t rest = bytes.size() - code.length - length.length;
  if (length.value != rest) {
    return tl::unexpected("invalid multihash: digest length " + std::to_string(length.value) +
                          " but " + std::to_string(rest) + " bytes follow");
  }
  return Multihash{code.value, length.value};
}

Check check_peer_id(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxPeerIdLength) {
    return tl::unexpected("peer ID of " + std::to_string(bytes.size()) + " bytes (at most " +
                          std::to_string(kMaxPeerIdLength) + ")");
  }
  const auto mh = read_multihash(bytes);
  if (!mh) {
    return tl::unexpected(mh.error());
  }
  if (mh->code != kMultihashSha256 && mh->code != kMultihashIdentity) {
    return tl::unexpected("multihash code " + hex_number(mh->code) +
                          " is neither sha2-256 nor identity");
  }
  if (mh->code == kMultihashSha256 && mh->digest_length != 32) {
    return tl::unexpected("sha2-256 digest has " + std::to_string(mh->digest_length) +
                          " bytes, want 32");
  }
  return {};
}

// Checks a host name or zone: not empty, no '/' (it would not survive the text form), no NUL (it
// would not survive the C resolver and interface APIs).
Check check_name(Protocol p, std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) {
    return tl::unexpected("empty " + slash_name(p) + " value");
  }
  if (std::find(bytes.begin(), bytes.end(), std::uint8_t{'/'}) != bytes.end()) {
    return tl::unexpected(slash_name(p) + " value " +
                          quoted(std::string(bytes.begin(), bytes.end())) + " contains '/'");
  }
  if (std::find(bytes.begin(), bytes.end(), std::uint8_t{0}) != bytes.end()) {
    return tl::unexpected(slash_name(p) + " value contains a NUL byte");
  }
  return {};
}

// Checks a binary value against its protocol: size first, then content.
Check check_value(const ProtocolSpec& spec, std::span<const std::uint8_t> value) {
  switch (spec.kind) {
    case ValueKind::none:
      if (!value.empty()) {
        return tl::unexpected("value of " + slash_name(spec.protocol) + " has " +
                              std::to_string(value.size()) + " bytes, want none");
      }
      return {};
    case ValueKind::fixed:
      if (value.size() != spec.size) {
        return tl::unexpected("value of " + slash_name(spec.protocol) + " has " +
                              std::to_string(value.size()) + " bytes, want " +
                              std::to_string(spec.size));
      }
      return {};
    case ValueKind::length_prefixed:
      break;
  }
  switch (spec.protocol) {
    case Protocol::ip6zone:
    case Protocol::dns:
    case Protocol::dns4:
    case Protocol::dns6:
      return check_name(spec.protocol, value);
    case Protocol::certhash: {
      const auto mh = read_multihash(value);
      if (!mh) {
        return tl::unexpected("bad /certhash value: " + mh.error());
      }
      return {};
    }
    case Protocol::p2p: {
      const auto ok = check_peer_id(value);
      if (!ok) {
        return tl::unexpected("bad /p2p value: " + ok.error());
      }
      return {};
    }
    default:
      return tl::unexpected("empty " + slash_name(spec.protocol) + " value");
  }
}

// Formats 16 bytes as RFC 5952 text, like Go: the longest run of two or more zero groups (the
// first of equal runs) becomes "::", and IPv4-mapped addresses end in dotted IPv4.
std::string format_ip6(std::span<const std::uint8_t> b) {
  const bool v4_mapped = std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; }) &&
                         b[10] == 0xff && b[11] == 0xff;
  if (v4_mapped) {
    return "::ffff:" + std::to_string(b[12]) + "." + std::to_string(b[13]) + "." +
           std::to_string(b[14]) + "." + std::to_string(b[15]);
  }
  std::array<unsigned, 8> groups{};
  for (std::size_t i = 0; i < groups.size(); ++i) {
    groups[i] = (static_cast<unsigned>(b[2 * i]) << 8U) | b[2 * i + 1];
  }
  std::size_t best_start = groups.size();
  std::size_t best_length = 1;  // runs of one group are not compressed
  for (std::size_t i = 0; i < groups.size();) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < groups.size() && groups[end] == 0) {
      ++end;
    }
    if (end - i > best_length) {
      best_start = i;
      best_length = end - i;
    }
    i = end;
  }
  std::string out;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i == best_start) {
      out += "::";
      i += best_length - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') {
      out.push_back(':');
    }
    char buf[8];
    const auto result = std::to_chars(buf, buf + sizeof buf, groups[i], 16);
    out.append(buf, result.ptr);
  }
  return out;
}

// Returns the text of a value already known to be valid for its protocol.
std::string format_value(Protocol p, std::span<const std::uint8_t> value) {
  switch (p) {
    case Protocol::ip4:
      return std::to_string(value[0]) + "." + std::to_string(value[1]) + "." +
             std::to_string(value[2]) + "." + std::to_string(value[3]);
    case Protocol::ip6:
      return format_ip6(value);
    case Protocol::tcp:
    case Protocol::udp:
      return std::to_string(port_of(value));
    case Protocol::ip6zone:
    case Protocol::dns:
    case Protocol::dns4:
    case Protocol::dns6:
      return {value.begin(), value.end()};
    case Protocol::certhash:
      return "u" + detail::base64url_encode(value);
    case Protocol::p2p:
      return detail::base58btc_encode(value);
    default:
      return {};
  }
}

BytesOrWhy parse_ip(Protocol p, std::string_view text) {
  const bool v4 = p == Protocol::ip4;
  const std::string what = "bad " + slash_name(p) + " address " + quoted(text);
  if (!v4 && text.find('%') != std::string_view::npos) {
    return tl::unexpected(what + " (put the zone in /ip6zone)");
  }
  Bytes out(v4 ? 4 : 16);
  const std::string nul_terminated(text);
  if (text.find('\0') != std::string_view::npos ||
      ::inet_pton(v4 ? AF_INET : AF_INET6, nul_terminated.c_str(), out.data()) != 1) {
    return tl::unexpected(what);
  }
  return out;
}

BytesOrWhy parse_port(Protocol p, std::string_view text) {
  std::uint32_t port = 0;
  const auto* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, port);
  if (text.empty() || result.ec != std::errc{} || result.ptr != end || port > 65535) {
    return tl::unexpected("bad " + slash_name(p) + " port " + quoted(text) + " (want 0..65535)");
  }
  return port_bytes(static_cast<std::uint16_t>(port));
}

// A peer ID is a base58btc multihash ("Qm...", "1..."), or a CIDv1 with the libp2p-key codec in
// any supported multibase (go-multiaddr p2pStB).
BytesOrWhy parse_peer_id(std::string_view text) {
  const bool multihash = text.starts_with("Qm") || text.starts_with("1");
  auto decoded = multihash ? detail::base58btc_decode(text) : detail::multibase_decode(text);
  if (!decoded) {
    return tl::unexpected(decoded.error());
  }
  Bytes bytes = std::move(*decoded);
  if (!multihash) {
    const auto version = detail::read_uvarint(bytes);
    if (version.status != detail::VarintStatus::ok || version.value != kCidV1) {
      return tl::unexpected(std::string("not a CIDv1"));
    }
    const auto codec = detail::read_uvarint(std::span(bytes).subspan(version.length));
    if (codec.status != detail::VarintStatus::ok) {
      return tl::unexpected("CID: " + std::string(varint_problem(codec.status)) + " in its codec");
    }
    if (codec.value != kCodecLibp2pKey) {
      return tl::unexpected("CID codec " + hex_number(codec.value) + " is not libp2p-key (0x72)");
    }
    bytes.erase(bytes.begin(),
                bytes.begin() + static_cast<std::ptrdiff_t>(version.length + codec.length));
  }
  const auto ok = check_peer_id(bytes);
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return bytes;
}

// Converts the text of a value to its binary form and checks it.
BytesOrWhy value_from_text(const ProtocolSpec& spec, std::string_view text) {
  const Protocol p = spec.protocol;
  BytesOrWhy bytes;
  switch (p) {
    case Protocol::ip4:
    case Protocol::ip6:
      return parse_ip(p, text);
    case Protocol::tcp:
    case Protocol::udp:
      return parse_port(p, text);
    case Protocol::certhash:
      bytes = detail::multibase_decode(text);
      if (bytes) {
        if (const auto mh = read_multihash(*bytes); !mh) {
          bytes = tl::unexpected(mh.error());
        }
      }
      break;
    case Protocol::p2p:
      bytes = parse_peer_id(text);
      break;
    default:
      bytes = Bytes(text.begin(), text.end());
      break;
  }
  if (!bytes) {
    return tl::unexpected("bad " + slash_name(p) + " value " + quoted(text) + ": " + bytes.error());
  }
  if (auto ok = check_value(spec, *bytes); !ok) {
    return tl::unexpected(std::move(ok.error()));
  }
  return bytes;
}

// Checks the order rule: an /ip6zone comes right before an /ip6.
Check check_order(const std::vector<Component>& components) {
  for (std::size_t i = 0; i < components.size(); ++i) {
    if (components[i].protocol == Protocol::ip6zone &&
        (i + 1 == components.size() || components[i + 1].protocol != Protocol::ip6)) {
      return tl::unexpected(shown(components[i]) + " must be followed by /ip6");
    }
  }
  return {};
}

void append_component(Bytes& out, const Component& c) {
  detail::append_uvarint(out, protocol_code(c.protocol));
  const ProtocolSpec* spec = spec_of(c.protocol);
  if (spec != nullptr && spec->kind == ValueKind::length_prefixed) {
    detail::append_uvarint(out, c.value.size());
  }
  out.insert(out.end(), c.value.begin(), c.value.end());
}

}  // namespace

// The helpers multiaddr_udp.cpp shares (multiaddr_internal.hpp).
namespace multiaddr_detail {

std::string slash_name(Protocol p) {
  return "/" + std::string(protocol_name(p));
}

std::string quoted(std::string_view text) {
  return "'" + escaped(text.substr(0, kMaxQuotedLength)) +
         (text.size() > kMaxQuotedLength ? "...'" : "'");
}

std::string shown(const Component& c) {
  return escaped(c.to_string());
}

tl::unexpected<std::error_code> reject(std::string* why, std::string message) {
  if (why != nullptr) {
    *why = std::move(message);
  }
  return fail(errc::invalid_argument);
}

Bytes port_bytes(std::uint16_t port) {
  return {static_cast<std::uint8_t>(port >> 8U), static_cast<std::uint8_t>(port & 0xffU)};
}

std::uint16_t port_of(std::span<const std::uint8_t> value) {
  return static_cast<std::uint16_t>((static_cast<unsigned>(value[0]) << 8U) | value[1]);
}

}  // namespace multiaddr_detail

std::string_view protocol_name(Protocol p) noexcept {
  const ProtocolSpec* spec = spec_of(p);
  return spec == nullptr ? std::string_view("unknown") : spec->name;
}

std::optional<Protocol> protocol_by_name(std::string_view name) noexcept {
  for (const auto& spec : kProtocols) {
    if (spec.name == name) {
      return spec.protocol;
    }
  }
  return std::nullopt;
}

std::optional<Protocol> protocol_by_code(std::uint64_t code) noexcept {
  for (const auto& spec : kProtocols) {
    if (protocol_code(spec.protocol) == code) {
      return spec.protocol;
    }
  }
  return std::nullopt;
}

// ----- Component -----

Result<Component> Component::parse(Protocol protocol, std::string_view value_text,
                                   std::string* why) {
  const ProtocolSpec* spec = spec_of(protocol);
  if (spec == nullptr) {
    return reject(why, "unknown protocol code " + hex_number(protocol_code(protocol)));
  }
  if (spec->kind == ValueKind::none) {
    if (!value_text.empty()) {
      return reject(why, slash_name(protocol) + " takes no value (got " + quoted(value_text) + ")");
    }
    return Component{protocol, {}};
  }
  auto bytes = value_from_text(*spec, value_text);
  if (!bytes) {
    return reject(why, std::move(bytes.error()));
  }
  return Component{protocol, std::move(*bytes)};
}

std::string Component::value_text() const {
  const ProtocolSpec* spec = spec_of(protocol);
  if (spec == nullptr || !check_value(*spec, value)) {
    return hex_bytes(value);
  }
  return format_value(protocol, value);
}

std::string Component::to_string() const {
  const ProtocolSpec* spec = spec_of(protocol);
  std::string out = slash_name(protocol);
  if (spec == nullptr || spec->kind != ValueKind::none || !value.empty()) {
    out += "/" + value_text();
  }
  return out;
}

// ----- Multiaddr -----

Multiaddr::Multiaddr(std::vector<Component> components) : components_(std::move(components)) {
  for (const auto& c : components_) {
    append_component(bytes_, c);
  }
}

Result<Multiaddr> Multiaddr::parse(std::string_view text, std::string* why) {
  if (!text.empty() && text.front() != '/') {
    return reject(why, "a multiaddr starts with '/' (got " + quoted(text) + ")");
  }
  while (!text.empty() && text.back() == '/') {
    text.remove_suffix(1);
  }
  if (text.empty()) {
    return reject(why, "empty multiaddr");
  }
  std::vector<Component> components;
  std::size_t pos = 1;  // just after a '/'
  while (pos <= text.size()) {
    const std::size_t name_end = std::min(text.find('/', pos), text.size());
    const std::string_view name = text.substr(pos, name_end - pos);
    if (name.empty()) {
      return reject(why, "empty protocol name at offset " + std::to_string(pos) + " (\"//\")");
    }
    const auto protocol = protocol_by_name(name);
    if (!protocol) {
      return reject(why, "unknown protocol " + quoted(name));
    }
    const ProtocolSpec& spec = *spec_of(*protocol);
    pos = name_end + 1;
    if (spec.kind == ValueKind::none) {
      components.push_back(Component{*protocol, {}});
      continue;
    }
    if (name_end == text.size()) {
      return reject(why, "missing value for " + slash_name(*protocol));
    }
    const std::size_t value_end = std::min(text.find('/', pos), text.size());
    auto bytes = value_from_text(spec, text.substr(pos, value_end - pos));
    if (!bytes) {
      return reject(why, std::move(bytes.error()));
    }
    components.push_back(Component{*protocol, std::move(*bytes)});
    pos = value_end + 1;
  }
  if (auto ok = check_order(components); !ok) {
    return reject(why, std::move(ok.error()));
  }
  return Multiaddr(std::move(components));
}

Result<Multiaddr> Multiaddr::from_bytes(std::span<const std::uint8_t> bytes, std::string* why) {
  if (bytes.empty()) {
    return reject(why, "empty multiaddr");
  }
  std::vector<Component> components;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const std::size_t start = offset;
    const auto at = [](std::size_t byte) { return " at byte " + std::to_string(byte); };
    const auto code = detail::read_uvarint(bytes.subspan(offset));
    if (code.status != detail::VarintStatus::ok) {
      return reject(why, std::string(varint_problem(code.status)) + at(offset));
    }
    const auto protocol = protocol_by_code(code.value);
    if (!protocol) {
      return reject(why, "unknown protocol code " + hex_number(code.value) + at(offset));
    }
    const ProtocolSpec& spec = *spec_of(*protocol);
    offset += code.length;
    std::size_t size = spec.size;
    if (spec.kind == ValueKind::length_prefixed) {
      const auto length = detail::read_uvarint(bytes.subspan(offset));
      if (length.status != detail::VarintStatus::ok) {
        return reject(why, std::string(varint_problem(length.status)) + at(offset) +
                               " (length of " + slash_name(*protocol) + ")");
      }
      offset += length.length;
      if (length.value == 0) {
        return reject(why, "empty " + slash_name(*protocol) + " value" + at(start));
      }
      if (length.value > bytes.size() - offset) {
        return reject(why, "truncated value of " + slash_name(*protocol) + at(start) + ": has " +
                               std::to_string(bytes.size() - offset) + " bytes, want " +
                               std::to_string(length.value));
      }
      size = static_cast<std::size_t>(length.value);
    } else if (size > bytes.size() - offset) {
      return reject(why, "truncated value of " + slash_name(*protocol) + at(start) + ": has " +
                             std::to_string(bytes.size() - offset) + " bytes, want " +
                             std::to_string(size));
    }
    const auto value = bytes.subspan(offset, size);
    if (auto ok = check_value(spec, value); !ok) {
      return reject(why, ok.error() + at(start));
    }
    components.push_back(Component{*protocol, Bytes(value.begin(), value.end())});
    offset += size;
  }
  if (auto ok = check_order(components); !ok) {
    return reject(why, std::move(ok.error()));
  }
  return Multiaddr(std::move(components));
}

Result<Multiaddr> Multiaddr::from_components(std::vector<Component> components, std::string* why) {
  for (const auto& c : components) {
    const ProtocolSpec* spec = spec_of(c.protocol);
    if (spec == nullptr) {
      return reject(why, "unknown protocol code " + hex_number(protocol_code(c.protocol)));
    }
    if (auto ok = check_value(*spec, c.value); !ok) {
      return reject(why, std::move(ok.error()));
    }
  }
  if (auto ok = check_order(components); !ok) {
    return reject(why, std::move(ok.error()));
  }
  return Multiaddr(std::move(components));
}

std::string Multiaddr::to_string() const {
  std::string out;
  for (const auto& c : components_) {
    out += c.to_string();
  }
  return out;
}

Multiaddr Multiaddr::encapsulate(const Multiaddr& inner) const {
  // Both sides are valid and a valid multiaddr never ends in /ip6zone, so the order rule holds.
  std::vector<Component> joined = components_;
  joined.insert(joined.end(), inner.components_.begin(), inner.components_.end());
  return Multiaddr(std::move(joined));
}

Multiaddr Multiaddr::prefix_until(Protocol p) const {
  const auto end = std::find_if(components_.begin(), components_.end(),
                                [p](const Component& c) { return c.protocol == p; });
  // Cutting just before an /ip6 would leave a dangling /ip6zone: drop it too.
  auto cut = end;
  if (cut != components_.begin() && std::prev(cut)->protocol == Protocol::ip6zone) {
    --cut;
  }
  return Multiaddr(std::vector<Component>(components_.begin(), cut));
}

const Component* Multiaddr::find(Protocol p) const noexcept {
  const auto it = std::find_if(components_.begin(), components_.end(),
                               [p](const Component& c) { return c.protocol == p; });
  return it == components_.end() ? nullptr : &*it;
}

std::ostream& operator<<(std::ostream& out, const Multiaddr& m) {
  return out << m.to_string();
}

}  // namespace quicreuse

std::size_t std::hash<quicreuse::Multiaddr>::operator()(
    const quicreuse::Multiaddr& m) const noexcept {
  // FNV-1a over the binary form.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::uint8_t b : m.to_bytes()) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return static_cast<std::size_t>(h);
}
