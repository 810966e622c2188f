// ConnManager: every QUIC socket of a node, shared by its protocols and its dials. The C++
// counterpart of go-libp2p's quicreuse.ConnManager.
#pragma once

#include <quicreuse/association.hpp>
#include <quicreuse/connection.hpp>
#include <quicreuse/endpoint.hpp>
#include <quicreuse/error.hpp>
#include <quicreuse/listener.hpp>
#include <quicreuse/multiaddr.hpp>
#include <quicreuse/non_quic_packet_conn.hpp>
#include <quicreuse/source_ip_selector.hpp>
#include <quicreuse/tls.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quicreuse {

class MetricsRegistry;

namespace detail {
struct Access;
struct ManagerState;
struct ConnManagerTestPeer;
class TransportRef;
}  // namespace detail

// WindowIncreaseRequest names the connection whose flow-control window would grow.
struct WindowIncreaseRequest {
  std::string_view alpn;
  asio::ip::udp::endpoint remote;
  std::uint64_t delta = 0;  // bytes
};
// AllowWindowIncrease is asked before a connection's flow-control window grows; false keeps the
// window. An empty function means "always allow" (decision D3).
using AllowWindowIncrease = std::function<bool(const WindowIncreaseRequest& request)>;

// ConnManagerConfig holds the manager's settings; build it with the option functions below
// (the seed's functional options), which check what they are given.
struct ConnManagerConfig {
  bool reuse = true;
  // Binds every socket (listen and dial); network is "udp4" or "udp6". Default: a plain bind
  // (IPv6 sockets are v6-only). The socket must use the manager's executor: its endpoint calls
  // back into the manager (checked in debug builds).
  std::function<Result<asio::ip::udp::socket>(std::string_view network,
                                              const asio::ip::udp::endpoint& local)>
      listen_udp;
  // Builds the route selector; default: make_kernel_source_ip_selector().
  std::function<Result<std::shared_ptr<SourceIpSelector>>()> source_ip_selector;
  // Accepted connections only: an error refuses (CONNECTION_REFUSED), a value is attached.
  std::function<Result<std::any>(const IncomingConnectionInfo&)> conn_context;
  // User predicate "force a Retry for this source", under the manager's 1000/s token bucket.
  std::function<bool(const asio::ip::udp::endpoint&)> verify_source_address;
  bool metrics = true;
  std::shared_ptr<MetricsRegistry> registry;      // default: a registry of the manager's own
  std::optional<std::filesystem::path> qlog_dir;  // default: $QLOGDIR
  std::chrono::milliseconds gc_interval{30'000};
  std::chrono::milliseconds max_unused{10'000};
  TransportConfig transport;
};

// ConnManagerOption changes a config, or fails (the first failing option aborts creation).
using ConnManagerOption = std::function<Result<void>(ConnManagerConfig&)>;
namespace options {
// Turns reuse off: every listen and every dial gets its own socket; no sharing, no GC.
ConnManagerOption disable_reuseport();
ConnManagerOption override_listen_udp(decltype(ConnManagerConfig::listen_udp) fn);
ConnManagerOption override_source_ip_selector(decltype(ConnManagerConfig::source_ip_selector) fn);
// Sets the connection-context hook. Errors: errc::invalid_argument when set a second time.
ConnManagerOption conn_context(decltype(ConnManagerConfig::conn_context) fn);
ConnManagerOption verify_source_address(decltype(ConnManagerConfig::verify_source_address) fn);
ConnManagerOption enable_metrics(std::shared_ptr<MetricsRegistry> registry = nullptr);
ConnManagerOption disable_metrics();
ConnManagerOption qlog_dir(std::filesystem::path dir);
// Garbage-collection timing (30 s / 10 s by default; tests use milliseconds).
ConnManagerOption garbage_collection(std::chrono::milliseconds interval,
                                     std::chrono::milliseconds max_unused);
ConnManagerOption transport_config(TransportConfig config);
}  // namespace options

// TransportLease is a counted reference to the socket a dial would use (the seed's
// RefCountedQUICTransport as handed out by TransportForDial): hole punching writes raw
// datagrams from it. It holds exactly one reference while non-empty: moving hands it over (the
// source becomes empty), and release() or the destructor drops it, so a lease can neither leak
// its reference nor drop it twice. Made by ConnManager::transport_for_dial; confined to the
// manager's executor, like the manager.
class TransportLease {
 public:
  // An empty lease (holds nothing; write_to fails with errc::endpoint_closed).
  TransportLease() noexcept;
  TransportLease(const TransportLease&) = delete;
  TransportLease& operator=(const TransportLease&) = delete;
  TransportLease(TransportLease&& other) noexcept;
  // Drops this lease's reference, then takes other's.
  TransportLease& operator=(TransportLease&& other) noexcept;
  ~TransportLease();

  // Returns the leased socket's bound address (empty lease: the default endpoint).
  [[nodiscard]] asio::ip::udp::endpoint local_endpoint() const;
  // Sends a raw datagram from the leased socket. Errors: errc::endpoint_closed (empty lease or
  // closed socket), the socket's error.
  Result<std::size_t> write_to(std::span<const std::uint8_t> datagram,
                               const asio::ip::udp::endpoint& remote);
  // Returns the endpoint (to dial or listen on it directly); valid while the lease is held. The
  // lease must not be empty.
  [[nodiscard]] Endpoint& endpoint() const;
  // Returns the socket's current reference count (tests, diagnostics); 0 for an empty lease.
  [[nodiscard]] int ref_count() const;
  // Drops the reference now; the lease becomes empty. Idempotent.
  void release();
  // True while the lease holds its reference.
  [[nodiscard]] explicit operator bool() const noexcept;

 private:
  friend class ConnManager;
  explicit TransportLease(std::unique_ptr<detail::TransportRef> ref) noexcept;
  std::unique_ptr<detail::TransportRef> ref_;
};

// DoneSignal fires once when the manager is finished with a lent endpoint. Unlike the rest of
// the manager it may be used from any thread: the manager fires it on its executor while the
// endpoint's owner asks from its own.
class DoneSignal {
 public:
  // Returns whether the manager is done with the endpoint.
  [[nodiscard]] bool fired() const;
  // Runs callback once after the signal fires, always posted to the manager's executor: never
  // inline in on_fired() (even when the signal has fired already) and never inside the manager
  // call that fires it (close(), garbage collection), so the callback may use the manager and the
  // endpoint freely. A callback still waiting holds no work on the executor; when the executor
  // never runs again, it never runs.
  void on_fired(std::function<void()> callback);
  struct State;  // library internal

 private:
  friend struct detail::Access;  // built by ConnManager::lend_transport
  explicit DoneSignal(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// ConnManager owns the UDP sockets used for QUIC: it lets several protocols listen on one
// socket (routed by ALPN, each with its own TLS identity), lets dials leave from listening
// sockets (preferring the socket of the dialer's association), and lends sockets to non-QUIC
// users (spec sections 1-5; decisions D1-D16).
//
// Threading (D16): the manager and everything it hands out (Listeners, TransportLeases,
// NonQuicPacketConns, the endpoints it binds) are confined to its executor, like Asio's I/O
// objects: call them from that executor (a strand when the io_context runs on several threads),
// or from a thread that runs no event loop (setting up before io_context::run(), tearing down
// after it). Debug builds assert it; nothing takes a lock. create() may be called from any
// thread. The exceptions are DoneSignal (any thread) and MetricsRegistry::render(): the
// manager's collector reads its state, so scrape a manager's registry on its executor. Lifetime:
// close() (or destruction) closes every socket it owns; lent endpoints are returned through their
// DoneSignal, never closed.
class ConnManager {
 public:
  using Key = std::array<std::uint8_t, 32>;

  // Creates a manager; options run in order and the first failure aborts creation.
  static Result<std::shared_ptr<ConnManager>> create(
      const asio::any_io_executor& executor, const Key& stateless_reset_key, const Key& token_key,
      const std::vector<ConnManagerOption>& options = {});
  ConnManager(const ConnManager&) = delete;
  ConnManager& operator=(const ConnManager&) = delete;
  ConnManager(ConnManager&&) = delete;
  ConnManager& operator=(ConnManager&&) = delete;
  ~ConnManager();

  // Listens for tls's ALPNs on address (no /quic-v1 required; /tcp and bad addresses fail).
  // Protocols listening on the same bound address share one socket, and so one list of cipher
  // suites (tls.cipher_suites): the first listen on the address sets it, later ones must give the
  // same list. Errors: errc::invalid_argument (address, "no ALPN found in tls config", "cipher
  // suites differ from those of the other protocols on this address", a repeated suite),
  // errc::already_listening ("already listening for protocol X", see last_error()), the bind's
  // error.
  Result<std::unique_ptr<Listener>> listen_quic(const Multiaddr& address,
                                                const TlsServerConfig& tls,
                                                const AllowWindowIncrease& allow = {});
  // As listen_quic, tagging the socket with association for this listener's lifetime.
  Result<std::unique_ptr<Listener>> listen_quic_and_associate(
      const Association& association, const Multiaddr& address, const TlsServerConfig& tls,
      const AllowWindowIncrease& allow = {});

  // Dials a /quic-v1 multiaddr from the socket the reuse algorithm picks (preferring
  // association's). The socket reference is released when the connection closes (D2). A /dns,
  // /dns4 or /dns6 host is resolved asynchronously (the executor keeps running meanwhile), for
  // at most the transport's handshake_idle_timeout; cancelling the dial abandons the lookup.
  // Errors: errc::invalid_argument ("unknown QUIC version" for /quic, not a quic-v1 address),
  // the resolver's error (asio::error::host_not_found, std::errc::timed_out), bind errors,
  // handshake failures.
  asio::awaitable<Result<Connection>> dial_quic(Multiaddr address, TlsClientConfig tls,
                                                AllowWindowIncrease allow = {},
                                                Association association = {});

  // Returns the socket a dial to remote would use, counted (released by the lease).
  // network: "udp4" or "udp6" (errors otherwise with reuse on).
  Result<TransportLease> transport_for_dial(std::string_view network,
                                            const asio::ip::udp::endpoint& remote);
  Result<TransportLease> transport_with_association_for_dial(const Association& association,
                                                             std::string_view network,
                                                             const asio::ip::udp::endpoint& remote);

  // Returns a non-QUIC view of the socket of the QUIC listener bound exactly at local. Errors:
  // errc::not_listening ("the QUIC listener should start first"), errc::invalid_argument with
  // reuse disabled.
  Result<std::unique_ptr<NonQuicPacketConn>> shared_non_quic_packet_conn(
      std::string_view network, const asio::ip::udp::endpoint& local);

  // Lends an application-built endpoint (bound to a wildcard address, on the manager's
  // executor) to the manager for dials and listens; the signal fires when the manager is done with
  // it (close(), garbage collection, or its owner closing it while a listener used it). The manager
  // never closes it. Errors: errc::endpoint_closed ("the connection manager is closed"),
  // errc::invalid_argument (network, specific IP, port already lent, reuse disabled (D10)).
  Result<DoneSignal> lend_transport(std::string_view network, std::shared_ptr<Endpoint> endpoint);

  // Returns the multiaddr protocol codes the manager supports: quic-v1 only.
  [[nodiscard]] std::vector<std::uint32_t> protocols() const;
  // Returns the transport settings used for client connections (shared).
  [[nodiscard]] const TransportConfig& client_config() const;
  // Returns the one-line explanation of the last failed call on this thread, if any.
  [[nodiscard]] static const std::string& last_error();
  // Returns the metrics registry (null when metrics are disabled).
  [[nodiscard]] std::shared_ptr<MetricsRegistry> metrics() const;
  // Runs a garbage-collection sweep now (the timer does it every gc_interval).
  void collect_garbage();
  // Closes every socket and stops every shared listener: pending and later accepts of its
  // Listeners fail with errc::listener_closed. A lent endpoint is handed back open and no longer
  // listening (its owner may listen on it again); its done signal has fired when close()
  // returns. Idempotent (D5).
  void close();

 private:
  friend struct detail::Access;  // built by create()
  explicit ConnManager(std::shared_ptr<detail::ManagerState> state);
  friend struct detail::ConnManagerTestPeer;  // tests/support: the tests' view of the state
  std::shared_ptr<detail::ManagerState> state_;
};

}  // namespace quicreuse
