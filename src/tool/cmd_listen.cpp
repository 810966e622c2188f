// quicreuse listen: one Endpoint per address, every stream echoed, optional STUN answers and one
// dial from the listening port.
//
// For now this drives bare quicreuse::Endpoint objects; the ConnManager issue replaces the
// EndpointSet below with a manager (one sub-listener per ALPN, dials through the manager).
#include "args.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "multiaddr_arg.hpp"
#include "output.hpp"
#include "streams.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <csignal>

namespace quicreuse::tool {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;

constexpr std::string_view kUsage = R"(usage: quicreuse listen MULTIADDR... [options]

Listens on every MULTIADDR (one UDP socket each) and echoes every bidirectional stream
(bytes in = bytes out, FIN answered with FIN). Prints 'listening <multiaddr>' per address once
bound, then 'accepted <ip:port> alpn=<P>' per connection. SIGINT/SIGTERM close everything and
exit 0.

options:
  --alpn P               accept this ALPN (repeatable; default echo/1)
  --cert PEM --key PEM   TLS identity (default: a fresh self-signed certificate for localhost)
  --stun                 answer STUN Binding Requests on the same ports
  --dial MULTIADDR       after listening, dial MULTIADDR from the first listen socket of the same
                         address family, send "hello" on a stream and print 'dial reply: <text>'
  --dial-alpn P          ALPN offered by --dial (default echo/1)
  --ca PEM               verify the --dial peer with this CA (default: no verification, the
                         dial is a reachability probe)
  --qlog-dir DIR         write qlog files to DIR (default: $QLOGDIR when set)
  --json                 print events as JSON lines
  --metrics HOST:PORT    Prometheus metrics (not available yet)

example: quicreuse listen /ip4/127.0.0.1/udp/4001/quic-v1 /ip6/::1/udp/0/quic-v1 --stun
)";

constexpr std::array<OptionSpec, 10> kOptions{{
    {"alpn", true, true},
    {"cert", true, false},
    {"key", true, false},
    {"stun", false, false},
    {"dial", true, false},
    {"dial-alpn", true, false},
    {"ca", true, false},
    {"qlog-dir", true, false},
    {"json", false, false},
    {"metrics", true, false},
}};

constexpr auto kDialTimeout = std::chrono::seconds(10);

struct ListenArgs {
  std::vector<asio::ip::udp::endpoint> addrs;
  std::vector<std::string> alpns;
  std::shared_ptr<const TlsIdentity> identity;
  bool stun = false;
  std::optional<asio::ip::udp::endpoint> dial;
  std::string dial_alpn;
  ClientTlsOptions dial_tls;
  std::optional<std::string> qlog_dir;
  Output out;
};

bool valid_alpn(const std::string& alpn) {
  return !alpn.empty() && alpn.size() <= 255;
}

tl::expected<ListenArgs, std::string> parse(const ParsedArgs& p) {
  ListenArgs a;
  if (p.has("metrics")) {
    return tl::make_unexpected(std::string("--metrics is not available yet"));
  }
  if (p.positionals.empty()) {
    return tl::make_unexpected(
        std::string("listen needs at least one MULTIADDR (see 'quicreuse listen --help')"));
  }
  for (const auto& text : p.positionals) {
    auto ep = parse_multiaddr(text);
    if (!ep) {
      return tl::make_unexpected(ep.error());
    }
    a.addrs.push_back(*ep);
  }
  a.alpns = p.values("alpn");
  if (a.alpns.empty()) {
    a.alpns.emplace_back("echo/1");
  }
  for (const auto& alpn : a.alpns) {
    if (!valid_alpn(alpn)) {
      return tl::make_unexpected("bad --alpn '" + alpn + "' (1 to 255 bytes)");
    }
  }
  a.stun = p.has("stun");
  a.out.json = p.has("json");
  a.qlog_dir = p.value("qlog-dir");
  if (p.has("dial-alpn") && !p.has("dial")) {
    return tl::make_unexpected(std::string("--dial-alpn needs --dial"));
  }
  if (p.has("ca") && !p.has("dial")) {
    return tl::make_unexpected(std::string("--ca needs --dial"));
  }
  if (auto dial = p.value("dial")) {
    auto target = parse_multiaddr(*dial);
    if (!target) {
      return tl::make_unexpected("--dial: " + target.error());
    }
    bool family_found = false;
    for (const auto& addr : a.addrs) {
      family_found = family_found || addr.address().is_v6() == target->address().is_v6();
    }
    if (!family_found) {
      return tl::make_unexpected("--dial " + *dial + ": no listen address of the same family " +
                                 "to dial from");
    }
    a.dial = *target;
    a.dial_alpn = p.value("dial-alpn").value_or("echo/1");
    if (!valid_alpn(a.dial_alpn)) {
      return tl::make_unexpected("bad --dial-alpn '" + a.dial_alpn + "'");
    }
    a.dial_tls.ca_file = p.value("ca");
    a.dial_tls.insecure = !a.dial_tls.ca_file;
  }
  if (auto error = prepare_qlog_dir(a.qlog_dir)) {
    return tl::make_unexpected(*error);
  }
  auto identity = load_identity(p.value("cert"), p.value("key"));
  if (!identity) {
    return tl::make_unexpected(identity.error());
  }
  a.identity = *identity;
  return a;
}

