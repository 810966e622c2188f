// PathInfo: what a UDP datagram carries besides its payload and the peer's address.
#pragma once

#include "core/socket_address.hpp"

namespace quicreuse::core {

// PathInfo is the IP-level metadata of one datagram, received or to send.
struct PathInfo {
  // Our address on the path: the destination of a received datagram, the source to send a
  // datagram from. Empty when unknown (the socket's own address then applies): a socket bound to
  // a wildcard address (0.0.0.0, ::) needs it to answer from the address the peer used.
  SocketAddress local;
};

}  // namespace quicreuse::core
