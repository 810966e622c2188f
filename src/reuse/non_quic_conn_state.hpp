// NonQuicConnState: one NonQuicPacketConn, a non-QUIC view of a QUIC listener's socket. Port of
// quicreuse/nonquic_packetconn.go (library internal).
#pragma once

#include "reuse/transport_ref.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>

namespace quicreuse::detail {

// NonQuicConnState holds a reference on the socket until the view closes. Confined to the
// manager's executor.
struct NonQuicConnState : std::enable_shared_from_this<NonQuicConnState> {
  TransportRef transport;  // the view's reference, dropped by close()
  // The socket's endpoint, kept after close(): writes are still allowed then, as in the seed.
  std::shared_ptr<Endpoint> endpoint;
  asio::any_io_executor executor;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  bool closed = false;
  // One pending read: several may wait at once (as Go's ReadFrom), each gets its own datagram.
  struct PendingRead {
    asio::cancellation_signal cancel;
    std::unique_ptr<asio::steady_timer> deadline_timer;
    bool deadline_fired = false;
  };
  std::map<std::uint64_t, std::shared_ptr<PendingRead>> reads;
  std::uint64_t next_read = 0;
};

}  // namespace quicreuse::detail
