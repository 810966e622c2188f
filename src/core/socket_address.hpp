// SocketAddress: an IPv4 or IPv6 UDP address as the core sees it (no Asio in the core).
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace quicreuse::core {

// SocketAddress holds a sockaddr_in or sockaddr_in6 by value. Comparison ignores padding bytes
// and IPv6 flow information; the scope id is compared.
class SocketAddress {
 public:
  SocketAddress() = default;
  // Copies len bytes of an AF_INET or AF_INET6 socket address; other families give an empty value.
  SocketAddress(const sockaddr* sa, socklen_t len) noexcept;

  // Returns an IPv4 address from 4 network-order bytes and a port.
  static SocketAddress v4(const std::uint8_t (&bytes)[4], std::uint16_t port) noexcept;
  // Returns an IPv6 address from 16 network-order bytes, a port and a scope id.
  static SocketAddress v6(const std::uint8_t (&bytes)[16], std::uint16_t port,
                          std::uint32_t scope_id = 0) noexcept;

  [[nodiscard]] bool empty() const noexcept { return len_ == 0; }
  [[nodiscard]] bool is_v4() const noexcept { return family() == AF_INET; }
  [[nodiscard]] bool is_v6() const noexcept { return family() == AF_INET6; }
  [[nodiscard]] int family() const noexcept {
    return len_ == 0 ? AF_UNSPEC : storage_.sa.sa_family;
  }
  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] const sockaddr* data() const noexcept { return &storage_.sa; }
  [[nodiscard]] sockaddr* data() noexcept { return &storage_.sa; }
  [[nodiscard]] socklen_t size() const noexcept { return len_; }
  // Returns an ngtcp2_addr that points into this object (valid while it lives, unmoved).
  [[nodiscard]] ngtcp2_addr as_ngtcp2() noexcept { return {&storage_.sa, len_}; }
  // Returns "1.2.3.4:443" or "[::1]:443".
  [[nodiscard]] std::string to_string() const;
  // Returns a hash of the address, suitable for unordered containers.
  [[nodiscard]] std::size_t hash() const noexcept;

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  ngtcp2_sockaddr_union storage_{};
  socklen_t len_ = 0;
};

}  // namespace quicreuse::core
