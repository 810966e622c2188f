// Stream (public handle) and StreamHandle.
#include "io/endpoint_state.hpp"

#include <quicreuse/stream.hpp>

namespace quicreuse {
namespace detail {

StreamHandle::~StreamHandle() {
  ref->state->release_stream(id);
}

}  // namespace detail

Stream::Stream(std::shared_ptr<detail::StreamHandle> handle) : handle_(std::move(handle)) {}

Stream::executor_type Stream::get_executor() const {
  return handle_->ref->state->executor;
}

std::int64_t Stream::id() const noexcept {
  return handle_ ? handle_->id : -1;
}

void Stream::start_read(const std::shared_ptr<detail::StreamHandle>& h,
                        std::vector<asio::mutable_buffer> bufs, detail::SizeCompletion c) {
  auto& st = h->ref->state;
  if (asio::buffer_size(bufs) == 0) {
    c.complete({}, 0);
    return;
  }
  auto& waiters = st->streams[h->id];
  if (waiters.read) {
    c.complete(asio::error::in_progress, 0);  // one read at a time, as for Asio sockets
    return;
  }
  std::uint64_t op_id = 0;
  if (auto ep = st->endpoint.lock()) {
    op_id = ep->next_op_id();
  }
  c.on_cancel(detail::make_canceller(st, op_id));
  waiters.read = detail::ReadOp{op_id, std::move(bufs), std::move(c)};
  st->try_read(h->id);
}

void Stream::start_write(const std::shared_ptr<detail::StreamHandle>& h,
                         std::vector<asio::const_buffer> bufs, detail::SizeCompletion c) {
  auto& st = h->ref->state;
  if (asio::buffer_size(bufs) == 0) {
    c.complete({}, 0);
    return;
  }
  auto& waiters = st->streams[h->id];
  if (waiters.write) {
    c.complete(asio::error::in_progress, 0);
    return;
  }
  std::uint64_t op_id = 0;
  if (auto ep = st->endpoint.lock()) {
    op_id = ep->next_op_id();
  }
  c.on_cancel(detail::make_canceller(st, op_id));
  waiters.write = detail::WriteOp{op_id, std::move(bufs), std::move(c)};
  st->try_write(h->id);
}

Result<void> Stream::shutdown_send() {
  if (!handle_) {
    return fail(errc::stream_closed);
  }
  auto& st = handle_->ref->state;
  core::Connection* c = st->core();
  if (c == nullptr) {
    return fail(st->closed_error());
  }
  if (const core::StreamState* s = c->stream(handle_->id); s != nullptr && s->fin_requested) {
    return {};
  }
  auto r = c->write_stream(handle_->id, {}, true);
  if (!r) {
    return fail(r.error());
  }
  st->schedule_flush();
  return {};
}

Result<void> Stream::reset(std::uint64_t code) {
  if (!handle_) {
    return fail(errc::stream_closed);
  }
  auto& st = handle_->ref->state;
  core::Connection* c = st->core();
  if (c == nullptr) {
    return fail(st->closed_error());
  }
  auto r = c->reset_stream(handle_->id, code);
  st->schedule_flush();
  return r;
}

Result<void> Stream::stop_sending(std::uint64_t code) {
  if (!handle_) {
    return fail(errc::stream_closed);
  }
  auto& st = handle_->ref->state;
  core::Connection* c = st->core();
  if (c == nullptr) {
    return fail(st->closed_error());
  }
  auto r = c->stop_sending(handle_->id, code);
  st->schedule_flush();
  return r;
}

std::optional<std::uint64_t> Stream::reset_code() const {
  if (!handle_) {
    return std::nullopt;
  }
  const core::Connection* c = handle_->ref->state->core();
  const core::StreamState* s = c == nullptr ? nullptr : c->stream(handle_->id);
  return s == nullptr ? std::nullopt : s->reset_code;
}

std::optional<std::uint64_t> Stream::stop_sending_code() const {
  if (!handle_) {
    return std::nullopt;
  }
  const core::Connection* c = handle_->ref->state->core();
  const core::StreamState* s = c == nullptr ? nullptr : c->stream(handle_->id);
  return s == nullptr ? std::nullopt : s->stop_sending_code;
}

}  // namespace quicreuse
