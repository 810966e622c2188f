// Endpoint (public handle).
#include "core/transport_limits.hpp"
#include "io/endpoint_state.hpp"
#include "io/qlog_file.hpp"
#include "io/udp_send.hpp"

#include <quicreuse/endpoint.hpp>

#include <cstdlib>

namespace quicreuse {
namespace {

core::EndpointConfig core_config_of(const EndpointConfig& config) {
  core::SystemRng rng;
  core::EndpointConfig c;
  if (config.stateless_reset_key) {
    c.reset_key = *config.stateless_reset_key;
  } else {
    rng.fill(c.reset_key);
  }
  if (config.token_key) {
    c.token_key = *config.token_key;
  } else {
    rng.fill(c.token_key);
  }
  c.transport = config.transport;
  c.cid_length = config.connection_id_length;
  c.max_connections = config.max_connections;
  c.max_packets_per_write = detail::kMaxGsoSegments;
  c.accept_queue = config.accept_queue;
  c.max_buffered_stream_data = config.max_buffered_stream_data;
  c.max_half_open = config.max_half_open_connections;
  std::optional<std::filesystem::path> qlog_dir = config.qlog_dir;
  if (!qlog_dir) {
    // Read once per endpoint creation; nothing in the library modifies the environment.
    if (const char* env = std::getenv("QLOGDIR");  // NOLINT(concurrency-mt-unsafe)
        env != nullptr && *env != '\0') {
      qlog_dir = env;
    }
  }
  if (qlog_dir && !qlog_dir->empty()) {
    c.qlog = detail::file_qlog_factory(*qlog_dir);
  }
  if (config.verify_source_address) {
    c.verify_source_address = [f = config.verify_source_address](const core::SocketAddress& a) {
      return f(detail::to_asio(a));
    };
  }
  if (config.connection_context) {
    c.connection_context = [f = config.connection_context](const core::SocketAddress& a,
                                                           bool validated) {
      return f(IncomingConnectionInfo{detail::to_asio(a), validated});
    };
  }
  return c;
}

// Asio's standalone system category does not compare equal to std::errc conditions; report OS
// errors in std::system_category() so that `ec == std::errc::address_in_use` works.
std::error_code normalize(std::error_code ec) {
  if (ec.category() == asio::error::get_system_category()) {
    return {ec.value(), std::system_category()};
  }
  return ec;
}

bool valid_config(const EndpointConfig& config) {
  return config.connection_id_length >= 4 && config.connection_id_length <= 20 &&
         config.max_connections > 0 && core::valid_transport_config(config.transport);
}

}  // namespace

Result<Endpoint> Endpoint::bind(const executor_type& executor, const asio::ip::udp::endpoint& local,
                                EndpointConfig config) {
  if (!valid_config(config)) {
    return fail(errc::invalid_argument);
  }
  asio::ip::udp::socket socket(executor);
  std::error_code ec;
  socket.open(local.protocol(), ec);
  if (ec) {
    return fail(normalize(ec));
  }
  if (local.address().is_v6()) {
    // udp6 sockets are IPv6-only, so 0.0.0.0:P and [::]:P can coexist (spec section 2.1).
    socket.set_option(asio::ip::v6_only(true), ec);
    if (ec) {
      return fail(normalize(ec));
    }
  }
  socket.bind(local, ec);
  if (ec) {
    return fail(normalize(ec));
  }
  return adopt(std::move(socket), std::move(config));
}

Result<Endpoint> Endpoint::adopt(asio::ip::udp::socket socket, EndpointConfig config) {
  if (!valid_config(config) || !socket.is_open()) {
    return fail(errc::invalid_argument);
  }
  std::error_code ec;
  const auto local = socket.local_endpoint(ec);
  if (ec || local.port() == 0) {
    return fail(errc::invalid_argument);
  }
  if (config.receive_buffer_size > 0) {
    socket.set_option(asio::socket_base::receive_buffer_size(config.receive_buffer_size), ec);
  }
  if (config.send_buffer_size > 0) {
    socket.set_option(asio::socket_base::send_buffer_size(config.send_buffer_size), ec);
  }
  auto core_config = core_config_of(config);
  auto state = std::make_shared<detail::EndpointState>(std::move(socket), std::move(core_config),
                                                       std::move(config));
  state->start();
  return Endpoint(std::move(state));
}

Endpoint& Endpoint::operator=(Endpoint&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::move(other.state_);
  }
  return *this;
}

Endpoint::~Endpoint() {
  close();
}

Endpoint::executor_type Endpoint::get_executor() const {
  return state_->executor;
}

