// Reuse: the socket pools of one address family and the dial/listen socket choice. Port of
// quicreuse/reuse.go: reuse (library internal; the ConnManager owns one per family).
//
// Pools (spec section 2.1): `unicast` (sockets bound to a specific IP, by IP then port),
// `global_listeners` (wildcard sockets used by a QUIC listener, by port) and `global_dialers`
// (wildcard sockets created for dialing or lent by the application, by port). Sockets are
// created through the listen_udp seam, routes through the selector seam, so the pools can be
// tested without QUIC. Confined to the manager's executor (the manager checks it): no locks.
#pragma once

#include "reuse/transport_ref.hpp"

#include <quicreuse/association.hpp>
#include <quicreuse/error.hpp>
#include <quicreuse/source_ip_selector.hpp>

#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace quicreuse::detail {

class Reuse {
 public:
  enum class Family { v4, v6 };
  // Binds a new socket at laddr (errors propagate, e.g. address in use).
  using ListenUdp = std::function<Result<BoundSocket>(const asio::ip::udp::endpoint&)>;
  // Builds the route selector; an error means "no source-IP affinity" (decision D6).
  using SelectorFactory = std::function<Result<std::shared_ptr<SourceIpSelector>>()>;

  // now stamps the sockets' "unused since" (tests pass virtual time).
  Reuse(Family family, ListenUdp listen_udp, SelectorFactory selector_factory,
        std::uint64_t seed = std::random_device{}(), ReuseNow now = ReuseClock::now);
  Reuse(const Reuse&) = delete;
  Reuse& operator=(const Reuse&) = delete;
  Reuse(Reuse&&) = delete;
  Reuse& operator=(Reuse&&) = delete;
  ~Reuse();

  // Returns a reference on the socket to listen on at laddr. Port of
  // reuse.TransportForListen, plus decision D9: a socket still pooled at exactly that address is
  // reused instead of failing with "address in use". Errors: the bind's error,
  // errc::endpoint_closed after close().
  Result<TransportRef> transport_for_listen(const asio::ip::udp::endpoint& laddr);
  // Returns a reference on the socket a dial to raddr should use: a unicast socket on
  // the route's source IP, else a wildcard listener, else an earlier dialer, else a new wildcard
  // socket on port 0; preferring sockets tagged with association, uniformly at random among
  // equals (decision D1). Port of reuse.TransportWithAssociationForDial.
  Result<TransportRef> transport_for_dial(const Association& association,
                                          const asio::ip::udp::endpoint& raddr);
  // Adds a lent transport as a global dialer. Errors: errc::invalid_argument when it is bound
  // to a specific IP or its port already has a dialer, errc::endpoint_closed.
  Result<void> add_transport(const std::shared_ptr<RefcountedTransport>& transport);

  // Forgets transport (whichever pool holds it) without closing it: its endpoint went away
  // under us (a lent endpoint its owner closed). Returns whether it was pooled.
  bool forget(const std::shared_ptr<RefcountedTransport>& transport);
  // Closes and forgets sockets unused for longer than max_unused; returns how many.
  std::size_t collect_garbage(ReuseClock::time_point now, ReuseClock::duration max_unused);
  // Closes every pooled socket whatever its count (borrowed ones only get their done signal).
  // The pools keep listing them (spec 2.8: the maps are not cleared); nothing is handed out any
  // more. Idempotent.
  void close();

  struct Counts {
    std::size_t global_listeners = 0;
    std::size_t global_dialers = 0;
    std::size_t unicast = 0;
  };
  [[nodiscard]] Counts counts() const;
  // Returns every pooled transport (for metrics and tests).
  [[nodiscard]] std::vector<std::shared_ptr<RefcountedTransport>> transports() const;
  [[nodiscard]] bool has_route_selector() const;
  [[nodiscard]] Family family() const noexcept { return family_; }

 private:
  using Pool = std::map<std::uint16_t, std::shared_ptr<RefcountedTransport>>;
  std::shared_ptr<RefcountedTransport> pick(const Pool& pool, const Association& association);
  std::shared_ptr<RefcountedTransport> pick_any(const Pool& pool);
  // Wraps a freshly bound socket.
  [[nodiscard]] std::shared_ptr<RefcountedTransport> adopt(BoundSocket socket) const;
  void refresh_routes();
  // Rebuilds the routes after a unicast bucket went away (none left: no routes).
  void routes_changed();

  const Family family_;
  const ListenUdp listen_udp_;
  const SelectorFactory selector_factory_;
  const ReuseNow now_;
  std::mt19937_64 random_;
  bool closed_ = false;
  std::shared_ptr<SourceIpSelector> routes_;  // null until a unicast socket exists
  std::map<asio::ip::address, Pool> unicast_;
  Pool global_listeners_;
  Pool global_dialers_;
};

}  // namespace quicreuse::detail
