// The per-protocol listener (Listener) and its state. Port of quicreuse/listener.go: listener.
#include "io/application_turn.hpp"
#include "reuse/confined.hpp"
#include "reuse/sub_listener_state.hpp"

#include <quicreuse/listener.hpp>

namespace quicreuse {
namespace detail {
namespace {

// libp2p's "ConnShutdown" code for connections still queued when their listener closes.
constexpr std::uint64_t kConnShutdown = 0x1006;
constexpr std::uint64_t kQueueFull = 1;

}  // namespace

void SubListenerState::enqueue(Connection conn) {
  if (closed) {
    conn.close(kConnShutdown, "closing");
    return;
  }
  if (!waiters.empty()) {
    waiters.pop().completion.complete({}, std::move(conn));
    return;
  }
  if (queue.waited() >= kQueueLength) {
    conn.close(kQueueFull, "queue full");
    return;
  }
  queue.push(std::move(conn));
  post_application_turn(executor, shared_from_this(), &SubListenerState::turn_posted,
                        [](SubListenerState& self) { self.queue.application_turn(); });
}

void SubListenerState::shared_listener_closed() {
  shared_closed = true;
  waiters.fail_all(make_error_code(errc::listener_closed));
}

void SubListenerState::close() {
  if (closed) {
    return;  // D5
  }
  closed = true;
  // Untag, drop the ALPNs, and tell the manager (which may close the shared listener). Then the
  // queue: connections routed before the removal are closed here, none can arrive after it.
  if (remove) {
    std::exchange(remove, {})();
  }
  shared_listener_closed();
  while (!queue.empty()) {
    queue.pop().close(kConnShutdown, "closing");
  }
}

void SubListenerState::cancel(std::uint64_t op_id) {
  waiters.cancel(op_id);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Listener

Listener::Listener(std::shared_ptr<detail::SubListenerState> state) : state_(std::move(state)) {}

Listener::~Listener() {
  close();
}

asio::any_io_executor Listener::executor() const {
  return state_->executor;
}

void Listener::start_accept(const std::shared_ptr<detail::SubListenerState>& s,
                            detail::ConnectionCompletion c) {
  QUICREUSE_ASSERT_CONFINED(s->executor);
  if (s->closed || s->shared_closed) {
    c.complete(make_error_code(errc::listener_closed), Connection{});
    return;
  }
  if (!s->queue.empty()) {
    c.complete({}, s->queue.pop());
    return;
  }
  const std::uint64_t id = ++s->next_op;
  c.on_cancel([weak = std::weak_ptr<detail::SubListenerState>(s), id] {
    if (auto st = weak.lock()) {
      st->cancel(id);
    }
  });
  s->waiters.push({id, std::move(c)});
}

std::optional<Connection> Listener::try_accept() {
  if (!state_ || state_->queue.empty()) {
    return std::nullopt;
  }
  QUICREUSE_ASSERT_CONFINED(state_->executor);
  return state_->queue.pop();
}

asio::ip::udp::endpoint Listener::addr() const {
  return state_->address;
}

std::vector<Multiaddr> Listener::multiaddrs() const {
  return {state_->multiaddr};
}

void Listener::close() {
  if (state_) {
    QUICREUSE_ASSERT_CONFINED(state_->executor);
    state_->close();
  }
}

}  // namespace quicreuse
