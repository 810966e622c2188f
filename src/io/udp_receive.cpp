#include "io/udp_receive.hpp"

#include <cerrno>
#include <cstring>

namespace quicreuse::detail {

BatchReceiver::BatchReceiver()
    : storage_(new std::uint8_t[kBatch * kSlotSize]),  // NOLINT: deliberately uninitialised
      messages_(new mmsghdr[kBatch]()),
      iovecs_(new iovec[kBatch]()),
      addresses_(new sockaddr_storage[kBatch]()) {}

std::size_t BatchReceiver::receive(int fd, std::error_code& ec) {
  ec.clear();
  for (std::size_t i = 0; i < kBatch; ++i) {
    iovecs_[i].iov_base = storage_.get() + i * kSlotSize;
    iovecs_[i].iov_len = kSlotSize;
    mmsghdr& m = messages_[i];
    std::memset(&m, 0, sizeof m);
    m.msg_hdr.msg_name = &addresses_[i];
    m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    m.msg_hdr.msg_iov = &iovecs_[i];
    m.msg_hdr.msg_iovlen = 1;
  }
  int n = 0;
  do {
    n = ::recvmmsg(fd, messages_.get(), kBatch, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec = std::error_code(errno, std::system_category());
    }
    return 0;
  }
  return static_cast<std::size_t>(n);
}

std::span<const std::uint8_t> BatchReceiver::data(std::size_t i) const {
  return {storage_.get() + i * kSlotSize, messages_[i].msg_len};
}

const sockaddr* BatchReceiver::from(std::size_t i) const {
  return reinterpret_cast<const sockaddr*>(&addresses_[i]);
}

socklen_t BatchReceiver::from_length(std::size_t i) const {
  return messages_[i].msg_hdr.msg_namelen;
}

}  // namespace quicreuse::detail
