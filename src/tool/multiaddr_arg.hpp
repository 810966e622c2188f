// Multiaddr arguments of the tool: /ip4|/ip6 A /udp P [/quic-v1] <-> asio UDP endpoints.
//
// A stand-in until the library grows its own multiaddr codec (the ConnManager issue); keep every
// conversion of the tool in here so that the swap touches one file.
#pragma once

#include <asio/ip/udp.hpp>
#include <tl/expected.hpp>

#include <string>
#include <string_view>

namespace quicreuse::tool {

// Parses `/ip4/A/udp/P[/quic-v1]` or `/ip6/A/udp/P[/quic-v1]`. The error names the bad component.
tl::expected<asio::ip::udp::endpoint, std::string> parse_multiaddr(std::string_view text);

// Returns the multiaddr of ep: `/ip4/1.2.3.4/udp/P/quic-v1` or `/ip6/::1/udp/P/quic-v1`.
std::string format_multiaddr(const asio::ip::udp::endpoint& ep);

// Returns `ip:port` (`[ip6]:port` for IPv6), the form used for remote addresses in events.
std::string format_host_port(const asio::ip::udp::endpoint& ep);

}  // namespace quicreuse::tool
