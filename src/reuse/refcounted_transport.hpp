// RefcountedTransport: one pooled UDP socket (the QUIC endpoint that owns it) with its reference
// count, its "unused since" time and its associations. Port of quicreuse/reuse.go:
// refcountedTransport (library internal). References are only taken and dropped through
// TransportRef (src/reuse/transport_ref.hpp).
#pragma once

#include <quicreuse/association.hpp>
#include <quicreuse/endpoint.hpp>

#include <asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

namespace quicreuse::detail {

using ReuseClock = std::chrono::steady_clock;
// Returns the time a reference count dropping to zero is stamped with (tests: virtual time).
using ReuseNow = std::function<ReuseClock::time_point()>;

// BoundSocket is one bound UDP socket as the pools receive it.
struct BoundSocket {
  // The QUIC endpoint that owns the socket. Null only in the pools' unit tests, which bind no
  // real socket (their fake kernel hands out addresses).
  std::shared_ptr<Endpoint> endpoint;
  // The socket's bound address, with the real port.
  asio::ip::udp::endpoint local;
  // Test seam: runs when the socket is closed, after endpoint->close() (a fake kernel frees the
  // port here). Never run for a borrowed socket.
  std::function<void()> on_close;
};

// RefcountedTransport is shared (shared_ptr) by the pools and by every TransportRef of one
// socket: the listener on it, each dial's connection, each TransportLease and non-QUIC view.
// Confined to the manager's executor: no locks.
class RefcountedTransport {
 public:
  // Wraps socket. now stamps "unused since". A borrowed (lent) socket is never closed by us:
  // close() only runs borrow_done, once.
  explicit RefcountedTransport(BoundSocket socket, ReuseNow now = ReuseClock::now,
                               std::function<void()> borrow_done = {});
  RefcountedTransport(const RefcountedTransport&) = delete;
  RefcountedTransport& operator=(const RefcountedTransport&) = delete;
  RefcountedTransport(RefcountedTransport&&) = delete;
  RefcountedTransport& operator=(RefcountedTransport&&) = delete;
  ~RefcountedTransport() = default;

  // Returns the number of live TransportRefs.
  [[nodiscard]] int ref_count() const noexcept { return ref_count_; }
  // True when unused for longer than max_unused at now.
  [[nodiscard]] bool should_garbage_collect(ReuseClock::time_point now,
                                            ReuseClock::duration max_unused) const;
  // Sets what runs each time the last reference goes (single-owner sockets close there; pooled
  // ones wait for the garbage collector, which needs nothing).
  void on_unused(std::function<void()> fn) { on_unused_ = std::move(fn); }
  // Closes the endpoint and socket (borrowed: runs the done signal instead). Idempotent.
  void close();
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] bool borrowed() const noexcept { return borrowed_; }

  // Tags the transport with association on behalf of one sub-listener (null: ignored).
  void associate(const Association& association, std::uint64_t listener_id);
  // Removes listener_id from every association; associations left without a listener go.
  void remove_associations(std::uint64_t listener_id);
  // True for the null association, else iff some live sub-listener tagged it.
  [[nodiscard]] bool has_association(const Association& association) const;

  [[nodiscard]] asio::ip::udp::endpoint local_endpoint() const { return socket_.local; }
  // Returns the endpoint that owns the socket (null only in the pools' unit tests).
  [[nodiscard]] const std::shared_ptr<Endpoint>& endpoint() const noexcept {
    return socket_.endpoint;
  }

 private:
  friend class TransportRef;
  void increase_count() noexcept;
  void decrease_count();

  const BoundSocket socket_;
  const ReuseNow now_;
  const bool borrowed_;
  std::function<void()> borrow_done_;
  std::function<void()> on_unused_;
  int ref_count_ = 0;
  std::optional<ReuseClock::time_point> unused_since_;
  bool closed_ = false;
  std::unordered_map<Association, std::set<std::uint64_t>> associations_;
};

}  // namespace quicreuse::detail
