// ConnManager on real sockets: the go-libp2p connmgr_test.go scenarios (TestX -> ConnManager.X,
// "with/without reuseport" as a parameter) and the decision tests (D2, D4, D5, D7, D9, D10).
// Clients send to 127.0.0.1 only; wildcard binds appear where the seed's test needs them.
#include "conn_manager_peer.hpp"
#include "io_helpers.hpp"
#include "manager_helpers.hpp"
#include "reuse/address_key.hpp"
#include "wait.hpp"

#include <quicreuse/conn_manager.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;
using udp = asio::ip::udp;

class ConnManagerReuse : public ::testing::TestWithParam<bool> {
 protected:
  bool reuse() const { return GetParam(); }
  asio::io_context io;
};
INSTANTIATE_TEST_SUITE_P(Reuseport, ConnManagerReuse, ::testing::Values(true, false),
                         [](const auto& p) {
                           return std::string(p.param ? "WithReuseport" : "WithoutReuseport");
                         });

TEST_P(ConnManagerReuse, ListenOnSameProto) {
  auto cm = make_manager(io, reuse());
  ASSERT_TRUE(cm);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln) << ConnManager::last_error();
  auto again = cm->listen_quic(ln->get()->multiaddrs()[0], server_tls({"proto"}));
  ASSERT_FALSE(again);
  EXPECT_EQ(ConnManager::last_error(), "already listening for protocol proto");
  auto other = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(other) << ConnManager::last_error();
  EXPECT_NE((*other)->addr(), (*ln)->addr());
  (*ln)->close();
  (*other)->close();
  cm->close();
  check_closed(*cm);
}

TEST_P(ConnManagerReuse, Listener) {
  auto cm = make_manager(io, reuse());
  ASSERT_TRUE(cm);
  auto id1 = identity("one.example");
  auto id2 = identity("two.example");
  auto ln1 = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), tls_for({"proto1"}, id1));
  ASSERT_TRUE(ln1) << ConnManager::last_error();
  auto ln2 = cm->listen_quic((*ln1)->multiaddrs()[0], tls_for({"proto2"}, id2));
  ASSERT_TRUE(ln2) << ConnManager::last_error();
  EXPECT_EQ((*ln1)->addr(), (*ln2)->addr());
  const udp::endpoint addr = (*ln1)->addr();
  std::vector<std::uint8_t> got1, got2, got3, after1, after2;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        got1 = co_await dial_leaf(addr, "proto1", 2s);
        got2 = co_await dial_leaf(addr, "proto2", 2s);
        got3 = co_await dial_leaf(addr, "proto3", 100ms);
        (*ln1)->close();
        after1 = co_await dial_leaf(addr, "proto1", 100ms);
        after2 = co_await dial_leaf(addr, "proto2", 2s);
      },
      20s));
  EXPECT_EQ(got1, id1->leaf_der());
  EXPECT_EQ(got2, id2->leaf_der());
  EXPECT_TRUE(got3.empty());
  EXPECT_TRUE(after1.empty());
  EXPECT_EQ(after2, id2->leaf_der());
  (*ln2)->close();
  cm->close();
  check_closed(*cm);
}

// A socket factory that records the descriptor of the OS socket it hands to the manager.
ConnManagerOption recording_listen_udp(asio::io_context& io, int& made_fd) {
  return options::override_listen_udp(
      [&io, &made_fd](std::string_view, const udp::endpoint& local) -> Result<udp::socket> {
        udp::socket s(io, local.protocol());
        s.bind(local);
        made_fd = s.native_handle();
        return s;
      });
}

// Returns the address the descriptor is bound to (and checks it is a UDP socket).
udp::endpoint bound_address(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  EXPECT_EQ(::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
  EXPECT_EQ(type, SOCK_DGRAM);
  udp::endpoint bound;
  socklen_t blen = static_cast<socklen_t>(bound.capacity());
  EXPECT_EQ(::getsockname(fd, bound.data(), &blen), 0);
  bound.resize(blen);
  return bound;
}

TEST_P(ConnManagerReuse, ConnectionPassedToQUICForListening) {
  // The endpoint gets the raw OS UDP socket the factory made (no wrapper in between).
  int made_fd = -1;
  auto cm = make_manager(io, reuse(), {recording_listen_udp(io, made_fd)});
  ASSERT_TRUE(cm);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln);
  ASSERT_GE(made_fd, 0);
  EXPECT_EQ(bound_address(made_fd), (*ln)->addr());
}

