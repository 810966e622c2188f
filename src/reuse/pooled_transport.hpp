// PooledTransport: what the reuse pools need from a socket-owning QUIC endpoint (library
// internal). The ConnManager wraps its Endpoints in it; tests use plain bound sockets.
#pragma once

#include <asio/ip/udp.hpp>

namespace quicreuse::detail {

class PooledTransport {
 public:
  PooledTransport() = default;
  PooledTransport(const PooledTransport&) = delete;
  PooledTransport& operator=(const PooledTransport&) = delete;
  PooledTransport(PooledTransport&&) = delete;
  PooledTransport& operator=(PooledTransport&&) = delete;
  virtual ~PooledTransport() = default;

  // Returns the bound address of the socket (with its real port).
  [[nodiscard]] virtual asio::ip::udp::endpoint local_endpoint() const = 0;
  // Closes the endpoint and its socket. Idempotent.
  virtual void close() = 0;
};

}  // namespace quicreuse::detail
