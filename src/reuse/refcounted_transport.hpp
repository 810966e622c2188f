// RefcountedTransport: a pooled endpoint with a reference count, an "unused since" time and its
// associations. Port of quicreuse/reuse.go: refcountedTransport (library internal).
#pragma once

#include "reuse/pooled_transport.hpp"

#include <quicreuse/association.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

namespace quicreuse::detail {

using ReuseClock = std::chrono::steady_clock;

// RefcountedTransport is shared by the pools, the listeners and the dial leases of one socket.
// Thread-safe: every method takes its mutex.
class RefcountedTransport {
 public:
  // Wraps transport. A borrowed (lent) transport is never closed by us: close() only fires
  // borrow_done, once.
  RefcountedTransport(std::shared_ptr<PooledTransport> transport,
                      std::function<void()> borrow_done = {});
  RefcountedTransport(const RefcountedTransport&) = delete;
  RefcountedTransport& operator=(const RefcountedTransport&) = delete;
  RefcountedTransport(RefcountedTransport&&) = delete;
  RefcountedTransport& operator=(RefcountedTransport&&) = delete;
  ~RefcountedTransport() = default;

  // Adds a reference; the transport is in use again.
  void increase_count();
  // Drops a reference; at exactly zero the transport becomes unused as of now.
  void decrease_count(ReuseClock::time_point now);
  [[nodiscard]] int ref_count() const;
  // True when unused for longer than max_unused at now.
  [[nodiscard]] bool should_garbage_collect(ReuseClock::time_point now,
                                            ReuseClock::duration max_unused) const;
  // Closes the endpoint and socket (borrowed: fires the done signal instead). Idempotent (D5).
  void close();
  [[nodiscard]] bool closed() const;
  [[nodiscard]] bool borrowed() const noexcept { return borrowed_; }

  // Tags the transport with association on behalf of one sub-listener (null: ignored).
  void associate(const Association& association, std::uint64_t listener_id);
  // Removes listener_id from every association; associations left without a listener go.
  void remove_associations(std::uint64_t listener_id);
  // True for the null association, else iff some live sub-listener tagged it.
  [[nodiscard]] bool has_association(const Association& association) const;

  [[nodiscard]] asio::ip::udp::endpoint local_endpoint() const { return local_; }
  [[nodiscard]] const std::shared_ptr<PooledTransport>& transport() const noexcept {
    return transport_;
  }

 private:
  const std::shared_ptr<PooledTransport> transport_;
  const asio::ip::udp::endpoint local_;
  const bool borrowed_;
  mutable std::mutex mutex_;
  std::function<void()> borrow_done_;
  int ref_count_ = 0;
  std::optional<ReuseClock::time_point> unused_since_;
  bool closed_ = false;
  std::unordered_map<Association, std::set<std::uint64_t>> associations_;
};

}  // namespace quicreuse::detail