TEST_P(ConnManagerReuse, ConnectionPassedToQUICForDialing) {
  int made_fd = -1;
  auto cm = make_manager(io, reuse(), {recording_listen_udp(io, made_fd)});
  ASSERT_TRUE(cm);
  auto lease =
      cm->transport_for_dial("udp4", udp::endpoint(asio::ip::make_address("127.0.0.1"), 1234));
  ASSERT_TRUE(lease) << ConnManager::last_error();
  ASSERT_GE(made_fd, 0);
  EXPECT_EQ(bound_address(made_fd), lease->local_endpoint());
}

TEST(ConnManager, AcceptErrorGetCleanedUp) {
  asio::io_context io;
  auto cm = make_manager(io, false);
  ASSERT_TRUE(cm);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln);
  const udp::endpoint addr = (*ln)->addr();
  std::error_code accept_error;
  asio::co_spawn(
      io,
      [](Listener& l, std::error_code& out) -> asio::awaitable<void> {
        auto r = co_await l.accept();
        out = r ? std::error_code{} : r.error();
      }(**ln, accept_error),
      asio::detached);
  io.run_for(20ms);
  (*ln)->close();
  io.run_for(50ms);
  EXPECT_EQ(accept_error, make_error_code(errc::listener_closed));
  // The socket is gone with the listener (D8): the port can be bound again at once.
  udp::socket rebind(io, udp::v4());
  std::error_code ec;
  rebind.bind(addr, ec);
  EXPECT_FALSE(ec) << ec.message();
}

TEST(ConnManager, ExternalTransport) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto lent = Endpoint::bind(io.get_executor(), udp::endpoint(asio::ip::address_v4::any(), 0));
  ASSERT_TRUE(lent);
  auto endpoint = std::make_shared<Endpoint>(std::move(*lent));
  const std::uint16_t port = endpoint->local_endpoint().port();
  auto done = cm->lend_transport("udp4", endpoint);
  ASSERT_TRUE(done) << ConnManager::last_error();
  auto ln = cm->listen_quic_and_associate(
      Association("quic"), ma("/ip4/0.0.0.0/udp/" + std::to_string(port)), server_tls({"libp2p"}),
      [](const WindowIncreaseRequest&) { return false; });
  ASSERT_TRUE(ln) << ConnManager::last_error();
  EXPECT_EQ((*ln)->addr().port(), port);
  udp::socket peer(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  udp::endpoint first_sender;
  std::error_code dial_error;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        std::vector<std::uint8_t> buf(2048);
        // The peer never answers: the dial is still pending when its first datagram arrives.
        auto dialed = co_await (
            cm->dial_quic(ma("/ip4/127.0.0.1/udp/" + std::to_string(peer.local_endpoint().port()) +
                             "/quic-v1"),
                          tls_offer("libp2p"), {}, Association("quic")) ||
            peer.async_receive_from(asio::buffer(buf), first_sender, as_tuple(use_awaitable)));
        dial_error = dialed.index() == 1 ? make_error_code(std::errc::timed_out)
                                         : std::get<0>(dialed).error();
      },
      10s));
  EXPECT_EQ(dial_error, make_error_code(std::errc::timed_out));  // nobody answers QUIC there
  EXPECT_EQ(first_sender.port(), port);  // but the dial left from the lent socket
  // As the seed's test: the manager closes first, then the listener.
  cm->close();
  EXPECT_TRUE(done->fired());              // right after close, no waiting
  EXPECT_TRUE(endpoint->is_open());        // the manager never closed it...
  EXPECT_FALSE(endpoint->is_listening());  // ...and left no QUIC listener of its own on it
  (*ln)->close();
  EXPECT_TRUE(endpoint->listen(server_tls({"h3"})));  // the owner may listen on it again
}

struct AssociateCase {
  const char* name;
  const char* listen;
  const char* target;
};

