// ConnManager dials and dial leases. Port of connmgr.go: DialQUIC, TransportForDial.
#include "reuse/address_key.hpp"
#include "reuse/last_error.hpp"
#include "reuse/manager_state.hpp"
#include "reuse/resolve.hpp"

#include <quicreuse/conn_manager.hpp>

namespace quicreuse {
namespace {

// Returns a reference on the transport for a dial to remote (reuse on: the reuse algorithm;
// off: a fresh wildcard socket of the family, single owner).
Result<detail::TransportRef> transport_for(detail::ManagerState& s, const Association& association,
                                           std::string_view network,
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
  const bool v4 = network == "udp4" || (network != "udp6" && remote.address().is_v4());
  const asio::ip::udp::endpoint any(v4 ? asio::ip::address(asio::ip::address_v4::any())
                                       : asio::ip::address(asio::ip::address_v6::any()),
                                    0);
  return s.bind_single_owner(network, any);
}

}  // namespace

asio::awaitable<Result<Connection>> ConnManager::dial_quic(Multiaddr address, TlsClientConfig tls,
                                                           AllowWindowIncrease allow,
                                                           Association association) {
  // Holding the state keeps the manager's pools alive for the whole dial.
  const std::shared_ptr<detail::ManagerState> s = state_;
  s->assert_confined();
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
  // The dial's reference on its socket, held by the connection once there is one.
  detail::TransportRef ref = std::move(*transport);
  const std::shared_ptr<Endpoint> endpoint = ref->endpoint();
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
    co_return detail::fail_with(conn.error(), "dial to " + detail::address_key(remote) +
                                                  " failed: " + conn.error().message());
  }
  // D2: the dial's reference goes when the connection ends (the seed keeps it forever, so its
  // dial sockets are never collected).
  conn->on_close([ref = std::move(ref)](const CloseInfo&) mutable { ref.reset(); });
  co_return std::move(*conn);
}

Result<TransportLease> ConnManager::transport_for_dial(std::string_view network,
                                                       const asio::ip::udp::endpoint& remote) {
  return transport_with_association_for_dial(Association{}, network, remote);
}

Result<TransportLease> ConnManager::transport_with_association_for_dial(
    const Association& association, std::string_view network,
    const asio::ip::udp::endpoint& remote) {
  state_->assert_confined();
  auto ref = transport_for(*state_, association, network, remote);
  if (!ref) {
    return fail(ref.error());
  }
  return TransportLease(std::make_unique<detail::TransportRef>(std::move(*ref)));
}

// ---------------------------------------------------------------------------------------------
// TransportLease

TransportLease::TransportLease() noexcept = default;
TransportLease::TransportLease(std::unique_ptr<detail::TransportRef> ref) noexcept
    : ref_(std::move(ref)) {}
TransportLease::TransportLease(TransportLease&& other) noexcept = default;
TransportLease& TransportLease::operator=(TransportLease&& other) noexcept = default;
TransportLease::~TransportLease() = default;

asio::ip::udp::endpoint TransportLease::local_endpoint() const {
  return ref_ ? (*ref_)->local_endpoint() : asio::ip::udp::endpoint{};
}

Result<std::size_t> TransportLease::write_to(std::span<const std::uint8_t> datagram,
                                             const asio::ip::udp::endpoint& remote) {
  if (!ref_) {
    return fail(errc::endpoint_closed);
  }
  return (*ref_)->endpoint()->write_to(datagram, remote);
}

Endpoint& TransportLease::endpoint() const {
  return *(*ref_)->endpoint();
}

int TransportLease::ref_count() const {
  return ref_ ? (*ref_)->ref_count() : 0;
}

void TransportLease::release() {
  ref_.reset();
}

TransportLease::operator bool() const noexcept {
  return ref_ != nullptr;
}

}  // namespace quicreuse
