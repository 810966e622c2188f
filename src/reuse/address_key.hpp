// address_key: how the ConnManager names a bound address (library internal).
#pragma once

#include <asio/ip/udp.hpp>

#include <string>

namespace quicreuse::detail {

// Returns "1.2.3.4:5" or "[::1]:5": the key of the listener table (Go's UDPAddr.String()).
std::string address_key(const asio::ip::udp::endpoint& address);

}  // namespace quicreuse::detail