class ConnManagerAssociate : public ::testing::TestWithParam<AssociateCase> {};
INSTANTIATE_TEST_SUITE_P(Listeners, ConnManagerAssociate,
                         ::testing::Values(AssociateCase{"MultipleUnspecifiedListeners",
                                                         "/ip4/0.0.0.0/udp/0/quic-v1", "1.1.1.1"},
                                           AssociateCase{"MultipleSpecificListeners",
                                                         "/ip4/127.0.0.1/udp/0/quic-v1",
                                                         "127.0.0.1"}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST_P(ConnManagerAssociate, Associate) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  const udp::endpoint target(asio::ip::make_address(GetParam().target), 1);
  const Association a1("test-1");
  const Association a2("test-2");
  auto ln1 = cm->listen_quic_and_associate(a1, ma(GetParam().listen), server_tls({"libp2p"}));
  ASSERT_TRUE(ln1) << ConnManager::last_error();
  ASSERT_EQ((*ln1)->multiaddrs().size(), 1u);
  auto ln2 = cm->listen_quic_and_associate(a2, (*ln1)->multiaddrs()[0], server_tls({"h3"}));
  ASSERT_TRUE(ln2) << ConnManager::last_error();
  auto t1 = cm->transport_with_association_for_dial(a1, "udp4", target);
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->local_endpoint(), (*ln1)->addr());
  auto t2 = cm->transport_with_association_for_dial(a2, "udp4", target);
  ASSERT_TRUE(t2);
  EXPECT_EQ(t2->local_endpoint(), (*ln2)->addr());
  auto ln3 = cm->listen_quic_and_associate(a1, ma(GetParam().listen), server_tls({"libp2p"}));
  ASSERT_TRUE(ln3) << ConnManager::last_error();
  // An association nobody listens with is a preference, not an exclusion.
  auto t3 = cm->transport_with_association_for_dial(Association("unused"), "udp4", target);
  ASSERT_TRUE(t3);
  EXPECT_TRUE(t3->local_endpoint() == (*ln2)->addr() || t3->local_endpoint() == (*ln3)->addr());
}

TEST_P(ConnManagerReuse, ConnContextError) {
  auto cm = make_manager(
      io, reuse(), {options::conn_context([](const IncomingConnectionInfo&) -> Result<std::any> {
        return fail(errc::connection_refused);
      })});
  ASSERT_TRUE(cm);
  auto ln1 = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto1"}));
  ASSERT_TRUE(ln1);
  auto ln2 = cm->listen_quic((*ln1)->multiaddrs()[0], server_tls({"proto2"}));
  ASSERT_TRUE(ln2);
  std::vector<std::error_code> errors;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto client = Endpoint::bind(co_await asio::this_coro::executor, loopback(false));
        for (const char* alpn : {"proto1", "proto2"}) {
          auto conn = co_await client->dial((*ln1)->addr(), tls_offer(alpn));
          errors.push_back(conn ? std::error_code{} : conn.error());
        }
      },
      20s));
  ASSERT_EQ(errors.size(), 2u);
  for (const auto& e : errors) {
    EXPECT_NE(e.message().find("CONNECTION_REFUSED"), std::string::npos) << e.message();
  }
}

TEST_P(ConnManagerReuse, ConnContextSuccess) {
  auto cm = make_manager(
      io, reuse(), {options::conn_context([](const IncomingConnectionInfo&) -> Result<std::any> {
        return std::any(std::string("bar"));
      })});
  ASSERT_TRUE(cm);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto1"}));
  ASSERT_TRUE(ln);
  std::any value;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto client = Endpoint::bind(co_await asio::this_coro::executor, loopback(false));
        auto [accepted, dialed] =
            co_await ((*ln)->accept() && client->dial((*ln)->addr(), tls_offer("proto1")));
        if (accepted) {
          value = accepted->user_value();
        }
      },
      20s));
  ASSERT_EQ(value.type(), typeid(std::string));
  EXPECT_EQ(std::any_cast<std::string>(value), "bar");
}

TEST(ConnManager, ConnContextCanOnlyBeSetOnce) {
  asio::io_context io;
  auto hook = [](const IncomingConnectionInfo&) -> Result<std::any> { return std::any(); };
  auto cm = ConnManager::create(io.get_executor(), kZeroKey, kZeroKey,
                                {options::conn_context(hook), options::conn_context(hook)});
  ASSERT_FALSE(cm);
  EXPECT_EQ(ConnManager::last_error(), "conn context can only be set once");
}

