#include "io/udp_send.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace quicreuse::detail {
namespace {

// Linux caps a GSO send at 64 KiB (and kMaxGsoSegments segments).
constexpr std::size_t kMaxGsoBytes = 65000;
// Datagrams per sendmmsg call without GSO.
constexpr std::size_t kMmsgBatch = 64;

// Returns true (and records it) when errno says the socket cannot take more now.
bool note_blocked(SendResult& result) {
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
    result.blocked = true;
    result.out_of_buffers = errno == ENOBUFS;
    return true;
  }
  return false;
}

// Control is the control-message buffer of one send to an address of family: the source
// address, the ECN codepoint and the GSO segment size, each only when needed.
class Control {
 public:
  Control(int family, const core::PathInfo& path, std::size_t gso_segment) {
    msghdr m{};
    m.msg_control = bytes_.data();
    m.msg_controllen = bytes_.size();
    cmsghdr* cm = CMSG_FIRSTHDR(&m);
    auto add = [&](int level, int type, const void* value, std::size_t n) {
      if (cm == nullptr) {
        return;  // cannot happen: bytes_ has room for every message
      }
      cm->cmsg_level = level;
      cm->cmsg_type = type;
      cm->cmsg_len = CMSG_LEN(n);
      std::memcpy(CMSG_DATA(cm), value, n);
      size_ += CMSG_SPACE(n);
      cm = CMSG_NXTHDR(&m, cm);
    };
    if (gso_segment != 0) {
      const auto seg = static_cast<std::uint16_t>(gso_segment);
      add(SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
    }
    if (path.local.is_v4()) {
      in_pktinfo pi{};
      pi.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(path.local.data())->sin_addr;
      add(IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi);
    } else if (path.local.is_v6()) {
      const auto* sa = reinterpret_cast<const sockaddr_in6*>(path.local.data());
      in6_pktinfo pi{};
      pi.ipi6_addr = sa->sin6_addr;
      pi.ipi6_ifindex = sa->sin6_scope_id;
      add(IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi);
    }
    if (path.ecn != 0) {
      // The ECN bits alone: the rest of the byte (DSCP) stays the default, 0.
      const int tos = path.ecn & 0x03;
      if (family == AF_INET6) {
        add(IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
      } else {
        add(IPPROTO_IP, IP_TOS, &tos, sizeof tos);
      }
    }
  }
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;
  Control(Control&&) = delete;
  Control& operator=(Control&&) = delete;
  ~Control() = default;

  // Points msg at the control messages (none: no control buffer at all).
  void attach(msghdr& msg) {
    msg.msg_control = size_ == 0 ? nullptr : bytes_.data();
    msg.msg_controllen = size_;
  }

 private:
  alignas(cmsghdr) std::array<unsigned char, CMSG_SPACE(sizeof(std::uint16_t)) +
                                                 2 * CMSG_SPACE(sizeof(in6_pktinfo)) +
                                                 2 * CMSG_SPACE(sizeof(int))> bytes_{};
  std::size_t size_ = 0;
};

bool send_gso(int fd, const core::SocketAddress& remote, std::span<const std::uint8_t> data,
              std::size_t segment, SendResult& result, bool& gso, const core::PathInfo& path) {
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  Control control(remote.family(), path, segment);
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(remote.data());
  msg.msg_namelen = remote.size();
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  control.attach(msg);
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
  if (note_blocked(result)) {
    return true;
  }
  result.errors += (data.size() + segment - 1) / segment;
  return true;
}

// Sends up to kMmsgBatch datagrams of data with one sendmmsg; returns the bytes it consumed.
std::size_t send_batch(int fd, const core::SocketAddress& remote,
                       std::span<const std::uint8_t> data, std::size_t segment, SendResult& result,
                       const core::PathInfo& path) {
  std::array<mmsghdr, kMmsgBatch> messages{};
  std::array<iovec, kMmsgBatch> iovecs{};
  Control control(remote.family(), path, 0);
  std::size_t count = 0;
  std::size_t offset = 0;
  while (count < kMmsgBatch && offset < data.size()) {
    const std::size_t n = std::min(segment, data.size() - offset);
    iovecs[count] = {const_cast<std::uint8_t*>(data.data() + offset), n};
    msghdr& msg = messages[count].msg_hdr;
    msg.msg_name = const_cast<sockaddr*>(remote.data());
    msg.msg_namelen = remote.size();
    msg.msg_iov = &iovecs[count];
    msg.msg_iovlen = 1;
    control.attach(msg);
    offset += n;
    ++count;
  }
  int sent = 0;
  do {
    sent = ::sendmmsg(fd, messages.data(), static_cast<unsigned>(count), 0);
  } while (sent < 0 && errno == EINTR);
  if (sent <= 0) {
    if (note_blocked(result)) {
      return 0;
    }
    // The first datagram failed: it is dropped, the next call tries the rest.
    ++result.errors;
    return iovecs[0].iov_len;
  }
  std::size_t consumed = 0;
  for (int i = 0; i < sent; ++i) {
    consumed += iovecs[static_cast<std::size_t>(i)].iov_len;
  }
  result.datagrams += static_cast<std::uint64_t>(sent);
  result.bytes += consumed;
  return consumed;
}

}  // namespace

SendResult send_datagrams(int fd, const core::SocketAddress& remote,
                          std::span<const std::uint8_t> data, std::size_t segment_size, bool& gso,
                          const core::PathInfo& path) {
  SendResult result;
  if (segment_size == 0 || segment_size > data.size()) {
    segment_size = data.size();
  }
  const std::size_t total = data.size();
  while (!data.empty() && !result.blocked) {
    const std::size_t count = (data.size() + segment_size - 1) / segment_size;
    if (gso && count > 1) {
      const std::size_t max_segments =
          std::min(kMaxGsoSegments, std::max<std::size_t>(1, kMaxGsoBytes / segment_size));
      const std::size_t n = std::min(count, max_segments) * segment_size;
      const std::size_t chunk = std::min(n, data.size());
      if (send_gso(fd, remote, data.first(chunk), segment_size, result, gso, path)) {
        data = data.subspan(result.blocked ? 0 : chunk);
        continue;
      }
    }
    data = data.subspan(send_batch(fd, remote, data, segment_size, result, path));
  }
  result.consumed = total - data.size();
  return result;
}

}  // namespace quicreuse::detail
