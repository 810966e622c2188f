// ConnManager dials and dial leases. Port of connmgr.go: DialQUIC, TransportForDial.
#include "reuse/manager_state.hpp"
#include "reuse/resolve.hpp"

#include <quicreuse/conn_manager.hpp>

namespace quicreuse {
namespace {

// Returns a counted transport for a dial to remote (reuse on: the reuse algorithm; off: a fresh
// wildcard socket of the family, single owner).
Result<std::shared_ptr<detail::RefcountedTransport>> transport_for(
    detail::ManagerState& s, const Association& association, std::string_view network,
    const asio::ip::udp::endpoint& remote) {
  if (auto open = s.ensure_open(); !open) {
    return fail(open.error());
  }
  if (s.config.reuse) {
    detail::Reuse* reuse = s.reuse_for(network);
    if (reuse == nullptr) {
      return detail::fail_with(errc::invalid_argument, "invalid network: " + std::string(network));
    }
    auto tr = reuse->transport_for_dial(association, remote);
    if (!tr) {
      return detail::fail_with(tr.error(), "no socket to dial " + detail::address_key(remote) +
                                               " from: " + tr.error().message());
    }
    return tr;
  }
  asio::ip::udp::endpoint any;
  if (network == "udp4") {
    any = asio::ip::udp::endpoint(asio::ip::address_v4::any(), 0);
  } else if (network == "udp6") {
    any = asio::ip::udp::endpoint(asio::ip::address_v6::any(), 0);
  } else {
    any = asio::ip::udp::endpoint(remote.address().is_v4()
                                      ? asio::ip::address(asio::ip::address_v4::any())
                                      : asio::ip::address(asio::ip::address_v6::any()),
                                  0);
  }
  auto bound = s.bind(network, any);
  if (!bound) {
    return fail(bound.error());
  }
  auto tr = std::make_shared<detail::RefcountedTransport>(std::move(*bound));
  tr->increase_count();
  const std::lock_guard lock(s.mutex);
  s.single_owner.push_back(tr);
  return tr;
}

}  // namespace

asio::awaitable<Result<Connection>> ConnManager::dial_quic(Multiaddr address, TlsClientConfig tls,
                                                           AllowWindowIncrease allow,
                                                           Association association) {
  // Holding the state keeps the manager's pools alive for the whole dial.
  const std::shared_ptr<detail::ManagerState> s = state_;
  std::string why;
  // A DNS host is checked with a placeholder IP, then looked up without blocking the executor.
  const auto dns = detail::dns_dial_target(address);
  auto target = from_quic_multiaddr(dns ? dns->placeholder : address, &why);
  if (!target) {
    co_return detail::fail_with(target.error(), "cannot dial " + address.to_string() + ": " + why);
  }
  asio::ip::udp::endpoint remote = target->first;
  if (dns) {
    auto ip = co_await detail::resolve_dial_host(dns->protocol, dns->name,
                                                 s->config.transport.handshake_idle_timeout);
    if (!ip) {
      co_return detail::fail_with(ip.error(), "cannot dial " + address.to_string() +
                                                  ": cannot resolve " + dns->name + ": " +
                                                  ip.error().message());
    }
    remote.address(*ip);
  }
  const std::string network(remote.address().is_v4() ? "udp4" : "udp6");
  auto transport = transport_for(*s, association, network, remote);
  if (!transport) {
    co_return fail(transport.error());
  }
  const std::shared_ptr<detail::RefcountedTransport> tr = *transport;
  const std::shared_ptr<Endpoint> endpoint = detail::endpoint_of(*tr);
  DialOptions dial_options;
  if (allow) {
    // Asked with the negotiated ALPN (window growth only happens once the handshake chose it).
    dial_options.allow_window_increase = [allow, remote](std::string_view alpn,
                                                         std::uint64_t delta) {
      return allow(WindowIncreaseRequest{alpn, remote, delta});
    };
  }
  auto conn = co_await endpoint->dial(remote, std::move(tls), std::move(dial_options));
  if (!conn) {
    s->release(tr);
    co_return detail::fail_with(conn.error(), "dial to " + detail::address_key(remote) +
                                                  " failed: " + conn.error().message());
  }
  // D2: the dial's reference goes when the connection ends (the seed keeps it forever, so its
  // dial sockets are never collected).
  conn->on_close([weak = std::weak_ptr<detail::ManagerState>(s), tr](const CloseInfo&) {
    if (auto manager = weak.lock()) {
      manager->release(tr);
    }
  });
  co_return std::move(*conn);
}

Result<TransportLease> ConnManager::transport_for_dial(std::string_view network,
                                                       const asio::ip::udp::endpoint& remote) {
  return transport_with_association_for_dial(Association{}, network, remote);
}

Result<TransportLease> ConnManager::transport_with_association_for_dial(
    const Association& association, std::string_view network,
    const asio::ip::udp::endpoint& remote) {
  auto tr = transport_for(*state_, association, network, remote);
  if (!tr) {
    return fail(tr.error());
  }
  Endpoint* endpoint = detail::endpoint_of(**tr).get();
  return TransportLease(state_, std::move(*tr), endpoint);
}

// ---------------------------------------------------------------------------------------------
// TransportLease

TransportLease::TransportLease(std::shared_ptr<detail::ManagerState> manager,
                               std::shared_ptr<detail::RefcountedTransport> transport,
                               Endpoint* endpoint)
    : manager_(std::move(manager)), transport_(std::move(transport)), endpoint_(endpoint) {}

TransportLease::TransportLease(TransportLease&& other) noexcept
    : manager_(std::move(other.manager_)),
      transport_(std::move(other.transport_)),
      endpoint_(std::exchange(other.endpoint_, nullptr)) {}

TransportLease& TransportLease::operator=(TransportLease&& other) noexcept {
  if (this != &other) {
    release();
    manager_ = std::move(other.manager_);
    transport_ = std::move(other.transport_);
    endpoint_ = std::exchange(other.endpoint_, nullptr);
  }
  return *this;
}

TransportLease::~TransportLease() {
  release();
}

asio::ip::udp::endpoint TransportLease::local_endpoint() const {
  return transport_ ? transport_->local_endpoint() : asio::ip::udp::endpoint{};
}

Result<std::size_t> TransportLease::write_to(std::span<const std::uint8_t> datagram,
                                             const asio::ip::udp::endpoint& remote) {
  if (!transport_ || endpoint_ == nullptr) {
    return fail(errc::endpoint_closed);
  }
  return endpoint_->write_to(datagram, remote);
}

int TransportLease::ref_count() const {
  return transport_ ? transport_->ref_count() : 0;
}

void TransportLease::release() {
  if (transport_) {
    manager_->release(transport_);
    transport_.reset();
    manager_.reset();
    endpoint_ = nullptr;
  }
}

}  // namespace quicreuse
