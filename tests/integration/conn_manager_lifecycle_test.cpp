// ConnManager lifecycle on real sockets (issue 7): what becomes of lent endpoints, shared
// listeners, handshakes and single-owner sockets when the manager, a listener or an endpoint's
// owner lets go; plus the dial-side window callback, DNS dials, shared non-QUIC reads and final
// connection statistics. Clients send to 127.0.0.1 only.
#include "conn_manager_peer.hpp"
#include "io_helpers.hpp"
#include "manager_helpers.hpp"
#include "reuse/address_key.hpp"

#include <quicreuse/conn_manager.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <array>
#include <future>
#include <optional>
#include <thread>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using udp = asio::ip::udp;

// An application endpoint lent to a manager.
struct Lent {
  std::shared_ptr<Endpoint> endpoint;
  std::optional<DoneSignal> done;
  std::uint16_t port = 0;
};

Lent lend(asio::io_context& io, ConnManager& cm) {
  Lent out;
  auto ep = Endpoint::bind(io.get_executor(), udp::endpoint(asio::ip::address_v4::any(), 0));
  EXPECT_TRUE(ep);
  if (!ep) {
    return out;
  }
  out.endpoint = std::make_shared<Endpoint>(std::move(*ep));
  out.port = out.endpoint->local_endpoint().port();
  auto done = cm.lend_transport("udp4", out.endpoint);
  EXPECT_TRUE(done) << ConnManager::last_error();
  if (done) {
    out.done.emplace(*done);
  }
  return out;
}

// Lets the other coroutines park their operations, runs action, then waits at most bound (the
// other branch of an `||` is expected to finish first).
asio::awaitable<void> act_then_wait(std::function<void()> action, std::chrono::milliseconds bound) {
  co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
  action();
  co_await sleep_for(bound);
}

// Transport settings whose 64 KiB initial windows make a few MiB of transfer grow them.
TransportConfig small_windows() {
  TransportConfig small;
  small.initial_connection_window = std::uint64_t{64} * 1024;
  small.initial_stream_window = std::uint64_t{64} * 1024;
  return small;
}

// Accepts one connection; the error when the accept fails.
asio::awaitable<std::error_code> accept_error(Listener& listener) {
  auto r = co_await listener.accept();
  co_return r ? std::error_code{} : r.error();
}

// A manager (reuse on) with a listener for "proto" on 127.0.0.1.
class ConnManagerLifecycleListening : public ::testing::Test {
 protected:
  void SetUp() override {
    cm = make_manager(io, true);
    ASSERT_TRUE(cm);
    auto listening = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
    ASSERT_TRUE(listening) << ConnManager::last_error();
    ln = std::move(*listening);
  }
  asio::io_context io;
  std::shared_ptr<ConnManager> cm;
  std::unique_ptr<Listener> ln;
};

// ---------------------------------------------------------------------------------------------
// 1. Closing the manager hands a lent endpoint back without the manager's QUIC listener.

TEST(ConnManagerLifecycle, ManagerCloseStopsItsListenerOnALentEndpoint) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  Lent lent = lend(io, *cm);
  ASSERT_TRUE(lent.done);
  auto ln =
      cm->listen_quic(ma("/ip4/0.0.0.0/udp/" + std::to_string(lent.port)), server_tls({"libp2p"}));
  ASSERT_TRUE(ln) << ConnManager::last_error();
  ASSERT_TRUE(lent.endpoint->is_listening());
  std::optional<std::variant<std::error_code, std::monostate>> pending;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        pending = co_await (accept_error(**ln) || act_then_wait([&] { cm->close(); }, 5s));
      },
      10s));
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->index(), 0u) << "a pending accept outlived the manager";
  EXPECT_EQ(std::get<0>(*pending), make_error_code(errc::listener_closed));
  EXPECT_TRUE(lent.done->fired());
  EXPECT_TRUE(lent.endpoint->is_open());
  EXPECT_FALSE(lent.endpoint->is_listening());
  EXPECT_TRUE(lent.endpoint->listen(server_tls({"h3"})));  // the owner's own listen works
  (*ln)->close();
  EXPECT_TRUE(lent.endpoint->is_listening());  // and closing the Listener later leaves it alone
}

