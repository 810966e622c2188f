#include "io/endpoint_state.hpp"

#include "io/access.hpp"
#include "io/application_turn.hpp"
#include "io/memory_release.hpp"
#include "io/route_probe.hpp"
#include "io/udp_receive.hpp"
#include "io/udp_send.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <cstring>

namespace quicreuse::detail {
namespace {

// recvmmsg calls per wake-up of the receive loop before the core is flushed.
constexpr int kReceiveRounds = 4;

asio::awaitable<void> receive_loop(std::shared_ptr<EndpointState> self) {
  // recvmmsg drains up to 32 datagrams per system call; the core is flushed once per wake-up.
  BatchReceiver receiver;
  for (;;) {
    auto [ec] = co_await self->socket.async_wait(asio::ip::udp::socket::wait_read,
                                                 asio::experimental::as_tuple(asio::use_awaitable));
    if (self->closed || ec == asio::error::operation_aborted || !self->socket.is_open()) {
      co_return;
    }
    for (int round = 0; round < kReceiveRounds && !self->closed; ++round) {
      std::error_code rec;
      const std::size_t n = receiver.receive(self->socket.native_handle(), rec);
      const core::Timestamp t = now();
      for (std::size_t i = 0; i < n && !self->closed; ++i) {
        const core::SocketAddress from(receiver.from(i), receiver.from_length(i));
        const auto datagram = receiver.data(i);
        core::PathInfo path = receiver.path(i, self->local.port());
        if (!self->wildcard) {
          path.local = {};  // always the socket's address
        }
        const auto outcome = self->core_endpoint->handle_datagram(t, from, datagram, *self, path);
        if (outcome == core::DatagramOutcome::non_quic) {
          self->deliver_non_quic(datagram, to_asio(from));
        }
      }
      if (rec) {
        ++self->receive_errors;
      }
      if (n < BatchReceiver::kBatch) {
        break;
      }
    }
    if (self->closed) {
      co_return;
    }
    self->process();
  }
}

}  // namespace

core::SocketAddress to_core(const asio::ip::udp::endpoint& ep) {
  return {ep.data(), static_cast<socklen_t>(ep.size())};
}

asio::ip::udp::endpoint to_asio(const core::SocketAddress& addr) {
  asio::ip::udp::endpoint ep;
  if (addr.empty()) {
    return ep;
  }
  std::memcpy(ep.data(), addr.data(), addr.size());
  ep.resize(addr.size());
  return ep;
}

core::Timestamp now() {
  return core::Timestamp(std::chrono::duration_cast<core::Duration>(
      std::chrono::steady_clock::now().time_since_epoch()));
}

EndpointState::EndpointState(asio::ip::udp::socket sock, core::EndpointConfig core_config,
                             EndpointConfig cfg)
    : executor(sock.get_executor()),
      socket(std::move(sock)),
      config(std::move(cfg)),
      timer(executor),
      release_timer(executor),
      write_retry_timer(executor) {
  std::error_code ec;
  local = socket.local_endpoint(ec);
  core_endpoint = std::make_unique<core::Endpoint>(std::move(core_config), rng, to_core(local));
  socket.non_blocking(true, ec);
  // ECN marks reach ngtcp2 (ngtcp2_pkt_info.ecn), which validates the path with them.
  ecn_reports =
      !enable_ecn_reports(socket.native_handle(), local.address().is_v6() ? AF_INET6 : AF_INET);
  if (local.address().is_unspecified()) {
    // Without the destination address, answers would leave from whatever source address the
    // kernel picks for the peer, not necessarily the one the peer sent to.
    wildcard = !enable_destination_address(socket.native_handle(),
                                           local.address().is_v6() ? AF_INET6 : AF_INET);
  }
}

EndpointState::~EndpointState() = default;

void EndpointState::start() {
  asio::co_spawn(executor, receive_loop(shared_from_this()), asio::detached);
}

void EndpointState::process() {
  if (closed || in_process) {
    return;
  }
  if (write_blocked_now()) {
    // As ngtcp2's examples do: connections write nothing more until the socket takes what is
    // queued (ngtcp2 keeps the data; its timers and received ACKs wait for the flush).
    flush_after_writable = true;
    return;
  }
  in_process = true;
  core_endpoint->flush(now(), *this, *this);
  in_process = false;
  rearm_timer();
  if (core_endpoint->accept_backlog() > 0) {
    // Accept completions were posted during the flush; the turn ends behind them.
    post_application_turn(executor, shared_from_this(), &EndpointState::turn_marker_posted,
                          [](EndpointState& self) { self.core_endpoint->application_turn(); });
  }
}

void EndpointState::schedule_flush() {
  if (flush_scheduled || closed) {
    return;
  }
  flush_scheduled = true;
  asio::post(executor, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->flush_scheduled = false;
      self->process();
    }
  });
}

