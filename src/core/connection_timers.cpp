// core::Connection's timers: expiry() and handle_expiry() (ngtcp2's timers, the handshake
// deadlines, draining) and the keep-alive period.
#include "core/connection.hpp"

#include <algorithm>

namespace quicreuse::core {
namespace {

// Before the handshake completes, silence ends it only once this many probes (PTO
// retransmissions of our flight) went unanswered: a lossy path gets that many more chances, as
// many as a 100 ms initial RTT's backoff fits into the whole-handshake limit (0.3 + 0.6 + 1.2 +
// 2.4 + 4.8 s), instead of the three sends that fit into the silence alone.
constexpr std::uint32_t kHandshakeProbes = 3;

}  // namespace

Timestamp Connection::expiry() const {
  if (state_ == State::closed) {
    return Timestamp::max();
  }
  if (state_ == State::closing || state_ == State::draining) {
    return drain_deadline_;
  }
  Timestamp t = from_ngtcp2(ngtcp2_conn_get_expiry(conn_.get()));
  if (t <= expiry_handled_) {
    // ngtcp2 0.12 reports some timers as due at exactly the time they were handled (it removes a
    // retired connection ID only once retired + PTO is strictly past): ask again a nanosecond
    // later, or a driver whose clock did not move (a simulator, a coarse clock) spins forever.
    t = expiry_handled_ + Duration(1);
  }
  if (close_pending_) {
    t = std::min(t, close_linger_deadline_);
  }
  if (!handshake_completed_ && silent_probes_ >= kHandshakeProbes) {
    t = std::min(t, last_receive_ + std::chrono::duration_cast<Duration>(
                                        params_.transport.handshake_idle_timeout));
  }
  if (!confirmed_) {
    t = std::min(t, confirm_deadline_);
  }
  return t;
}

void Connection::handle_expiry(Timestamp now) {
  if (state_ == State::closed) {
    return;
  }
  expiry_handled_ = std::max(expiry_handled_, now);
  if (close_pending_ && close_is_error_) {
    // ngtcp2 failed on a packet: nothing but the CONNECTION_CLOSE may touch it (next write()).
    host_.mark_dirty(params_.handle);
    return;
  }
  if (state_ == State::closing || state_ == State::draining) {
    if (now >= drain_deadline_) {
      state_ = State::closed;
    }
    return;
  }
  if ((!handshake_completed_ && silent_probes_ >= kHandshakeProbes &&
       now >= last_receive_ +
                  std::chrono::duration_cast<Duration>(params_.transport.handshake_idle_timeout)) ||
      (!confirmed_ && now >= confirm_deadline_)) {
    // Silence after every probe, or a client whose handshake completed but was never confirmed
    // (HANDSHAKE_DONE lost for good, or the server gave up on our Finished).
    CloseInfo info;
    info.kind = CloseInfo::Kind::handshake_timeout;
    info.error = make_error_code(errc::handshake_timeout);
    enter_closed(std::move(info));
    return;
  }
  if (from_ngtcp2(ngtcp2_conn_get_expiry(conn_.get())) > now) {
    host_.mark_dirty(params_.handle);
    return;
  }
  if (!confirmed_) {
    ngtcp2_conn_stat cstat;
    ngtcp2_conn_get_conn_stat(conn_.get(), &cstat);
    if (cstat.loss_detection_timer <= to_ngtcp2(now)) {
      // ngtcp2 is about to probe: one more unanswered attempt. RFC 9002 6.2.4 allows two
      // datagrams per PTO; ngtcp2 0.12 writes one before the handshake is confirmed. The probe
      // goes out twice (the peer discards the copy as a duplicate), so a lossy path must lose
      // both: a client's first flight and its Finished, a server's flight.
      silent_probes_ += handshake_completed_ ? 0 : 1;
      duplicate_probe_ = true;
    }
  }
  const int rv = ngtcp2_conn_handle_expiry(conn_.get(), to_ngtcp2(now));
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    CloseInfo info;
    info.kind = CloseInfo::Kind::idle_timeout;
    info.error = make_error_code(errc::idle_timeout);
    enter_closed(std::move(info));
    return;
  }
  if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    CloseInfo info;
    info.kind = CloseInfo::Kind::handshake_timeout;
    info.error = make_error_code(errc::handshake_timeout);
    enter_closed(std::move(info));
    return;
  }
  if (rv != 0) {
    fail_with_liberr(rv);
    return;
  }
  host_.mark_dirty(params_.handle);
}

void Connection::set_keep_alive(std::uint64_t peer_idle_timeout) {
  // RFC 9000 10.1: the effective idle timeout is the smaller of both sides' (0 = none). A
  // keep-alive must survive one lost PING, and ngtcp2 0.12 arms no probe timeout for its
  // keep-alive PINGs (later versions do): a lost one is only followed by the next keep-alive. At a
  // third of the idle timeout, the peer hears from us within two thirds of it despite one loss
  // (at half, the next PING would arrive just as the peer's idle timer expires).
  const TransportConfig& tc = params_.transport;
  if (tc.keep_alive_period.count() <= 0) {
    return;
  }
  auto idle = std::chrono::duration_cast<Duration>(tc.max_idle_timeout);
  if (peer_idle_timeout > 0 && (idle.count() <= 0 || Duration(peer_idle_timeout) < idle)) {
    idle = Duration(peer_idle_timeout);
  }
  auto period = std::chrono::duration_cast<Duration>(tc.keep_alive_period);
  if (idle.count() > 0) {
    period = std::min(period, idle / 3);
  }
  ngtcp2_conn_set_keep_alive_timeout(conn_.get(), to_ngtcp2(period));
}

}  // namespace quicreuse::core
