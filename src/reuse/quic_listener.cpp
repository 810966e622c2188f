// The per-address QUIC listener, its ALPN router and the sub-listeners (Listener). Port of
// quicreuse/listener.go: quicListener and listener.
#include "reuse/manager_state.hpp"

#include <quicreuse/listener.hpp>

#include <asio/post.hpp>

namespace quicreuse {
namespace detail {
namespace {

// libp2p's "ConnShutdown" code for connections still queued when their listener closes.
constexpr std::uint64_t kConnShutdown = 0x1006;
constexpr std::uint64_t kQueueFull = 1;

}  // namespace

// ---------------------------------------------------------------------------------------------
// SubListenerState

void SubListenerState::enqueue(Connection conn) {
  if (closed) {
    conn.close(kConnShutdown, "closing");
    return;
  }
  if (!waiters.empty()) {
    auto w = std::move(waiters.front());
    waiters.pop_front();
    w.completion.complete({}, std::move(conn));
    return;
  }
  std::size_t stale = 0;
  for (auto it = queue.begin(); it != queue.end() && it->arrival < stale_below; ++it) {
    ++stale;
  }
  if (stale >= kQueueLength) {
    conn.close(kQueueFull, "queue full");
    return;
  }
  queue.push_back({std::move(conn), arrivals++});
  if (!turn_marker_posted) {
    // Runs after the accept completions posted so far: what is still queued then has waited a
    // turn of the application.
    turn_marker_posted = true;
    asio::post(executor, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->turn_marker_posted = false;
        self->stale_below = self->arrivals;
      }
    });
  }
}

void SubListenerState::parent_closed() {
  while (!waiters.empty()) {
    auto w = std::move(waiters.front());
    waiters.pop_front();
    w.completion.complete(make_error_code(errc::listener_closed), Connection{});
  }
}

void SubListenerState::close() {
  if (closed) {
    return;  // D5
  }
  closed = true;
  // Untag, drop the ALPNs, and tell the manager (which may close the shared listener). Then the
  // queue: connections routed before the removal are closed here, none can arrive after it.
  parent->remove(*this);
  if (auto manager = parent->manager.lock()) {
    manager->listener_closed(*parent);
  }
  parent_closed();
  while (!queue.empty()) {
    queue.front().conn.close(kConnShutdown, "closing");
    queue.pop_front();
  }
}

