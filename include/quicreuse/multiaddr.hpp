// Multiaddr: the self-describing addresses of libp2p (https://github.com/multiformats/multiaddr),
// in text form (/ip4/1.2.3.4/udp/4001/quic-v1) and binary form (varint protocol code, then the
// value), plus the conversions between QUIC multiaddrs and UDP endpoints that the ConnManager
// uses (port of go-libp2p quicreuse/quic_multiaddr.go and the dial-args rules of
// go-multiaddr/net).
//
// Errors: every fallible call returns Result<T> with errc::invalid_argument for malformed input
// (or the resolver's error for a DNS name that does not resolve) and, when the caller passes a
// non-null `why`, stores a one-line explanation there that names the bad component, e.g.
// "bad /udp port '70000' (want 0..65535)", "unknown protocol 'foo'", "missing value for /ip4",
// "truncated varint at byte 9". *why is written only on failure. Nothing here throws for bad
// input, and no input makes it crash.
//
// Threading: Multiaddr is an immutable value; const access from several threads is safe. The
// free functions keep no state.
#pragma once

#include <quicreuse/error.hpp>

#include <asio/ip/udp.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quicreuse {

// Protocol is a multiaddr protocol this library knows; each value is its multicodec code (see
// multiformats/multicodec table.csv and go-multiaddr protocols.go).
enum class Protocol : std::uint32_t {
  ip4 = 0x04,              // 4-byte IPv4 address
  tcp = 0x06,              // 2-byte port, big endian
  ip6 = 0x29,              // 16-byte IPv6 address
  ip6zone = 0x2a,          // IPv6 zone (interface name or index); must come right before /ip6
  dns = 0x35,              // DNS name, resolved to IPv4 or IPv6
  dns4 = 0x36,             // DNS name, resolved to IPv4 only
  dns6 = 0x37,             // DNS name, resolved to IPv6 only
  udp = 0x0111,            // 2-byte port, big endian
  webrtc_direct = 0x0118,  // no value
  p2p = 0x01a5,            // peer ID: a sha2-256 or identity multihash
  quic = 0x01cc,           // QUIC draft-29 (legacy): recognised, but not dialable
  quic_v1 = 0x01cd,        // QUIC version 1 (RFC 9000); no value
  webtransport = 0x01d1,   // no value
  certhash = 0x01d2,       // a certificate hash: a multihash, multibase text
};

// Returns the multicodec code of p.
constexpr std::uint32_t protocol_code(Protocol p) noexcept {
  return static_cast<std::uint32_t>(p);
}
// Returns the multiaddr code of /quic-v1 (0x01cd), the protocol the ConnManager reports in
// protocols().
constexpr std::uint32_t quic_v1_protocol_code() noexcept {
  return protocol_code(Protocol::quic_v1);
}
// Returns the text name of p ("ip4", "quic-v1", "webrtc-direct"...).
std::string_view protocol_name(Protocol p) noexcept;
// Returns the protocol named name, or nullopt when this library does not know it.
std::optional<Protocol> protocol_by_name(std::string_view name) noexcept;
// Returns the protocol with multicodec code code, or nullopt when this library does not know it.
std::optional<Protocol> protocol_by_code(std::uint64_t code) noexcept;

// Component is one protocol of a multiaddr with its value in binary form (empty for protocols
// without a value). Components inside a Multiaddr are always valid; a Component built by hand is
// checked by Multiaddr::from_components.
struct Component {
  Protocol protocol = Protocol::ip4;
  std::vector<std::uint8_t> value;

  // Makes a component from the text form of its value ("1.2.3.4" for /ip4, "" for protocols
  // without a value). Errors: errc::invalid_argument, explained in *why.
  static Result<Component> parse(Protocol protocol, std::string_view value_text,
                                 std::string* why = nullptr);