// ---------------------------------------------------------------------------------------------
// 2. A shared listener whose accept loop ends for another reason deregisters.

class ListenerEndsWithItsEndpoint : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(OwnerAction, ListenerEndsWithItsEndpoint, ::testing::Values(true, false),
                         [](const auto& p) {
                           return std::string(p.param ? "OwnerClosesEndpoint"
                                                      : "OwnerStopsListening");
                         });

TEST_P(ListenerEndsWithItsEndpoint, AcceptFailsAndANewListenStartsAFreshListener) {
  const bool close_endpoint = GetParam();
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  Lent lent = lend(io, *cm);
  ASSERT_TRUE(lent.done);
  const std::string port = std::to_string(lent.port);
  const std::string key = "0.0.0.0:" + port;
  auto ln = cm->listen_quic(ma("/ip4/0.0.0.0/udp/" + port), server_tls({"proto"}));
  ASSERT_TRUE(ln) << ConnManager::last_error();
  const auto first = detail::manager_state(*cm).listeners.at(key).listener;
  std::optional<std::variant<std::error_code, std::monostate>> pending, later;
  std::vector<std::uint8_t> leaf;
  std::unique_ptr<Listener> fresh;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        pending = co_await (accept_error(**ln) || act_then_wait(
                                                      [&] {
                                                        if (close_endpoint) {
                                                          lent.endpoint->close();
                                                        } else {
                                                          lent.endpoint->stop_listening();
                                                        }
                                                      },
                                                      5s));
        later = co_await (accept_error(**ln) || sleep_for(5s));
        auto again = cm->listen_quic(ma("/ip4/0.0.0.0/udp/" + port), server_tls({"proto"}));
        EXPECT_TRUE(again) << ConnManager::last_error();
        if (again) {
          fresh = std::move(*again);
          leaf = co_await dial_leaf(udp::endpoint(asio::ip::make_address("127.0.0.1"), lent.port),
                                    "proto", 2s);
        }
      },
      20s));
  ASSERT_TRUE(pending && later);
  ASSERT_EQ(pending->index(), 0u);
  EXPECT_EQ(std::get<0>(*pending), make_error_code(errc::listener_closed));
  ASSERT_EQ(later->index(), 0u) << "accept hangs on a listener whose endpoint stopped";
  EXPECT_EQ(std::get<0>(*later), make_error_code(errc::listener_closed));
  ASSERT_TRUE(fresh);
  ASSERT_EQ(detail::manager_state(*cm).listeners.count(key), 1u);
  EXPECT_NE(detail::manager_state(*cm).listeners.at(key).listener, first);  // not the dead one
  EXPECT_FALSE(leaf.empty());                                               // and it serves
  EXPECT_EQ(lent.done->fired(), close_endpoint);  // a closed lent endpoint is given up at once
  (*ln)->close();  // the old Listener's close must not touch the fresh listener's entry
  EXPECT_EQ(detail::manager_state(*cm).listeners.count(key), 1u);
}

// ---------------------------------------------------------------------------------------------
// 3. A handshake under way when its listener closes is refused, not handed to the next listener.