Result<void> Endpoint::listen(TlsServerConfig tls, ListenOptions options) {
  if (!state_ || state_->closed) {
    return fail(errc::endpoint_closed);
  }
  std::function<bool(const core::Connection&, std::uint64_t)> policy;
  if (options.allow_window_increase) {
    policy = [f = std::move(options.allow_window_increase)](const core::Connection& c,
                                                            std::uint64_t delta) {
      return f(c.alpn(), detail::to_asio(c.remote()), delta);
    };
  }
  if (options.on_stopped && !options.on_ready) {
    return fail(errc::invalid_argument);
  }
  auto r = state_->core_endpoint->listen(std::make_shared<TlsServerConfig>(std::move(tls)),
                                         std::move(policy));
  if (r) {
    state_->ready_handler = std::move(options.on_ready);
    state_->stopped_handler = std::move(options.on_stopped);
  }
  return r;
}

void Endpoint::stop_listening() {
  if (state_ && !state_->closed) {
    state_->core_endpoint->stop_listening();
    state_->schedule_flush();  // the refusals of handshakes under way
    const std::error_code ec = make_error_code(errc::listener_closed);
    state_->listening_stopped(ec);
    state_->accept_waiters.fail_all(ec);
  }
}

std::optional<Connection> Endpoint::try_accept() {
  if (!state_ || state_->closed || state_->ready_handler) {
    return std::nullopt;
  }
  while (auto handle = state_->core_endpoint->accept()) {
    if (core::Connection* conn = state_->core_endpoint->find(*handle); conn != nullptr) {
      return state_->adopt_ready(*handle, *conn);
    }
  }
  return std::nullopt;
}

void Endpoint::start_accept(const std::shared_ptr<detail::EndpointState>& s,
                            detail::ConnectionCompletion c) {
  if (s->closed) {
    c.complete(make_error_code(errc::endpoint_closed), Connection{});
    return;
  }
  if (!s->core_endpoint->listening()) {
    c.complete(make_error_code(errc::not_listening), Connection{});
    return;
  }
  if (s->ready_handler) {
    c.complete(make_error_code(errc::invalid_argument), Connection{});  // push-style listener
    return;
  }
  const std::uint64_t id = s->next_op_id();
  c.on_cancel([weak = std::weak_ptr<detail::EndpointState>(s), id] {
    if (auto st = weak.lock()) {
      st->cancel_accept(id);
    }
  });
  s->accept_waiters.push({id, std::move(c)});
  s->accept_ready();
}

void Endpoint::start_dial(const std::shared_ptr<detail::EndpointState>& s,
                          const asio::ip::udp::endpoint& remote, const TlsClientConfig& tls,
                          DialOptions options, detail::ConnectionCompletion c) {
  if (s->closed) {
    c.complete(make_error_code(errc::endpoint_closed), Connection{});
    return;
  }
  auto context = core::make_client_tls_context(tls);
  if (!context) {
    c.complete(context.error(), Connection{});
    return;
  }
  const core::SocketAddress to = detail::to_core(remote);
  auto handle = s->core_endpoint->connect(detail::now(), to, *context, s->source_for(to));
  if (!handle) {
    c.complete(handle.error(), Connection{});
    return;
  }
  auto st = std::make_shared<detail::ConnectionState>(s, *handle, s->executor);
  st->is_client = true;
  st->local = detail::to_asio(s->core_endpoint->find(*handle)->local());
  st->remote = remote;
  s->connections.emplace(*handle, st);
  if (options.allow_window_increase) {
    core::Connection* conn = s->core_endpoint->find(*handle);
    // The policy lives in the connection it looks at: the pointer never outlives it.
    conn->set_window_increase_policy([f = std::move(options.allow_window_increase), conn](
                                         std::uint64_t delta) { return f(conn->alpn(), delta); });
  }
  const std::uint64_t id = s->next_op_id();
  c.on_cancel([weak = std::weak_ptr<detail::EndpointState>(s), id] {
    if (auto state = weak.lock()) {
      state->cancel_dial(id);
    }
  });
  s->dials.push({id, *handle, std::move(c)});
  s->process();
}

void Endpoint::start_read_non_quic(const std::shared_ptr<detail::EndpointState>& s,
                                   asio::mutable_buffer b, detail::PacketCompletion c) {
  if (s->closed) {
    c.complete(make_error_code(errc::endpoint_closed), 0, asio::ip::udp::endpoint{});
    return;
  }
  s->non_quic_reader_seen = true;
  if (!s->non_quic_queue.empty() && s->non_quic_readers.empty()) {
    auto d = std::move(s->non_quic_queue.front());
    s->non_quic_queue.pop_front();
    const std::size_t n = std::min(b.size(), d.bytes.size());
    std::memcpy(b.data(), d.bytes.data(), n);
    ++s->non_quic_delivered;
    c.complete({}, n, d.from);
    return;
  }
  const std::uint64_t id = s->next_op_id();
  c.on_cancel([weak = std::weak_ptr<detail::EndpointState>(s), id] {
    if (auto st = weak.lock()) {
      st->cancel_non_quic(id);
    }
  });
  s->non_quic_readers.push({id, b, std::move(c)});
}

