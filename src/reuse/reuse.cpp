#include "reuse/reuse.hpp"

namespace quicreuse::detail {

Reuse::Reuse(Family family, ListenUdp listen_udp, SelectorFactory selector_factory,
             std::uint64_t seed, ReuseNow now)
    : family_(family),
      listen_udp_(std::move(listen_udp)),
      selector_factory_(std::move(selector_factory)),
      now_(std::move(now)),
      random_(seed) {}

Reuse::~Reuse() {
  close();
}

void Reuse::refresh_routes() {
  // Decision D6: a selector that cannot be built means "no affinity", never a crash.
  routes_.reset();
  if (selector_factory_) {
    if (auto selector = selector_factory_(); selector && *selector) {
      routes_ = *selector;
    }
  }
}

void Reuse::routes_changed() {
  if (unicast_.empty()) {
    routes_.reset();
  } else {
    refresh_routes();
  }
}

std::shared_ptr<RefcountedTransport> Reuse::adopt(BoundSocket socket) const {
  return std::make_shared<RefcountedTransport>(std::move(socket), now_);
}

std::shared_ptr<RefcountedTransport> Reuse::pick_any(const Pool& pool) {
  if (pool.empty()) {
    return nullptr;
  }
  auto it = pool.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(
                       std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(random_)));
  return it->second;
}

std::shared_ptr<RefcountedTransport> Reuse::pick(const Pool& pool, const Association& association) {
  // Prefer sockets tagged with the association; uniformly at random among equals (D1).
  std::vector<std::shared_ptr<RefcountedTransport>> tagged;
  for (const auto& [port, tr] : pool) {
    if (tr->has_association(association)) {
      tagged.push_back(tr);
    }
  }
  if (!tagged.empty()) {
    return tagged[std::uniform_int_distribution<std::size_t>(0, tagged.size() - 1)(random_)];
  }
  return pick_any(pool);
}

Result<TransportRef> Reuse::transport_for_listen(const asio::ip::udp::endpoint& laddr) {
  if (closed_) {
    return fail(errc::endpoint_closed);
  }
  const std::uint16_t port = laddr.port();
  if (laddr.address().is_unspecified()) {
    // D9: a wildcard socket still pooled on this port (released and waiting for the garbage
    // collector, or kept by a shared non-QUIC conn) is ours: listen on it again.
    if (port != 0) {
      if (auto it = global_listeners_.find(port); it != global_listeners_.end()) {
        return TransportRef(it->second);
      }
    }
    // A socket we dialed from becomes a listener (go-libp2p #1534): any for port 0, else the
    // one on that port.
    std::shared_ptr<RefcountedTransport> dialer;
    if (port == 0) {
      dialer = pick_any(global_dialers_);
    } else if (auto it = global_dialers_.find(port); it != global_dialers_.end()) {
      dialer = it->second;
    }
    if (dialer) {
      const std::uint16_t bound = dialer->local_endpoint().port();
      global_dialers_.erase(bound);
      global_listeners_[bound] = dialer;
      return TransportRef(dialer);
    }
  } else if (port != 0) {
    if (auto bucket = unicast_.find(laddr.address()); bucket != unicast_.end()) {
      if (auto it = bucket->second.find(port); it != bucket->second.end()) {
        return TransportRef(it->second);  // D9, specific-IP case
      }
    }
  }
  auto socket = listen_udp_(laddr);
  if (!socket) {
    return fail(socket.error());
  }
  auto tr = adopt(std::move(*socket));
  const asio::ip::udp::endpoint local = tr->local_endpoint();
  if (local.address().is_unspecified()) {
    global_listeners_[local.port()] = tr;
    return TransportRef(tr);
  }
  auto [bucket, inserted] = unicast_.try_emplace(local.address());
  if (inserted) {
    refresh_routes();  // a new specific IP: the routes may matter now
  }
  bucket->second[local.port()] = tr;
  return TransportRef(tr);
}

