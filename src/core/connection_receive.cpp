// core::Connection's read path: receive() hands an incoming datagram to ngtcp2 (or, while the
// connection is closing, answers it with CONNECTION_CLOSE).
#include "core/connection_internal.hpp"

#include <algorithm>

namespace quicreuse::core {
namespace {

// Closing: resend CONNECTION_CLOSE at most this often in reply to incoming packets.
constexpr std::uint32_t kMaxCloseResends = 16;

}  // namespace

void Connection::receive(Timestamp now, const SocketAddress& remote,
                         std::span<const std::uint8_t> datagram, const PathInfo& path_info) {
  ++packets_received_;
  ++ecn_received_[path_info.ecn & NGTCP2_ECN_MASK];
  bytes_received_ += datagram.size();
  if (state_ == State::closed || state_ == State::draining) {
    return;
  }
  if (close_pending_ && close_is_error_) {
    // ngtcp2 failed on an earlier packet and the CONNECTION_CLOSE goes out on the next write():
    // ngtcp2 may have left the connection half-updated, so it must not read anything more.
    return;
  }
  if (state_ == State::closing) {
    // RFC 9000 10.2.1: answer packets in the closing state with CONNECTION_CLOSE, with backoff.
    if (++packets_since_resend_ >= (1u << std::min(close_resends_, 10u)) &&
        close_resends_ < kMaxCloseResends) {
      packets_since_resend_ = 0;
      ++close_resends_;
      resend_close_due_ = true;
      host_.mark_dirty(params_.handle);
    }
    return;
  }
  SocketAddress local_copy = path_info.local.empty() ? local_ : path_info.local;
  SocketAddress remote_copy = remote;
  ngtcp2_path path{local_copy.as_ngtcp2(), remote_copy.as_ngtcp2(), nullptr};
  ngtcp2_pkt_info pi{};
  pi.ecn = path_info.ecn & NGTCP2_ECN_MASK;
  const ReceivingScope scope(this);
  const int rv = ngtcp2_conn_read_pkt(conn_.get(), &path, &pi, datagram.data(), datagram.size(),
                                      to_ngtcp2(now));
  if (rv != 0) {
    handle_read_error(rv, now);
  } else {
    last_receive_ = now;
    silent_probes_ = 0;
    if (handshake_completed_ && !confirmed_ && params_.role == Role::client &&
        confirm_deadline_ == Timestamp::max()) {
      confirm_deadline_ =
          now + std::chrono::duration_cast<Duration>(params_.transport.handshake_idle_timeout);
    }
  }
  if (release_due_) {
    release_handshake_state();
  }
  host_.mark_dirty(params_.handle);
}

}  // namespace quicreuse::core
