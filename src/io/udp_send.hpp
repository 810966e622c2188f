// Sending UDP datagrams from a socket descriptor, with Linux GSO (UDP_SEGMENT) when available and
// the IP-level metadata of core::PathInfo (source address) in control messages.
#pragma once

#include "core/path_info.hpp"
#include "core/socket_address.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace quicreuse::detail {

// Most segments one GSO send may carry (Linux's UDP_MAX_SEGMENTS): the batch limit the driver
// gives its core endpoint (core::EndpointConfig::max_packets_per_write).
inline constexpr std::size_t kMaxGsoSegments = 64;

struct SendResult {
  std::uint64_t datagrams = 0;  // datagrams handed to the kernel
  std::uint64_t bytes = 0;
  std::uint64_t errors = 0;  // datagrams dropped (unreachable, too large...)
  // Bytes of data dealt with (sent or dropped); the rest was not tried because the socket was
  // write-blocked.
  std::size_t consumed = 0;
  // The socket's send buffer was full (EAGAIN) or the kernel was out of buffers (ENOBUFS, whose
  // end poll() does not announce): data from consumed on is still to send.
  bool blocked = false;
  bool out_of_buffers = false;  // blocked by ENOBUFS
};

// Sends data to remote as datagrams of segment_size bytes (the last may be shorter), from
// path.local when it is set (IP_PKTINFO / IPV6_PKTINFO: for sockets bound to a wildcard
// address) and marked with path.ecn (IP_TOS / IPV6_TCLASS) when it is not Not-ECT. Uses one sendmsg
// with UDP_SEGMENT when gso is true and there are several segments; if the kernel refuses GSO,
// clears gso and falls back to sendmmsg, every datagram carrying the same control messages. Never
// blocks: stops at the first datagram the socket cannot take now (SendResult::blocked).
SendResult send_datagrams(int fd, const core::SocketAddress& remote,
                          std::span<const std::uint8_t> data, std::size_t segment_size, bool& gso,
                          const core::PathInfo& path = {});

}  // namespace quicreuse::detail