// A UDP relay between one client and a server: it forwards the client's datagrams until the
// server has answered once, then holds them until release() (so the server stays mid-handshake).
struct HoldingRelay {
  HoldingRelay(asio::io_context& io, udp::endpoint to)
      : socket(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        server(to),
        answered_event(io, std::chrono::steady_clock::now() + 5s) {}
  void release() {
    released = true;
    for (const auto& d : held) {
      std::error_code ignored;
      socket.send_to(asio::buffer(d), server, 0, ignored);
    }
    held.clear();
  }
  udp::socket socket;
  udp::endpoint server;
  udp::endpoint client;
  bool answered = false;
  bool released = false;
  std::vector<std::vector<std::uint8_t>> held;
  asio::steady_timer answered_event;  // cancelled when the server first answers
};

asio::awaitable<void> run_relay(std::shared_ptr<HoldingRelay> r) {
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    udp::endpoint from;
    auto [ec, n] =
        co_await r->socket.async_receive_from(asio::buffer(buf), from, as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    std::vector<std::uint8_t> d(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    udp::endpoint to = r->server;
    if (from == r->server) {
      if (!r->answered) {
        r->answered = true;
        r->answered_event.cancel();
      }
      to = r->client;
    } else {
      r->client = from;
      if (r->answered && !r->released) {
        r->held.push_back(std::move(d));
        continue;
      }
    }
    co_await r->socket.async_send_to(asio::buffer(d), to, as_tuple(use_awaitable));
  }
}

// Dials through the relay; returns how the connection ended (the dial's error, or the close).
asio::awaitable<std::error_code> dial_and_wait_closed(Endpoint& client, udp::endpoint to) {
  auto conn = co_await client.dial(to, tls_offer("proto"));
  if (!conn) {
    co_return conn.error();
  }
  auto [ec] = co_await conn->async_wait_closed(as_tuple(use_awaitable));
  co_return ec;
}

TEST_F(ConnManagerLifecycleListening, ListenerClosedMidHandshakeRefusesThatConnection) {
  const Multiaddr addr = ln->multiaddrs()[0];
  auto relay = std::make_shared<HoldingRelay>(io, ln->addr());
  asio::co_spawn(io, run_relay(relay), asio::detached);
  auto client = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(client);
  std::unique_ptr<Listener> ln2;
  std::optional<std::variant<std::error_code, Result<Connection>>> outcome;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto next_listener = [&]() -> asio::awaitable<Result<Connection>> {
          co_await relay->answered_event.async_wait(as_tuple(use_awaitable));
          EXPECT_TRUE(relay->answered);
          ln->close();  // the server holds the connection, its handshake not done
          auto again = cm->listen_quic(addr, server_tls({"proto"}));  // same socket (D9)
          EXPECT_TRUE(again) << ConnManager::last_error();
          if (!again) {
            co_return fail(errc::invalid_argument);
          }
          ln2 = std::move(*again);
          relay->release();  // the client's Finished reaches the server now
          co_return co_await ln2->accept();
        };
        outcome = co_await (dial_and_wait_closed(*client, relay->socket.local_endpoint()) ||
                            next_listener());
      },
      20s));
  relay->socket.close();
  ASSERT_TRUE(outcome);
  ASSERT_EQ(outcome->index(), 0u) << "the next listener accepted the orphaned handshake";
  const std::error_code ec = std::get<0>(*outcome);
  EXPECT_NE(ec.message().find("CONNECTION_REFUSED"), std::string::npos) << ec.message();
}

// ---------------------------------------------------------------------------------------------
// 4. The dial-side window callback sees the negotiated ALPN.

TEST(ConnManagerLifecycle, DialWindowCallbackSeesTheNegotiatedAlpn) {
  asio::io_context io;
  auto cm = make_manager(io, true, {options::transport_config(small_windows())});
  auto server = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(cm && server);
  ASSERT_TRUE(server->listen(server_tls({"second"})));
  asio::co_spawn(io, echo_server(*server), asio::detached);
  std::vector<std::string> seen;
  const auto data = pattern(std::size_t{4} * 1024 * 1024, 7);
  std::vector<std::uint8_t> echoed;
  TlsClientConfig offer = client_tls({"first", "second"});
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto target = to_quic_multiaddr(server->local_endpoint());
        auto conn = co_await cm->dial_quic(*target, offer, [&](const WindowIncreaseRequest& r) {
          seen.emplace_back(r.alpn);
          return true;
        });
        EXPECT_TRUE(conn) << ConnManager::last_error();
        if (conn) {
          EXPECT_EQ(conn->alpn(), "second");
          echoed = co_await echo_round_trip(*conn, data);
        }
      },
      60s));
  EXPECT_TRUE(echoed == data);
  ASSERT_FALSE(seen.empty()) << "the transfer never asked to grow the window";
  for (const auto& alpn : seen) {
    EXPECT_EQ(alpn, "second");
  }
}

// ---------------------------------------------------------------------------------------------
// 5. With reuse off, released single-owner sockets are forgotten.

