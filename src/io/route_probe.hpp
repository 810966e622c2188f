// probe_route: the kernel's choice of source address for a destination (library internal).
#pragma once

#include <quicreuse/error.hpp>

#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>

namespace quicreuse::detail {

// Returns the local IP the routing table would send from to reach destination. It connects an
// unbound UDP socket to destination (connect() only consults the routing table; nothing is
// sent) and reads the address the kernel gave it. Errors: the socket call's system error (e.g.
// std::errc::network_unreachable when there is no route).
Result<asio::ip::address> probe_route(const asio::ip::udp::endpoint& destination);

}  // namespace quicreuse::detail
