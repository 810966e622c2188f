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
class FakeKernel : public std::enable_shared_from_this<FakeKernel> {
 public:
  class Socket final : public PooledTransport {
   public:
    Socket(std::shared_ptr<FakeKernel> kernel, udp::endpoint local)
        : kernel_(std::move(kernel)), local_(local) {}
    [[nodiscard]] udp::endpoint local_endpoint() const override { return local_; }
    void close() override {
      if (!closed_) {
        closed_ = true;
        kernel_->bound_.erase(local_);
        ++kernel_->closes_;
      }
    }
    [[nodiscard]] bool closed() const { return closed_; }

   private:
    std::shared_ptr<FakeKernel> kernel_;
    udp::endpoint local_;
    bool closed_ = false;
  };

  Result<std::shared_ptr<PooledTransport>> bind(const udp::endpoint& want) {
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
    return std::make_shared<Socket>(shared_from_this(), local);
  }

  Reuse::ListenUdp listen_udp() {
    return [self = shared_from_this()](const udp::endpoint& e) { return self->bind(e); };
  }

  std::set<udp::endpoint> bound_;
  int binds_ = 0;
  int closes_ = 0;

 private:
  std::uint16_t next_port_ = 40000;
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

struct Fixture {
  std::shared_ptr<FakeKernel> kernel = std::make_shared<FakeKernel>();
  std::shared_ptr<FixedSelector> selector =
      std::make_shared<FixedSelector>(make_address("10.0.0.5"));
  Reuse reuse4{Reuse::Family::v4, kernel->listen_udp(), selector_returning(selector), 1};
  Reuse reuse6{Reuse::Family::v6, kernel->listen_udp(), selector_returning(selector), 2};
};

const udp::endpoint kAny4(asio::ip::address_v4::any(), 0);
const udp::endpoint kRemote(make_address("1.1.1.1"), 1234);
const ReuseClock::time_point kT0(std::chrono::seconds(100));

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
  (*dialer)->decrease_count(kT0);
  (*listener)->decrease_count(kT0);
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
  (*tr)->decrease_count(kT0);
  (*tr)->increase_count();  // used again before the sweep
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
  (*first)->decrease_count(kT0);  // the listener closed; the socket waits for the collector
  auto again = f.reuse4.transport_for_listen(fixed);
  ASSERT_TRUE(again) << again.error().message();  // the seed fails with "address in use"
  EXPECT_EQ(*again, *first);
  EXPECT_EQ((*again)->ref_count(), 1);
  EXPECT_EQ(f.kernel->binds_, 1);
  // The same for a specific IP.
  const udp::endpoint specific(make_address("10.0.0.5"), 4002);
  auto s1 = f.reuse4.transport_for_listen(specific);
  ASSERT_TRUE(s1);
  (*s1)->decrease_count(kT0);
  auto s2 = f.reuse4.transport_for_listen(specific);
  ASSERT_TRUE(s2);
  EXPECT_EQ(*s2, *s1);
}

TEST(ReuseDecision, LentTransportsAreNeverClosedOnlySignalled) {
  Fixture f;
  auto socket = f.kernel->bind(kAny4);
  ASSERT_TRUE(socket);
  int done = 0;
  auto lent = std::make_shared<RefcountedTransport>(*socket, [&] { ++done; });
  ASSERT_TRUE(f.reuse4.add_transport(lent));
  // A second lend on the same port, or one bound to a specific IP, is refused.
  EXPECT_EQ(f.reuse4.add_transport(lent).error(), make_error_code(errc::invalid_argument));
  auto specific = f.kernel->bind(udp::endpoint(make_address("10.0.0.5"), 0));
  EXPECT_FALSE(f.reuse4.add_transport(std::make_shared<RefcountedTransport>(*specific, [] {})));
  // It serves dials when nothing better exists.
  EXPECT_EQ(*f.reuse4.transport_for_dial({}, kRemote), lent);
  f.reuse4.close();
  EXPECT_EQ(done, 1);
  EXPECT_FALSE(std::static_pointer_cast<FakeKernel::Socket>(*socket)->closed());
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

TEST(SourceIpSelector, KernelSelectorPicksLoopbackForLoopback) {
  auto selector = make_kernel_source_ip_selector();
  auto v4 = selector->preferred_source_ip(udp::endpoint(make_address("127.0.0.1"), 4001));
  ASSERT_TRUE(v4) << v4.error().message();
  EXPECT_EQ(*v4, make_address("127.0.0.1"));
  auto v6 = selector->preferred_source_ip(udp::endpoint(make_address("::1"), 4001));
  ASSERT_TRUE(v6) << v6.error().message();
  EXPECT_EQ(*v6, make_address("::1"));
}

}  // namespace
}  // namespace quicreuse::detail