TEST(ConnManagerLifecycle, SingleOwnerSocketsAreForgottenWhenReleased) {
  asio::io_context io;
  auto cm = make_manager(io, false);
  ASSERT_TRUE(cm);
  const udp::endpoint target(asio::ip::make_address("127.0.0.1"), 1);
  for (int i = 0; i < 1000; ++i) {
    auto lease = cm->transport_for_dial("udp4", target);
    ASSERT_TRUE(lease) << ConnManager::last_error();
  }
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln);
  EXPECT_EQ(detail::manager_state(*cm).single_owner.size(), 1u);  // the listener's socket only
  (*ln)->close();
  EXPECT_EQ(detail::manager_state(*cm).single_owner.size(), 0u);
}

// ---------------------------------------------------------------------------------------------
// 6. Lending to a closed manager says that the manager is closed.

TEST(ConnManagerLifecycle, LendTransportOnAClosedManagerSaysItIsClosed) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  cm->close();
  auto ep = Endpoint::bind(io.get_executor(), udp::endpoint(asio::ip::address_v4::any(), 0));
  ASSERT_TRUE(ep);
  auto done = cm->lend_transport("udp4", std::make_shared<Endpoint>(std::move(*ep)));
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error(), make_error_code(errc::endpoint_closed));
  EXPECT_EQ(ConnManager::last_error(), "the connection manager is closed");
}

// The DoneSignal is the one object the manager hands out that any thread may use: the owner of
// the lent endpoint waits on it from its own thread while the manager closes on its executor.
TEST(ConnManagerLifecycle, DoneSignalMayBeWatchedFromAnotherThread) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto ep = Endpoint::bind(io.get_executor(), udp::endpoint(asio::ip::address_v4::any(), 0));
  ASSERT_TRUE(ep);
  auto done = cm->lend_transport("udp4", std::make_shared<Endpoint>(std::move(*ep)));
  ASSERT_TRUE(done) << ConnManager::last_error();
  auto work = asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });
  std::promise<void> fired;
  EXPECT_FALSE(done->fired());  // asked here while the executor runs elsewhere
  done->on_fired([&fired] { fired.set_value(); });
  asio::post(io, [cm] { cm->close(); });  // the manager is closed on its executor
  const bool in_time = fired.get_future().wait_for(10s) == std::future_status::ready;
  EXPECT_TRUE(in_time);
  EXPECT_TRUE(done->fired());
  work.reset();
  io.stop();
  runner.join();
}

// DoneSignal callbacks are posted to the manager's executor: never run inside the close() that
// fires the signal, nor inline in on_fired() once it has fired.
TEST(ConnManagerLifecycle, DoneSignalCallbacksArePostedToTheExecutor) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto ep = Endpoint::bind(io.get_executor(), udp::endpoint(asio::ip::address_v4::any(), 0));
  ASSERT_TRUE(ep);
  auto done = cm->lend_transport("udp4", std::make_shared<Endpoint>(std::move(*ep)));
  ASSERT_TRUE(done);
  int before = 0;
  bool in_close = false;
  done->on_fired([&] { before += in_close ? 100 : 1; });
  in_close = true;
  cm->close();
  in_close = false;
  EXPECT_TRUE(done->fired());
  EXPECT_EQ(before, 0);  // not run inside close()
  int after = 0;
  done->on_fired([&after] { ++after; });
  EXPECT_EQ(after, 0);  // not run inline although the signal has fired
  io.poll();
  EXPECT_EQ(before, 1);
  EXPECT_EQ(after, 1);
}

// ---------------------------------------------------------------------------------------------
// 7. Concurrent reads on a shared non-QUIC conn each get a datagram.

asio::awaitable<std::pair<std::error_code, std::size_t>> read_one(NonQuicPacketConn& pc) {
  std::vector<std::uint8_t> buf(1500);
  auto [ec, n, from] = co_await pc.async_read_from(asio::buffer(buf), as_tuple(use_awaitable));
  co_return std::pair{ec, n};
}