  // Returns the value in text form: the address, the port, the name, the peer ID in base58btc, the
  // certificate hash in multibase base64url ('u'); "" for protocols without a value. A value that
  // is not valid for the protocol (possible only in a hand-built Component) is shown as 0x<hex>.
  [[nodiscard]] std::string value_text() const;
  // Returns the component in text form: "/udp/1234", "/quic-v1".
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Component&, const Component&) = default;
  // Orders by protocol code, then by value bytes.
  friend std::strong_ordering operator<=>(const Component&, const Component&) = default;
};

// Multiaddr is an immutable sequence of valid components. The default value is the empty
// multiaddr (prints as ""), which parse and from_bytes never produce.
//
// Validity, besides each value being well formed: an /ip6zone is immediately followed by /ip6.
// Equal multiaddrs have equal binary forms, so == compares and std::hash hashes that form.
class Multiaddr {
 public:
  Multiaddr() = default;
  Multiaddr(const Multiaddr&) = default;
  Multiaddr& operator=(const Multiaddr&) = default;
  Multiaddr(Multiaddr&&) noexcept = default;
  Multiaddr& operator=(Multiaddr&&) noexcept = default;
  ~Multiaddr() = default;

  // Parses the text form: '/'-separated protocol names, each followed by its value when it has
  // one. Trailing slashes are ignored, as Go does ("/ip4/1.2.3.4/" is accepted). /ip6 wants an
  // IPv6 literal (IPv4-mapped as ::ffff:1.2.3.4); zones go in /ip6zone, not after a '%'. Ports
  // are decimal 0..65535. /certhash takes any supported multibase (multibase.hpp); /p2p takes a
  // base58btc multihash (Qm..., 12D3Koo...) or a libp2p-key CIDv1 in multibase (bafz...).
  // Errors: errc::invalid_argument, explained in *why.
  static Result<Multiaddr> parse(std::string_view text, std::string* why = nullptr);
  // Decodes the binary form: for each component the varint protocol code, then the value (fixed
  // size, or a varint length then the bytes). Varints must be minimal and at most 9 bytes.
  // Errors: errc::invalid_argument, explained in *why (with the byte offset).
  static Result<Multiaddr> from_bytes(std::span<const std::uint8_t> bytes,
                                      std::string* why = nullptr);
  // Makes a multiaddr of components after checking each value and their order. An empty list
  // gives the empty multiaddr. Errors: errc::invalid_argument, explained in *why.
  static Result<Multiaddr> from_components(std::vector<Component> components,
                                           std::string* why = nullptr);

  // Returns the text form, e.g. "/ip4/192.168.0.42/udp/1337/quic-v1" ("" when empty). The text
  // parses back to an equal multiaddr.
  [[nodiscard]] std::string to_string() const;
  // Returns the binary form (a reference to this object's own copy).
  [[nodiscard]] const std::vector<std::uint8_t>& to_bytes() const noexcept { return bytes_; }
  // Returns the components in order.
  [[nodiscard]] const std::vector<Component>& components() const noexcept { return components_; }
  [[nodiscard]] bool empty() const noexcept { return components_.empty(); }

  // Returns this multiaddr followed by inner ("/ip4/1.2.3.4/udp/1" + "/quic-v1").
  [[nodiscard]] Multiaddr encapsulate(const Multiaddr& inner) const;
  // Returns the components before the first one with protocol p (all of them when there is none);
  // an /ip6zone that would be left last is dropped with its /ip6.
  [[nodiscard]] Multiaddr prefix_until(Protocol p) const;
  // Returns the first component with protocol p, or nullptr; the pointer is valid while this
  // Multiaddr lives.
  [[nodiscard]] const Component* find(Protocol p) const noexcept;
  [[nodiscard]] bool contains(Protocol p) const noexcept { return find(p) != nullptr; }

