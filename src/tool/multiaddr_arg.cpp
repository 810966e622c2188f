#include "multiaddr_arg.hpp"

#include <vector>

namespace quicreuse::tool {
namespace {

std::string prefix(std::string_view text) {
  return "bad multiaddr '" + std::string(text) + "': ";
}

tl::unexpected<std::string> bad(std::string_view text, const std::string& why) {
  return tl::make_unexpected(prefix(text) + why);
}

tl::expected<Multiaddr, std::string> parse_text(std::string_view text) {
  if (text.empty()) {
    return bad(text, "empty (e.g. /ip4/127.0.0.1/udp/4001/quic-v1)");
  }
  std::string why;
  auto m = Multiaddr::parse(text, &why);
  if (!m) {
    return bad(text, why.empty() ? m.error().message() : why);
  }
  return std::move(*m);
}

// Returns the index of the /udp component, or components.size().
std::size_t udp_index(const Multiaddr& m) {
  const auto& cs = m.components();
  for (std::size_t i = 0; i < cs.size(); ++i) {
    if (cs[i].protocol == Protocol::udp) {
      return i;
    }
  }
  return cs.size();
}

}  // namespace

tl::expected<ListenArg, std::string> parse_listen_multiaddr(std::string_view text) {
  auto m = parse_text(text);
  if (!m) {
    return tl::make_unexpected(m.error());
  }
  std::string why;
  auto listen = to_listen_address(*m, &why);
  if (!listen) {
    return bad(text, why.empty() ? listen.error().message() : why);
  }
  // The tool serves QUIC v1 only: what may follow /udp/PORT is /quic-v1 and nothing else.
  const auto& cs = m->components();
  const std::size_t udp = udp_index(*m);
  if (udp + 1 < cs.size()) {
    const Component& next = cs[udp + 1];
    if (next.protocol != Protocol::quic_v1) {
      return bad(text, "unsupported component '" + next.to_string() + "' after /udp (listen " +
                           "addresses end in /udp/PORT or /udp/PORT/quic-v1)");
    }
    if (udp + 2 < cs.size()) {
      return bad(text, "unexpected component '" + cs[udp + 2].to_string() + "' after /quic-v1");
    }
  }
  ListenArg out;
  out.endpoint = listen->endpoint;
  out.network = listen->endpoint.address().is_v6() ? "udp6" : "udp4";
  auto normalized = to_quic_multiaddr(out.endpoint, QuicVersion::v1, &why);
  if (!normalized) {
    return bad(text, why);
  }
  out.multiaddr = std::move(*normalized);
  return out;
}

tl::expected<DialArg, std::string> parse_dial_multiaddr(std::string_view text) {
  auto m = parse_text(text);
  if (!m) {
    return tl::make_unexpected(m.error());
  }
  Multiaddr target = *m;
  const auto& cs = m->components();
  if (!cs.empty() && cs.back().protocol == Protocol::udp) {
    auto quic = Multiaddr::parse("/quic-v1");
    if (quic) {
      target = m->encapsulate(*quic);  // the old tool accepted /udp/PORT alone
    }
  } else if (m->contains(Protocol::quic) && !m->contains(Protocol::quic_v1)) {
    return bad(text, "/quic (draft-29) is not supported, use /quic-v1");
  } else if (!m->contains(Protocol::quic_v1)) {
    const std::size_t udp = udp_index(*m);
    if (udp < cs.size() && udp + 1 < cs.size()) {
      return bad(text, "unsupported component '" + cs[udp + 1].to_string() +
                           "' after /udp (dial addresses end in /udp/PORT/quic-v1)");
    }
  }
  std::string why;
  auto dial = from_quic_multiaddr(target, &why);
  if (!dial) {
    return bad(text, why.empty() ? dial.error().message() : why);
  }
  const asio::ip::udp::endpoint ep = dial->first;
  if (ep.port() == 0 || ep.address().is_unspecified()) {
    return tl::make_unexpected("cannot dial " + std::string(text) +
                               ": needs a concrete address and a non-zero port");
  }
  // Dial the resolved address (a /dns name is not resolved a second time by the dial).
  auto normalized = to_quic_multiaddr(ep, QuicVersion::v1, &why);
  if (!normalized) {
    return bad(text, why);
  }
  DialArg out;
  out.multiaddr = std::move(*normalized);
  out.endpoint = ep;
  return out;
}

std::string format_multiaddr(const asio::ip::udp::endpoint& ep) {
  auto m = to_quic_multiaddr(ep);
  if (m) {
    return m->to_string();
  }
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