// Sends two STUN Binding Requests (returns a value: Asio 1.22's && of a tuple and void breaks).
asio::awaitable<bool> send_requests(udp::socket& from, udp::endpoint to) {
  co_await asio::post(co_await asio::this_coro::executor, use_awaitable);  // both reads park
  for (std::uint8_t i = 1; i <= 2; ++i) {
    const stun::TransactionId id{i, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const auto request = stun::make_binding_request(id);
    co_await from.async_send_to(asio::buffer(request), to, as_tuple(use_awaitable));
  }
  co_return true;
}

TEST_F(ConnManagerLifecycleListening, ConcurrentReadsOnASharedNonQuicConnEachGetADatagram) {
  auto pc = cm->shared_non_quic_packet_conn("udp4", ln->addr());
  ASSERT_TRUE(pc) << ConnManager::last_error();
  udp::socket peer(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::optional<std::pair<std::error_code, std::size_t>> first, second;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await ((read_one(**pc) && read_one(**pc) && send_requests(peer, ln->addr())) ||
                           sleep_for(5s));
        if (r.index() == 0) {
          first = std::get<0>(std::get<0>(r));
          second = std::get<1>(std::get<0>(r));
        }
      },
      10s));
  ASSERT_TRUE(first && second) << "the reads did not both complete";
  EXPECT_FALSE(first->first) << first->first.message();
  EXPECT_FALSE(second->first) << second->first.message();
  EXPECT_EQ(first->second, 20u);
  EXPECT_EQ(second->second, 20u);
}

// ---------------------------------------------------------------------------------------------
// 8. A /dns4 dial resolves asynchronously: the executor keeps running meanwhile.

TEST(ConnManagerLifecycle, DnsDialResolvesWithoutBlockingTheExecutor) {
  asio::io_context io;
  std::vector<std::string> events;
  // The dial's socket is bound once the name is resolved: the bind marks "resolved".
  auto record_bind = options::override_listen_udp(
      [&](std::string_view, const udp::endpoint& local) -> Result<udp::socket> {
        events.emplace_back("bind");
        udp::socket s(io, local.protocol());
        s.bind(local);
        return s;
      });
  auto cm = make_manager(io, false, {record_bind});
  auto server = start_echo_server(io);
  ASSERT_TRUE(cm && server);
  const Multiaddr target =
      ma("/dns4/localhost/udp/" + std::to_string(server->local_endpoint().port()) + "/quic-v1");
  std::optional<Result<Connection>> dialed;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        // Posted now, it runs once the dial first suspends: before the bind only if the dial
        // waits for the resolver instead of blocking in it.
        asio::post(io, [&] { events.emplace_back("tick"); });
        dialed = co_await cm->dial_quic(target, client_tls());
      },
      20s));
  ASSERT_TRUE(dialed);
  EXPECT_TRUE(*dialed) << ConnManager::last_error();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "tick");
  EXPECT_EQ(events[1], "bind");
}

// ---------------------------------------------------------------------------------------------
// 9. Connection::stats() keeps the final snapshot after the connection is gone.

