#include "multiaddr_arg.hpp"

#include <charconv>
#include <cstdint>
#include <vector>

namespace quicreuse::tool {
namespace {

std::vector<std::string_view> split_components(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 1;  // text[0] == '/'
  while (start <= text.size()) {
    const std::size_t slash = text.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? text.size() : slash;
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

tl::expected<asio::ip::udp::endpoint, std::string> parse_multiaddr(std::string_view text) {
  const std::string prefix = "bad multiaddr " + quoted(text) + ": ";
  auto bad = [&prefix](const std::string& why) { return tl::make_unexpected(prefix + why); };
  if (text.empty() || text.front() != '/') {
    return bad("must start with '/' (e.g. /ip4/127.0.0.1/udp/4001/quic-v1)");
  }
  const auto parts = split_components(text);
  for (const auto part : parts) {
    if (part.empty()) {
      return bad("empty component (stray '/')");
    }
  }
  if (parts[0] != "ip4" && parts[0] != "ip6") {
    return bad("unsupported protocol " + quoted(parts[0]) + " (expected ip4 or ip6)");
  }
  if (parts.size() < 2) {
    return bad("missing address after /" + std::string(parts[0]));
  }
  const std::string host(parts[1]);
  std::error_code ec;
  asio::ip::address address;
  if (parts[0] == "ip4") {
    address = asio::ip::make_address_v4(host, ec);
  } else if (host.find('%') == std::string::npos) {
    address = asio::ip::make_address_v6(host, ec);
  } else {
    ec = std::make_error_code(std::errc::invalid_argument);  // zones would need /ip6zone
  }
  if (ec) {
    return bad(quoted(host) + " is not an IPv" + (parts[0] == "ip4" ? "4" : "6") + " address");
  }
  if (parts.size() < 3) {
    return bad("missing /udp/PORT");
  }
  if (parts[2] != "udp") {
    return bad("unsupported transport " + quoted(parts[2]) + " (expected udp)");
  }
  if (parts.size() < 4) {
    return bad("missing port after /udp");
  }
  std::uint32_t port = 0;
  const auto port_text = parts[3];
  const auto [end, perr] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (perr != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("port " + quoted(port_text) + " is not a number in 0..65535");
  }
  if (parts.size() >= 5 && parts[4] != "quic-v1") {
    return bad("unsupported component " + quoted(parts[4]) +
               " (only /quic-v1 may follow the port)");
  }
  if (parts.size() > 5) {
    return bad("unexpected component " + quoted(parts[5]) + " after /quic-v1");
  }
  return asio::ip::udp::endpoint(address, static_cast<std::uint16_t>(port));
}

std::string format_multiaddr(const asio::ip::udp::endpoint& ep) {
  const auto address = ep.address();
  return std::string(address.is_v6() ? "/ip6/" : "/ip4/") + address.to_string() + "/udp/" +
         std::to_string(ep.port()) + "/quic-v1";
}

std::string format_host_port(const asio::ip::udp::endpoint& ep) {
  const auto address = ep.address();
  if (address.is_v6()) {
    return "[" + address.to_string() + "]:" + std::to_string(ep.port());
  }
  return address.to_string() + ":" + std::to_string(ep.port());
}

}  // namespace quicreuse::tool
