// core::Connection's streams: opening, accepting, reading, writing, resetting and releasing
// them, the send queue, stream credit under the buffer budget, and connection flow control.
#include "core/connection_internal.hpp"

#include <algorithm>

namespace quicreuse::core {
namespace {

// ngtcp2's window auto-tuning rule: grow when a window's worth was consumed within 2 RTTs.
constexpr std::uint64_t kWindowRttFactor = 2;

bool is_client_initiated(std::int64_t id) noexcept {
  return (id & 0x1) == 0;
}

}  // namespace

bool Connection::has_pending_send(const StreamState& s) const noexcept {
  return s.sent < s.send.end_offset() || (s.fin_requested && !s.fin_sent);
}

void Connection::advance_stream(StreamState& s, std::size_t written, bool with_fin) {
  s.sent += written;
  if (with_fin && s.sent == s.send.end_offset()) {
    s.fin_sent = true;
  }
  if (!has_pending_send(s)) {
    s.queued = false;
    if (!send_queue_.empty() && send_queue_.front() == s.id) {
      send_queue_.pop_front();
    }
  }
}

bool Connection::is_local_stream(std::int64_t id) const noexcept {
  return is_client_initiated(id) == (params_.role == Role::client);
}

StreamState* Connection::find_stream(std::int64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

const StreamState* Connection::stream(std::int64_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

StreamState& Connection::create_stream(std::int64_t id, bool local) {
  StreamState& s = streams_[id];
  s.id = id;
  s.locally_opened = local;
  if (!is_bidi(id)) {
    if (local) {
      s.read_stopped = true;  // a local unidirectional stream has no receive side
    } else {
      s.send_closed = true;  // a peer's unidirectional stream has no send side
    }
  }
  return s;
}

void Connection::schedule_send(StreamState& s) {
  if (!s.queued && !s.blocked && !s.send_closed && has_pending_send(s)) {
    s.queued = true;
    send_queue_.push_back(s.id);
    host_.mark_dirty(params_.handle);
  }
}

void Connection::maybe_erase_stream(std::int64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end() || !it->second.closed_by_transport || !it->second.released) {
    return;
  }
  const bool local = it->second.locally_opened;
  streams_.erase(it);
  if (!local && conn_ != nullptr && !is_closed()) {
    // The peer may open another stream of this kind only now that we are done with this one:
    // this bounds the state a peer can make us keep.
    grant_stream_credit(is_bidi(id));
  }
}

void Connection::grant_stream_credit(bool bidi) {
  BufferBudget& budget = host_.buffer_budget();
  if (budget.exhausted()) {
    // New streams wait while the endpoint holds all it may: the credit goes out once the budget
    // has room again (resume_after_budget).
    ++(bidi ? deferred_bidi_credit_ : deferred_uni_credit_);
    budget.count_deferred_stream();
    if (!waiting_for_budget_) {
      waiting_for_budget_ = true;
      budget.wait(params_.handle);
    }
    return;
  }
  if (bidi) {
    ngtcp2_conn_extend_max_streams_bidi(conn_.get(), 1);
  } else {
    ngtcp2_conn_extend_max_streams_uni(conn_.get(), 1);
  }
  host_.mark_dirty(params_.handle);
}

void Connection::resume_after_budget() {
  if (!waiting_for_budget_ || conn_ == nullptr || is_closed()) {
    return;
  }
  if (host_.buffer_budget().exhausted()) {
    host_.buffer_budget().wait(params_.handle);  // taken by someone else meanwhile
    return;
  }
  waiting_for_budget_ = false;
  if (deferred_bidi_credit_ > 0) {
    ngtcp2_conn_extend_max_streams_bidi(conn_.get(), deferred_bidi_credit_);
  }
  if (deferred_uni_credit_ > 0) {
    ngtcp2_conn_extend_max_streams_uni(conn_.get(), deferred_uni_credit_);
  }
  deferred_bidi_credit_ = 0;
  deferred_uni_credit_ = 0;
}

void Connection::release_send(std::uint64_t bytes) {
  if (bytes == 0) {
    return;
  }
  send_held_ -= std::min(bytes, send_held_);
  host_.buffer_budget().remove_send(bytes);
  if (!send_budget_waiters_.empty()) {
    // Streams whose writes the connection budget cut short may write again.
    for (std::int64_t id : send_budget_waiters_) {
      emit(ConnectionEvent::Type::stream_writable, id);
    }
    send_budget_waiters_.clear();
  }
}

void Connection::release_receive(std::uint64_t bytes) {
  recv_held_ -= std::min(bytes, recv_held_);
  host_.buffer_budget().remove_receive(bytes);
}

void Connection::discard_received(StreamState& s) {
  const std::size_t unread = s.recv.size();
  s.recv.clear();
  release_receive(unread);
  if (unread > 0 && conn_ != nullptr) {
    // Unread bytes still count against the connection window: release them.
    ngtcp2_conn_extend_max_offset(conn_.get(), unread);
  }
}

Result<std::int64_t> Connection::open_stream(bool bidi) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  std::int64_t id = -1;
  const int rv = bidi ? ngtcp2_conn_open_bidi_stream(conn_.get(), &id, nullptr)
                      : ngtcp2_conn_open_uni_stream(conn_.get(), &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) {
    return fail(errc::stream_limit_reached);
  }
  if (rv != 0) {
    return fail(std::error_code(rv, ngtcp2_category()));
  }
  create_stream(id, true);
  return id;
}

std::optional<std::int64_t> Connection::accept_stream(bool bidi) {
  auto& queue = bidi ? incoming_bidi_ : incoming_uni_;
  if (queue.empty()) {
    return std::nullopt;
  }
  const std::int64_t id = queue.front();
  queue.pop_front();
  return id;
}

std::size_t Connection::send_space(const StreamState& s) const {
  const std::size_t held = s.send.size();
  const std::size_t limit = std::max<std::size_t>(1, params_.transport.stream_send_buffer);
  const std::size_t connection_limit =
      std::max<std::size_t>(1, params_.transport.connection_send_buffer);
  const std::size_t connection_left =
      send_held_ >= connection_limit ? 0 : connection_limit - static_cast<std::size_t>(send_held_);
  return std::min(held >= limit ? 0 : limit - held, connection_left);
}

Result<std::size_t> Connection::write_stream(std::int64_t id, std::span<const std::uint8_t> data,
                                             bool fin) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return fail(errc::stream_closed);
  }
  if (!is_bidi(id) && !s->locally_opened) {
    return fail(errc::wrong_stream_direction);
  }
  if (s->stopped_by_peer) {
    return fail(errc::stream_stopped);
  }
  if (s->send_closed || s->fin_requested) {
    return fail(errc::stream_closed);
  }
  const std::size_t n = std::min(send_space(*s), data.size());
  if (n > 0) {
    s->send.append(data.first(n));
    send_held_ += n;
    host_.buffer_budget().add_send(n);
  }
  if (n < data.size() && send_held_ >= params_.transport.connection_send_buffer &&
      std::find(send_budget_waiters_.begin(), send_budget_waiters_.end(), id) ==
          send_budget_waiters_.end()) {
    // The connection's budget, not the stream's buffer, cut this write short: this stream learns
    // when acknowledgements on any stream make room (release_send).
    send_budget_waiters_.push_back(id);
  }
  if (fin && n == data.size()) {
    s->fin_requested = true;
  }
  schedule_send(*s);
  return n;
}

