// Lookups that ask the operating system: DNS names in multiaddrs (the resolver; "localhost" comes
// from /etc/hosts, so no network is needed) and the kernel's choice of source address (a
// connected UDP socket). The pure parts of these conversions are unit tests
// (tests/unit/multiaddr_test.cpp, tests/unit/reuse_test.cpp).
#include <quicreuse/multiaddr.hpp>
#include <quicreuse/source_ip_selector.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace quicreuse {
namespace {

using asio::ip::make_address;
using asio::ip::udp;

Multiaddr must_parse(std::string_view text) {
  std::string why;
  auto m = Multiaddr::parse(text, &why);
  EXPECT_TRUE(m.has_value()) << text << ": " << why;
  return m ? *m : Multiaddr{};
}

udp::endpoint udp_endpoint(std::string_view ip, std::uint16_t port) {
  return {make_address(std::string(ip)), port};
}

TEST(MultiaddrConvert, FromQuicMultiaddrResolvesDns) {
  // localhost comes from /etc/hosts: no network needed.
  const auto result = from_quic_multiaddr(must_parse("/dns4/localhost/udp/1234/quic-v1"));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->first, udp_endpoint("127.0.0.1", 1234));
}

// The DNS part of MultiaddrListen.ToListenAddress (the literal addresses stay a unit test).
TEST(MultiaddrListen, ToListenAddressResolvesDns) {
  const struct {
    std::string text;
    std::string network;
    udp::endpoint endpoint;
  } vectors[] = {
      {"/dns4/localhost/udp/5", "udp4", udp_endpoint("127.0.0.1", 5)},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.text);
    std::string why;
    const auto result = to_listen_address(must_parse(v.text), &why);
    ASSERT_TRUE(result) << why;
    EXPECT_EQ(result->network, v.network);
    EXPECT_EQ(result->endpoint, v.endpoint);
  }
  // /dns keeps the family open; Go prefers an IPv4 result.
  const auto any = to_listen_address(must_parse("/dns/localhost/udp/5"));
  ASSERT_TRUE(any) << any.error().message();
  EXPECT_EQ(any->network, "udp");
  EXPECT_TRUE(any->endpoint.address().is_loopback());
  EXPECT_EQ(any->endpoint.port(), 5);
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
}  // namespace quicreuse
