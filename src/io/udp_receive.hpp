// Batched UDP receive with recvmmsg: up to kBatch datagrams per system call, with the IP-level
// metadata the kernel attaches (destination address, ECN bits) when asked for it.
#pragma once

#include "core/path_info.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>

namespace quicreuse::detail {

// Asks the kernel to report the destination address of every datagram received on fd
// (IP_PKTINFO / IPV6_RECVPKTINFO; family is AF_INET or AF_INET6). Needed on sockets bound to a
// wildcard address to answer from the address the peer used. Returns the setsockopt error.
std::error_code enable_destination_address(int fd, int family);
// Asks the kernel to report the TOS / traffic class byte of every datagram received on fd
// (IP_RECVTOS / IPV6_RECVTCLASS), which holds its ECN codepoint. Returns the setsockopt error.
std::error_code enable_ecn_reports(int fd, int family);

class BatchReceiver {
 public:
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kSlotSize = 65536;  // any UDP datagram fits
  // Room for the control messages of one datagram (packet info, traffic class).
  static constexpr std::size_t kControlSize = 128;

  BatchReceiver();
  BatchReceiver(const BatchReceiver&) = delete;
  BatchReceiver& operator=(const BatchReceiver&) = delete;
  BatchReceiver(BatchReceiver&&) = delete;
  BatchReceiver& operator=(BatchReceiver&&) = delete;
  ~BatchReceiver() = default;

  // Receives what is queued on fd without blocking; returns how many datagrams arrived (0 when
  // none). ec is set for errors other than would-block.
  std::size_t receive(int fd, std::error_code& ec);
  // Returns datagram i of the last receive() and its sender.
  [[nodiscard]] std::span<const std::uint8_t> data(std::size_t i) const;
  [[nodiscard]] const sockaddr* from(std::size_t i) const;
  [[nodiscard]] socklen_t from_length(std::size_t i) const;
  // Returns the metadata of datagram i: its destination address (with port local_port) when the
  // kernel reported one (see enable_destination_address), else an empty address, and its ECN
  // codepoint (0 unless enable_ecn_reports is on).
  [[nodiscard]] core::PathInfo path(std::size_t i, std::uint16_t local_port) const;

 private:
  struct alignas(cmsghdr) Control {
    unsigned char bytes[kControlSize];
  };

  // Slots are allocated uninitialised: pages are only touched by what the kernel writes.
  std::unique_ptr<std::uint8_t[]> storage_;
  std::unique_ptr<mmsghdr[]> messages_;
  std::unique_ptr<iovec[]> iovecs_;
  std::unique_ptr<sockaddr_storage[]> addresses_;
  std::unique_ptr<Control[]> controls_;
};

}  // namespace quicreuse::detail
