#include "io/udp_send.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace quicreuse::detail {
namespace {

// Linux caps a GSO send at 64 segments and 64 KiB.
constexpr std::size_t kMaxGsoSegments = 64;
constexpr std::size_t kMaxGsoBytes = 65000;

bool send_gso(int fd, const core::SocketAddress& remote, std::span<const std::uint8_t> data,
              std::size_t segment, SendResult& result, bool& gso) {
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(remote.data());
  msg.msg_namelen = remote.size();
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
  const auto seg = static_cast<std::uint16_t>(segment);
  std::memcpy(CMSG_DATA(cm), &seg, sizeof seg);
  const ssize_t n = ::sendmsg(fd, &msg, 0);
  if (n >= 0) {
    result.datagrams += (data.size() + segment - 1) / segment;
    result.bytes += data.size();
    return true;
  }
  if (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOPROTOOPT) {
    gso = false;  // no GSO here (device or kernel): send one by one from now on
    return false;
  }
  result.errors += (data.size() + segment - 1) / segment;
  return true;
}

}  // namespace

SendResult send_datagrams(int fd, const core::SocketAddress& remote,
                          std::span<const std::uint8_t> data, std::size_t segment_size, bool& gso) {
  SendResult result;
  if (segment_size == 0 || segment_size > data.size()) {
    segment_size = data.size();
  }
  while (!data.empty()) {
    const std::size_t count = (data.size() + segment_size - 1) / segment_size;
    if (gso && count > 1) {
      const std::size_t max_segments =
          std::min(kMaxGsoSegments, std::max<std::size_t>(1, kMaxGsoBytes / segment_size));
      const std::size_t n = std::min(count, max_segments) * segment_size;
      const std::size_t chunk = std::min(n, data.size());
      if (send_gso(fd, remote, data.first(chunk), segment_size, result, gso)) {
        data = data.subspan(chunk);
        continue;
      }
    }
    const std::size_t n = std::min(segment_size, data.size());
    const ssize_t sent = ::sendto(fd, data.data(), n, 0, remote.data(), remote.size());
    if (sent >= 0) {
      ++result.datagrams;
      result.bytes += n;
    } else {
      ++result.errors;
    }
    data = data.subspan(n);
  }
  return result;
}

}  // namespace quicreuse::detail
