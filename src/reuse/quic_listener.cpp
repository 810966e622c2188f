// The per-address QUIC listener and its ALPN router. Port of quicreuse/listener.go:
// quicListener.
#include "reuse/quic_listener.hpp"

#include "reuse/last_error.hpp"

namespace quicreuse::detail {
namespace {

// libp2p's "ConnShutdown" code for connections that find no listener.
constexpr std::uint64_t kConnShutdown = 0x1006;

}  // namespace

const QuicListener::Protocol* QuicListener::find(std::string_view alpn) const {
  auto it = protocols.find(std::string(alpn));
  return it == protocols.end() ? nullptr : &it->second;
}

Result<void> QuicListener::start() {
  TlsServerConfig dispatch;
  // The client's offered ALPNs, in the client's order: the first one we serve picks the
  // sub-listener whose TLS configuration (or own select hook) is used. The user's hook runs with
  // no lock held (it may do anything, even listen or close on this manager).
  dispatch.select =
      [weak = weak_from_this()](const ClientHelloInfo& hello) -> Result<TlsServerChoice> {
    auto self = weak.lock();
    if (!self) {
      return fail(errc::listener_closed);
    }
    for (const auto& alpn : hello.alpns) {
      const Protocol* protocol = self->find(alpn);
      if (protocol == nullptr) {
        continue;
      }
      if (protocol->tls.select) {
        const auto select = protocol->tls.select;  // the hook may remove its protocol
        return select(hello);
      }
      return protocol->tls.default_choice;
    }
    return fail(errc::no_application_protocol);  // "no supported protocol found"
  };
  dispatch.cipher_suites = cipher_suites;
  ListenOptions options;
  options.allow_window_increase = [weak = weak_from_this()](std::string_view alpn,
                                                            const asio::ip::udp::endpoint& remote,
                                                            std::uint64_t delta) {
    auto self = weak.lock();
    const Protocol* protocol = self ? self->find(alpn) : nullptr;
    if (protocol == nullptr) {
      return false;  // unknown protocol: refuse
    }
    const AllowWindowIncrease allow = protocol->allow;
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
  if (auto r = endpoint().listen(std::move(dispatch), std::move(options)); !r) {
    return fail_with(r.error(), "cannot listen on " + key + ": " + r.error().message());
  }
  return {};
}

Result<std::shared_ptr<SubListenerState>> QuicListener::add(const Association& association,
                                                            const TlsServerConfig& tls,
                                                            const AllowWindowIncrease& allow,
                                                            std::uint64_t id,
                                                            std::function<void()> on_remove) {
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
  for (const auto& alpn : alpns) {  // all or nothing
    if (protocols.count(alpn) != 0) {
      return fail_with(errc::already_listening, "already listening for protocol " + alpn);
    }
  }
  auto sub = std::make_shared<SubListenerState>();
  sub->id = id;
  sub->executor = endpoint().get_executor();
  sub->address = address;
  sub->multiaddr = multiaddr;
  // Go's listener.remove: untag the socket, drop the protocols, then tell the manager.
  // The socket is named weakly: the tags must go even after this listener dropped its reference
  // (the socket may stay pooled), and there is nothing to untag once the pools dropped it too.
  sub->remove = [self = shared_from_this(), socket = std::weak_ptr(transport.transport()), id,
                 alpns, on_remove = std::move(on_remove)] {
    if (auto tr = socket.lock()) {
      tr->remove_associations(id);
    }
    for (const auto& alpn : alpns) {
      self->protocols.erase(alpn);
    }
    std::erase_if(self->subs, [id](const std::weak_ptr<SubListenerState>& w) {
      auto s = w.lock();
      return !s || s->id == id;
    });
    on_remove();
  };
  for (const auto& alpn : alpns) {
    protocols[alpn] = Protocol{sub, tls, allow};
  }
  subs.push_back(sub);
  transport->associate(association, id);  // per sub-listener (go-libp2p #3221, #3306)
  return sub;
}

void QuicListener::route_batch(std::vector<Connection> ready) {
  for (auto& conn : ready) {
    if (closed) {
      conn.close(kConnShutdown, "closing");
    } else {
      route(std::move(conn));
    }
  }
}

void QuicListener::route(Connection conn) {
  const Protocol* protocol = find(conn.alpn());
  auto sub = protocol != nullptr ? protocol->sub.lock() : nullptr;
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
  endpoint().stop_listening();  // the accept loop ends with listener_closed
  fail_accepts();               // pending accepts fail now, not when on_stopped runs
  on_stopped = {};
  transport.reset();
}

void QuicListener::fail_accepts() {
  for (const auto& w : subs) {
    if (auto sub = w.lock()) {
      sub->shared_listener_closed();
    }
  }
}

void QuicListener::stopped(std::error_code reason) {
  if (closed) {
    return;
  }
  closed = true;
  fail_accepts();
  if (on_stopped) {
    std::exchange(on_stopped, {})(reason == make_error_code(errc::endpoint_closed));
  }
  transport.reset();
}

}  // namespace quicreuse::detail