void EndpointState::rearm_timer() {
  const core::Timestamp next = core_endpoint->next_expiry();
  if (next == timer_deadline) {
    return;
  }
  timer_deadline = next;
  if (next == core::Timestamp::max()) {
    timer.cancel();
    return;
  }
  timer.expires_at(std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(next.time_since_epoch())));
  timer.async_wait([weak = weak_from_this()](std::error_code ec) {
    if (ec) {
      return;  // re-armed or cancelled
    }
    if (auto self = weak.lock()) {
      self->on_timer();
    }
  });
}

void EndpointState::on_timer() {
  if (closed) {
    return;
  }
  timer_deadline = core::Timestamp::max();
  core_endpoint->handle_expiry(now());
  process();
}

core::SocketAddress EndpointState::source_for(const core::SocketAddress& remote) const {
  if (!wildcard || remote.empty()) {
    return {};
  }
  auto source = probe_route(to_asio(remote));
  if (!source) {
    return {};
  }
  return to_core(asio::ip::udp::endpoint(*source, local.port()));
}

void EndpointState::send(const core::SocketAddress& remote, std::span<const std::uint8_t> data,
                         std::size_t segment_size, const core::PathInfo& path) {
  if (closed || !socket.is_open()) {
    return;
  }
  const core::PathInfo from{wildcard ? path.local : core::SocketAddress{}, path.ecn};
  if (write_blocked_now()) {
    enqueue(remote, data, segment_size, from);  // keeps the order
    return;
  }
  const SendResult r =
      send_datagrams(socket.native_handle(), remote, data, segment_size, gso_supported, from);
  datagrams_sent += r.datagrams;
  bytes_sent += r.bytes;
  send_errors += r.errors;
  if (r.blocked) {
    enqueue(remote, data.subspan(r.consumed), segment_size, from);
    wait_writable(r.out_of_buffers);
  }
}

void EndpointState::enqueue(const core::SocketAddress& remote, std::span<const std::uint8_t> data,
                            std::size_t segment_size, const core::PathInfo& path) {
  if (segment_size == 0 || segment_size > data.size()) {
    segment_size = data.size();
  }
  if (data.empty()) {
    return;
  }
  const std::size_t room =
      config.send_queue_bytes > send_queue_size ? config.send_queue_bytes - send_queue_size : 0;
  const std::size_t kept = std::min(data.size(), room / segment_size * segment_size);
  if (kept < data.size()) {
    send_queue_dropped += (data.size() - kept + segment_size - 1) / segment_size;
  }
  if (kept == 0) {
    return;
  }
  send_queue.push_back(
      {remote, path, {data.begin(), data.begin() + static_cast<long>(kept)}, segment_size});
  send_queue_size += kept;
}

void EndpointState::wait_writable(bool out_of_buffers) {
  if (write_wait_armed || closed || send_queue.empty()) {
    return;
  }
  write_wait_armed = true;
  ++write_blocked;
  auto resume = [weak = weak_from_this()](std::error_code ec) {
    if (auto self = weak.lock(); self && !ec) {
      self->write_wait_armed = false;
      self->on_writable();
    }
  };
  if (out_of_buffers) {
    // poll() reports such a socket writable at once: retry after a moment instead.
    write_retry_timer.expires_after(std::chrono::milliseconds(1));
    write_retry_timer.async_wait(resume);
  } else {
    socket.async_wait(asio::ip::udp::socket::wait_write, resume);
  }
}

