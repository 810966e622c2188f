// PathInfo: what a UDP datagram carries besides its payload and the peer's address.
#pragma once

#include "core/socket_address.hpp"

#include <cstdint>

namespace quicreuse::core {

// PathInfo is the IP-level metadata of one datagram, received or to send.
struct PathInfo {
  // Our address on the path: the destination of a received datagram, the source to send a
  // datagram from. Empty when unknown (the socket's own address then applies): a socket bound to
  // a wildcard address (0.0.0.0, ::) needs it to answer from the address the peer used.
  SocketAddress local;
  // ECN codepoint (RFC 3168; the two low bits of the IPv4 TOS / IPv6 Traffic Class byte):
  // NGTCP2_ECN_NOT_ECT, _ECT_1, _ECT_0 or _CE. Received: the mark the datagram arrived with; to
  // send: the mark ngtcp2 chose (ngtcp2_pkt_info.ecn).
  std::uint8_t ecn = 0;
};

}  // namespace quicreuse::core