TEST(ConnManager, AssociationCleanup) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  const Association a1("assoc1"), a2("assoc2"), a3("assoc3");
  auto ln1 =
      cm->listen_quic_and_associate(a1, ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"libp2p"}));
  ASSERT_TRUE(ln1);
  auto ln2 = cm->listen_quic_and_associate(a2, (*ln1)->multiaddrs()[0], server_tls({"h3"}));
  ASSERT_TRUE(ln2);
  auto ln3 =
      cm->listen_quic_and_associate(a3, ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"libp2p"}));
  ASSERT_TRUE(ln3);
  const udp::endpoint l1 = (*ln1)->addr();
  const udp::endpoint l3 = (*ln3)->addr();
  const udp::endpoint target(asio::ip::make_address("127.0.0.1"), 1);
  auto addr_for = [&](const Association& a) {
    auto lease = cm->transport_with_association_for_dial(a, "udp4", target);
    EXPECT_TRUE(lease);
    return lease ? lease->local_endpoint() : udp::endpoint{};
  };
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(addr_for(a1), l1);
  }
  (*ln1)->close();
  bool moved = false;
  for (int i = 0; i < 100 && !moved; ++i) {
    moved = addr_for(a1) != l1;
  }
  EXPECT_TRUE(moved);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(addr_for(a2), l1);  // ln2 shares ln1's socket and keeps serving
  }
  (*ln2)->close();
  moved = false;
  for (int i = 0; i < 100 && !moved; ++i) {
    moved = addr_for(a2) != l1;
  }
  EXPECT_TRUE(moved);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(addr_for(a3), l3);
  }
}

TEST(ConnManager, ConnManagerIsolation) {
  asio::io_context io;
  auto cm1 = make_manager(io, true);
  auto cm2 = make_manager(io, true);
  ASSERT_TRUE(cm1 && cm2);
  auto ln1 = cm1->listen_quic_and_associate(Association("one"), ma("/ip4/127.0.0.1/udp/0/quic-v1"),
                                            server_tls({"proto"}));
  auto ln2 = cm2->listen_quic_and_associate(Association("two"), ma("/ip4/127.0.0.1/udp/0/quic-v1"),
                                            server_tls({"proto"}));
  ASSERT_TRUE(ln1 && ln2);
  auto tr1 = detail::manager_state(*cm1).reuse4->transports();
  auto tr2 = detail::manager_state(*cm2).reuse4->transports();
  ASSERT_EQ(tr1.size(), 1u);
  ASSERT_EQ(tr2.size(), 1u);
  EXPECT_TRUE(tr1[0]->has_association(Association("one")));
  EXPECT_FALSE(tr1[0]->has_association(Association("two")));
  EXPECT_TRUE(tr2[0]->has_association(Association("two")));
  EXPECT_FALSE(tr2[0]->has_association(Association("one")));
}

// ---------------------------------------------------------------------------------------------
// Decisions

TEST(ConnManagerDecision, D2DialReferenceIsReleasedWhenTheConnectionCloses) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  auto server = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(cm && server);
  ASSERT_TRUE(server->listen(server_tls()));
  asio::co_spawn(io, echo_server(*server), asio::detached);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"other"}));
  ASSERT_TRUE(ln);
  int during = 0;
  int after = 0;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto addr = to_quic_multiaddr(server->local_endpoint());
        auto conn = co_await cm->dial_quic(*addr, client_tls());
        EXPECT_TRUE(conn) << ConnManager::last_error();
        if (!conn) {
          co_return;
        }
        EXPECT_EQ(conn->local_endpoint(), (*ln)->addr());  // the dial left from the listen socket
        during = detail::manager_state(*cm).reuse4->transports()[0]->ref_count();
        conn->close();
        conn = fail(errc::connection_closed);
        const auto refs = [&] {
          return detail::manager_state(*cm).reuse4->transports()[0]->ref_count();
        };
        co_await wait_until([&] { return refs() == 1; }, 5s);
        after = refs();
      },
      20s));
  EXPECT_EQ(during, 2);  // listener + dial
  EXPECT_EQ(after, 1);   // the seed would stay at 2 forever
}