void EndpointState::on_writable() {
  if (closed || !drain_send_queue()) {
    return;
  }
  if (std::exchange(flush_after_writable, false)) {
    process();
  }
}

bool EndpointState::drain_send_queue() {
  if (!socket.is_open()) {
    return false;
  }
  while (!send_queue.empty()) {
    QueuedSend& q = send_queue.front();
    const SendResult r = send_datagrams(socket.native_handle(), q.remote, q.bytes, q.segment_size,
                                        gso_supported, q.path);
    datagrams_sent += r.datagrams;
    bytes_sent += r.bytes;
    send_errors += r.errors;
    send_queue_size -= r.consumed;
    if (r.blocked) {
      q.bytes.erase(q.bytes.begin(), q.bytes.begin() + static_cast<long>(r.consumed));
      wait_writable(r.out_of_buffers);
      return false;
    }
    send_queue.pop_front();
  }
  return true;
}

std::shared_ptr<ConnectionState> EndpointState::connection_state(core::ConnectionHandle handle) {
  auto it = connections.find(handle);
  return it == connections.end() ? nullptr : it->second;
}

Connection EndpointState::make_connection(core::ConnectionHandle handle) {
  auto st = connection_state(handle);
  if (!st) {
    return {};
  }
  auto ref = st->user_ref.lock();
  if (!ref) {
    ref = std::make_shared<ConnectionRef>(st);
    st->user_ref = ref;
  }
  return Access::make<Connection>(std::move(ref));
}

void EndpointState::on_events(core::Connection& conn,
                              std::span<const core::ConnectionEvent> events) {
  auto st = connection_state(conn.handle());
  if (!st) {
    return;  // an accepted connection nobody took yet: the core keeps its state
  }
  bool closed_event = false;
  for (const auto& ev : events) {
    using T = core::ConnectionEvent::Type;
    switch (ev.type) {
      case T::handshake_completed: {
        st->alpn = conn.alpn();
        st->cipher_suite = conn.cipher_suite();
        st->cipher_suite = conn.cipher_suite();
        st->peer_chain = conn.shared_peer_certificates();
        st->remote = to_asio(conn.remote());
        st->local = to_asio(conn.local());
        if (auto dial = take_dial(conn.handle())) {
          dial->completion.complete({}, make_connection(conn.handle()));
        }
        break;
      }
      case T::stream_opened:
        st->try_accept_streams(ev.bidi);
        break;
      case T::stream_readable:
        st->try_read(ev.stream_id);
        break;
      case T::stream_writable:
        st->try_write(ev.stream_id);
        break;
      case T::streams_available:
        st->try_open_streams(ev.bidi);
        break;
      case T::datagram_received:
        st->try_datagrams();
        break;
      case T::closed:
        closed_event = true;
        break;
    }
  }
  if (closed_event) {
    if (auto dial = take_dial(conn.handle())) {
      dial->completion.complete(conn.close_error(), Connection{});
    }
    st->on_closed(&conn);
  }
}

void EndpointState::on_incoming() {
  accept_ready();
}

Connection EndpointState::adopt_ready(core::ConnectionHandle handle, core::Connection& conn) {
  auto st = std::make_shared<ConnectionState>(weak_from_this(), handle, executor);
  st->alpn = conn.alpn();
  st->cipher_suite = conn.cipher_suite();
  st->peer_chain = conn.shared_peer_certificates();
  st->local = to_asio(conn.local());
  st->remote = to_asio(conn.remote());
  st->user_value = conn.user_value();
  connections.emplace(handle, st);
  return make_connection(handle);
}

void EndpointState::accept_ready() {
  if (ready_handler) {
    // Everything ready goes at once: nothing waits in the core's accept queue, so a burst of
    // handshakes completing together is never refused for it.
    std::vector<Connection> ready;
    while (auto handle = core_endpoint->accept()) {
      if (core::Connection* conn = core_endpoint->find(*handle); conn != nullptr) {
        ready.push_back(adopt_ready(*handle, *conn));
      }
    }
    if (!ready.empty()) {
      auto handler = ready_handler;  // the handler may stop listening
      handler(std::move(ready));
    }
    return;
  }
  while (!accept_waiters.empty()) {
    auto handle = core_endpoint->accept();
    if (!handle) {
      return;
    }
    core::Connection* conn = core_endpoint->find(*handle);
    if (conn == nullptr) {
      continue;
    }
    Connection c = adopt_ready(*handle, *conn);
    accept_waiters.pop().completion.complete({}, std::move(c));
  }
}

