// core::Connection's key updates (RFC 9001 6): a requested update waits until ngtcp2 allows it.
#include "core/connection.hpp"

namespace quicreuse::core {

Result<void> Connection::initiate_key_update(Timestamp now) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  if (key_update_pending_) {
    return fail(errc::key_update_not_ready);
  }
  key_update_pending_ = true;
  try_key_update(now);
  host_.mark_dirty(params_.handle);
  return {};
}

void Connection::try_key_update(Timestamp now) {
  // ngtcp2 asserts the post-handshake state: no key update while closing or after an error. It
  // refuses one before the handshake is confirmed, while the previous one is unconfirmed, or
  // within 3 PTO of that; the request then waits for a later write.
  if (!handshake_completed_ || !confirmed_ || close_pending_ || state_ != State::established ||
      ngtcp2_conn_is_in_closing_period(conn_.get()) != 0 ||
      ngtcp2_conn_is_in_draining_period(conn_.get()) != 0) {
    return;
  }
  if (ngtcp2_conn_initiate_key_update(conn_.get(), to_ngtcp2(now)) == 0) {
    key_update_pending_ = false;
    ++key_updates_initiated_;
  }
}

}  // namespace quicreuse::core
