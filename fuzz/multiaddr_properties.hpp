// Properties every valid Multiaddr must have, shared by the text and binary multiaddr harnesses:
// the round trips that include/quicreuse/multiaddr.hpp promises (text and binary forms parse back
// to an equal value), consistency of the component-level API, and the QUIC conversions.
#pragma once

#include "fuzz_check.hpp"

#include <quicreuse/multiaddr.hpp>

#include <algorithm>
#include <string>
#include <string_view>

namespace quicreuse::fuzz {

// The value a caller's explanation string holds before a call; the header promises that *why is
// written only on failure.
inline constexpr std::string_view kUntouched = "untouched";

// Checks the promise about explanations: a failure explains itself in one non-empty line, a
// success leaves why alone.
template <class T>
void check_why(const Result<T>& result, const std::string& why) {
  if (result) {
    QUICREUSE_FUZZ_CHECK(why == kUntouched);
  } else {
    QUICREUSE_FUZZ_CHECK(result.error() == make_error_code(errc::invalid_argument));
    QUICREUSE_FUZZ_CHECK(!why.empty() && why != kUntouched);
    QUICREUSE_FUZZ_CHECK(why.find('\n') == std::string::npos);
  }
}

inline bool names_a_host(const Multiaddr& m) {
  return m.contains(Protocol::dns) || m.contains(Protocol::dns4) || m.contains(Protocol::dns6);
}

// Checks the QUIC conversions of m (skipped for DNS names: they would ask the system resolver).
// A dialable QUIC multiaddr gives an endpoint whose own QUIC multiaddr converts back to it.
inline void check_quic_conversions(const Multiaddr& m) {
  if (names_a_host(m)) {
    return;
  }
  std::string why(kUntouched);
  const auto listen = to_listen_address(m, &why);
  if (!listen) {
    QUICREUSE_FUZZ_CHECK(!why.empty() && why != kUntouched);
  }
  why = kUntouched;
  const auto dial = from_quic_multiaddr(m, &why);
  if (!dial) {
    QUICREUSE_FUZZ_CHECK(!why.empty() && why != kUntouched);
    return;
  }
  QUICREUSE_FUZZ_CHECK(dial->second == QuicVersion::v1);
  const asio::ip::udp::endpoint endpoint = dial->first;
  why = kUntouched;
  const auto back = to_quic_multiaddr(endpoint, QuicVersion::v1, &why);
  QUICREUSE_FUZZ_CHECK(back.has_value());
  const auto again = from_quic_multiaddr(*back);
  QUICREUSE_FUZZ_CHECK(again.has_value());
  // IPv4-mapped IPv6 addresses come back as plain IPv4 (/ip4 is what to_quic_multiaddr writes).
  asio::ip::udp::endpoint expected = endpoint;
  if (endpoint.address().is_v6() && endpoint.address().to_v6().is_v4_mapped()) {
    expected.address(asio::ip::make_address_v4(asio::ip::v4_mapped, endpoint.address().to_v6()));
  }
  QUICREUSE_FUZZ_CHECK(again->first == expected);
}

// Checks everything a valid multiaddr promises.
inline void check_valid_multiaddr(const Multiaddr& m) {
  QUICREUSE_FUZZ_CHECK(!m.empty());
  const std::string text = m.to_string();

  // Text form: parses back to the same bytes and prints the same (the printed form is canonical).
  std::string why(kUntouched);
  const auto reparsed = Multiaddr::parse(text, &why);
  check_why(reparsed, why);
  QUICREUSE_FUZZ_CHECK(reparsed.has_value());
  QUICREUSE_FUZZ_CHECK(reparsed->to_bytes() == m.to_bytes());
  QUICREUSE_FUZZ_CHECK(reparsed->to_string() == text);
  QUICREUSE_FUZZ_CHECK(std::hash<Multiaddr>{}(*reparsed) == std::hash<Multiaddr>{}(m));

  // Binary form: decodes back to an equal value.
  why = kUntouched;
  const auto decoded = Multiaddr::from_bytes(m.to_bytes(), &why);
  check_why(decoded, why);
  QUICREUSE_FUZZ_CHECK(decoded.has_value() && *decoded == m);
  QUICREUSE_FUZZ_CHECK(decoded->components() == m.components());

  // Components: rebuilding from them gives the same value; each value's text parses back to it.
  why = kUntouched;
  const auto rebuilt = Multiaddr::from_components(m.components(), &why);
  check_why(rebuilt, why);
  QUICREUSE_FUZZ_CHECK(rebuilt.has_value() && *rebuilt == m);
  std::string joined;
  for (const Component& c : m.components()) {
    why = kUntouched;
    const auto again = Component::parse(c.protocol, c.value_text(), &why);
    check_why(again, why);
    QUICREUSE_FUZZ_CHECK(again.has_value() && *again == c);
    QUICREUSE_FUZZ_CHECK(protocol_by_name(protocol_name(c.protocol)) == c.protocol);
    QUICREUSE_FUZZ_CHECK(protocol_by_code(protocol_code(c.protocol)) == c.protocol);
    QUICREUSE_FUZZ_CHECK(m.find(c.protocol) != nullptr);
    joined += c.to_string();
  }
  QUICREUSE_FUZZ_CHECK(joined == text);

  // Derived values stay valid: prefixes (never a dangling /ip6zone) and encapsulation.
  for (const Component& c : m.components()) {
    const Multiaddr prefix = m.prefix_until(c.protocol);
    const auto& all = m.components();
    const auto& head = prefix.components();
    QUICREUSE_FUZZ_CHECK(head.size() < all.size());
    QUICREUSE_FUZZ_CHECK(std::equal(head.begin(), head.end(), all.begin()));
    if (!prefix.empty()) {
      QUICREUSE_FUZZ_CHECK(Multiaddr::from_bytes(prefix.to_bytes()).has_value());
    }
  }
  const Multiaddr twice = m.encapsulate(m);
  QUICREUSE_FUZZ_CHECK(twice.components().size() == 2 * m.components().size());
  QUICREUSE_FUZZ_CHECK(Multiaddr::from_bytes(twice.to_bytes()).has_value());
  QUICREUSE_FUZZ_CHECK(twice.to_string() == text + text);

  check_quic_conversions(m);
}

}  // namespace quicreuse::fuzz
