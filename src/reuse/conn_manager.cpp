// ConnManager: listen, dial, leases, lending, garbage collection. Port of
// quicreuse/connmgr.go (with the decisions of spec section D).
#include "io/access.hpp"
#include "reuse/address_key.hpp"
#include "reuse/last_error.hpp"
#include "reuse/manager_metrics.hpp"
#include "reuse/manager_state.hpp"

#include <quicreuse/conn_manager.hpp>
#include <quicreuse/metrics.hpp>

#include <asio/ip/v6_only.hpp>

#include <sstream>

namespace quicreuse {
namespace detail {
namespace {

std::error_code normalize(std::error_code ec) {
  if (ec.category() == asio::error::get_system_category()) {
    return {ec.value(), std::system_category()};
  }
  return ec;
}

Result<asio::ip::udp::socket> default_listen_udp(const asio::any_io_executor& executor,
                                                 std::string_view network,
                                                 const asio::ip::udp::endpoint& local) {
  asio::ip::udp::socket socket(executor);
  std::error_code ec;
  const bool v6 = network == "udp6" || (network == "udp" && local.address().is_v6());
  socket.open(v6 ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
  if (!ec && v6) {
    socket.set_option(asio::ip::v6_only(true), ec);  // udp6 sockets are IPv6-only (spec 2.1)
  }
  if (!ec) {
    socket.bind(local, ec);
  }
  if (ec) {
    return fail(normalize(ec));
  }
  return socket;
}

}  // namespace

thread_local std::string t_last_error;

tl::unexpected<std::error_code> fail_with(std::error_code ec, std::string message) {
  t_last_error = std::move(message);
  return tl::unexpected(ec);
}

tl::unexpected<std::error_code> fail_with(errc e, std::string message) {
  return fail_with(make_error_code(e), std::move(message));
}

std::string address_key(const asio::ip::udp::endpoint& address) {
  std::ostringstream out;
  out << address;  // "1.2.3.4:5", "[::1]:5"
  return out.str();
}

ManagerState::~ManagerState() {
  if (config.registry && metrics_collector != 0) {
    config.registry->remove_collector(metrics_collector);
  }
}

Result<void> ManagerState::ensure_open() {
  if (closed) {
    return fail_with(errc::endpoint_closed, "the connection manager is closed");
  }
  return {};
}

Reuse* ManagerState::reuse_for(std::string_view network) const {
  if (network == "udp4") {
    return reuse4.get();
  }
  if (network == "udp6") {
    return reuse6.get();
  }
  return nullptr;
}

EndpointConfig ManagerState::endpoint_config() {
  EndpointConfig c;
  c.stateless_reset_key = reset_key;
  c.token_key = token_key;
  c.transport = config.transport;
  c.qlog_dir = config.qlog_dir;
  c.connection_context = config.conn_context;
  c.verify_source_address = [weak = std::weak_ptr<ManagerState>(shared_from_this())](
                                const asio::ip::udp::endpoint& remote) {
    auto self = weak.lock();
    return self && self->verify_source_address(remote, now());
  };
  return c;
}

bool ManagerState::verify_source_address(const asio::ip::udp::endpoint& remote,
                                         core::Timestamp at) {
  if (!limiter.try_take(at)) {
    return true;  // over 1000 unverified new connections/s: force a Retry (spec 5.3)
  }
  return config.verify_source_address ? config.verify_source_address(remote) : false;
}

Result<BoundSocket> ManagerState::bind(std::string_view network,
                                       const asio::ip::udp::endpoint& local) {
  auto socket = config.listen_udp ? config.listen_udp(network, local)
                                  : default_listen_udp(executor, network, local);
  if (!socket) {
    std::string what = socket.error().message();
    return fail_with(socket.error(), "cannot bind " + address_key(local) + ": " + what);
  }
  // Everything the endpoint calls back (TLS hooks, on_ready, on_close) touches the manager.
  assert(socket->get_executor() == executor && "listen_udp must use the manager's executor");
  auto endpoint = Endpoint::adopt(std::move(*socket), endpoint_config());
  if (!endpoint) {
    return fail_with(endpoint.error(), "cannot use the socket for " + address_key(local));
  }
  auto shared = std::make_shared<Endpoint>(std::move(*endpoint));
  const asio::ip::udp::endpoint bound = shared->local_endpoint();
  return BoundSocket{std::move(shared), bound, {}};
}

Result<TransportRef> ManagerState::bind_single_owner(std::string_view network,
                                                     const asio::ip::udp::endpoint& local) {
  auto socket = bind(network, local);
  if (!socket) {
    return fail(socket.error());
  }
  auto transport = std::make_shared<RefcountedTransport>(std::move(*socket));
  // D8: a single-owner socket closes with its last user, and leaves the list. The closure
  // belongs to the transport, so the raw pointer is valid whenever it runs.
  transport->on_unused([weak = weak_from_this(), raw = transport.get()] {
    raw->close();
    if (auto self = weak.lock()) {
      std::erase_if(self->single_owner, [raw](const std::weak_ptr<RefcountedTransport>& w) {
        auto tr = w.lock();
        return !tr || tr.get() == raw;
      });
    }
  });
  single_owner.push_back(transport);
  return TransportRef(std::move(transport));
}

Result<std::shared_ptr<QuicListener>> ManagerState::start_listener(
    std::string_view network, const asio::ip::udp::endpoint& local,
    const std::vector<CipherSuite>& cipher_suites) {
  Result<TransportRef> transport = config.reuse ? reuse_for(network)->transport_for_listen(local)
                                                : bind_single_owner(network, local);
  if (!transport) {
    return fail_with(transport.error(),
                     "cannot listen on " + address_key(local) + ": " + transport.error().message());
  }
  auto listener = std::make_shared<QuicListener>();
  listener->address = (*transport)->local_endpoint();
  listener->transport = std::move(*transport);
  listener->key = address_key(listener->address);
  auto multiaddr = to_quic_multiaddr(listener->address);
  if (!multiaddr) {
    return fail_with(multiaddr.error(), "cannot describe " + listener->key);
  }
  listener->multiaddr = *multiaddr;
  listener->cipher_suites = cipher_suites;
  listener->on_stopped = [weak = weak_from_this(), raw = listener.get()](bool endpoint_gone) {
    if (auto self = weak.lock()) {
      self->listener_stopped(*raw, endpoint_gone);
    }
  };
  if (auto started = listener->start(); !started) {
    return fail(started.error());  // the reference goes with the listener (the seed leaks it)
  }
  return listener;
}

void ManagerState::listener_closed(const QuicListener& listener) {
  std::shared_ptr<QuicListener> doomed;
  auto it = listeners.find(listener.key);
  if (it == listeners.end() || it->second.listener.get() != &listener) {
    return;  // already deregistered (stopped, or the manager closed); maybe replaced since
  }
  if (--it->second.refcount <= 0) {
    doomed = it->second.listener;
    listeners.erase(it);
  }
  if (doomed) {
    doomed->close();  // the last protocol on this address: release the socket
  }
}

void ManagerState::listener_stopped(const QuicListener& listener, bool endpoint_gone) {
  auto it = listeners.find(listener.key);
  if (it != listeners.end() && it->second.listener.get() == &listener) {
    listeners.erase(it);
  }
  if (endpoint_gone) {
    const auto& transport = listener.transport.transport();
    if (Reuse* reuse = reuse_for(listener.address.address().is_v4() ? "udp4" : "udp6")) {
      reuse->forget(transport);
    }
    transport->close();  // a lent endpoint: the done signal; ours: already closed
  }
}

void ManagerState::collect_garbage() {
  if (reuse4) {
    const auto now = std::chrono::steady_clock::now();
    reuse4->collect_garbage(now, config.max_unused);
    reuse6->collect_garbage(now, config.max_unused);
  }
}

void ManagerState::schedule_gc() {
  if (!gc_timer) {
    return;
  }
  gc_timer->expires_after(config.gc_interval);
  gc_timer->async_wait([weak = weak_from_this()](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed) {
      return;
    }
    self->collect_garbage();
    self->schedule_gc();
  });
}

void ManagerState::close() {
  if (closed) {
    return;  // D5
  }
  closed = true;
  std::vector<std::shared_ptr<RefcountedTransport>> owned;
  for (auto& weak : single_owner) {
    if (auto tr = weak.lock()) {
      owned.push_back(tr);
    }
  }
  single_owner.clear();
  std::map<std::string, ListenerEntry> table;
  table.swap(listeners);
  if (gc_timer) {
    gc_timer->expires_at(asio::steady_timer::time_point::min());  // cancels; nothing scheduled
  }
  // Every shared listener stops before the pools close: a lent endpoint goes back to its owner
  // without our QUIC listener on it (its owner may listen there again), and pending accepts fail.
  for (auto& [key, entry] : table) {
    entry.listener->close();
  }
  if (reuse6) {
    reuse6->close();
  }
  if (reuse4) {
    reuse4->close();
  }
  for (const auto& tr : owned) {
    tr->close();
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Options

namespace options {

ConnManagerOption disable_reuseport() {
  return [](ConnManagerConfig& c) -> Result<void> {
    c.reuse = false;
    return {};
  };
}
ConnManagerOption override_listen_udp(decltype(ConnManagerConfig::listen_udp) fn) {
  return [fn = std::move(fn)](ConnManagerConfig& c) -> Result<void> {
    c.listen_udp = fn;
    return {};
  };
}
ConnManagerOption override_source_ip_selector(decltype(ConnManagerConfig::source_ip_selector) fn) {
  return [fn = std::move(fn)](ConnManagerConfig& c) -> Result<void> {
    c.source_ip_selector = fn;
    return {};
  };
}
ConnManagerOption conn_context(decltype(ConnManagerConfig::conn_context) fn) {
  return [fn = std::move(fn)](ConnManagerConfig& c) -> Result<void> {
    if (c.conn_context) {
      return detail::fail_with(errc::invalid_argument, "conn context can only be set once");
    }
    c.conn_context = fn;
    return {};
  };
}
ConnManagerOption verify_source_address(decltype(ConnManagerConfig::verify_source_address) fn) {
  return [fn = std::move(fn)](ConnManagerConfig& c) -> Result<void> {
    c.verify_source_address = fn;  // later calls overwrite earlier ones, as in the seed
    return {};
  };
}
ConnManagerOption enable_metrics(std::shared_ptr<MetricsRegistry> registry) {
  return [registry = std::move(registry)](ConnManagerConfig& c) -> Result<void> {
    c.metrics = true;
    c.registry = registry;
    return {};
  };
}
ConnManagerOption disable_metrics() {
  return [](ConnManagerConfig& c) -> Result<void> {
    c.metrics = false;
    return {};
  };
}
ConnManagerOption qlog_dir(std::filesystem::path dir) {
  return [dir = std::move(dir)](ConnManagerConfig& c) -> Result<void> {
    c.qlog_dir = dir;
    return {};
  };
}
ConnManagerOption garbage_collection(std::chrono::milliseconds interval,
                                     std::chrono::milliseconds max_unused) {
  return [interval, max_unused](ConnManagerConfig& c) -> Result<void> {
    if (interval.count() <= 0 || max_unused.count() < 0) {
      return detail::fail_with(errc::invalid_argument, "garbage collection timing must be > 0");
    }
    c.gc_interval = interval;
    c.max_unused = max_unused;
    return {};
  };
}
ConnManagerOption transport_config(TransportConfig config) {
  return [config](ConnManagerConfig& c) -> Result<void> {
    c.transport = config;
    return {};
  };
}

}  // namespace options

// ---------------------------------------------------------------------------------------------
// ConnManager

Result<std::shared_ptr<ConnManager>> ConnManager::create(
    const asio::any_io_executor& executor, const Key& stateless_reset_key, const Key& token_key,
    const std::vector<ConnManagerOption>& opts) {
  auto state = std::make_shared<detail::ManagerState>();
  state->executor = executor;
  state->reset_key = stateless_reset_key;
  state->token_key = token_key;
  for (const auto& option : opts) {
    if (auto ok = option(state->config); !ok) {
      return fail(ok.error());
    }
  }
  if (state->config.reuse) {
    auto weak = std::weak_ptr<detail::ManagerState>(state);
    auto listen = [weak](std::string_view network) {
      return [weak, network](const asio::ip::udp::endpoint& local) -> Result<detail::BoundSocket> {
        auto s = weak.lock();
        if (!s) {
          return fail(errc::endpoint_closed);
        }
        return s->bind(network, local);
      };
    };
    auto selector = state->config.source_ip_selector;
    detail::Reuse::SelectorFactory factory =
        selector
            ? detail::Reuse::SelectorFactory(selector)
            : detail::Reuse::SelectorFactory([]() -> Result<std::shared_ptr<SourceIpSelector>> {
                return make_kernel_source_ip_selector();
              });
    state->reuse4 =
        std::make_unique<detail::Reuse>(detail::Reuse::Family::v4, listen("udp4"), factory);
    state->reuse6 =
        std::make_unique<detail::Reuse>(detail::Reuse::Family::v6, listen("udp6"), factory);
    state->gc_timer = std::make_unique<asio::steady_timer>(executor);
    state->schedule_gc();
  }
  if (state->config.metrics) {
    if (!state->config.registry) {
      state->config.registry = std::make_shared<MetricsRegistry>();
    }
    state->metrics_collector = state->config.registry->add_collector(
        [weak = std::weak_ptr<detail::ManagerState>(state)](MetricsWriter& writer) {
          if (auto s = weak.lock()) {
            s->assert_confined();  // scrapes read the manager's state
            detail::collect_manager_metrics(*s, writer);
          }
        });
  }
  return detail::Access::make_shared<ConnManager>(std::move(state));
}

ConnManager::ConnManager(std::shared_ptr<detail::ManagerState> state) : state_(std::move(state)) {}

ConnManager::~ConnManager() {
  try {
    close();
  } catch (...) {  // NOLINT(bugprone-empty-catch): close() only closes sockets and a timer;
  }                // a destructor must not throw whatever happens
}

Result<std::unique_ptr<Listener>> ConnManager::listen_quic(const Multiaddr& address,
                                                           const TlsServerConfig& tls,
                                                           const AllowWindowIncrease& allow) {
  return listen_quic_and_associate(Association{}, address, tls, allow);
}

Result<std::unique_ptr<Listener>> ConnManager::listen_quic_and_associate(
    const Association& association, const Multiaddr& address, const TlsServerConfig& tls,
    const AllowWindowIncrease& allow) {
  auto& s = *state_;
  s.assert_confined();
  std::string why;
  auto listen_address = to_listen_address(address, &why);
  if (!listen_address) {
    return detail::fail_with(listen_address.error(), "bad listen address: " + why);
  }
  const std::string network = listen_address->network;
  if (s.config.reuse && s.reuse_for(network) == nullptr) {
    return detail::fail_with(errc::invalid_argument, "invalid network: " + network);
  }
  if (auto open = s.ensure_open(); !open) {
    return fail(open.error());
  }
  std::string key = detail::address_key(listen_address->endpoint);
  std::shared_ptr<detail::QuicListener> listener;
  bool created = false;
  if (auto entry = s.listeners.find(key); entry != s.listeners.end()) {
    listener = entry->second.listener;
  } else {
    auto started = s.start_listener(network, listen_address->endpoint, tls.cipher_suites);
    if (!started) {
      return fail(started.error());
    }
    listener = std::move(*started);
    created = true;
    key = listener->key;  // port-0 listens are keyed by the real port
  }
  // Go's onRemove: the sub-listener tells the manager when it goes, by closure.
  auto on_remove = [weak = std::weak_ptr<detail::ManagerState>(state_),
                    shared = std::weak_ptr<detail::QuicListener>(listener)] {
    auto manager = weak.lock();
    auto ql = shared.lock();
    if (manager && ql) {
      manager->listener_closed(*ql);
    }
  };
  auto sub = listener->add(association, tls, allow, s.next_listener_id++, std::move(on_remove));
  if (!sub) {
    if (created) {
      listener->close();
    }
    return fail(sub.error());
  }
  auto& slot = s.listeners[key];
  slot.listener = listener;
  ++slot.refcount;
  return detail::Access::make_unique<Listener>(*sub);
}

std::vector<std::uint32_t> ConnManager::protocols() const {
  return {quic_v1_protocol_code()};
}

const TransportConfig& ConnManager::client_config() const {
  return state_->config.transport;
}

const std::string& ConnManager::last_error() {
  return detail::t_last_error;
}

std::shared_ptr<MetricsRegistry> ConnManager::metrics() const {
  return state_->config.registry;
}

void ConnManager::collect_garbage() {
  state_->assert_confined();
  state_->collect_garbage();
}

void ConnManager::close() {
  state_->assert_confined();
  state_->close();
}

}  // namespace quicreuse
