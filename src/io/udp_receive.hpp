// Batched UDP receive with recvmmsg: up to kBatch datagrams per system call.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>

namespace quicreuse::detail {

class BatchReceiver {
 public:
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kSlotSize = 65536;  // any UDP datagram fits

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

 private:
  // Slots are allocated uninitialised: pages are only touched by what the kernel writes.
  std::unique_ptr<std::uint8_t[]> storage_;
  std::unique_ptr<mmsghdr[]> messages_;
  std::unique_ptr<iovec[]> iovecs_;
  std::unique_ptr<sockaddr_storage[]> addresses_;
};

}  // namespace quicreuse::detail