// Sends datagram to `to` once a whole QUIC handshake with the listener there (proto) is over: any
// deadline of a read started before would have fired by then. read_done must still be false.
asio::awaitable<void> send_after_a_handshake(udp::socket& socket,
                                             std::vector<std::uint8_t> datagram, udp::endpoint to,
                                             const bool& read_done) {
  EXPECT_FALSE((co_await dial_leaf(to, "proto", 5s)).empty());
  EXPECT_FALSE(read_done) << "the read without a deadline ended early";
  co_await socket.async_send_to(asio::buffer(datagram), to, as_tuple(use_awaitable));
}

TEST(ConnManagerDecision, D4NoDeadlineMeansNoDeadlineAndD5CloseIsIdempotent) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln);
  auto pc = cm->shared_non_quic_packet_conn("udp4", (*ln)->addr());
  ASSERT_TRUE(pc) << ConnManager::last_error();
  auto transport = detail::manager_state(*cm).reuse4->transports()[0];
  EXPECT_EQ(transport->ref_count(), 2);
  (*pc)->set_read_deadline(std::chrono::steady_clock::time_point{});  // "zero": no deadline
  udp::socket stun_client(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::error_code read_error;
  std::size_t read_bytes = 0;
  std::error_code timed_out;
  bool read_done = false;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        std::vector<std::uint8_t> buf(1500);
        const stun::TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        const auto request = stun::make_binding_request(id);
        // The read starts first and waits (no deadline); the request arrives after a handshake.
        asio::co_spawn(co_await asio::this_coro::executor,
                       send_after_a_handshake(stun_client, request, (*ln)->addr(), read_done),
                       asio::detached);
        auto [ec0, n0, from0] =
            co_await (*pc)->async_read_from(asio::buffer(buf), as_tuple(use_awaitable));
        read_done = true;
        read_error = ec0;
        read_bytes = n0;
        // A deadline in the past fails the next read at once; a near one fails a pending read.
        (*pc)->set_read_deadline(std::chrono::steady_clock::now() + 30ms);
        auto [ec, n, from] =
            co_await (*pc)->async_read_from(asio::buffer(buf), as_tuple(use_awaitable));
        timed_out = ec;
      },
      10s));
  EXPECT_FALSE(read_error) << read_error.message();
  EXPECT_EQ(read_bytes, 20u);
  EXPECT_EQ(timed_out, std::make_error_code(std::errc::timed_out));
  (*pc)->close();
  (*pc)->close();
  EXPECT_EQ(transport->ref_count(), 1);  // released once (the seed: once per call)
  (*ln)->close();
  (*ln)->close();
  cm->close();
  cm->close();
}

TEST(ConnManagerDecision, SharedNonQuicConnNeedsTheExactListenAddressAndReuse) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln);
  auto wrong = cm->shared_non_quic_packet_conn("udp4", udp::endpoint((*ln)->addr().address(), 0));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error(), make_error_code(errc::not_listening));
  EXPECT_NE(ConnManager::last_error().find("should start first"), std::string::npos);
  auto off = make_manager(io, false);
  auto ln_off = off->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln_off);
  auto refused = off->shared_non_quic_packet_conn("udp4", (*ln_off)->addr());
  ASSERT_FALSE(refused);
  EXPECT_NE(ConnManager::last_error().find("DisableReuseport"), std::string::npos);
}

TEST(ConnManagerDecision, D7UnknownAlpnClosesOnlyThatConnection) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto ln1 = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto1"}));
  ASSERT_TRUE(ln1);
  auto ln2 = cm->listen_quic((*ln1)->multiaddrs()[0], server_tls({"proto2"}));
  ASSERT_TRUE(ln2);
  const udp::endpoint addr = (*ln1)->addr();
  std::error_code orphan_closed;
  std::vector<std::uint8_t> still_serving;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto client = Endpoint::bind(co_await asio::this_coro::executor, loopback(false));
        auto [accepted, dialed] =
            co_await ((*ln1)->accept() && client->dial(addr, tls_offer("proto1")));
        if (!accepted || !dialed) {
          co_return;
        }
        // The race of the seed's quirk: proto1's listener is gone when its connection is routed.
        (*ln1)->close();
        detail::manager_state(*cm).listeners.begin()->second.listener->route(*accepted);
        auto [ec] = co_await dialed->async_wait_closed(as_tuple(use_awaitable));
        orphan_closed = ec;
        still_serving = co_await dial_leaf(addr, "proto2", 2s);
      },
      20s));
  EXPECT_EQ(orphan_closed, make_application_error(0x1006));
  EXPECT_FALSE(still_serving.empty());  // the other protocol keeps being accepted
}

