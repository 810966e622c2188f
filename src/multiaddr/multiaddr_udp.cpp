// Multiaddr conversions to and from UDP endpoints (go-multiaddr net/convert.go DialArgs) and QUIC
// addresses (go-libp2p quicreuse/quic_multiaddr.go); the codec is in multiaddr.cpp.
#include "multiaddr/multiaddr_internal.hpp"
#include "multiaddr/multibase.hpp"
#include "multiaddr/varint.hpp"

#include <quicreuse/multiaddr.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <ostream>

namespace quicreuse {
namespace {

using namespace multiaddr_detail;
using Bytes = std::vector<std::uint8_t>;

// ----- conversions to and from UDP endpoints -----

Result<std::uint32_t> zone_scope_id(std::string_view zone, std::string* why) {
  std::uint32_t index = 0;
  const auto* end = zone.data() + zone.size();
  const auto number = std::from_chars(zone.data(), end, index);
  if (number.ec == std::errc{} && number.ptr == end) {
    return index;
  }
  const std::string name(zone);
  index = ::if_nametoindex(name.c_str());
  if (index == 0) {
    return reject(why, "unknown IPv6 zone " + quoted(zone) + " (not an interface name or index)");
  }
  return index;
}

Result<asio::ip::udp::endpoint> resolve_name(Protocol p, const std::string& name,
                                             std::uint16_t port, std::string* why) {
  asio::io_context io;
  asio::ip::udp::resolver resolver(io);
  std::error_code ec;
  const auto flags = asio::ip::resolver_base::numeric_service;
  const std::string service = std::to_string(port);
  asio::ip::udp::resolver::results_type results;
  if (p == Protocol::dns4) {
    results = resolver.resolve(asio::ip::udp::v4(), name, service, flags, ec);
  } else if (p == Protocol::dns6) {
    results = resolver.resolve(asio::ip::udp::v6(), name, service, flags, ec);
  } else {
    results = resolver.resolve(name, service, flags, ec);
  }
  if (!ec && results.empty()) {
    ec = asio::error::host_not_found;
  }
  if (ec) {
    if (why != nullptr) {
      *why = "cannot resolve " + slash_name(p) + " name " + quoted(name) + ": " + ec.message();
    }
    return fail(ec);
  }
  // Go's net.ResolveUDPAddr("udp", ...) prefers the first IPv4 address.
  for (const auto& entry : results) {
    if (p != Protocol::dns || entry.endpoint().address().is_v4()) {
      return entry.endpoint();
    }
  }
  return results.begin()->endpoint();
}

// The dial-args rules of go-multiaddr/net: [/ip6zone/Z] /ip4|/ip6|/dns|/dns4|/dns6 H, then /udp/P;
// what follows /udp is not looked at.
Result<ListenAddress> udp_address_of(std::span<const Component> components, std::string* why) {
  std::size_t i = 0;
  std::string zone;
  if (!components.empty() && components[0].protocol == Protocol::ip6zone) {
    zone.assign(components[0].value.begin(), components[0].value.end());
    i = 1;
  }
  if (i >= components.size()) {
    return reject(why, "no IP or DNS host in the address");
  }
  const Component& host = components[i];
  std::string network;
  switch (host.protocol) {
    case Protocol::ip4:
    case Protocol::dns4:
      network = "udp4";
      break;
    case Protocol::ip6:
    case Protocol::dns6:
      network = "udp6";
      break;
    case Protocol::dns:
      network = "udp";
      break;
    default:
      return reject(why, "the address starts with " + shown(host) + ", not with an IP or DNS host");
  }
  if (i + 1 >= components.size()) {
    return reject(why, "not a UDP address: no /udp after " + shown(host));
  }
  const Component& transport = components[i + 1];
  if (transport.protocol != Protocol::udp) {
    return reject(why, "not a UDP address: " + shown(host) + " is followed by " + shown(transport) +
                           ", not /udp");
  }
  const std::uint16_t port = port_of(transport.value);
  switch (host.protocol) {
    case Protocol::ip4: {
      asio::ip::address_v4::bytes_type bytes{};
      std::copy(host.value.begin(), host.value.end(), bytes.begin());
      return ListenAddress{network, {asio::ip::address_v4(bytes), port}};
    }
    case Protocol::ip6: {
      asio::ip::address_v6::bytes_type bytes{};
      std::copy(host.value.begin(), host.value.end(), bytes.begin());
      std::uint32_t scope = 0;
      if (!zone.empty()) {
        auto id = zone_scope_id(zone, why);
        if (!id) {
          return tl::unexpected(id.error());
        }
        scope = *id;
      }
      return ListenAddress{network, {asio::ip::address_v6(bytes, scope), port}};
    }
    default: {
      auto resolved =
          resolve_name(host.protocol, std::string(host.value.begin(), host.value.end()), port, why);
      if (!resolved) {
        return tl::unexpected(resolved.error());
      }
      return ListenAddress{network, *resolved};
    }
  }
}

}  // namespace

// ----- QUIC conversions -----

Result<Multiaddr> to_quic_multiaddr(const asio::ip::udp::endpoint& address, QuicVersion version,
                                    std::string* why) {
  if (version != QuicVersion::v1) {
    return reject(why, "unknown QUIC version");
  }
  std::vector<Component> components;
  const asio::ip::address ip = address.address();
  if (ip.is_v4() || ip.to_v6().is_v4_mapped()) {
    const auto v4 =
        ip.is_v4() ? ip.to_v4() : asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    const auto bytes = v4.to_bytes();
    components.push_back(Component{Protocol::ip4, Bytes(bytes.begin(), bytes.end())});
  } else {
    const auto v6 = ip.to_v6();
    if (const auto scope = v6.scope_id(); scope != 0) {
      std::array<char, IF_NAMESIZE> name{};
      std::string zone;
      if (::if_indextoname(scope, name.data()) != nullptr) {
        zone = name.data();
      }
      if (zone.empty() || zone.find('/') != std::string::npos) {
        zone = std::to_string(scope);
      }
      components.push_back(Component{Protocol::ip6zone, Bytes(zone.begin(), zone.end())});
    }
    const auto bytes = v6.to_bytes();
    components.push_back(Component{Protocol::ip6, Bytes(bytes.begin(), bytes.end())});
  }
  components.push_back(Component{Protocol::udp, port_bytes(address.port())});
  components.push_back(Component{Protocol::quic_v1, {}});
  return Multiaddr::from_components(std::move(components), why);
}

Result<std::pair<asio::ip::udp::endpoint, QuicVersion>> from_quic_multiaddr(
    const Multiaddr& address, std::string* why) {
  // Port of quicreuse FromQuicMultiaddr; the checks keep its order.
  const auto& components = address.components();
  const auto quic = std::find_if(components.begin(), components.end(), [](const Component& c) {
    return c.protocol == Protocol::quic_v1;
  });
  if (quic == components.begin()) {
    return reject(why, "no addr before QUIC component");
  }
  if (quic == components.end()) {
    return reject(why, "unknown QUIC version");
  }
  const std::span<const Component> before(components.data(),
                                          static_cast<std::size_t>(quic - components.begin()));
  // manet.ToNetAddr converts by the last protocol: /udp gives a UDP address, /tcp a TCP one and a
  // bare /ip4 or /ip6 an IP address (both "not a UDP address"); other protocols have no converter.
  switch (before.back().protocol) {
    case Protocol::udp:
      break;
    case Protocol::tcp:
    case Protocol::ip4:
    case Protocol::ip6: {
      std::string text;
      for (const auto& c : before) {
        text += shown(c);
      }
      return reject(why, "not a UDP address: " + text);
    }
    default:
      return reject(why,
                    "network not supported: " + std::string(protocol_name(before.back().protocol)));
  }
  auto udp = udp_address_of(before, why);
  if (!udp) {
    return tl::unexpected(udp.error());
  }
  return std::pair{udp->endpoint, QuicVersion::v1};
}

Result<ListenAddress> to_listen_address(const Multiaddr& address, std::string* why) {
  return udp_address_of(address.components(), why);
}

}  // namespace quicreuse
