// SubListenerState: one Listener, i.e. one protocol's (ALPN set's) share of a shared QUIC
// listener, with its bounded accept queue. Port of quicreuse/listener.go: listener (library
// internal).
#pragma once

#include "core/turn_queue.hpp"
#include "io/endpoint_state.hpp"

#include <quicreuse/connection.hpp>
#include <quicreuse/multiaddr.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/ip/udp.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace quicreuse::detail {

// SubListenerState is shared by its Listener and, weakly, by the shared QuicListener that
// routes to it. It knows nothing of the QuicListener: it leaves it through its remove closure,
// as Go's listener does. Confined to the manager's executor.
struct SubListenerState : std::enable_shared_from_this<SubListenerState> {
  static constexpr std::size_t kQueueLength = 16;  // the seed's queueLen

  std::uint64_t id = 0;
  asio::any_io_executor executor;
  asio::ip::udp::endpoint address;  // the shared socket's bound address
  Multiaddr multiaddr;
  // Takes this listener's protocols and associations off the shared listener and tells the
  // manager (which closes the shared listener after its last protocol). Set by
  // QuicListener::add(); close() runs it once.
  std::function<void()> remove;
  bool closed = false;
  bool shared_closed = false;  // the shared listener stopped: accepts fail
  // Connections routed here, not yet accepted; only those that waited through a turn of the
  // application count against kQueueLength.
  core::TurnQueue<Connection> queue;
  bool turn_posted = false;  // an application turn is posted for queue
  ParkedQueue<Parked<ConnectionCompletion>> waiters;
  std::uint64_t next_op = 0;

  // Hands over an accepted connection: to a pending accept, else to the queue; closes it with 1
  // "queue full" when kQueueLength queued connections have already waited through a turn of the
  // application (a burst that arrives while the application is accepting is never refused).
  void enqueue(Connection conn);
  // The shared listener stopped: pending and later accepts fail with errc::listener_closed.
  void shared_listener_closed();
  // Leaves the shared listener, fails pending accepts and closes the queued connections with
  // 0x1006 "closing". Idempotent.
  void close();
  // Completes the pending accept op_id with operation_aborted.
  void cancel(std::uint64_t op_id);
};

}  // namespace quicreuse::detail