Result<Connection::ReadResult> Connection::read_stream(std::int64_t id, std::span<std::uint8_t> out,
                                                       Timestamp now) {
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return fail(is_closed() ? close_error() : make_error_code(errc::stream_closed));
  }
  if (!is_bidi(id) && s->locally_opened) {
    return fail(errc::wrong_stream_direction);
  }
  if (s->reset_code) {
    return fail(errc::stream_reset);
  }
  ReadResult result;
  result.bytes = s->recv.read(out);
  release_receive(result.bytes);
  result.fin = s->fin_received && s->recv.empty();
  if (result.bytes > 0 && !is_closed()) {
    ngtcp2_conn_extend_max_stream_offset(conn_.get(), id, result.bytes);
    credit_connection(result.bytes, now);
    host_.mark_dirty(params_.handle);
  }
  if (result.bytes == 0 && !result.fin && is_closed()) {
    // Data that arrived before the close stays readable; after it, the close error.
    return fail(close_error());
  }
  if (result.bytes == 0 && !result.fin && s->read_stopped) {
    return fail(errc::stream_closed);
  }
  return result;
}

void Connection::credit_connection(std::uint64_t bytes, Timestamp now) {
  // Auto-tuning after ngtcp2's own rule (and quic-go's): when a window's worth of data is consumed
  // within kWindowRttFactor RTTs of the previous window update, the window doubles, up to the
  // configured maximum, if allow_window_increase_ agrees.
  std::uint64_t extra = 0;
  consumed_since_update_ += bytes;
  if (consumed_since_update_ * 2 >= connection_window_) {
    ngtcp2_conn_stat stat{};
    ngtcp2_conn_get_conn_stat(conn_.get(), &stat);
    const Duration window_rtt(kWindowRttFactor * stat.smoothed_rtt);
    const std::uint64_t max_window = params_.transport.max_connection_window;
    if (last_window_update_ != Timestamp::min() && now - last_window_update_ < window_rtt &&
        connection_window_ < max_window) {
      const std::uint64_t target = std::min(connection_window_ * 2, max_window);
      const std::uint64_t delta = target - connection_window_;
      if ((!allow_window_increase_ || allow_window_increase_(delta)) &&
          host_.buffer_budget().try_grow_window(delta)) {
        connection_window_ = target;
        window_growth_ += delta;
        extra = delta;
      }
    }
    last_window_update_ = now;
    consumed_since_update_ = 0;
  }
  ngtcp2_conn_extend_max_offset(conn_.get(), bytes + extra);
}

