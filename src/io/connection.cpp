// Connection (public handle) and ConnectionState (its io-side state).
#include "io/access.hpp"
#include "io/endpoint_state.hpp"

#include <quicreuse/connection.hpp>

#include <asio/post.hpp>

#include <utility>

namespace quicreuse {
namespace detail {
namespace {

ConnectionStats public_stats(const core::ConnectionStats& s) {
  ConnectionStats out;
  out.smoothed_rtt = s.smoothed_rtt;
  out.min_rtt = s.min_rtt;
  out.latest_rtt = s.latest_rtt;
  out.congestion_window = s.congestion_window;
  out.bytes_in_flight = s.bytes_in_flight;
  out.bytes_sent = s.bytes_sent;
  out.bytes_received = s.bytes_received;
  out.packets_sent = s.packets_sent;
  out.packets_received = s.packets_received;
  out.datagrams_dropped = s.datagrams_dropped;
  out.key_updates_initiated = s.key_updates_initiated;
  out.ecn_ect0_sent = s.ecn_ect0_sent;
  out.ecn_ect0_received = s.ecn_received[NGTCP2_ECN_ECT_0];
  out.ecn_ect1_received = s.ecn_received[NGTCP2_ECN_ECT_1];
  out.ecn_ce_received = s.ecn_received[NGTCP2_ECN_CE];
  out.ecn_peer_ect0 = s.ecn_peer.ect0;
  out.ecn_peer_ect1 = s.ecn_peer.ect1;
  out.ecn_peer_ce = s.ecn_peer.ce;
  out.ecn_validated = s.ecn_validated;
  return out;
}

}  // namespace

ConnectionState::ConnectionState(std::weak_ptr<EndpointState> ep, core::ConnectionHandle h,
                                 asio::any_io_executor ex)
    : endpoint(std::move(ep)), handle(h), executor(std::move(ex)) {}

core::Connection* ConnectionState::core() const {
  auto ep = endpoint.lock();
  if (!ep || ep->closed) {
    return nullptr;
  }
  return ep->core_endpoint->find(handle);
}

void ConnectionState::schedule_flush() const {
  if (auto ep = endpoint.lock()) {
    ep->schedule_flush();
  }
}

std::error_code ConnectionState::closed_error() const {
  if (close_error) {
    return close_error;
  }
  return make_error_code(errc::connection_closed);
}

void ConnectionState::on_closed(const core::Connection* conn) {
  if (conn != nullptr) {
    if (!closed_) {
      close_info = conn->close_info();
      close_error = conn->close_error();
      last_stats = public_stats(conn->stats());  // the final snapshot, kept for stats()
    }
  }
  if (closed_ && conn == nullptr) {
    // Second notification (removal): wake reads that waited for buffered data to drain.
    for (auto& [id, w] : streams) {
      if (w.read) {
        try_read(id);
      }
    }
    return;
  }
  closed_ = true;
  if (close_info.kind == CloseInfo::Kind::none) {
    close_info.kind = CloseInfo::Kind::endpoint_closed;
    close_info.error = make_error_code(errc::endpoint_closed);
    close_error = close_info.error;
  }
  const std::error_code ec = closed_error();
  for (auto* queue : {&accept_bidi, &accept_uni, &open_bidi, &open_uni}) {
    queue->fail_all(ec);
  }
  datagram_waiters.fail_all(ec);
  for (auto& callback : std::exchange(close_callbacks, {})) {
    asio::post(executor, [cb = std::move(callback), info = close_info] { cb(info); });
  }
  closed_waiters.fail_all(close_info.error ? close_info.error : ec);
  std::vector<std::int64_t> ids;
  for (auto& [id, w] : streams) {
    ids.push_back(id);
  }
  for (std::int64_t id : ids) {
    try_read(id);  // buffered data stays readable; then the close error
    auto it = streams.find(id);
    if (it != streams.end() && it->second.write) {
      auto op = std::move(*it->second.write);
      it->second.write.reset();
      op.completion.complete(ec, 0);
    }
  }
}

std::uint64_t ConnectionState::next_op_id() const {
  auto ep = endpoint.lock();
  return ep ? ep->next_op_id() : 0;
}

Stream ConnectionState::make_stream(std::int64_t id) {
  auto ref = user_ref.lock();
  if (!ref) {
    ref = std::make_shared<ConnectionRef>(shared_from_this());
    user_ref = ref;
  }
  streams.try_emplace(id);
  return Access::make<Stream>(std::make_shared<StreamHandle>(std::move(ref), id));
}

void ConnectionState::try_accept_streams(bool bidi) {
  auto& queue = bidi ? accept_bidi : accept_uni;
  core::Connection* c = core();
  while (!queue.empty() && c != nullptr) {
    auto id = c->accept_stream(bidi);
    if (!id) {
      return;
    }
    auto op = queue.pop();
    op.completion.complete({}, make_stream(*id));
  }
}

void ConnectionState::try_open_streams(bool bidi) {
  auto& queue = bidi ? open_bidi : open_uni;
  core::Connection* c = core();
  while (!queue.empty() && c != nullptr) {
    auto id = c->open_stream(bidi);
    if (!id) {
      if (id.error() == make_error_code(errc::stream_limit_reached)) {
        return;  // still blocked: wait for streams_available
      }
      auto op = queue.pop();
      op.completion.complete(id.error(), Stream{});
      continue;
    }
    auto op = queue.pop();
    op.completion.complete({}, make_stream(*id));
  }
}

void ConnectionState::try_read(std::int64_t id) {
  auto it = streams.find(id);
  if (it == streams.end() || !it->second.read) {
    return;
  }
  ReadOp& op = *it->second.read;
  core::Connection* c = core();
  std::size_t total = 0;
  std::error_code ec;
  bool fin = false;
  if (c == nullptr) {
    ec = closed_error();
  } else {
    const core::Timestamp t = now();
    for (const auto& b : op.buffers) {
      if (b.size() == 0) {
        continue;
      }
      auto r = c->read_stream(id, {static_cast<std::uint8_t*>(b.data()), b.size()}, t);
      if (!r) {
        ec = r.error();
        break;
      }
      total += r->bytes;
      fin = r->fin;
      if (r->bytes < b.size()) {
        break;
      }
    }
  }
  if (total > 0) {
    auto done = std::move(op);
    it->second.read.reset();
    done.completion.complete({}, total);
    schedule_flush();  // flow-control credit
  } else if (ec) {
    auto done = std::move(op);
    it->second.read.reset();
    done.completion.complete(ec, 0);
  } else if (fin) {
    auto done = std::move(op);
    it->second.read.reset();
    done.completion.complete(asio::error::eof, 0);
  }
}

void ConnectionState::try_write(std::int64_t id) {
  auto it = streams.find(id);
  if (it == streams.end() || !it->second.write) {
    return;
  }
  WriteOp& op = *it->second.write;
  core::Connection* c = core();
  std::size_t total = 0;
  std::error_code ec;
  if (c == nullptr) {
    ec = closed_error();
  } else {
    for (const auto& b : op.buffers) {
      if (b.size() == 0) {
        continue;
      }
      auto n = c->write_stream(id, {static_cast<const std::uint8_t*>(b.data()), b.size()}, false);
      if (!n) {
        ec = n.error();
        break;
      }
      total += *n;
      if (*n < b.size()) {
        break;
      }
    }
  }
  if (total > 0 || ec) {
    auto done = std::move(op);
    it->second.write.reset();
    done.completion.complete(total > 0 ? std::error_code{} : ec, total);
    if (total > 0) {
      schedule_flush();
    }
  }
}

void ConnectionState::try_datagrams() {
  core::Connection* c = core();
  while (!datagram_waiters.empty() && c != nullptr) {
    auto d = c->receive_datagram();
    if (!d) {
      return;
    }
    auto op = datagram_waiters.pop();
    op.completion.complete({}, std::move(*d));
  }
}

void ConnectionState::release_stream(std::int64_t id) {
  auto it = streams.find(id);
  if (it != streams.end()) {
    auto waiters = std::move(it->second);
    streams.erase(it);
    if (waiters.read) {
      waiters.read->completion.complete(asio::error::operation_aborted, 0);
    }
    if (waiters.write) {
      waiters.write->completion.complete(asio::error::operation_aborted, 0);
    }
  }
  if (core::Connection* c = core(); c != nullptr) {
    c->release_stream(id);
    schedule_flush();
  }
}

void ConnectionState::cancel(std::uint64_t op_id) {
  for (auto* queue : {&accept_bidi, &accept_uni, &open_bidi, &open_uni}) {
    if (queue->cancel(op_id)) {
      return;
    }
  }
  if (datagram_waiters.cancel(op_id) || closed_waiters.cancel(op_id)) {
    return;
  }
  for (auto& [id, w] : streams) {
    if (w.read && w.read->id == op_id) {
      auto op = std::move(*w.read);
      w.read.reset();
      op.completion.complete_cancelled(asio::error::operation_aborted, 0);
      return;
    }
    if (w.write && w.write->id == op_id) {
      auto op = std::move(*w.write);
      w.write.reset();
      op.completion.complete_cancelled(asio::error::operation_aborted, 0);
      return;
    }
  }
}

ConnectionRef::~ConnectionRef() {
  // The last user handle is gone: an open connection is closed gracefully.
  if (!state->closed()) {
    if (core::Connection* c = state->core(); c != nullptr) {
      c->close(0, {});
      state->schedule_flush();
    }
  }
}

std::function<void()> make_canceller(const std::shared_ptr<ConnectionState>& st,
                                     std::uint64_t op_id) {
  return [weak = std::weak_ptr<ConnectionState>(st), op_id] {
    if (auto s = weak.lock()) {
      s->cancel(op_id);
    }
  };
}

void park_stream_op(const std::shared_ptr<ConnectionState>& st,
                    ParkedQueue<Parked<StreamCompletion>>& queue, StreamCompletion c) {
  const std::uint64_t id = st->next_op_id();
  c.on_cancel(make_canceller(st, id));
  queue.push({id, std::move(c)});
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Connection

Connection::Connection(std::shared_ptr<detail::ConnectionRef> ref) : ref_(std::move(ref)) {}

Connection::executor_type Connection::get_executor() const {
  return ref_->state->executor;
}

void Connection::start_accept(const std::shared_ptr<detail::ConnectionRef>& ref, bool bidi,
                              detail::StreamCompletion c) {
  auto& st = ref->state;
  if (st->closed()) {
    c.complete(st->closed_error(), Stream{});
    return;
  }
  core::Connection* core = st->core();
  if (core != nullptr) {
    if (auto id = core->accept_stream(bidi); id) {
      c.complete({}, st->make_stream(*id));
      return;
    }
  }
  detail::park_stream_op(st, bidi ? st->accept_bidi : st->accept_uni, std::move(c));
}

void Connection::start_open(const std::shared_ptr<detail::ConnectionRef>& ref, bool bidi,
                            detail::StreamCompletion c) {
  auto& st = ref->state;
  if (st->closed()) {
    c.complete(st->closed_error(), Stream{});
    return;
  }
  auto& queue = bidi ? st->open_bidi : st->open_uni;
  core::Connection* core = st->core();
  if (core != nullptr && queue.empty()) {
    auto id = core->open_stream(bidi);
    if (id) {
      c.complete({}, st->make_stream(*id));
      return;
    }
    if (id.error() != make_error_code(errc::stream_limit_reached)) {
      c.complete(id.error(), Stream{});
      return;
    }
  }
  detail::park_stream_op(st, queue, std::move(c));
}

void Connection::start_receive_datagram(const std::shared_ptr<detail::ConnectionRef>& ref,
                                        detail::DatagramCompletion c) {
  auto& st = ref->state;
  core::Connection* core = st->core();
  if (core != nullptr && st->datagram_waiters.empty()) {
    if (auto d = core->receive_datagram(); d) {
      c.complete({}, std::move(*d));
      return;
    }
  }
  if (st->closed()) {
    c.complete(st->closed_error(), {});
    return;
  }
  const std::uint64_t id = st->next_op_id();
  c.on_cancel(detail::make_canceller(st, id));
  st->datagram_waiters.push({id, std::move(c)});
}

void Connection::start_wait_closed(const std::shared_ptr<detail::ConnectionRef>& ref,
                                   detail::ErrorCompletion c) {
  auto& st = ref->state;
  if (st->closed()) {
    c.complete(st->close_info.error ? st->close_info.error : st->closed_error());
    return;
  }
  const std::uint64_t id = st->next_op_id();
  c.on_cancel(detail::make_canceller(st, id));
  st->closed_waiters.push({id, std::move(c)});
}

void Connection::on_close(std::function<void(const CloseInfo&)> callback) {
  auto& st = ref_->state;
  if (st->closed()) {
    asio::post(st->executor, [cb = std::move(callback), info = st->close_info] { cb(info); });
    return;
  }
  st->close_callbacks.push_back(std::move(callback));
}

Result<void> Connection::send_datagram(std::span<const std::uint8_t> data) {
  core::Connection* core = ref_->state->core();
  if (core == nullptr) {
    return fail(ref_->state->closed_error());
  }
  auto r = core->send_datagram(data);
  if (r) {
    ref_->state->schedule_flush();
  }
  return r;
}

void Connection::close(std::uint64_t code, std::string_view reason) {
  if (core::Connection* core = ref_->state->core(); core != nullptr) {
    core->close(code, reason);
    ref_->state->schedule_flush();
  }
}

bool Connection::is_open() const {
  const core::Connection* core = ref_->state->core();
  return core != nullptr && !core->is_closed();
}

CloseInfo Connection::close_info() const {
  if (const core::Connection* core = ref_->state->core(); core != nullptr) {
    return core->close_info();
  }
  return ref_->state->close_info;
}

std::string Connection::alpn() const {
  return ref_->state->alpn;
}
std::optional<CipherSuite> Connection::cipher_suite() const {
  return ref_->state->cipher_suite;
}

Result<void> Connection::initiate_key_update() {
  core::Connection* core = ref_->state->core();
  if (core == nullptr) {
    return fail(ref_->state->closed_error());
  }
  auto r = core->initiate_key_update(detail::now());
  if (r) {
    ref_->state->schedule_flush();
  }
  return r;
}
CertificateChain Connection::peer_certificates() const {
  const auto& chain = ref_->state->peer_chain;
  return chain ? *chain : CertificateChain{};
}
asio::ip::udp::endpoint Connection::local_endpoint() const {
  if (const core::Connection* core = ref_->state->core(); core != nullptr) {
    return detail::to_asio(core->local());
  }
  return ref_->state->local;
}

asio::ip::udp::endpoint Connection::remote_endpoint() const {
  if (const core::Connection* core = ref_->state->core(); core != nullptr) {
    return detail::to_asio(core->remote());
  }
  return ref_->state->remote;
}

ConnectionStats Connection::stats() const {
  const core::Connection* core = ref_->state->core();
  if (core == nullptr) {
    return ref_->state->last_stats;
  }
  ref_->state->last_stats = detail::public_stats(core->stats());
  return ref_->state->last_stats;
}

const std::any& Connection::user_value() const {
  return ref_->state->user_value;
}
bool Connection::is_client() const {
  return ref_->state->is_client;
}

bool operator==(const Connection& a, const Connection& b) noexcept {
  if (!a.ref_ || !b.ref_) {
    return a.ref_ == b.ref_;
  }
  return a.ref_->state == b.ref_->state;
}

}  // namespace quicreuse
