// The ConnManager's internal state: managed endpoints, the per-address QUIC listener with its
// ALPN router, sub-listeners, and non-QUIC views (library internal). Everything here runs on the
// manager's executor; the mutexes make misuse from other threads safe for the tables.
#pragma once

#include "core/token_bucket.hpp"
#include "io/endpoint_state.hpp"
#include "reuse/reuse.hpp"

#include <quicreuse/conn_manager.hpp>
#include <quicreuse/metrics.hpp>

#include <asio/cancellation_signal.hpp>
#include <asio/steady_timer.hpp>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace quicreuse::detail {

// The thread's last ConnManager error text (ConnManager::last_error()).
extern thread_local std::string t_last_error;
// Sets the thread's last ConnManager error text and returns ec as a failure.
tl::unexpected<std::error_code> fail_with(std::error_code ec, std::string message);
tl::unexpected<std::error_code> fail_with(errc e, std::string message);

// Returns "1.2.3.4:5" or "[::1]:5": the key of the listener table (Go's UDPAddr.String()).
std::string address_key(const asio::ip::udp::endpoint& address);

// ManagedEndpoint is a PooledTransport over a quicreuse::Endpoint.
class ManagedEndpoint final : public PooledTransport {
 public:
  ManagedEndpoint(std::shared_ptr<Endpoint> endpoint, bool borrowed)
      : endpoint_(std::move(endpoint)), local_(endpoint_->local_endpoint()), borrowed_(borrowed) {}
  [[nodiscard]] asio::ip::udp::endpoint local_endpoint() const override { return local_; }
  void close() override {
    if (!borrowed_) {
      endpoint_->close();
    }
  }
  [[nodiscard]] const std::shared_ptr<Endpoint>& endpoint() const noexcept { return endpoint_; }

 private:
  std::shared_ptr<Endpoint> endpoint_;
  asio::ip::udp::endpoint local_;
  bool borrowed_;
};

// Returns the endpoint behind a transport made by the manager.
const std::shared_ptr<Endpoint>& endpoint_of(const RefcountedTransport& transport);

struct ManagerState;
struct QuicListener;

// SubListenerState is one Listener: its ALPNs, association and bounded accept queue.
struct SubListenerState : std::enable_shared_from_this<SubListenerState> {
  static constexpr std::size_t kQueueLength = 16;  // the seed's queueLen

  std::shared_ptr<QuicListener> parent;
  std::uint64_t id = 0;
  Association association;
  std::vector<std::string> alpns;
  asio::any_io_executor executor;
  bool closed = false;
  // Queued connections with their arrival number. Those that arrived before stale_below have
  // been there while the application had a turn (a handler posted after them ran); only they
  // count against kQueueLength.
  struct Queued {
    Connection conn;
    std::uint64_t arrival = 0;
  };
  std::deque<Queued> queue;
  std::uint64_t arrivals = 0;
  std::uint64_t stale_below = 0;
  bool turn_marker_posted = false;
  std::deque<Parked<ConnectionCompletion>> waiters;
  std::uint64_t next_op = 0;

  // Hands over an accepted connection: to a pending accept, else to the queue; closes it with 1
  // "queue full" when kQueueLength queued connections have already waited through a turn of the
  // application (a burst that arrives while the application is accepting is never refused).
  void enqueue(Connection conn);
  // The shared listener stopped: pending and later accepts fail.
  void parent_closed();
  void close();
  void cancel(std::uint64_t op_id);
};

// QuicListener is the single QUIC listener of one bound address; it routes accepted
// connections to sub-listeners by negotiated ALPN (spec section 3.2).
struct QuicListener : std::enable_shared_from_this<QuicListener> {
  struct Protocol {
    std::weak_ptr<SubListenerState> sub;
    TlsServerConfig tls;
    AllowWindowIncrease allow;
  };

  std::weak_ptr<ManagerState> manager;
  std::string key;
  std::shared_ptr<RefcountedTransport> transport;
  std::shared_ptr<Endpoint> endpoint;
  asio::ip::udp::endpoint address;
  Multiaddr multiaddr;
  // Cipher suites of every connection on this address (TLS sessions take them before the
  // ClientHello names an ALPN): those of the first sub-listener, which every other must repeat.
  std::vector<CipherSuite> cipher_suites;
  std::mutex mutex;  // guards protocols (the TLS hook may run while a listener is added)
  std::map<std::string, Protocol> protocols;
  std::vector<std::weak_ptr<SubListenerState>> subs;
  bool closed = false;

