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

namespace {

// Parks a read or write of a stream (one at a time, as for Asio sockets) and tries it at once.
template <class Op, class Buffers>
void park(const std::shared_ptr<detail::StreamHandle>& h, Buffers bufs, detail::SizeCompletion c,
          std::optional<Op> detail::StreamWaiters::*slot,
          void (detail::ConnectionState::*attempt)(std::int64_t)) {
  const auto& st = h->ref->state;
  if (asio::buffer_size(bufs) == 0) {
    c.complete({}, 0);
    return;
  }
  auto& pending = st->streams[h->id].*slot;
  if (pending) {
    c.complete(asio::error::in_progress, 0);
    return;
  }
  const std::uint64_t op_id = st->next_op_id();
  c.on_cancel(detail::make_canceller(st, op_id));
  pending = Op{op_id, std::move(bufs), std::move(c)};
  ((*st).*attempt)(h->id);
}

// Returns the core connection behind an open stream handle, or the error an operation reports.
Result<core::Connection*> live_connection(const std::shared_ptr<detail::StreamHandle>& h) {
  if (!h) {
    return fail(errc::stream_closed);
  }
  core::Connection* c = h->ref->state->core();
  if (c == nullptr) {
    return fail(h->ref->state->closed_error());
  }
  return c;
}

// Returns the library state of the stream, or nullptr once it is gone.
const core::StreamState* stream_state(const std::shared_ptr<detail::StreamHandle>& h) {
  const core::Connection* c = h ? h->ref->state->core() : nullptr;
  return c == nullptr ? nullptr : c->stream(h->id);
}

}  // namespace

void Stream::start_read(const std::shared_ptr<detail::StreamHandle>& h,
                        std::vector<asio::mutable_buffer> bufs, detail::SizeCompletion c) {
  park<detail::ReadOp>(h, std::move(bufs), std::move(c), &detail::StreamWaiters::read,
                       &detail::ConnectionState::try_read);
}

void Stream::start_write(const std::shared_ptr<detail::StreamHandle>& h,
                         std::vector<asio::const_buffer> bufs, detail::SizeCompletion c) {
  park<detail::WriteOp>(h, std::move(bufs), std::move(c), &detail::StreamWaiters::write,
                        &detail::ConnectionState::try_write);
}

Result<void> Stream::shutdown_send() {
  auto c = live_connection(handle_);
  if (!c) {
    return fail(c.error());
  }
  if (const core::StreamState* s = (*c)->stream(handle_->id); s != nullptr && s->fin_requested) {
    return {};
  }
  auto r = (*c)->write_stream(handle_->id, {}, true);
  if (!r) {
    return fail(r.error());
  }
  handle_->ref->state->schedule_flush();
  return {};
}

Result<void> Stream::reset(std::uint64_t code) {
  auto c = live_connection(handle_);
  if (!c) {
    return fail(c.error());
  }
  auto r = (*c)->reset_stream(handle_->id, code);
  handle_->ref->state->schedule_flush();
  return r;
}

Result<void> Stream::stop_sending(std::uint64_t code) {
  auto c = live_connection(handle_);
  if (!c) {
    return fail(c.error());
  }
  auto r = (*c)->stop_sending(handle_->id, code);
  handle_->ref->state->schedule_flush();
  return r;
}

std::optional<std::uint64_t> Stream::reset_code() const {
  const core::StreamState* s = stream_state(handle_);
  return s == nullptr ? std::nullopt : s->reset_code;
}

std::optional<std::uint64_t> Stream::stop_sending_code() const {
  const core::StreamState* s = stream_state(handle_);
  return s == nullptr ? std::nullopt : s->stop_sending_code;
}

}  // namespace quicreuse
