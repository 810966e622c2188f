// Multiaddr arguments of the tool, on the library's codec (quicreuse/multiaddr.hpp): listen
// addresses, dial targets, and how addresses are printed. Every conversion of the tool lives here.
#pragma once

#include <quicreuse/multiaddr.hpp>

#include <asio/ip/udp.hpp>
#include <tl/expected.hpp>

#include <string>
#include <string_view>

namespace quicreuse::tool {

// ListenArg is a parsed listen address: what to hand to ConnManager::listen_quic and where it
// binds.
struct ListenArg {
  Multiaddr multiaddr;  // /ip4|ip6/<resolved ip>/udp/<port>/quic-v1 (DNS names resolved)
  std::string network;  // "udp4" or "udp6"
  asio::ip::udp::endpoint endpoint;
};

// Parses a listen address: [/ip6zone/Z]/ip4|ip6|dns|dns4|dns6/HOST/udp/PORT[/quic-v1]. Names are
// resolved here (blocking). Errors are one line, start with "bad multiaddr '<text>': " and name the
// bad component.
tl::expected<ListenArg, std::string> parse_listen_multiaddr(std::string_view text);

// DialArg is a parsed dial target.
struct DialArg {
  Multiaddr multiaddr;  // /ip4|ip6/<resolved ip>/udp/<port>/quic-v1
  asio::ip::udp::endpoint endpoint;
};

// Parses a dial target: .../udp/PORT/quic-v1 (a bare .../udp/PORT gets /quic-v1 added; what
// follows /quic-v1 is ignored). The address must be concrete and the port non-zero. Errors as
// for parse_listen_multiaddr.
tl::expected<DialArg, std::string> parse_dial_multiaddr(std::string_view text);

// Returns the QUIC multiaddr of ep: `/ip4/1.2.3.4/udp/P/quic-v1` or `/ip6/::1/udp/P/quic-v1`.
std::string format_multiaddr(const asio::ip::udp::endpoint& ep);

// Returns `ip:port` (`[ip6]:port` for IPv6), the form used for remote addresses in events.
std::string format_host_port(const asio::ip::udp::endpoint& ep);

}  // namespace quicreuse::tool