Result<void> Connection::reset_stream(std::int64_t id, std::uint64_t code) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return fail(errc::stream_closed);
  }
  if (!is_bidi(id) && !s->locally_opened) {
    return fail(errc::wrong_stream_direction);
  }
  if (s->send_closed) {
    return {};
  }
  if (const int rv = ngtcp2_conn_shutdown_stream_write(conn_.get(), id, code);
      rv != 0 && rv != NGTCP2_ERR_STREAM_NOT_FOUND) {
    return fail(std::error_code(rv, ngtcp2_category()));
  }
  s->send_closed = true;
  s->reset_locally = true;
  host_.mark_dirty(params_.handle);
  return {};
}

Result<void> Connection::stop_sending(std::int64_t id, std::uint64_t code) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return fail(errc::stream_closed);
  }
  if (!is_bidi(id) && s->locally_opened) {
    return fail(errc::wrong_stream_direction);
  }
  if (s->read_stopped) {
    return {};
  }
  if (const int rv = ngtcp2_conn_shutdown_stream_read(conn_.get(), id, code);
      rv != 0 && rv != NGTCP2_ERR_STREAM_NOT_FOUND) {
    return fail(std::error_code(rv, ngtcp2_category()));
  }
  s->read_stopped = true;
  discard_received(*s);
  host_.mark_dirty(params_.handle);
  return {};
}

void Connection::release_stream(std::int64_t id) {
  StreamState* s = find_stream(id);
  if (s == nullptr) {
    return;
  }
  s->released = true;
  if (!s->read_stopped && !s->fin_received && !s->reset_code && !is_closed() && conn_ != nullptr) {
    // Nobody will read the rest: tell the peer, and release the flow-control credit.
    ngtcp2_conn_shutdown_stream_read(conn_.get(), id, 0);
    s->read_stopped = true;
    host_.mark_dirty(params_.handle);
  }
  if (!s->recv.empty()) {
    discard_received(*s);
    host_.mark_dirty(params_.handle);
  }
  maybe_erase_stream(id);
}

}  // namespace quicreuse::core