TEST(ConnManagerDecision, D9ListenAgainOnTheSamePortAtOnce) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln);
  const Multiaddr addr = (*ln)->multiaddrs()[0];
  (*ln)->close();  // the socket stays pooled until the garbage collector runs
  auto again = cm->listen_quic(addr, server_tls({"proto"}));
  ASSERT_TRUE(again) << ConnManager::last_error();  // the seed: "address in use" for 10-40 s
  EXPECT_EQ((*again)->multiaddrs()[0], addr);
  std::vector<std::uint8_t> leaf;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> { leaf = co_await dial_leaf((*again)->addr(), "proto", 2s); },
      10s));
  EXPECT_FALSE(leaf.empty());
}

TEST(ConnManager, ListenCipherSuitesApplyToEveryProtocolOnTheAddress) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto aes256 = server_tls({"proto1"});
  aes256.cipher_suites = {CipherSuite::aes_256_gcm_sha384};
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), aes256);
  ASSERT_TRUE(ln) << ConnManager::last_error();
  // A second protocol on the same socket must use the same suites.
  auto other = cm->listen_quic((*ln)->multiaddrs()[0], server_tls({"proto2"}));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), make_error_code(errc::invalid_argument));
  EXPECT_NE(ConnManager::last_error().find("cipher suites differ"), std::string::npos)
      << ConnManager::last_error();
  const udp::endpoint addr = (*ln)->addr();
  std::optional<CipherSuite> negotiated;
  std::error_code chacha_error;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        // The listener queues what it accepts: the dials complete without an accept.
        auto client = Endpoint::bind(co_await asio::this_coro::executor, loopback(false));
        auto every_suite = co_await client->dial(addr, tls_offer("proto1"));
        if (every_suite) {
          negotiated = every_suite->cipher_suite();
          every_suite->close();
        }
        auto chacha = tls_offer("proto1");
        chacha.cipher_suites = {CipherSuite::chacha20_poly1305_sha256};
        auto refused = co_await client->dial(addr, chacha);
        chacha_error = refused ? std::error_code{} : refused.error();
        client->close();
      },
      20s));
  EXPECT_EQ(negotiated, CipherSuite::aes_256_gcm_sha384);
  EXPECT_EQ(chacha_error, make_transport_error(0x128));
}

TEST(ConnManagerDecision, D10LendTransportWithoutReuseIsAnError) {
  asio::io_context io;
  auto cm = make_manager(io, false);
  ASSERT_TRUE(cm);
  auto ep = Endpoint::bind(io.get_executor(), udp::endpoint(asio::ip::address_v4::any(), 0));
  ASSERT_TRUE(ep);
  auto done = cm->lend_transport("udp4", std::make_shared<Endpoint>(std::move(*ep)));
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error(), make_error_code(errc::invalid_argument));
}

TEST(ConnManagerDecision, QueueFullClosesWithCodeOneAndCloseDrainsWith0x1006) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln);
  std::vector<std::error_code> closes;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto client = Endpoint::bind(co_await asio::this_coro::executor, loopback(false));
        std::vector<Connection> conns;
        for (int i = 0; i < 17; ++i) {
          auto c = co_await client->dial((*ln)->addr(), tls_offer("proto"));
          if (c) {
            conns.push_back(*c);
          }
        }
        int closed_early = 0;
        for (auto& c : conns) {
          c.on_close([&](const CloseInfo&) { ++closed_early; });
        }
        // The server closes the one it has no room for (code 1) once its handshake is done there.
        co_await wait_until([&] { return closed_early > 0; }, 10s);
        EXPECT_EQ(closed_early, 1);
        (*ln)->close();  // the 16 queued ones are closed with 0x1006
        for (auto& c : conns) {
          auto [ec] = co_await c.async_wait_closed(as_tuple(use_awaitable));
          closes.push_back(ec);
        }
      },
      30s));
  ASSERT_EQ(closes.size(), 17u);
  EXPECT_EQ(std::count(closes.begin(), closes.end(), make_application_error(1)), 1);
  EXPECT_EQ(std::count(closes.begin(), closes.end(), make_application_error(0x1006)), 16);
}

