#include "io/udp_receive.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace quicreuse::detail {
namespace {

constexpr int kEcnMask = 0x03;  // the ECN bits of the TOS / traffic class byte

}  // namespace

std::error_code enable_destination_address(int fd, int family) {
  const int on = 1;
  const int rv = family == AF_INET6
                     ? ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on)
                     : ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
  return rv == 0 ? std::error_code{} : std::error_code(errno, std::system_category());
}

std::error_code enable_ecn_reports(int fd, int family) {
  const int on = 1;
  const int rv = family == AF_INET6
                     ? ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof on)
                     : ::setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &on, sizeof on);
  return rv == 0 ? std::error_code{} : std::error_code(errno, std::system_category());
}

BatchReceiver::BatchReceiver()
    : storage_(new std::uint8_t[kBatch * kSlotSize]),  // NOLINT: deliberately uninitialised
      messages_(new mmsghdr[kBatch]()),
      iovecs_(new iovec[kBatch]()),
      addresses_(new sockaddr_storage[kBatch]()),
      controls_(new Control[kBatch]()) {}

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
    m.msg_hdr.msg_control = controls_[i].bytes;
    m.msg_hdr.msg_controllen = kControlSize;
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

core::PathInfo BatchReceiver::path(std::size_t i, std::uint16_t local_port) const {
  core::PathInfo info;
  // CMSG_NXTHDR takes a non-const header; it only reads it.
  auto& hdr = const_cast<msghdr&>(messages_[i].msg_hdr);
  for (cmsghdr* cm = CMSG_FIRSTHDR(&hdr); cm != nullptr; cm = CMSG_NXTHDR(&hdr, cm)) {
    if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
        cm->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
      in_pktinfo pi{};
      std::memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(local_port);
      sa.sin_addr = pi.ipi_addr;  // the header's destination address
      info.local = core::SocketAddress(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
               cm->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo pi{};
      std::memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      sa.sin6_port = htons(local_port);
      sa.sin6_addr = pi.ipi6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr)) {
        sa.sin6_scope_id = pi.ipi6_ifindex;
      }
      info.local = core::SocketAddress(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    } else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS &&
               cm->cmsg_len >= CMSG_LEN(1)) {
      info.ecn = static_cast<std::uint8_t>(*CMSG_DATA(cm) & kEcnMask);  // one byte
    } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS &&
               cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int tclass = 0;
      std::memcpy(&tclass, CMSG_DATA(cm), sizeof tclass);
      info.ecn = static_cast<std::uint8_t>(tclass & kEcnMask);
    }
  }
  return info;
}

}  // namespace quicreuse::detail
