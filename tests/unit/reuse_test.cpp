// The reuse pools (spec section 2) over a fake kernel: no sockets, no clock. Port of
// go-libp2p quicreuse/reuse_test.go (TestReuseX -> Reuse.X) plus decision tests D1, D6, D9.
#include "reuse/reuse.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace quicreuse::detail {
namespace {

using namespace std::chrono_literals;
using asio::ip::make_address;
using asio::ip::udp;

// FakeKernel binds "sockets" like the kernel does: port 0 gets an ephemeral port, a port in use
// by the same family (wildcard or the same IP) is refused with address_in_use, close frees it.
// Its sockets have no endpoint: the pools' close reaches the kernel through BoundSocket::on_close.
class FakeKernel : public std::enable_shared_from_this<FakeKernel> {
 public:
  Result<BoundSocket> bind(const udp::endpoint& want) {
    udp::endpoint local = want;
    if (local.port() == 0) {
      local.port(next_port_++);
    }
    for (const auto& b : bound_) {
      const bool same_family = b.address().is_v4() == local.address().is_v4();
      const bool overlap = b.address() == local.address() || b.address().is_unspecified() ||
                           local.address().is_unspecified();
      if (same_family && overlap && b.port() == local.port()) {
        return fail(std::make_error_code(std::errc::address_in_use));
      }
    }
    bound_.insert(local);
    ++binds_;
    auto closed = std::make_shared<bool>(false);
    closed_[local] = closed;
    return BoundSocket{nullptr, local, [kernel = shared_from_this(), closed, local] {
                         if (!*closed) {
                           *closed = true;
                           kernel->bound_.erase(local);
                           ++kernel->closes_;
                         }
                       }};
  }

  // Returns whether the socket bound at local was closed.
  [[nodiscard]] bool closed(const udp::endpoint& local) const { return *closed_.at(local); }

  Reuse::ListenUdp listen_udp() {
    return [self = shared_from_this()](const udp::endpoint& e) { return self->bind(e); };
  }

  std::set<udp::endpoint> bound_;
  int binds_ = 0;
  int closes_ = 0;

 private:
  std::uint16_t next_port_ = 40000;
  std::map<udp::endpoint, std::shared_ptr<bool>> closed_;
};

class FixedSelector final : public SourceIpSelector {
 public:
  explicit FixedSelector(std::optional<asio::ip::address> ip) : ip_(ip) {}
  Result<asio::ip::address> preferred_source_ip(const udp::endpoint&) override {
    ++asked;
    if (!ip_) {
      return fail(std::make_error_code(std::errc::network_unreachable));
    }
    return *ip_;
  }
  int asked = 0;