Result<std::size_t> Endpoint::write_to(std::span<const std::uint8_t> datagram,
                                       const asio::ip::udp::endpoint& remote) {
  if (!state_ || state_->closed) {
    return fail(errc::endpoint_closed);
  }
  std::error_code ec;
  const std::size_t n =
      state_->socket.send_to(asio::buffer(datagram.data(), datagram.size()), remote, 0, ec);
  if (ec) {
    return fail(normalize(ec));
  }
  ++state_->datagrams_sent;
  state_->bytes_sent += n;
  return n;
}

asio::ip::udp::endpoint Endpoint::local_endpoint() const {
  return state_ ? state_->local : asio::ip::udp::endpoint{};
}

bool Endpoint::is_open() const noexcept {
  return state_ && !state_->closed;
}

bool Endpoint::is_listening() const noexcept {
  return is_open() && state_->core_endpoint->listening();
}

std::size_t Endpoint::connection_count() const {
  return is_open() ? state_->core_endpoint->connection_count() : 0;
}

EndpointStats Endpoint::stats() const {
  EndpointStats out;
  if (!state_) {
    return out;
  }
  const core::EndpointStats& s = state_->core_endpoint->stats();
  out.datagrams_received = s.datagrams_received;
  out.bytes_received = s.bytes_received;
  out.datagrams_sent = state_->datagrams_sent;
  out.bytes_sent = state_->bytes_sent;
  out.send_errors = state_->send_errors;
  out.write_blocked = state_->write_blocked;
  out.send_queue_dropped = state_->send_queue_dropped;
  out.non_quic_received = s.non_quic_received;
  out.non_quic_delivered = state_->non_quic_delivered;
  out.non_quic_dropped = state_->non_quic_dropped;
  out.version_negotiations_sent = s.version_negotiations_sent;
  out.retries_sent = s.retries_sent;
  out.retries_for_half_open = s.retries_for_half_open;
  out.connections_half_open = state_->core_endpoint->half_open_count();
  out.half_open_peak = s.half_open_peak;
  out.memory_releases = state_->memory_releases;
  out.stateless_resets_sent = s.stateless_resets_sent;
  out.stateless_resets_received = s.stateless_resets_received;
  out.connections_incoming = s.connections_incoming;
  out.connections_accepted = s.connections_accepted;
  out.connections_dialed = s.connections_dialed;
  out.connections_refused = s.connections_refused;
  out.connections_closed = s.connections_closed;
  out.connections_open = state_->core_endpoint->connection_count();
  const core::BufferBudget& budget = state_->core_endpoint->buffer_budget();
  out.buffered_send_bytes = budget.send_bytes();
  out.buffered_receive_bytes = budget.receive_bytes();
  out.window_growth_bytes = budget.window_growth();
  out.window_increases_refused = budget.window_growth_refused();
  out.stream_credits_deferred = budget.deferred_streams();
  static constexpr const char* kReasons[] = {"open",
                                             "transport",
                                             "application",
                                             "idle_timeout",
                                             "handshake_timeout",
                                             "stateless_reset",
                                             "endpoint_closed",
                                             "internal"};
  for (std::size_t role = 0; role < 2; ++role) {
    for (std::size_t kind = 1; kind < core::kCloseKinds; ++kind) {
      out.connections_closed_by_reason.push_back(
          {role == 0 ? "outgoing" : "incoming", kReasons[kind], s.closed_by_kind[role][kind]});
    }
    EndpointStats::Histogram& h = role == 0 ? out.handshake_outgoing : out.handshake_incoming;
    h.bounds.assign(core::kHandshakeBuckets.begin(), core::kHandshakeBuckets.end());
    h.counts.assign(s.handshake_buckets[role].begin(), s.handshake_buckets[role].end());
    h.sum = s.handshake_seconds[role];
    h.count = s.handshakes[role];
  }
  for (std::size_t i = 0; i < s.dropped.size(); ++i) {
    out.quic_dropped += s.dropped[i];
    out.dropped_by_reason.emplace_back(
        std::string(core::to_string(static_cast<core::DropReason>(i))), s.dropped[i]);
  }
  return out;
}

void Endpoint::close() {
  if (state_) {
    state_->close();
  }
}

}  // namespace quicreuse