void EndpointState::listening_stopped(std::error_code reason) {
  ready_handler = nullptr;
  if (auto handler = std::exchange(stopped_handler, nullptr)) {
    asio::post(executor, [handler = std::move(handler), reason] { handler(reason); });
  }
}

void EndpointState::note_removal() {
  ++removed_since_release;
  if (release_armed || closed || !config.release_memory_after_bursts ||
      removed_since_release < kRemovalsBeforeRelease) {
    return;
  }
  release_armed = true;
  release_timer.expires_after(std::chrono::seconds(1));
  release_timer.async_wait([weak = weak_from_this()](std::error_code ec) {
    auto self = weak.lock();
    if (!self || ec) {
      return;
    }
    self->release_armed = false;
    self->removed_since_release = 0;
    ++self->memory_releases;
    release_free_memory();
  });
}

void EndpointState::on_removed(core::ConnectionHandle handle) {
  note_removal();
  auto it = connections.find(handle);
  if (it == connections.end()) {
    return;
  }
  auto st = it->second;
  connections.erase(it);
  if (auto dial = take_dial(handle)) {
    dial->completion.complete(make_error_code(errc::connection_closed), Connection{});
  }
  st->on_closed(nullptr);
}

void EndpointState::deliver_non_quic(std::span<const std::uint8_t> data,
                                     const asio::ip::udp::endpoint& from) {
  if (!non_quic_readers.empty()) {
    auto reader = non_quic_readers.pop();
    const std::size_t n = std::min(reader.buffer.size(), data.size());
    std::memcpy(reader.buffer.data(), data.data(), n);
    ++non_quic_delivered;
    reader.completion.complete({}, n, from);
    return;
  }
  // As quic-go: nothing is queued before the first reader shows up, and the queue is bounded.
  if (!non_quic_reader_seen ||
      non_quic_queue.size() >= std::max<std::size_t>(1, config.non_quic_queue)) {
    ++non_quic_dropped;
    return;
  }
  non_quic_queue.push_back({{data.begin(), data.end()}, from});
}

void EndpointState::cancel_accept(std::uint64_t id) {
  accept_waiters.cancel(id);
}

void EndpointState::cancel_dial(std::uint64_t id) {
  auto dial = dials.take(id);
  if (!dial) {
    return;
  }
  if (core::Connection* conn = core_endpoint->find(dial->handle); conn != nullptr) {
    conn->close(0, "dial cancelled");
    schedule_flush();
  }
  dial->completion.complete_cancelled(asio::error::operation_aborted, Connection{});
}

void EndpointState::cancel_non_quic(std::uint64_t id) {
  non_quic_readers.cancel(id);
}

void EndpointState::close() {
  if (closed) {
    return;
  }
  // Close the connections while the socket can still carry their CONNECTION_CLOSE.
  core_endpoint->close_all(now(), *this, *this);
  closed = true;
  listening_stopped(make_error_code(errc::endpoint_closed));
  const std::error_code ec = make_error_code(errc::endpoint_closed);
  accept_waiters.fail_all(ec);
  dials.fail_all(ec);
  non_quic_readers.fail_all(ec);
  non_quic_queue.clear();
  auto remaining = std::move(connections);
  connections.clear();
  for (auto& [handle, st] : remaining) {
    st->on_closed(nullptr);
  }
  timer.cancel();
  release_timer.cancel();
  write_retry_timer.cancel();
  drain_send_queue();  // one last try for what is queued (the CONNECTION_CLOSEs above among it)
  send_queue.clear();
  send_queue_size = 0;
  std::error_code ignored;
  socket.close(ignored);
}

}  // namespace quicreuse::detail
