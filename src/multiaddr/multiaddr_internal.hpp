// Helpers shared by the multiaddr codec (multiaddr.cpp) and its UDP/QUIC conversions
// (multiaddr_udp.cpp). Internal to the library.
#pragma once

#include <quicreuse/multiaddr.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace quicreuse::multiaddr_detail {

// "/name" of a protocol, as in the text form.
std::string slash_name(Protocol p);
// text in double quotes, with control and non-ASCII bytes escaped, for error messages.
std::string quoted(std::string_view text);
// A component as text ("/udp/4001"), for error messages.
std::string shown(const Component& c);
// Stores message in *why (when why is not null) and returns the invalid_argument error.
tl::unexpected<std::error_code> reject(std::string* why, std::string message);
// The two bytes (big-endian) of a port component, and back (value must hold two bytes).
std::vector<std::uint8_t> port_bytes(std::uint16_t port);
std::uint16_t port_of(std::span<const std::uint8_t> value);

}  // namespace quicreuse::multiaddr_detail