TEST(ConnManagerLifecycle, StatsKeepTheFinalSnapshotAfterClose) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  auto server = start_echo_server(io);
  ASSERT_TRUE(cm && server);
  std::optional<Connection> conn;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto target = to_quic_multiaddr(server->local_endpoint());
        auto c = co_await cm->dial_quic(*target, client_tls());
        EXPECT_TRUE(c) << ConnManager::last_error();
        if (c) {
          conn = *c;
          co_await echo_round_trip(*c, pattern(10'000, 3));
        }
      },
      20s));
  ASSERT_TRUE(conn);
  const ConnectionStats open = conn->stats();
  cm->close();  // the endpoint goes, and the connection with it
  ASSERT_FALSE(conn->is_open());
  const ConnectionStats last = conn->stats();
  EXPECT_GE(last.bytes_sent, open.bytes_sent);
  EXPECT_GE(last.packets_received, open.packets_received);
  EXPECT_GT(last.bytes_sent, 10'000u);
  EXPECT_GT(last.smoothed_rtt.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// 10. check_closed checks something; D3 and per-protocol select hooks through the manager.

TEST(ConnManagerLifecycle, CheckClosedSeesAReferenceLeftBehind) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto lease =
      cm->transport_for_dial("udp4", udp::endpoint(asio::ip::make_address("127.0.0.1"), 1));
  ASSERT_TRUE(lease);
  cm->close();
  EXPECT_NONFATAL_FAILURE(check_closed(*cm), "still referenced");
  lease->release();
  check_closed(*cm);
}

// Accepts one connection of ln and echoes it.
asio::awaitable<void> accept_and_echo(Listener& ln) {
  auto conn = co_await ln.accept();
  if (conn) {
    co_await echo_connection(*conn);
  }
}

std::uint64_t window_growth(ConnManager& cm, const udp::endpoint& local) {
  for (const auto& tr : detail::manager_state(cm).reuse4->transports()) {
    if (tr->local_endpoint() == local) {
      return tr->endpoint()->stats().window_growth_bytes;
    }
  }
  ADD_FAILURE() << "no pooled socket at " << detail::address_key(local);
  return 0;
}

TEST(ConnManagerLifecycle, D3ListenerWithoutWindowCallbackAllowsGrowth) {
  asio::io_context io;
  auto cm = make_manager(io, true, {options::transport_config(small_windows())});
  ASSERT_TRUE(cm);
  auto open = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  auto shut = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}),
                              [](const WindowIncreaseRequest&) { return false; });
  ASSERT_TRUE(open && shut);
  const auto data = pattern(std::size_t{4} * 1024 * 1024, 5);
  std::uint64_t grown_open = 0;
  std::uint64_t grown_shut = 0;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto client = Endpoint::bind(co_await asio::this_coro::executor, loopback(false));
        const std::array<Listener*, 2> listeners{open->get(), shut->get()};
        for (Listener* ln : listeners) {
          asio::co_spawn(co_await asio::this_coro::executor, accept_and_echo(*ln), asio::detached);
          auto conn = co_await client->dial(ln->addr(), tls_offer("proto"));
          EXPECT_TRUE(conn);
          if (!conn) {
            co_return;
          }
          auto echoed = co_await echo_round_trip(*conn, data);
          EXPECT_TRUE(echoed == data);
          (ln == open->get() ? grown_open : grown_shut) = window_growth(*cm, ln->addr());
        }
      },
      60s));
  EXPECT_GT(grown_open, 0u);  // no callback: growth allowed (the seed crashes)
  EXPECT_EQ(grown_shut, 0u);  // the measure is meaningful: a refusing callback keeps it at 0
}

TEST(ConnManagerLifecycle, ProtocolSelectHookPicksTheIdentity) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto id_a = identity("a.example");
  auto id_b = identity("b.example");
  auto id_other = identity("other.example");
  std::vector<std::string> asked;
  TlsServerConfig by_name;
  by_name.default_choice.alpns = {"proto1"};
  by_name.select = [&](const ClientHelloInfo& hello) -> Result<TlsServerChoice> {
    asked.push_back(hello.server_name);
    TlsServerChoice choice;
    choice.identity = hello.server_name == "a.example" ? id_a : id_b;
    choice.alpns = {"proto1"};
    return choice;
  };
  auto ln1 = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), by_name);
  ASSERT_TRUE(ln1) << ConnManager::last_error();
  auto ln2 = cm->listen_quic((*ln1)->multiaddrs()[0], tls_for({"proto2"}, id_other));
  ASSERT_TRUE(ln2) << ConnManager::last_error();
  TlsClientConfig to_a = tls_offer("proto1");
  to_a.server_name = "a.example";
  TlsClientConfig to_b = tls_offer("proto1");
  to_b.server_name = "b.example";
  std::vector<std::uint8_t> leaf_a, leaf_b, leaf_other;
  const udp::endpoint addr = (*ln1)->addr();
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        leaf_a = co_await dial_leaf(addr, to_a, 2s);
        leaf_b = co_await dial_leaf(addr, to_b, 2s);
        leaf_other = co_await dial_leaf(addr, "proto2", 2s);
      },
      20s));
  EXPECT_EQ(leaf_a, id_a->leaf_der());
  EXPECT_EQ(leaf_b, id_b->leaf_der());
  EXPECT_EQ(leaf_other, id_other->leaf_der());  // the other protocol's hook-less config
  EXPECT_EQ(asked, (std::vector<std::string>{"a.example", "b.example"}));
  (*ln1)->close();
  (*ln2)->close();
  cm->close();
  check_closed(*cm);
}

}  // namespace
}  // namespace quicreuse::test