 private:
  std::optional<asio::ip::address> ip_;
};

Reuse::SelectorFactory selector_returning(std::shared_ptr<SourceIpSelector> s) {
  return [s]() -> Result<std::shared_ptr<SourceIpSelector>> { return s; };
}

const udp::endpoint kAny4(asio::ip::address_v4::any(), 0);
const udp::endpoint kRemote(make_address("1.1.1.1"), 1234);
const ReuseClock::time_point kT0(std::chrono::seconds(100));

struct Fixture {
  // Virtual time: what a reference dropping to zero is stamped with.
  ReuseClock::time_point now = kT0;
  ReuseNow clock() {
    return [this] { return now; };
  }
  std::shared_ptr<FakeKernel> kernel = std::make_shared<FakeKernel>();
  std::shared_ptr<FixedSelector> selector =
      std::make_shared<FixedSelector>(make_address("10.0.0.5"));
  Reuse reuse4{Reuse::Family::v4, kernel->listen_udp(), selector_returning(selector), 1, clock()};
  Reuse reuse6{Reuse::Family::v6, kernel->listen_udp(), selector_returning(selector), 2, clock()};
};

TEST(Reuse, ListenOnAllIPv4) {
  Fixture f;
  auto tr = f.reuse4.transport_for_listen(kAny4);
  ASSERT_TRUE(tr);
  EXPECT_EQ((*tr)->ref_count(), 1);
  EXPECT_TRUE((*tr)->local_endpoint().address().is_unspecified());
  EXPECT_NE((*tr)->local_endpoint().port(), 0);
  EXPECT_EQ(f.reuse4.counts().global_listeners, 1u);
}

TEST(Reuse, ListenOnAllIPv6) {
  Fixture f;
  auto tr = f.reuse6.transport_for_listen(udp::endpoint(asio::ip::address_v6::any(), 1234));
  ASSERT_TRUE(tr);
  EXPECT_EQ((*tr)->ref_count(), 1);
  EXPECT_EQ((*tr)->local_endpoint().port(), 1234);
  // v6 sockets are v6-only: 0.0.0.0:1234 can coexist.
  EXPECT_TRUE(f.reuse4.transport_for_listen(udp::endpoint(asio::ip::address_v4::any(), 1234)));
}

TEST(Reuse, CreateNewGlobalConnOnDial) {
  Fixture f;
  auto tr = f.reuse4.transport_for_dial({}, kRemote);
  ASSERT_TRUE(tr);
  EXPECT_EQ((*tr)->ref_count(), 1);
  EXPECT_EQ((*tr)->local_endpoint().address(), asio::ip::address_v4::any());
  EXPECT_NE((*tr)->local_endpoint().port(), 0);
  EXPECT_EQ(f.reuse4.counts().global_dialers, 1u);
}

TEST(Reuse, ConnectionWhenDialing) {
  Fixture f;
  auto listener = f.reuse4.transport_for_listen(kAny4);
  ASSERT_TRUE(listener);
  EXPECT_EQ((*listener)->ref_count(), 1);
  auto dialer = f.reuse4.transport_for_dial({}, kRemote);
  ASSERT_TRUE(dialer);
  EXPECT_EQ(*dialer, *listener);
  EXPECT_EQ((*dialer)->ref_count(), 2);
}

TEST(Reuse, ConnectionWhenListening) {
  Fixture f;
  auto dialer = f.reuse4.transport_for_dial({}, kRemote);
  ASSERT_TRUE(dialer);
  auto listener = f.reuse4.transport_for_listen(
      udp::endpoint(asio::ip::address_v4::any(), (*dialer)->local_endpoint().port()));
  ASSERT_TRUE(listener);
  EXPECT_EQ(*listener, *dialer);
  EXPECT_EQ((*listener)->ref_count(), 2);
  EXPECT_EQ((*dialer)->ref_count(), 2);
  EXPECT_EQ(f.reuse4.counts().global_dialers, 0u);
  EXPECT_EQ(f.reuse4.counts().global_listeners, 1u);
}

TEST(Reuse, ConnectionWhenDialBeforeListen) {
  Fixture f;
  auto dialer = f.reuse4.transport_for_dial({}, kRemote);
  ASSERT_TRUE(dialer);
  auto listener = f.reuse4.transport_for_listen(udp::endpoint(asio::ip::address_v4::any(), 1234));
  ASSERT_TRUE(listener);
  EXPECT_NE(*listener, *dialer);
  // A new dial prefers the listener over the earlier dialer.
  auto second = f.reuse4.transport_for_dial({}, udp::endpoint(make_address("1.1.1.1"), 1235));
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *listener);
  EXPECT_EQ((*listener)->ref_count(), 2);
  // Listening on port 0 promotes the dial socket.
  auto promoted = f.reuse4.transport_for_listen(kAny4);
  ASSERT_TRUE(promoted);
  EXPECT_EQ(*promoted, *dialer);
  EXPECT_EQ((*dialer)->ref_count(), 2);
}

TEST(Reuse, ListenOnSpecificInterface) {
  Fixture f;
  const auto ip = f.selector->preferred_source_ip(kRemote);
  ASSERT_TRUE(ip);
  auto listener = f.reuse4.transport_for_listen(udp::endpoint(*ip, 0));
  ASSERT_TRUE(listener);
  EXPECT_EQ((*listener)->ref_count(), 1);
  auto dialer = f.reuse4.transport_for_dial({}, kRemote);
  ASSERT_TRUE(dialer);
  EXPECT_EQ(*dialer, *listener);
  EXPECT_EQ((*listener)->ref_count(), 2);
}

TEST(Reuse, GarbageCollect) {
  // Virtual time replaces the Go test's sleeps: max_unused 100 ms.
  Fixture f;
  auto dialer = f.reuse4.transport_for_dial({}, kRemote);
  auto listener = f.reuse4.transport_for_listen(udp::endpoint(asio::ip::address_v4::any(), 1234));
  ASSERT_TRUE(dialer && listener);
  EXPECT_EQ((*dialer)->ref_count(), 1);
  EXPECT_EQ((*listener)->ref_count(), 1);
  f.now = kT0;
  dialer->reset();  // both references go at kT0
  listener->reset();
  // Until max_unused has elapsed both stay pooled.
  EXPECT_EQ(f.reuse4.collect_garbage(kT0 + 50ms, 100ms), 0u);
  EXPECT_EQ(f.reuse4.collect_garbage(kT0 + 100ms, 100ms), 0u);
  EXPECT_EQ(f.reuse4.counts().global_dialers + f.reuse4.counts().global_listeners, 2u);
  // Afterwards both are closed and forgotten, and their ports are free again.
  EXPECT_EQ(f.reuse4.collect_garbage(kT0 + 101ms, 100ms), 2u);
  EXPECT_EQ(f.reuse4.counts().global_dialers + f.reuse4.counts().global_listeners, 0u);
  EXPECT_TRUE(f.kernel->bound_.empty());
  EXPECT_EQ(f.kernel->closes_, 2);
}