// Dials target from ep and sends one message; returns the reply text or what failed.
asio::awaitable<tl::expected<std::string, std::string>> dial_and_send(
    std::shared_ptr<Endpoint> ep, asio::ip::udp::endpoint target, TlsClientConfig tls,
    ClientTlsOptions options, std::string message) {
  auto conn = co_await ep->dial(target, std::move(tls));
  if (!conn) {
    co_return tl::make_unexpected(describe_dial_error(conn.error(), options));
  }
  auto reply = co_await round_trip(*conn, to_bytes(message));
  conn->close();
  if (!reply) {
    co_return tl::make_unexpected(reply.error());
  }
  co_return to_text(*reply);
}

asio::awaitable<void> dial_task(std::shared_ptr<Endpoint> ep, asio::ip::udp::endpoint target,
                                std::string alpn, ClientTlsOptions options, Output out) {
  std::vector<std::string> alpns;
  alpns.push_back(std::move(alpn));
  auto tls = client_tls(target, std::move(alpns), options);
  const std::string from = format_multiaddr(ep->local_endpoint());
  const std::string to = format_multiaddr(target);
  auto result = co_await with_timeout(dial_and_send(ep, target, std::move(tls), options, "hello"),
                                      kDialTimeout);
  if (!result) {
    result = tl::make_unexpected("timeout after " + std::to_string(kDialTimeout.count()) + " s");
  }
  if (*result) {
    out.emit(Event("dial_reply").str("from", from).str("to", to).str("text", **result),
             "dial reply: " + **result);
  } else {
    out.emit(Event("dial_error").str("from", from).str("to", to).str("error", result->error()),
             "dial failed: " + to + ": " + result->error());
  }
}

asio::awaitable<int> listen_main(ListenArgs a) {
  const auto ex = co_await asio::this_coro::executor;
  // Installed before the first line is printed: a supervisor may signal as soon as it reads it.
  asio::signal_set signals(ex, SIGINT, SIGTERM);
  EndpointSet set;
  const EndpointConfig config = endpoint_config(a.qlog_dir);
  for (const auto& addr : a.addrs) {
    if (auto ep = set.bind(ex, addr, config); !ep) {
      print_error("cannot listen on " + format_multiaddr(addr) + ": " + ep.error().message());
      co_return kExitUsage;
    }
  }
  TlsServerConfig tls;
  tls.default_choice.identity = a.identity;
  tls.default_choice.alpns = a.alpns;
  for (const auto& ep : set.endpoints()) {
    if (auto r = ep->listen(tls); !r) {
      print_error("cannot listen on " + format_multiaddr(ep->local_endpoint()) + ": " +
                  r.error().message());
      co_return kExitUsage;
    }
  }
  for (const auto& ep : set.endpoints()) {
    const std::string addr = format_multiaddr(ep->local_endpoint());
    a.out.emit(Event("listening").str("addr", addr), "listening " + addr);
  }
  for (const auto& ep : set.endpoints()) {
    asio::co_spawn(ex, echo_server(ep, a.out), asio::detached);
    if (a.stun) {
      const Output out = a.out;
      StunObserver observer = [out](const asio::ip::udp::endpoint& from) {
        const std::string remote = format_host_port(from);
        out.emit(Event("stun").str("remote", remote), "stun answered " + remote);
      };
      asio::co_spawn(ex, stun_responder(ep, std::move(observer)), asio::detached);
    }
  }
  if (a.dial) {
    for (const auto& ep : set.endpoints()) {
      if (ep->local_endpoint().address().is_v6() == a.dial->address().is_v6()) {
        asio::co_spawn(ex, dial_task(ep, *a.dial, a.dial_alpn, a.dial_tls, a.out), asio::detached);
        break;
      }
    }
  }
  co_await signals.async_wait(as_tuple(use_awaitable));
  block_termination_signals();
  set.close_all();
  co_return kExitOk;
}

}  // namespace

int run_listen(std::span<const std::string> args) {
  auto parsed = parse_args(args, kOptions, "listen");
  if (!parsed) {
    print_error(parsed.error());
    return kExitUsage;
  }
  if (parsed->help) {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return kExitOk;
  }
  auto a = parse(*parsed);
  if (!a) {
    print_error(a.error());
    return kExitUsage;
  }
  asio::io_context io;
  return run_to_completion(io, listen_main(std::move(*a)));
}

}  // namespace quicreuse::tool