TEST(ConnManagerDecision, SourceAddressLimiterForcesRetryAboveThousandPerSecond) {
  asio::io_context io;
  int asked = 0;
  auto cm = make_manager(io, true, {options::verify_source_address([&](const udp::endpoint&) {
                           ++asked;
                           return false;
                         })});
  ASSERT_TRUE(cm);
  const udp::endpoint peer(asio::ip::make_address("127.0.0.1"), 9);
  const core::Timestamp t0(std::chrono::seconds(1000));
  int forced = 0;
  for (int i = 0; i < 1500; ++i) {
    forced += detail::manager_state(*cm).verify_source_address(peer, t0) ? 1 : 0;
  }
  EXPECT_EQ(forced, 500);  // the burst of 1000 passes to the user predicate, the rest is forced
  EXPECT_EQ(asked, 1000);
  EXPECT_FALSE(
      detail::manager_state(*cm).verify_source_address(peer, t0 + std::chrono::milliseconds(10)));
}

}  // namespace
}  // namespace quicreuse::test

namespace quicreuse::test {
namespace {

TEST(ConnManagerMetrics, ConnectionsPacketsPoolsAndHandshakesAreCounted) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  ASSERT_TRUE(cm->metrics());
  auto ln = cm->listen_quic(ma("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln);
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto client = Endpoint::bind(co_await asio::this_coro::executor, loopback(false));
        auto [accepted, dialed] =
            co_await ((*ln)->accept() && client->dial((*ln)->addr(), tls_offer("proto")));
        if (dialed) {
          dialed->close(7, "done");
        }
        if (accepted) {  // the server has seen the close
          co_await accepted->async_wait_closed(as_tuple(use_awaitable));
        }
      },
      20s));
  const std::string text = cm->metrics()->render();
  EXPECT_NE(text.find("quicreuse_connections_started_total{direction=\"incoming\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("quicreuse_handshake_duration_seconds_count{direction=\"incoming\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("quicreuse_pooled_endpoints{family=\"udp4\",pool=\"unicast\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("quicreuse_endpoint_references{local=\"" +
                      detail::address_key((*ln)->addr()) + "\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(text.find("quicreuse_packets_received_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE quicreuse_non_quic_packets_total counter"), std::string::npos);
}

}  // namespace
}  // namespace quicreuse::test

namespace quicreuse::test {
namespace {

TEST(ConnManagerGc, UnusedSocketsAreCollectedByTheTimerAndCloseStopsIt) {
  asio::io_context io;
  auto cm = make_manager(io, true, {options::garbage_collection(50ms, 1000ms)});
  ASSERT_TRUE(cm);
  auto ln = cm->listen_quic(ma("/ip4/0.0.0.0/udp/0/quic-v1"), server_tls({"proto"}));
  ASSERT_TRUE(ln);
  auto lease = cm->transport_for_dial("udp6", udp::endpoint(asio::ip::make_address("::1"), 1));
  ASSERT_TRUE(lease);
  auto pooled = [&] {
    auto c4 = detail::manager_state(*cm).reuse4->counts();
    auto c6 = detail::manager_state(*cm).reuse6->counts();
    return c4.global_listeners + c4.global_dialers + c6.global_listeners + c6.global_dialers;
  };
  EXPECT_EQ(pooled(), 2u);
  (*ln)->close();
  lease->release();
  // Still pooled after the first collection that follows the release (max_unused is 1 s)...
  const auto& gc_timer = *detail::manager_state(*cm).gc_timer;
  const auto before = gc_timer.expiry();
  for (int i = 0; i < 1000 && gc_timer.expiry() == before; ++i) {
    io.run_one_for(10ms);  // the collector re-arms its timer after each collection
  }
  ASSERT_NE(gc_timer.expiry(), before) << "no collection ran";
  EXPECT_EQ(pooled(), 2u);
  // ...and gone within a few intervals after max_unused (bounded wait, no timing assertion).
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (pooled() != 0 && std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
  }
  EXPECT_EQ(pooled(), 0u);
  cm->close();
  check_closed(*cm);
  // The cancelled timer's handler runs once, then nothing is left to run: the collector stopped,
  // so the context runs out of work long before the bound.
  io.run_for(10s);
  EXPECT_TRUE(io.stopped());
}

}  // namespace
}  // namespace quicreuse::test
