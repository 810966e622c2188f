// QuicListener: the single QUIC listener of one bound address, routing accepted connections to
// sub-listeners by negotiated ALPN. Port of quicreuse/listener.go: quicListener (library
// internal).
#pragma once

#include "reuse/sub_listener_state.hpp"
#include "reuse/transport_ref.hpp"

#include <quicreuse/conn_manager.hpp>
#include <quicreuse/tls.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace quicreuse::detail {

// QuicListener holds one reference on its socket from start until close() or stopped(). The
// manager's listener table owns it; sub-listeners reach it only through their remove closures.
// Confined to the manager's executor: the TLS select hook, the window policy and on_ready run
// there too (the endpoint's executor is the manager's), so the protocol table needs no lock.
struct QuicListener : std::enable_shared_from_this<QuicListener> {
  struct Protocol {
    std::weak_ptr<SubListenerState> sub;
    TlsServerConfig tls;
    AllowWindowIncrease allow;
  };

  std::string key;
  TransportRef transport;  // this listener's reference on the shared socket
  asio::ip::udp::endpoint address;
  Multiaddr multiaddr;
  // Cipher suites of every connection on this address (TLS sessions take them before the
  // ClientHello names an ALPN): those of the first sub-listener, which every other must repeat.
  std::vector<CipherSuite> cipher_suites;
  std::map<std::string, Protocol> protocols;
  std::vector<std::weak_ptr<SubListenerState>> subs;
  // Runs once when the endpoint stopped listening without close(); endpoint_gone tells whether
  // the endpoint itself closed (the owner of a lent endpoint closed it).
  std::function<void(bool endpoint_gone)> on_stopped;
  bool closed = false;

  // Returns the endpoint that owns the socket.
  [[nodiscard]] Endpoint& endpoint() const { return *transport->endpoint(); }
  // Listens on the endpoint with the ALPN-dispatching TLS configuration; accepted connections
  // are pushed to route_batch. Errors: the endpoint's listen error.
  Result<void> start();
  // Registers a sub-listener for tls's ALPNs (all or nothing); its remove closure takes them
  // off again and then runs on_remove. Errors: "no ALPN found in tls config", "already
  // listening for protocol X", "cipher suites differ from those of the other protocols on this
  // address" (errc::invalid_argument, errc::already_listening).
  Result<std::shared_ptr<SubListenerState>> add(const Association& association,
                                                const TlsServerConfig& tls,
                                                const AllowWindowIncrease& allow, std::uint64_t id,
                                                std::function<void()> on_remove);
  // Routes connections that became ready together, each like route().
  void route_batch(std::vector<Connection> ready);
  // Routes one accepted connection (D7: an ALPN without a sub-listener closes that connection
  // only).
  void route(Connection conn);
  // Stops listening, fails the sub-listeners' pending accepts and drops the socket reference.
  // Idempotent.
  void close();
  // The endpoint stopped listening without close() (the owner of a lent endpoint closed it or
  // stopped its listening): as close(), then on_stopped, so that the manager forgets this
  // listener and a later listen on the address starts a fresh one. reason:
  // errc::endpoint_closed or errc::listener_closed.
  void stopped(std::error_code reason);

 private:
  // Returns the protocol entry of alpn, or nullptr.
  const Protocol* find(std::string_view alpn) const;
  // Completes every sub-listener's pending accepts with errc::listener_closed.
  void fail_accepts();
};

}  // namespace quicreuse::detail
