// Listener: one protocol's (ALPN set's) share of a QUIC listener on a shared UDP port.
#pragma once

#include <quicreuse/connection.hpp>
#include <quicreuse/error.hpp>
#include <quicreuse/multiaddr.hpp>

#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/udp.hpp>
#include <asio/use_awaitable.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace quicreuse {

namespace detail {
struct Access;
struct SubListenerState;
}  // namespace detail

// Listener hands out the connections whose negotiated ALPN belongs to it (spec section 3.3).
// Several Listeners (one per ALPN set) share one QUIC listener and one UDP socket; each has a
// bounded accept queue of 16 connections: when 16 have waited since before the latest batch of
// connections became ready, new connections of its protocols are closed with application code 1
// ("queue full"); the members of one batch (handshakes that completed together) all queue.
//
// Lifetime: close() (or destruction) removes its protocols from the shared listener, closes the
// connections still queued with application code 0x1006 ("closing") and completes pending
// accepts with errc::listener_closed; the other protocols keep serving. The last Listener of an
// address releases its socket. Threading: use it on the ConnManager's executor.
class Listener {
 public:
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  Listener(Listener&&) = delete;
  Listener& operator=(Listener&&) = delete;
  ~Listener();

  // Accepts the next connection of this listener's protocols. Completes with (error, Connection).
  // Errors: errc::listener_closed (this listener or the shared one closed, or the socket's
  // endpoint stopped listening under the manager, e.g. the owner of a lent endpoint closed it;
  // the shared listener is then deregistered and a new listen on the address starts afresh).
  // Supports per-operation cancellation.
  template <class CompletionToken>
  auto async_accept(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, Connection)>(
        [](auto handler, const std::shared_ptr<detail::SubListenerState>& s,
           asio::any_io_executor ex) {
          start_accept(s, detail::ConnectionCompletion(std::move(handler), ex));
        },
        token, state_, executor());
  }
  // Coroutine form: co_await listener.accept() -> Result<Connection>.
  asio::awaitable<Result<Connection>> accept();
  // Takes a connection that is already queued, without waiting; an empty result when none is.
  // A server that takes bursts uses it after each accept: `while (auto c = l.try_accept())`,
  // so that a batch of connections that became ready together leaves the queue in one turn.
  std::optional<Connection> try_accept();

  // Returns the bound UDP address of the shared socket (the same for every protocol on it).
  [[nodiscard]] asio::ip::udp::endpoint addr() const;
  // Returns exactly one multiaddr: /ip4|ip6/<bound ip>/udp/<bound port>/quic-v1 (wildcards are
  // not expanded to interface addresses).
  [[nodiscard]] std::vector<Multiaddr> multiaddrs() const;
  // Stops serving this listener's protocols. Idempotent (D5); never fails.
  void close();

 private:
  friend struct detail::Access;  // built by ConnManager::listen_quic
  explicit Listener(std::shared_ptr<detail::SubListenerState> state);
  [[nodiscard]] asio::any_io_executor executor() const;
  static void start_accept(const std::shared_ptr<detail::SubListenerState>& s,
                           detail::ConnectionCompletion c);
  std::shared_ptr<detail::SubListenerState> state_;
};

inline asio::awaitable<Result<Connection>> Listener::accept() {
  auto [ec, c] = co_await async_accept(asio::experimental::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return fail(ec);
  }
  co_return std::move(c);
}

}  // namespace quicreuse
