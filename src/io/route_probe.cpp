#include "io/route_probe.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace quicreuse::detail {

Result<asio::ip::address> probe_route(const asio::ip::udp::endpoint& destination) {
  asio::ip::udp::endpoint target = destination;
  if (target.port() == 0) {
    target.port(9);  // connect() needs a port; no datagram is ever sent
  }
  const int fd =
      ::socket(target.address().is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(std::error_code(errno, std::system_category()));
  }
  if (::connect(fd, target.data(), static_cast<socklen_t>(target.size())) != 0) {
    const int err = errno;
    ::close(fd);
    return fail(std::error_code(err, std::system_category()));  // e.g. no route
  }
  asio::ip::udp::endpoint local;
  auto len = static_cast<socklen_t>(local.capacity());
  const int rv = ::getsockname(fd, local.data(), &len);
  const int err = errno;
  ::close(fd);
  if (rv != 0) {
    return fail(std::error_code(err, std::system_category()));
  }
  local.resize(len);
  return local.address();
}

}  // namespace quicreuse::detail
