// The shared non-QUIC packet conn. Port of quicreuse/nonquic_packetconn.go (decisions D4, D5).
#include "io/access.hpp"
#include "reuse/address_key.hpp"
#include "reuse/last_error.hpp"
#include "reuse/manager_state.hpp"
#include "reuse/non_quic_conn_state.hpp"

#include <quicreuse/non_quic_packet_conn.hpp>

#include <asio/bind_cancellation_slot.hpp>

namespace quicreuse {

Result<std::unique_ptr<NonQuicPacketConn>> ConnManager::shared_non_quic_packet_conn(
    std::string_view /*network: ignored, as in the seed*/, const asio::ip::udp::endpoint& local) {
  auto& s = *state_;
  s.assert_confined();
  const std::string key = detail::address_key(local);
  auto it = s.listeners.find(key);
  if (it == s.listeners.end()) {
    return detail::fail_with(errc::not_listening, "no QUIC listener found for " + key +
                                                      ", the QUIC listener should start first");
  }
  if (!s.config.reuse) {
    return detail::fail_with(errc::invalid_argument,
                             "cannot share the socket: DisableReuseport should not be set");
  }
  const auto& listener = *it->second.listener;
  auto state = std::make_shared<detail::NonQuicConnState>();
  state->transport = listener.transport;  // the view's own reference
  state->endpoint = listener.transport->endpoint();
  state->executor = state->endpoint->get_executor();
  return detail::Access::make_unique<NonQuicPacketConn>(std::move(state));
}

NonQuicPacketConn::NonQuicPacketConn(std::shared_ptr<detail::NonQuicConnState> state)
    : state_(std::move(state)) {}

NonQuicPacketConn::~NonQuicPacketConn() {
  close();
}

asio::any_io_executor NonQuicPacketConn::executor() const {
  return state_->executor;
}

void NonQuicPacketConn::start_read(const std::shared_ptr<detail::NonQuicConnState>& s,
                                   asio::mutable_buffer b, detail::PacketCompletion c) {
  QUICREUSE_ASSERT_CONFINED(s->executor);
  if (s->closed) {
    c.complete(make_error_code(errc::connection_closed), 0, {});
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (s->deadline && *s->deadline <= now) {
    c.complete(std::make_error_code(std::errc::timed_out), 0, {});
    return;
  }
  auto read = std::make_shared<detail::NonQuicConnState::PendingRead>();
  const std::uint64_t id = ++s->next_read;
  s->reads.emplace(id, read);
  if (s->deadline) {
    read->deadline_timer = std::make_unique<asio::steady_timer>(s->executor, *s->deadline);
    read->deadline_timer->async_wait(
        [weak = std::weak_ptr<detail::NonQuicConnState::PendingRead>(read)](std::error_code ec) {
          if (auto r = weak.lock(); r && !ec) {
            r->deadline_fired = true;
            r->cancel.emit(asio::cancellation_type::total);
          }
        });
  }
  auto user = std::make_shared<detail::PacketCompletion>(std::move(c));
  s->endpoint->async_read_non_quic_packet(
      b, asio::bind_cancellation_slot(
             read->cancel.slot(),
             [s, read, id, user](std::error_code ec, std::size_t n, asio::ip::udp::endpoint from) {
               s->reads.erase(id);
               if (read->deadline_timer) {
                 read->deadline_timer->cancel();
               }
               if (ec == asio::error::operation_aborted) {
                 ec = s->closed              ? make_error_code(errc::connection_closed)
                      : read->deadline_fired ? std::make_error_code(std::errc::timed_out)
                                             : ec;
               }
               user->complete(ec, n, std::move(from));
             }));
}

Result<std::size_t> NonQuicPacketConn::write_to(std::span<const std::uint8_t> datagram,
                                                const asio::ip::udp::endpoint& remote) {
  return state_->endpoint->write_to(datagram, remote);
}

asio::ip::udp::endpoint NonQuicPacketConn::local_endpoint() const {
  return state_->endpoint->local_endpoint();
}

void NonQuicPacketConn::set_read_deadline(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  // D4: no deadline (or the zero time) clears it; the seed made every later read fail.
  if (deadline && deadline->time_since_epoch().count() == 0) {
    deadline.reset();
  }
  state_->deadline = deadline;
}

void NonQuicPacketConn::set_write_deadline(
    std::optional<std::chrono::steady_clock::time_point> /*deadline*/) noexcept {}

void NonQuicPacketConn::close() {
  auto& s = *state_;
  QUICREUSE_ASSERT_CONFINED(s.executor);
  if (s.closed) {
    return;  // D5: the seed released the socket again on every call
  }
  s.closed = true;
  auto pending = s.reads;  // a completion erases its entry
  for (auto& [id, read] : pending) {
    read->cancel.emit(asio::cancellation_type::total);
  }
  s.transport.reset();
}

}  // namespace quicreuse