Result<TransportRef> Reuse::transport_for_dial(const Association& association,
                                               const asio::ip::udp::endpoint& raddr) {
  if (closed_) {
    return fail(errc::endpoint_closed);
  }
  // Only asked once a unicast socket exists; an error or the wildcard means no preference.
  std::optional<asio::ip::address> source;
  if (routes_) {
    if (auto ip = routes_->preferred_source_ip(raddr); ip && !ip->is_unspecified()) {
      source = *ip;
    }
  }
  std::shared_ptr<RefcountedTransport> chosen;
  if (source) {
    if (auto bucket = unicast_.find(*source); bucket != unicast_.end()) {
      chosen = pick(bucket->second, association);
    }
  }
  if (!chosen) {
    chosen = pick(global_listeners_, association);
  }
  if (!chosen) {
    chosen = pick_any(global_dialers_);  // associations do not apply to dialers
  }
  if (!chosen) {
    const asio::ip::udp::endpoint any(family_ == Family::v4
                                          ? asio::ip::address(asio::ip::address_v4::any())
                                          : asio::ip::address(asio::ip::address_v6::any()),
                                      0);
    auto socket = listen_udp_(any);
    if (!socket) {
      return fail(socket.error());
    }
    chosen = adopt(std::move(*socket));
    global_dialers_[chosen->local_endpoint().port()] = chosen;
  }
  return TransportRef(chosen);
}

Result<void> Reuse::add_transport(const std::shared_ptr<RefcountedTransport>& transport) {
  if (closed_) {
    return fail(errc::endpoint_closed);
  }
  const asio::ip::udp::endpoint local = transport->local_endpoint();
  if (!local.address().is_unspecified() || global_dialers_.count(local.port()) != 0) {
    return fail(errc::invalid_argument);
  }
  global_dialers_[local.port()] = transport;
  return {};
}

bool Reuse::forget(const std::shared_ptr<RefcountedTransport>& transport) {
  auto drop = [&](Pool& pool) {
    auto it = pool.find(transport->local_endpoint().port());
    if (it == pool.end() || it->second != transport) {
      return false;
    }
    pool.erase(it);
    return true;
  };
  if (drop(global_listeners_) || drop(global_dialers_)) {
    return true;
  }
  auto bucket = unicast_.find(transport->local_endpoint().address());
  if (bucket == unicast_.end() || !drop(bucket->second)) {
    return false;
  }
  if (bucket->second.empty()) {
    unicast_.erase(bucket);
    routes_changed();
  }
  return true;
}

std::size_t Reuse::collect_garbage(ReuseClock::time_point now, ReuseClock::duration max_unused) {
  // Taken out of the pools first and closed afterwards: closing an endpoint runs its callbacks,
  // which may come back to the pools.
  std::vector<std::shared_ptr<RefcountedTransport>> doomed;
  auto sweep = [&](Pool& pool) {
    for (auto it = pool.begin(); it != pool.end();) {
      if (it->second->should_garbage_collect(now, max_unused)) {
        doomed.push_back(it->second);
        it = pool.erase(it);
      } else {
        ++it;
      }
    }
  };
  sweep(global_listeners_);
  sweep(global_dialers_);
  bool bucket_removed = false;
  for (auto it = unicast_.begin(); it != unicast_.end();) {
    sweep(it->second);
    if (it->second.empty()) {
      it = unicast_.erase(it);
      bucket_removed = true;
    } else {
      ++it;
    }
  }
  if (bucket_removed) {
    routes_changed();  // dropping every socket of an IP may mean the routes changed
  }
  for (const auto& tr : doomed) {
    tr->close();
  }
  return doomed.size();
}

void Reuse::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  // The pools keep their (now closed) sockets, as the seed's maps do (spec 2.8): what was
  // pooled at close stays visible to metrics and to the tests' checkClosed.
  routes_.reset();
  for (const auto& tr : transports()) {
    tr->close();
  }
}

Reuse::Counts Reuse::counts() const {
  Counts c;
  c.global_listeners = global_listeners_.size();
  c.global_dialers = global_dialers_.size();
  for (const auto& [ip, pool] : unicast_) {
    c.unicast += pool.size();
  }
  return c;
}

std::vector<std::shared_ptr<RefcountedTransport>> Reuse::transports() const {
  std::vector<std::shared_ptr<RefcountedTransport>> out;
  for (const auto& [port, tr] : global_listeners_) {
    out.push_back(tr);
  }
  for (const auto& [port, tr] : global_dialers_) {
    out.push_back(tr);
  }
  for (const auto& [ip, pool] : unicast_) {
    for (const auto& [port, tr] : pool) {
      out.push_back(tr);
    }
  }
  return out;
}

bool Reuse::has_route_selector() const {
  return routes_ != nullptr;
}

}  // namespace quicreuse::detail