  // Listens on the endpoint with the ALPN-dispatching TLS configuration; accepted connections
  // are pushed to route_batch. Errors: the endpoint's listen error.
  Result<void> start();
  // Registers a sub-listener for tls's ALPNs (all or nothing). Errors: "no ALPN found in tls
  // config", "already listening for protocol X", "cipher suites differ from those of the other
  // protocols on this address" (errc::invalid_argument).
  Result<std::shared_ptr<SubListenerState>> add(const Association& association,
                                                const TlsServerConfig& tls,
                                                const AllowWindowIncrease& allow, std::uint64_t id);
  // Removes a sub-listener's protocols and associations.
  void remove(const SubListenerState& sub);
  // Routes connections that became ready together, each like route().
  void route_batch(std::vector<Connection> ready);
  // Routes one accepted connection (D7: an ALPN without a sub-listener closes that connection
  // only).
  void route(Connection conn);
  // Stops listening, fails the sub-listeners' pending accepts and releases the socket
  // reference. Idempotent.
  void close();
  // The endpoint stopped listening without close() (the owner of a lent endpoint closed it or
  // stopped its listening): as close(), and the manager forgets this listener, so a later listen
  // on the address starts a fresh one. reason: errc::endpoint_closed or errc::listener_closed.
  void stopped(std::error_code reason);
  // Completes every sub-listener's pending accepts with errc::listener_closed.
  void fail_accepts();
};

// NonQuicConnState is one NonQuicPacketConn.
struct NonQuicConnState : std::enable_shared_from_this<NonQuicConnState> {
  std::weak_ptr<ManagerState> manager;
  std::shared_ptr<RefcountedTransport> transport;
  std::shared_ptr<Endpoint> endpoint;
  asio::any_io_executor executor;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  bool closed = false;
  // One pending read: several may wait at once (as Go's ReadFrom), each gets its own datagram.
  struct PendingRead {
    asio::cancellation_signal cancel;
    std::unique_ptr<asio::steady_timer> deadline_timer;
    bool deadline_fired = false;
  };
  std::map<std::uint64_t, std::shared_ptr<PendingRead>> reads;
  std::uint64_t next_read = 0;
};

struct ManagerState : std::enable_shared_from_this<ManagerState> {
  ManagerState() = default;
  ManagerState(const ManagerState&) = delete;
  ManagerState& operator=(const ManagerState&) = delete;
  ManagerState(ManagerState&&) = delete;
  ManagerState& operator=(ManagerState&&) = delete;
  ~ManagerState();

  asio::any_io_executor executor;
  ConnManagerConfig config;
  ConnManager::Key reset_key{};
  ConnManager::Key token_key{};
  std::unique_ptr<Reuse> reuse4;
  std::unique_ptr<Reuse> reuse6;
  std::mutex mutex;  // guards listeners, single_owner and closed
  struct ListenerEntry {
    std::shared_ptr<QuicListener> listener;
    int refcount = 0;
  };
  std::map<std::string, ListenerEntry> listeners;
  // Reuse disabled: the sockets in use (each leaves the list when its last user releases it).
  std::vector<std::weak_ptr<RefcountedTransport>> single_owner;
  bool closed = false;
  std::uint64_t next_listener_id = 1;
  std::unique_ptr<asio::steady_timer> gc_timer;
  // Source-address verification limiter (spec 5.3): 1000 tokens/s, burst 1000.
  std::mutex limiter_mutex;
  core::TokenBucket limiter{1000, 1000};

  // Returns success while the manager is open; else errc::endpoint_closed ("the connection
  // manager is closed", also as last_error()).
  Result<void> ensure_open();
  // Returns the pools of a network ("udp4"/"udp6"), or nullptr (invalid network, reuse off).
  Reuse* reuse_for(std::string_view network) const;
  // Binds a socket and wraps it in an Endpoint with the manager's keys and hooks.
  Result<std::shared_ptr<PooledTransport>> bind(std::string_view network,
                                                const asio::ip::udp::endpoint& local);
  EndpointConfig endpoint_config();
  // The combined predicate given to endpoints: over the rate, a Retry is forced.
  bool verify_source_address(const asio::ip::udp::endpoint& remote, core::Timestamp now);
  // Releases one reference (single-owner transports close at zero: D8).
  void release(const std::shared_ptr<RefcountedTransport>& transport);
  // Called when a sub-listener of listener closed: the last one closes the shared listener.
  // Does nothing when listener is no longer the one registered for its address.
  void listener_closed(const QuicListener& listener);
  // Called when listener's endpoint stopped listening on its own: deregisters it, releases its
  // socket reference and, when the endpoint is gone (endpoint_gone), drops the socket from the
  // pools (a lent one gets its done signal).
  void listener_stopped(const QuicListener& listener, bool endpoint_gone);
  void schedule_gc();
  void close();

  std::uint64_t metrics_collector = 0;
};

// Writes the manager's metrics (pools, references, every endpoint's counters).
void collect_manager_metrics(ManagerState& state, MetricsWriter& writer);

}  // namespace quicreuse::detail