  friend bool operator==(const Multiaddr& a, const Multiaddr& b) noexcept {
    return a.bytes_ == b.bytes_;
  }
  // Orders by binary form (for ordered containers); consistent with ==.
  friend std::strong_ordering operator<=>(const Multiaddr& a, const Multiaddr& b) noexcept {
    return a.bytes_ <=> b.bytes_;
  }

 private:
  explicit Multiaddr(std::vector<Component> components);

  std::vector<Component> components_;
  std::vector<std::uint8_t> bytes_;
};

// Writes m.to_string() (for logs and test failure messages).
std::ostream& operator<<(std::ostream& out, const Multiaddr& m);

// QuicVersion is a QUIC wire version. Only v1 is supported; draft29 exists to name the legacy
// /quic protocol's version, which every conversion rejects as "unknown QUIC version".
enum class QuicVersion : std::uint32_t {
  v1 = 0x00000001,
  draft29 = 0xff00001d,
};

// Returns the QUIC multiaddr of a UDP address (port of quicreuse ToQuicMultiaddr):
// /ip4/<a>/udp/<port>/quic-v1 for IPv4 and IPv4-mapped IPv6 addresses, else
// /ip6/<a>/udp/<port>/quic-v1, preceded by /ip6zone/<zone> when the scope ID is not zero (the
// interface name from if_indextoname, else the number). Errors: errc::invalid_argument with
// "unknown QUIC version" for any version but v1.
Result<Multiaddr> to_quic_multiaddr(const asio::ip::udp::endpoint& address,
                                    QuicVersion version = QuicVersion::v1,
                                    std::string* why = nullptr);

// Returns the UDP address and QUIC version of a dialable QUIC multiaddr (port of quicreuse
// FromQuicMultiaddr). Components are taken up to the first /quic-v1; what follows it
// (/webtransport, /certhash, /p2p) is ignored. Checks, in this order, each an
// errc::invalid_argument:
//   1. nothing before /quic-v1 (also the empty multiaddr): "no addr before QUIC component";
//   2. no /quic-v1 at all (the legacy /quic included): "unknown QUIC version";
//   3. the part before /quic-v1 is converted by its last protocol: /udp gives the address (see
//      to_listen_address for the host rules); /tcp, /ip4 and /ip6 give "not a UDP address";
//      any other gives "network not supported: <name>".
// /dns, /dns4 and /dns6 names are resolved by the system resolver: this call then BLOCKS for as
// long as the resolver takes; its failure is returned as the resolver's error code.
Result<std::pair<asio::ip::udp::endpoint, QuicVersion>> from_quic_multiaddr(
    const Multiaddr& address, std::string* why = nullptr);

// ListenAddress is where a QUIC listener binds.
struct ListenAddress {
  // "udp4" for /ip4 and /dns4, "udp6" for /ip6 and /dns6, "udp" for /dns (the endpoint's family
  // then says what the name resolved to).
  std::string network;
  asio::ip::udp::endpoint endpoint;
};

// Returns the address a listener on address binds (the listen side of quicreuse,
// ListenQUICAndAssociate step 1, with go-multiaddr DialArgs rules). The multiaddr starts with
// [/ip6zone/<zone>] /ip4|/ip6|/dns|/dns4|/dns6 <host>, then /udp/<port>; anything after the
// /udp component is ignored and /quic-v1 is not required. A zone is an interface name or a
// decimal index. /dns names are resolved by the system resolver (BLOCKING); /dns prefers the first
// IPv4 result, as Go does. Errors: errc::invalid_argument ("not a UDP address" for /tcp, a missing
// host or /udp, an unknown zone), the resolver's error code.
Result<ListenAddress> to_listen_address(const Multiaddr& address, std::string* why = nullptr);

}  // namespace quicreuse

// Hashes a multiaddr's binary form, so that Multiaddr can key unordered containers.
template <>
struct std::hash<quicreuse::Multiaddr> {
  std::size_t operator()(const quicreuse::Multiaddr& m) const noexcept;
};
