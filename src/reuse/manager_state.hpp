// ManagerState: what a ConnManager owns (library internal): its pools, its table of shared QUIC
// listeners, the single-owner sockets (reuse off), the garbage-collection timer and the
// source-address limiter.
#pragma once

#include "core/token_bucket.hpp"
#include "reuse/confined.hpp"
#include "reuse/quic_listener.hpp"
#include "reuse/reuse.hpp"
#include "reuse/transport_ref.hpp"

#include <quicreuse/conn_manager.hpp>
#include <quicreuse/metrics.hpp>

#include <asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace quicreuse::detail {

// ManagerState is held by its ConnManager and, weakly, by the closures it hands to endpoints,
// listeners and single-owner sockets. Confined to its executor: every public entry point checks
// it (QUICREUSE_ASSERT_CONFINED), and nothing here takes a lock.
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
  struct ListenerEntry {
    std::shared_ptr<QuicListener> listener;
    int refcount = 0;  // its sub-listeners
  };
  std::map<std::string, ListenerEntry> listeners;
  // Reuse disabled: the sockets in use (each leaves the list when its last reference goes).
  std::vector<std::weak_ptr<RefcountedTransport>> single_owner;
  bool closed = false;
  std::uint64_t next_listener_id = 1;
  std::unique_ptr<asio::steady_timer> gc_timer;
  // Source-address verification limiter (spec 5.3): 1000 tokens/s, burst 1000.
  core::TokenBucket limiter{1000, 1000};
  std::uint64_t metrics_collector = 0;

  // Asserts (debug builds) that the caller runs on the manager's executor.
  void assert_confined() const { QUICREUSE_ASSERT_CONFINED(executor); }
  // Returns success while the manager is open; else errc::endpoint_closed ("the connection
  // manager is closed", also as last_error()).
  Result<void> ensure_open();
  // Returns the pools of a network ("udp4"/"udp6"), or nullptr (invalid network, reuse off).
  Reuse* reuse_for(std::string_view network) const;
  // Binds a socket and wraps it in an Endpoint with the manager's keys and hooks.
  Result<BoundSocket> bind(std::string_view network, const asio::ip::udp::endpoint& local);
  // Reuse off: binds a socket for one user; it closes when its last reference goes (D8).
  Result<TransportRef> bind_single_owner(std::string_view network,
                                         const asio::ip::udp::endpoint& local);
  // Takes a socket at local (pooled, or single-owner with reuse off) and starts a shared QUIC
  // listener on it, not yet registered. Errors: the bind's, the endpoint's listen error.
  Result<std::shared_ptr<QuicListener>> start_listener(
      std::string_view network, const asio::ip::udp::endpoint& local,
      const std::vector<CipherSuite>& cipher_suites);
  EndpointConfig endpoint_config();
  // The combined predicate given to endpoints: over the rate, a Retry is forced.
  bool verify_source_address(const asio::ip::udp::endpoint& remote, core::Timestamp now);
  // Called when a sub-listener of listener closed: the last one closes the shared listener.
  // Does nothing when listener is no longer the one registered for its address.
  void listener_closed(const QuicListener& listener);
  // Called when listener's endpoint stopped listening on its own: deregisters it and, when the
  // endpoint is gone (endpoint_gone), drops the socket from the pools (a lent one gets its done
  // signal).
  void listener_stopped(const QuicListener& listener, bool endpoint_gone);
  // Closes pooled sockets unused for longer than config.max_unused (reuse on).
  void collect_garbage();
  // Runs collect_garbage() every config.gc_interval until close().
  void schedule_gc();
  void close();
};

}  // namespace quicreuse::detail