void SubListenerState::cancel(std::uint64_t op_id) {
  for (auto it = waiters.begin(); it != waiters.end(); ++it) {
    if (it->id == op_id) {
      auto w = std::move(*it);
      waiters.erase(it);
      w.completion.complete_cancelled(asio::error::operation_aborted, Connection{});
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// QuicListener

Result<void> QuicListener::start() {
  TlsServerConfig dispatch;
  // The client's offered ALPNs, in the client's order: the first one we serve picks the
  // sub-listener whose TLS configuration (or own select hook) is used.
  dispatch.select =
      [weak = weak_from_this()](const ClientHelloInfo& hello) -> Result<TlsServerChoice> {
    auto self = weak.lock();
    if (!self) {
      return fail(errc::listener_closed);
    }
    const std::lock_guard lock(self->mutex);
    for (const auto& alpn : hello.alpns) {
      auto it = self->protocols.find(alpn);
      if (it == self->protocols.end()) {
        continue;
      }
      if (it->second.tls.select) {
        return it->second.tls.select(hello);
      }
      return it->second.tls.default_choice;
    }
    return fail(errc::no_application_protocol);  // "no supported protocol found"
  };
  dispatch.cipher_suites = cipher_suites;
  ListenOptions options;
  options.allow_window_increase = [weak = weak_from_this()](std::string_view alpn,
                                                            const asio::ip::udp::endpoint& remote,
                                                            std::uint64_t delta) {
    auto self = weak.lock();
    if (!self) {
      return false;
    }
    AllowWindowIncrease allow;
    {
      const std::lock_guard lock(self->mutex);
      auto it = self->protocols.find(std::string(alpn));
      if (it == self->protocols.end()) {
        return false;  // unknown protocol: refuse
      }
      allow = it->second.allow;
    }
    return !allow || allow(WindowIncreaseRequest{alpn, remote, delta});  // D3
  };
  // Connections are pushed to us as soon as their handshakes complete, a batch at a time, and
  // routed in that same turn.
  options.on_ready = [weak = weak_from_this()](std::vector<Connection> ready) {
    if (auto self = weak.lock()) {
      self->route_batch(std::move(ready));
    } else {
      for (auto& conn : ready) {
        conn.close(kConnShutdown, "closing");
      }
    }
  };
  options.on_stopped = [weak = weak_from_this()](std::error_code reason) {
    // The shared listener ended: by close() (nothing left to do), or because its endpoint
    // stopped under us, which must not leave a registered listener that accepts nothing.
    if (auto self = weak.lock()) {
      self->stopped(reason);
    }
  };
  if (auto r = endpoint->listen(std::move(dispatch), std::move(options)); !r) {
    return fail_with(r.error(), "cannot listen on " + key + ": " + r.error().message());
  }
  return {};
}

Result<std::shared_ptr<SubListenerState>> QuicListener::add(const Association& association,
                                                            const TlsServerConfig& tls,
                                                            const AllowWindowIncrease& allow,
                                                            std::uint64_t id) {
  std::vector<std::string> alpns = tls.default_choice.alpns;
  if (alpns.empty()) {
    return fail_with(errc::invalid_argument, "no ALPN found in tls config");
  }
  if (!tls.select && !tls.default_choice.identity) {
    return fail_with(errc::invalid_argument, "no TLS identity in tls config");
  }
  if (tls.cipher_suites != cipher_suites) {
    return fail_with(errc::invalid_argument,
                     "cipher suites differ from those of the other protocols on this address");
  }
  auto sub = std::make_shared<SubListenerState>();
  {
    const std::lock_guard lock(mutex);
    for (const auto& alpn : alpns) {  // all or nothing
      if (protocols.count(alpn) != 0) {
        return fail_with(errc::already_listening, "already listening for protocol " + alpn);
      }
    }
    sub->parent = shared_from_this();
    sub->id = id;
    sub->association = association;
    sub->alpns = alpns;
    sub->executor = endpoint->get_executor();
    for (const auto& alpn : alpns) {
      protocols[alpn] = Protocol{sub, tls, allow};
    }
    subs.push_back(sub);
  }
  transport->associate(association, id);  // per sub-listener (go-libp2p #3221, #3306)
  return sub;
}

void QuicListener::remove(const SubListenerState& sub) {
  transport->remove_associations(sub.id);
  const std::lock_guard lock(mutex);
  for (const auto& alpn : sub.alpns) {
    protocols.erase(alpn);
  }
  std::erase_if(subs, [&](const std::weak_ptr<SubListenerState>& w) {
    auto s = w.lock();
    return !s || s.get() == &sub;
  });
}

void QuicListener::route_batch(std::vector<Connection> ready) {
  if (closed) {
    for (auto& conn : ready) {
      conn.close(kConnShutdown, "closing");
    }
    return;
  }
  for (auto& conn : ready) {
    route(std::move(conn));
  }
}

void QuicListener::route(Connection conn) {
  std::shared_ptr<SubListenerState> sub;
  {
    const std::lock_guard lock(mutex);
    auto it = protocols.find(conn.alpn());
    if (it != protocols.end()) {
      sub = it->second.sub.lock();
    }
  }
  if (!sub) {
    // D7: the sub-listener went away between handshake and accept; only this connection ends.
    conn.close(kConnShutdown, "no listener for protocol " + conn.alpn());
    return;
  }
  sub->enqueue(std::move(conn));
}

void QuicListener::close() {
  if (closed) {
    return;
  }
  closed = true;
  endpoint->stop_listening();  // the accept loop ends with listener_closed
  fail_accepts();              // pending accepts fail now, not when on_stopped runs
  if (auto owner = manager.lock()) {
    owner->release(transport);
  }
}

void QuicListener::fail_accepts() {
  for (const auto& w : subs) {
    if (auto sub = w.lock()) {
      sub->parent_closed();
    }
  }
}

void QuicListener::stopped(std::error_code reason) {
  if (closed) {
    return;
  }
  closed = true;
  fail_accepts();
  if (auto owner = manager.lock()) {
    owner->listener_stopped(*this, reason == make_error_code(errc::endpoint_closed));
  }
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
  if (s->closed || s->parent->closed) {
    c.complete(make_error_code(errc::listener_closed), Connection{});
    return;
  }
  if (!s->queue.empty()) {
    auto conn = std::move(s->queue.front().conn);
    s->queue.pop_front();
    c.complete({}, std::move(conn));
    return;
  }
  const std::uint64_t id = ++s->next_op;
  c.on_cancel([weak = std::weak_ptr<detail::SubListenerState>(s), id] {
    if (auto st = weak.lock()) {
      st->cancel(id);
    }
  });
  s->waiters.push_back({id, std::move(c)});
}

std::optional<Connection> Listener::try_accept() {
  if (!state_ || state_->queue.empty()) {
    return std::nullopt;
  }
  Connection conn = std::move(state_->queue.front().conn);
  state_->queue.pop_front();
  return conn;
}

asio::ip::udp::endpoint Listener::addr() const {
  return state_->parent->address;
}

std::vector<Multiaddr> Listener::multiaddrs() const {
  return {state_->parent->multiaddr};
}

void Listener::close() {
  if (state_) {
    state_->close();
  }
}

}  // namespace quicreuse
