#include "udp_relay.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <span>

namespace quicreuse::test {
namespace {

void enable_tos_reports(asio::ip::udp::socket& s, bool v6) {
  const int on = 1;
  if (v6) {
    ::setsockopt(s.native_handle(), IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof on);
  } else {
    ::setsockopt(s.native_handle(), IPPROTO_IP, IP_RECVTOS, &on, sizeof on);
  }
}

// Receives one datagram from fd with its sender and TOS / traffic class byte; false when none.
bool receive(int fd, std::vector<std::uint8_t>& buf, std::size_t& n, asio::ip::udp::endpoint& from,
             std::uint8_t& tos) {
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) std::array<unsigned char, 128> control{};
  msghdr msg{};
  msg.msg_name = from.data();
  msg.msg_namelen = static_cast<socklen_t>(from.capacity());
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t r = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  if (r < 0) {
    return false;
  }
  from.resize(msg.msg_namelen);
  n = static_cast<std::size_t>(r);
  tos = 0;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS) {
      std::memcpy(&tos, CMSG_DATA(cm), 1);
    } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS) {
      int tclass = 0;
      std::memcpy(&tclass, CMSG_DATA(cm), sizeof tclass);
      tos = static_cast<std::uint8_t>(tclass);
    }
  }
  return true;
}

// Sends data to to with this TOS / traffic class byte.
void send(int fd, std::span<const std::uint8_t> data, const asio::ip::udp::endpoint& to,
          std::uint8_t tos) {
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) std::array<unsigned char, CMSG_SPACE(sizeof(int))> control{};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to.data());
  msg.msg_namelen = static_cast<socklen_t>(to.size());
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  const bool v6 = to.protocol() == asio::ip::udp::v6();
  cm->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
  cm->cmsg_type = v6 ? IPV6_TCLASS : IP_TOS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  const int value = tos;
  std::memcpy(CMSG_DATA(cm), &value, sizeof value);
  (void)::sendmsg(fd, &msg, 0);
}

}  // namespace

std::shared_ptr<UdpRelay> UdpRelay::start(asio::io_context& io, asio::ip::udp::endpoint target) {
  auto relay = std::make_shared<UdpRelay>(io, target);
  asio::co_spawn(io, pump(relay, true), asio::detached);
  asio::co_spawn(io, pump(relay, false), asio::detached);
  return relay;
}

UdpRelay::UdpRelay(asio::io_context& io, asio::ip::udp::endpoint target)
    : front_(io), back_(io), target_(target) {
  const bool v6 = target.protocol() == asio::ip::udp::v6();
  const asio::ip::udp::endpoint any(v6 ? asio::ip::address(asio::ip::address_v6::loopback())
                                       : asio::ip::address(asio::ip::address_v4::loopback()),
                                    0);
  for (auto* s : {&front_, &back_}) {
    s->open(any.protocol());
    s->bind(any);
    enable_tos_reports(*s, v6);
  }
}

UdpRelay::~UdpRelay() {
  close();
}

asio::ip::udp::endpoint UdpRelay::address() const {
  return front_.local_endpoint();
}

void UdpRelay::close() {
  std::error_code ignored;
  front_.close(ignored);
  back_.close(ignored);
}

asio::awaitable<void> UdpRelay::pump(std::shared_ptr<UdpRelay> self, bool from_client_side) {
  using asio::experimental::as_tuple;
  asio::ip::udp::socket& in = from_client_side ? self->front_ : self->back_;
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    auto [ec] =
        co_await in.async_wait(asio::ip::udp::socket::wait_read, as_tuple(asio::use_awaitable));
    if (ec || !in.is_open()) {
      co_return;
    }
    std::size_t n = 0;
    asio::ip::udp::endpoint from;
    std::uint8_t tos = 0;
    while (in.is_open() && receive(in.native_handle(), buf, n, from, tos)) {
      const std::uint8_t ecn = tos & 0x03;
      const std::span<const std::uint8_t> data(buf.data(), n);
      if (from_client_side) {
        self->client_ = from;
        self->from_client.push_back({from, ecn, n});
        const std::uint8_t out = self->ecn_to_server.value_or(ecn);
        send(self->back_.native_handle(), data, self->target_, static_cast<std::uint8_t>(out & 3));
      } else {
        self->from_server.push_back({from, ecn, n});
        if (self->client_) {
          send(self->front_.native_handle(), data, *self->client_, ecn);
        }
      }
    }
  }
}

}  // namespace quicreuse::test