TEST(Reuse, InUseTransportIsNeverCollected) {
  Fixture f;
  auto tr = f.reuse4.transport_for_listen(kAny4);
  ASSERT_TRUE(tr);
  const auto socket = tr->transport();
  tr->reset();                       // unused since kT0...
  const TransportRef again(socket);  // ...and used again before the sweep
  EXPECT_EQ(f.reuse4.collect_garbage(kT0 + 1h, 100ms), 0u);
}

TEST(ReuseDecision, D1DialChoiceIsUniformlyRandomAmongEquals) {
  Fixture f;
  auto a = f.reuse4.transport_for_listen(kAny4);
  auto b = f.reuse4.transport_for_listen(kAny4);
  ASSERT_TRUE(a && b);
  ASSERT_NE(*a, *b);
  std::map<RefcountedTransport*, int> seen;
  for (int i = 0; i < 200; ++i) {
    ++seen[f.reuse4.transport_for_dial({}, kRemote)->get()];
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(seen[a->get()], 50);
  EXPECT_GT(seen[b->get()], 50);
}

TEST(ReuseDecision, AssociationIsAPreferenceNotAnExclusion) {
  Fixture f;
  auto a = f.reuse4.transport_for_listen(kAny4);
  auto b = f.reuse4.transport_for_listen(kAny4);
  ASSERT_TRUE(a && b);
  const Association quic("quic");
  (*a)->associate(quic, 1);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(*f.reuse4.transport_for_dial(quic, kRemote), *a);
  }
  // An association nobody listens with still dials (from either socket).
  EXPECT_TRUE(f.reuse4.transport_for_dial(Association("webtransport"), kRemote));
  // Removing the sub-listener's tags makes the choice random again.
  (*a)->remove_associations(1);
  EXPECT_FALSE((*a)->has_association(quic));
  std::set<RefcountedTransport*> seen;
  for (int i = 0; i < 100; ++i) {
    seen.insert(f.reuse4.transport_for_dial(quic, kRemote)->get());
  }
  EXPECT_EQ(seen.size(), 2u);
}

TEST(ReuseDecision, D6NoSelectorMeansNoAffinityNeverACrash) {
  auto kernel = std::make_shared<FakeKernel>();
  Reuse reuse(Reuse::Family::v4, kernel->listen_udp(),
              []() -> Result<std::shared_ptr<SourceIpSelector>> {
                return fail(std::make_error_code(std::errc::operation_not_supported));
              });
  auto unicast = reuse.transport_for_listen(udp::endpoint(make_address("10.0.0.5"), 0));
  ASSERT_TRUE(unicast);
  EXPECT_FALSE(reuse.has_route_selector());
  auto dial = reuse.transport_for_dial({}, kRemote);
  ASSERT_TRUE(dial);
  EXPECT_NE(*dial, *unicast);  // without routes a unicast socket is never used for dials
  // A selector that fails per lookup falls back the same way.
  auto failing = std::make_shared<FixedSelector>(std::nullopt);
  Reuse reuse2(Reuse::Family::v4, kernel->listen_udp(), selector_returning(failing));
  ASSERT_TRUE(reuse2.transport_for_listen(udp::endpoint(make_address("10.0.0.6"), 0)));
  EXPECT_TRUE(reuse2.transport_for_dial({}, kRemote));
  EXPECT_EQ(failing->asked, 1);
}

TEST(ReuseDecision, RoutesAreOnlyAskedOnceAUnicastSocketExists) {
  Fixture f;
  ASSERT_TRUE(f.reuse4.transport_for_listen(kAny4));
  ASSERT_TRUE(f.reuse4.transport_for_dial({}, kRemote));
  EXPECT_EQ(f.selector->asked, 0);
  ASSERT_TRUE(f.reuse4.transport_for_listen(udp::endpoint(make_address("10.0.0.5"), 0)));
  ASSERT_TRUE(f.reuse4.transport_for_dial({}, kRemote));
  EXPECT_EQ(f.selector->asked, 1);
}

TEST(ReuseDecision, D9ListeningAgainOnAPooledAddressReusesItsSocket) {
  Fixture f;
  const udp::endpoint fixed(asio::ip::address_v4::any(), 4001);
  auto first = f.reuse4.transport_for_listen(fixed);
  ASSERT_TRUE(first);
  RefcountedTransport* const first_socket = first->get();
  first->reset();  // the listener closed; the socket waits for the collector
  auto again = f.reuse4.transport_for_listen(fixed);
  ASSERT_TRUE(again) << again.error().message();  // the seed fails with "address in use"
  EXPECT_EQ(again->get(), first_socket);
  EXPECT_EQ((*again)->ref_count(), 1);
  EXPECT_EQ(f.kernel->binds_, 1);
  // The same for a specific IP.
  const udp::endpoint specific(make_address("10.0.0.5"), 4002);
  auto s1 = f.reuse4.transport_for_listen(specific);
  ASSERT_TRUE(s1);
  RefcountedTransport* const s1_socket = s1->get();
  s1->reset();
  auto s2 = f.reuse4.transport_for_listen(specific);
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->get(), s1_socket);
}

