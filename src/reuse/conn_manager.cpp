// ConnManager: listen, dial, leases, lending, garbage collection. Port of
// quicreuse/connmgr.go (with the decisions of spec section D).
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

const std::shared_ptr<Endpoint>& endpoint_of(const RefcountedTransport& transport) {
  return static_cast<const ManagedEndpoint&>(*transport.transport()).endpoint();
}

ManagerState::~ManagerState() {
  if (config.registry && metrics_collector != 0) {
    config.registry->remove_collector(metrics_collector);
  }
}

Result<void> ManagerState::ensure_open() {
  const std::lock_guard lock(mutex);
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
  {
    const std::lock_guard lock(limiter_mutex);
    if (!limiter.try_take(at)) {
      return true;  // over 1000 unverified new connections/s: force a Retry (spec 5.3)
    }
  }
  return config.verify_source_address ? config.verify_source_address(remote) : false;
}

Result<std::shared_ptr<PooledTransport>> ManagerState::bind(std::string_view network,
                                                            const asio::ip::udp::endpoint& local) {
  auto socket = config.listen_udp ? config.listen_udp(network, local)
                                  : default_listen_udp(executor, network, local);
  if (!socket) {
    std::string what = socket.error().message();
    return fail_with(socket.error(), "cannot bind " + address_key(local) + ": " + what);
  }
  auto endpoint = Endpoint::adopt(std::move(*socket), endpoint_config());
  if (!endpoint) {
    return fail_with(endpoint.error(), "cannot use the socket for " + address_key(local));
  }
  return std::make_shared<ManagedEndpoint>(std::make_shared<Endpoint>(std::move(*endpoint)), false);
}

void ManagerState::release(const std::shared_ptr<RefcountedTransport>& transport) {
  transport->decrease_count(std::chrono::steady_clock::now());
  if (!config.reuse && transport->ref_count() <= 0) {
    transport->close();  // D8: a single-owner endpoint's socket closes with it
    const std::lock_guard lock(mutex);
    std::erase_if(single_owner, [&](const std::weak_ptr<RefcountedTransport>& w) {
      auto tr = w.lock();
      return !tr || tr == transport;  // its last user is gone: forget it
    });
  }
}

void ManagerState::listener_closed(const QuicListener& listener) {
  std::shared_ptr<QuicListener> doomed;
  {
    const std::lock_guard lock(mutex);
    auto it = listeners.find(listener.key);
    if (it == listeners.end() || it->second.listener.get() != &listener) {
      return;  // already deregistered (stopped, or the manager closed); maybe replaced since
    }
    if (--it->second.refcount <= 0) {
      doomed = it->second.listener;
      listeners.erase(it);
    }
  }
  if (doomed) {
    doomed->close();  // the last protocol on this address: release the socket
  }
}

void ManagerState::listener_stopped(const QuicListener& listener, bool endpoint_gone) {
  {
    const std::lock_guard lock(mutex);
    auto it = listeners.find(listener.key);
    if (it != listeners.end() && it->second.listener.get() == &listener) {
      listeners.erase(it);
    }
  }
  release(listener.transport);
  if (endpoint_gone) {
    if (Reuse* reuse = reuse_for(listener.address.address().is_v4() ? "udp4" : "udp6")) {
      reuse->forget(listener.transport);
    }
    listener.transport->close();  // a lent endpoint: the done signal; ours: already closed
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
    const auto now = std::chrono::steady_clock::now();
    self->reuse4->collect_garbage(now, self->config.max_unused);
    self->reuse6->collect_garbage(now, self->config.max_unused);
    self->schedule_gc();
  });
}

void ManagerState::close() {
  std::vector<std::shared_ptr<RefcountedTransport>> owned;
  std::map<std::string, ListenerEntry> table;
  {
    const std::lock_guard lock(mutex);
    if (closed) {
      return;  // D5
    }
    closed = true;
    for (auto& weak : single_owner) {
      if (auto tr = weak.lock()) {
        owned.push_back(tr);
      }
    }
    single_owner.clear();
    table.swap(listeners);
  }
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
      return [weak, network](const asio::ip::udp::endpoint& local)
                 -> Result<std::shared_ptr<detail::PooledTransport>> {
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
            detail::collect_manager_metrics(*s, writer);
          }
        });
  }
  return std::make_shared<ConnManager>(std::move(state));
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
  std::string why;
  auto listen_address = to_listen_address(address, &why);
  if (!listen_address) {
    return detail::fail_with(listen_address.error(), "bad listen address: " + why);
  }
  const std::string network = listen_address->network;
  if (s.config.reuse && s.reuse_for(network) == nullptr) {
    return detail::fail_with(errc::invalid_argument, "invalid network: " + network);
  }
  std::unique_lock lock(s.mutex);
  if (s.closed) {
    return detail::fail_with(errc::endpoint_closed, "the connection manager is closed");
  }
  std::string key = detail::address_key(listen_address->endpoint);
  auto entry = s.listeners.find(key);
  std::shared_ptr<detail::QuicListener> created;
  std::shared_ptr<detail::QuicListener> listener;
  if (entry != s.listeners.end()) {
    listener = entry->second.listener;
  } else {
    Result<std::shared_ptr<detail::RefcountedTransport>> transport = fail(errc::invalid_argument);
    if (s.config.reuse) {
      transport = s.reuse_for(network)->transport_for_listen(listen_address->endpoint);
    } else {
      auto bound = s.bind(network, listen_address->endpoint);
      if (bound) {
        auto tr = std::make_shared<detail::RefcountedTransport>(std::move(*bound));
        tr->increase_count();
        s.single_owner.push_back(tr);
        transport = tr;
      } else {
        transport = fail(bound.error());
      }
    }
    if (!transport) {
      return detail::fail_with(transport.error(),
                               "cannot listen on " + key + ": " + transport.error().message());
    }
    created = std::make_shared<detail::QuicListener>();
    created->manager = state_;
    created->transport = *transport;
    created->endpoint = detail::endpoint_of(**transport);
    created->address = (*transport)->local_endpoint();
    created->key = detail::address_key(created->address);
    auto multiaddr = to_quic_multiaddr(created->address);
    if (!multiaddr) {
      s.release(*transport);
      return detail::fail_with(multiaddr.error(), "cannot describe " + created->key);
    }
    created->multiaddr = *multiaddr;
    created->cipher_suites = tls.cipher_suites;
    if (auto started = created->start(); !started) {
      s.release(*transport);  // (the seed leaks this reference)
      return fail(started.error());
    }
    listener = created;
    key = created->key;  // port-0 listens are keyed by the real port
  }
  auto sub = listener->add(association, tls, allow, s.next_listener_id++);
  if (!sub) {
    if (created) {
      lock.unlock();
      created->close();
    }
    return fail(sub.error());
  }
  auto& slot = s.listeners[key];
  slot.listener = listener;
  ++slot.refcount;
  return std::make_unique<Listener>(*sub);
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
  if (state_->reuse4) {
    const auto now = std::chrono::steady_clock::now();
    state_->reuse4->collect_garbage(now, state_->config.max_unused);
    state_->reuse6->collect_garbage(now, state_->config.max_unused);
  }
}

void ConnManager::close() {
  state_->close();
}

}  // namespace quicreuse
