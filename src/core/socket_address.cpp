#include "core/socket_address.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <functional>
#include <string_view>

namespace quicreuse::core {

SocketAddress::SocketAddress(const sockaddr* sa, socklen_t len) noexcept {
  if (sa == nullptr) {
    return;
  }
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(&storage_.in, sa, sizeof(sockaddr_in));
    len_ = sizeof(sockaddr_in);
  } else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    std::memcpy(&storage_.in6, sa, sizeof(sockaddr_in6));
    len_ = sizeof(sockaddr_in6);
  }
}

SocketAddress SocketAddress::v4(const std::uint8_t (&bytes)[4], std::uint16_t port) noexcept {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  std::memcpy(&in.sin_addr, bytes, 4);
  return {reinterpret_cast<const sockaddr*>(&in), sizeof in};
}

SocketAddress SocketAddress::v6(const std::uint8_t (&bytes)[16], std::uint16_t port,
                                std::uint32_t scope_id) noexcept {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  in6.sin6_scope_id = scope_id;
  std::memcpy(&in6.sin6_addr, bytes, 16);
  return {reinterpret_cast<const sockaddr*>(&in6), sizeof in6};
}

std::uint16_t SocketAddress::port() const noexcept {
  if (is_v4()) {
    return ntohs(storage_.in.sin_port);
  }
  if (is_v6()) {
    return ntohs(storage_.in6.sin6_port);
  }
  return 0;
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, &storage_.in.sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (is_v6()) {
    inet_ntop(AF_INET6, &storage_.in6.sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  return "<none>";
}

std::size_t SocketAddress::hash() const noexcept {
  std::string_view bytes;
  if (is_v4()) {
    bytes = {reinterpret_cast<const char*>(&storage_.in.sin_addr), 4};
  } else if (is_v6()) {
    bytes = {reinterpret_cast<const char*>(&storage_.in6.sin6_addr), 16};
  }
  return std::hash<std::string_view>{}(bytes)*31u + port();
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  if (a.family() != b.family()) {
    return false;
  }
  if (a.is_v4()) {
    return a.storage_.in.sin_port == b.storage_.in.sin_port &&
           a.storage_.in.sin_addr.s_addr == b.storage_.in.sin_addr.s_addr;
  }
  if (a.is_v6()) {
    return a.storage_.in6.sin6_port == b.storage_.in6.sin6_port &&
           a.storage_.in6.sin6_scope_id == b.storage_.in6.sin6_scope_id &&
           std::memcmp(&a.storage_.in6.sin6_addr, &b.storage_.in6.sin6_addr, 16) == 0;
  }
  return true;
}

}  // namespace quicreuse::core