TEST(ReuseDecision, LentTransportsAreNeverClosedOnlySignalled) {
  Fixture f;
  auto socket = f.kernel->bind(kAny4);
  ASSERT_TRUE(socket);
  int done = 0;
  auto lent = std::make_shared<RefcountedTransport>(*socket, ReuseClock::now, [&] { ++done; });
  ASSERT_TRUE(f.reuse4.add_transport(lent));
  // A second lend on the same port, or one bound to a specific IP, is refused.
  EXPECT_EQ(f.reuse4.add_transport(lent).error(), make_error_code(errc::invalid_argument));
  auto specific = f.kernel->bind(udp::endpoint(make_address("10.0.0.5"), 0));
  EXPECT_FALSE(f.reuse4.add_transport(
      std::make_shared<RefcountedTransport>(*specific, ReuseClock::now, [] {})));
  // It serves dials when nothing better exists.
  EXPECT_EQ(f.reuse4.transport_for_dial({}, kRemote)->transport(), lent);
  f.reuse4.close();
  EXPECT_EQ(done, 1);
  EXPECT_FALSE(f.kernel->closed(socket->local));
  lent->close();  // idempotent: the signal fires once
  EXPECT_EQ(done, 1);
}

TEST(ReuseDecision, CloseClosesEverythingAndIsIdempotent) {
  Fixture f;
  ASSERT_TRUE(f.reuse4.transport_for_listen(kAny4));
  ASSERT_TRUE(f.reuse4.transport_for_dial({}, udp::endpoint(make_address("10.0.0.9"), 1)));
  ASSERT_TRUE(f.reuse4.transport_for_listen(udp::endpoint(make_address("10.0.0.5"), 0)));
  f.reuse4.close();
  f.reuse4.close();
  EXPECT_TRUE(f.kernel->bound_.empty());
  EXPECT_EQ(f.reuse4.transport_for_dial({}, kRemote).error(),
            make_error_code(errc::endpoint_closed));
  EXPECT_EQ(f.reuse4.transport_for_listen(kAny4).error(), make_error_code(errc::endpoint_closed));
}

// TransportRef: the count is the number of live references, whatever is copied, moved,
// reset or destroyed; the last one going stamps "unused since" and runs on_unused once.
TEST(TransportRef, CountsExactlyTheLiveReferences) {
  Fixture f;
  auto socket = f.kernel->bind(kAny4);
  ASSERT_TRUE(socket);
  auto transport = std::make_shared<RefcountedTransport>(*socket, f.clock());
  int unused = 0;
  transport->on_unused([&] { ++unused; });
  {
    TransportRef a(transport);
    EXPECT_EQ(transport->ref_count(), 1);
    TransportRef b = a;  // a copy is another reference
    EXPECT_EQ(transport->ref_count(), 2);
    TransportRef c = std::move(b);  // a move hands one over
    EXPECT_FALSE(b);                // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(transport->ref_count(), 2);
    c.reset();
    c.reset();  // an empty reference drops nothing
    EXPECT_EQ(transport->ref_count(), 1);
    c = a;  // assignment takes a new reference
    EXPECT_EQ(transport->ref_count(), 2);
    c = std::move(a);  // drops c's own, takes a's
    EXPECT_EQ(transport->ref_count(), 1);
    EXPECT_EQ(unused, 0);
    f.now = kT0 + 5s;
  }
  EXPECT_EQ(transport->ref_count(), 0);
  EXPECT_EQ(unused, 1);
  EXPECT_FALSE(transport->should_garbage_collect(kT0 + 5s + 100ms, 100ms));
  EXPECT_TRUE(transport->should_garbage_collect(kT0 + 5s + 101ms, 100ms));
  EXPECT_FALSE(transport->closed());  // pooled sockets wait for the collector
}

TEST(TransportRef, SocketsCloseThroughTheirEndpointSeamOnce) {
  Fixture f;
  auto tr = f.reuse4.transport_for_listen(kAny4);
  ASSERT_TRUE(tr);
  const udp::endpoint local = (*tr)->local_endpoint();
  EXPECT_EQ((*tr)->endpoint(), nullptr);  // the fake kernel binds no real socket
  (*tr)->close();
  (*tr)->close();
  EXPECT_TRUE(f.kernel->closed(local));
  EXPECT_EQ(f.kernel->closes_, 1);
}

}  // namespace
}  // namespace quicreuse::detail
