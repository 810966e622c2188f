#include "manager_helpers.hpp"

#include "conn_manager_peer.hpp"
#include "reuse/address_key.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

namespace quicreuse::test {

Multiaddr ma(const std::string& text) {
  auto m = Multiaddr::parse(text);
  EXPECT_TRUE(m) << text;
  return m ? *m : Multiaddr{};
}

std::shared_ptr<ConnManager> make_manager(asio::io_context& io, bool reuse,
                                          std::vector<ConnManagerOption> extra) {
  std::vector<ConnManagerOption> opts;
  if (!reuse) {
    opts.push_back(options::disable_reuseport());
  }
  for (auto& o : extra) {
    opts.push_back(std::move(o));
  }
  auto cm = ConnManager::create(io.get_executor(), kZeroKey, kZeroKey, std::move(opts));
  EXPECT_TRUE(cm) << ConnManager::last_error();
  return cm ? *cm : nullptr;
}

TlsServerConfig tls_for(std::vector<std::string> alpns, std::shared_ptr<const TlsIdentity> id) {
  TlsServerConfig tls;
  tls.default_choice.identity = std::move(id);
  tls.default_choice.alpns = std::move(alpns);
  return tls;
}

TlsClientConfig tls_offer(const std::string& alpn) {
  std::vector<std::string> alpns;
  alpns.push_back(alpn);
  return client_tls(std::move(alpns));
}

std::shared_ptr<const TlsIdentity> identity(const std::string& name) {
  auto id = TlsIdentity::self_signed({name});
  EXPECT_TRUE(id);
  return *id;
}

void check_closed(ConnManager& cm) {
  auto& s = detail::manager_state(cm);
  EXPECT_TRUE(s.closed);
  for (const detail::Reuse* reuse : {s.reuse4.get(), s.reuse6.get()}) {
    if (reuse == nullptr) {
      continue;
    }
    for (const auto& tr : reuse->transports()) {
      EXPECT_EQ(tr->ref_count(), 0)
          << "socket " << detail::address_key(tr->local_endpoint()) << " still referenced";
      EXPECT_TRUE(tr->closed()) << "socket " << detail::address_key(tr->local_endpoint())
                                << " still open";
    }
  }
  EXPECT_TRUE(s.listeners.empty()) << s.listeners.size() << " listeners still registered";
  EXPECT_TRUE(s.single_owner.empty()) << s.single_owner.size() << " single-owner sockets tracked";
  if (s.gc_timer) {
    EXPECT_EQ(s.gc_timer->expiry(), asio::steady_timer::time_point::min())
        << "the garbage collector is still scheduled";
  }
}

std::unique_ptr<Endpoint> start_echo_server(asio::io_context& io) {
  auto ep = Endpoint::bind(io.get_executor(), loopback(false));
  EXPECT_TRUE(ep);
  if (!ep) {
    return nullptr;
  }
  auto server = std::make_unique<Endpoint>(std::move(*ep));
  const bool listening = static_cast<bool>(server->listen(server_tls()));
  EXPECT_TRUE(listening);
  if (!listening) {
    return nullptr;
  }
  asio::co_spawn(io, echo_server(*server), asio::detached);
  return server;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

asio::awaitable<std::vector<std::uint8_t>> dial_leaf(asio::ip::udp::endpoint addr,
                                                     TlsClientConfig tls,
                                                     std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  auto ep = Endpoint::bind(ex, loopback(false));
  if (!ep) {
    co_return std::vector<std::uint8_t>{};
  }
  auto result = co_await (ep->dial(addr, std::move(tls)) || sleep_for(timeout));
  if (result.index() != 0 || !std::get<0>(result)) {
    co_return std::vector<std::uint8_t>{};
  }
  auto chain = std::get<0>(result)->peer_certificates();
  co_return chain.empty() ? std::vector<std::uint8_t>{} : chain.front();
}

asio::awaitable<std::vector<std::uint8_t>> dial_leaf(asio::ip::udp::endpoint addr, std::string alpn,
                                                     std::chrono::milliseconds timeout) {
  co_return co_await dial_leaf(addr, tls_offer(alpn), timeout);
}

}  // namespace quicreuse::test
