// Sending UDP datagrams from a socket descriptor, with Linux GSO (UDP_SEGMENT) when available and
// the IP-level metadata of core::PathInfo (source address) in control messages.
#pragma once

#include "core/path_info.hpp"
#include "core/socket_address.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace quicreuse::detail {

struct SendResult {
  std::uint64_t datagrams = 0;  // datagrams handed to the kernel
  std::uint64_t bytes = 0;
  std::uint64_t errors = 0;  // datagrams dropped (buffer full, unreachable...)
};

// Sends data to remote as datagrams of segment_size bytes (the last may be shorter), from
// path.local when it is set (IP_PKTINFO / IPV6_PKTINFO: for sockets bound to a wildcard
// address) and marked with path.ecn (IP_TOS / IPV6_TCLASS) when it is not Not-ECT. Uses one sendmsg
// with UDP_SEGMENT when gso is true and there are several segments; if the kernel refuses GSO,
// clears gso and falls back to sendmmsg, every datagram carrying the same control messages. Never
// blocks.
SendResult send_datagrams(int fd, const core::SocketAddress& remote,
                          std::span<const std::uint8_t> data, std::size_t segment_size, bool& gso,
                          const core::PathInfo& path = {});

}  // namespace quicreuse::detail
