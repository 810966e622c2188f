// quicreuse listen: one ConnManager; on every address one Listener per ALPN (all sharing the
// address's UDP port), every stream echoed, optional STUN answers on the shared non-QUIC packet
// conn, one dial through the manager (so it leaves from the listen port) and /metrics over HTTP.
#include "args.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "line_writer.hpp"
#include "metrics_http.hpp"
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

Listens through one connection manager on every MULTIADDR (one UDP socket each, shared by all
the ALPNs) and echoes every bidirectional stream (bytes in = bytes out, FIN answered with FIN).
Prints 'listening <multiaddr>' per address once bound, then
'accepted <ip:port> alpn=<P> cipher=<SUITE>' per connection. SIGINT/SIGTERM close everything and
exit 0.

options:
  --alpn P               serve this ALPN (repeatable: one listener per ALPN, all on the same
                         ports; default echo/1)
  --cert PEM --key PEM   TLS identity (default: a fresh self-signed certificate for localhost)
  --cipher-suites LIST   TLS 1.3 cipher suites to accept, comma-separated: TLS_AES_128_GCM_SHA256,
                         TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256,
                         TLS_AES_128_CCM_SHA256 (any case, TLS_ optional; default: all four); a
                         client offering none of them fails with CRYPTO_ERROR 0x128. --dial
                         offers these, in this order
  --stun                 answer STUN Binding Requests on the same ports (through the manager's
                         shared non-QUIC packet conn), at most 10 per second (burst 20) per
                         source address and 2000 per second in all
  --dial MULTIADDR       after listening, dial MULTIADDR through the manager (the dial leaves
                         from a listen port of the same address family), send "hello" on a
                         stream and print 'dial reply: <text> (from <local ip:port>)'
  --dial-alpn P          ALPN offered by --dial (default echo/1)
  --ca PEM               verify the --dial peer with this CA (default: no verification, the
                         dial is a reachability probe)
  --metrics HOST:PORT    serve the manager's Prometheus metrics at http://HOST:PORT/metrics
                         (port 0: any free port; the real one is printed)
  --qlog-dir DIR         write qlog files to DIR (default: $QLOGDIR when set)
  --json                 print events as JSON lines

Output: one line per event; when stdout is not read, event lines beyond 1 MiB are dropped (and
counted) rather than stopping the server.

example: quicreuse listen /ip4/127.0.0.1/udp/4001/quic-v1 /ip6/::1/udp/0/quic-v1 --stun \
           --alpn echo/1 --alpn chat/1 --metrics 127.0.0.1:9090
)";

constexpr std::array<OptionSpec, 11> kOptions{{
    {"alpn", true, true},
    {"cert", true, false},
    {"key", true, false},
    {"cipher-suites", true, false},
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
  std::vector<ListenArg> addrs;
  std::vector<std::string> alpns;
  std::shared_ptr<const TlsIdentity> identity;
  std::vector<CipherSuite> cipher_suites;  // accepted, and offered by --dial; empty: all
  bool stun = false;
  std::optional<DialArg> dial;
  std::string dial_alpn;
  ClientTlsOptions dial_tls;
  std::optional<asio::ip::tcp::endpoint> metrics;
  std::optional<std::string> qlog_dir;
  Output out;
};

bool valid_alpn(const std::string& alpn) {
  return !alpn.empty() && alpn.size() <= 255;
}

tl::expected<ListenArgs, std::string> parse(const ParsedArgs& p) {
  ListenArgs a;
  if (p.positionals.empty()) {
    return tl::make_unexpected(
        std::string("listen needs at least one MULTIADDR (see 'quicreuse listen --help')"));
  }
  for (const auto& text : p.positionals) {
    auto addr = parse_listen_multiaddr(text);
    if (!addr) {
      return tl::make_unexpected(addr.error());
    }
    a.addrs.push_back(std::move(*addr));
  }
  a.alpns = p.values("alpn");
  if (a.alpns.empty()) {
    a.alpns.emplace_back("echo/1");
  }
  for (std::size_t i = 0; i < a.alpns.size(); ++i) {
    const auto& alpn = a.alpns[i];
    if (!valid_alpn(alpn)) {
      return tl::make_unexpected("bad --alpn '" + alpn + "' (1 to 255 bytes)");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (a.alpns[j] == alpn) {
        return tl::make_unexpected("--alpn '" + alpn + "' given more than once");
      }
    }
  }
  auto suites = parse_cipher_suites_option(p.value("cipher-suites"));
  if (!suites) {
    return tl::make_unexpected(suites.error());
  }
  a.cipher_suites = std::move(*suites);
  a.stun = p.has("stun");
  a.out.json = p.has("json");
  LineWriter::instance().set_json(a.out.json);
  a.qlog_dir = p.value("qlog-dir");
  if (auto metrics = p.value("metrics")) {
    auto address = parse_metrics_address(*metrics);
    if (!address) {
      return tl::make_unexpected(address.error());
    }
    a.metrics = *address;
  }
  if (p.has("dial-alpn") && !p.has("dial")) {
    return tl::make_unexpected(std::string("--dial-alpn needs --dial"));
  }
  if (p.has("ca") && !p.has("dial")) {
    return tl::make_unexpected(std::string("--ca needs --dial"));
  }
  if (auto dial = p.value("dial")) {
    auto target = parse_dial_multiaddr(*dial);
    if (!target) {
      return tl::make_unexpected("--dial: " + target.error());
    }
    bool family_found = false;
    for (const auto& addr : a.addrs) {
      family_found =
          family_found || addr.endpoint.address().is_v6() == target->endpoint.address().is_v6();
    }
    if (!family_found) {
      return tl::make_unexpected("--dial " + *dial + ": no listen address of the same family " +
                                 "to dial from");
    }
    a.dial = std::move(*target);
    a.dial_alpn = p.value("dial-alpn").value_or("echo/1");
    if (!valid_alpn(a.dial_alpn)) {
      return tl::make_unexpected("bad --dial-alpn '" + a.dial_alpn + "'");
    }
    a.dial_tls.ca_file = p.value("ca");
    a.dial_tls.insecure = !a.dial_tls.ca_file;
    a.dial_tls.cipher_suites = a.cipher_suites;
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

// Serving is everything listen_main opened. close_all (or destruction) closes it, the manager
// last, so that an error path never leaves a port bound.
struct Serving {
  Serving() = default;
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;
  Serving(Serving&&) = delete;
  Serving& operator=(Serving&&) = delete;
  ~Serving() { close_all(); }

  std::shared_ptr<ConnManager> cm;
  std::vector<std::shared_ptr<Listener>> listeners;      // every address x every ALPN
  std::vector<Multiaddr> bound;                          // per address, with the real port
  std::vector<std::shared_ptr<NonQuicPacketConn>> stun;  // per address with --stun
  std::unique_ptr<MetricsServer> metrics;

  void close_all() {
    if (metrics) {
      metrics->close();
    }
    for (const auto& conn : stun) {
      conn->close();
    }
    for (const auto& listener : listeners) {
      listener->close();
    }
    if (cm) {
      cm->close();
    }
  }
};

// Drops the manager's own "cannot listen on <ip:port>: " prefix (the caller names the address).
std::string listen_reason(std::error_code ec) {
  std::string why = manager_reason(ec);
  const std::string_view prefix = "cannot listen on ";
  if (why.rfind(prefix, 0) == 0) {
    if (const auto colon = why.find(": "); colon != std::string::npos) {
      why.erase(0, colon + 2);
    }
  }
  return why;
}

// Opens one Listener per ALPN on addr: the first binds (port 0 picks the port), the others join
// it on the real address, so all of them share one UDP socket.
tl::expected<void, std::string> open_address(Serving& s, const ListenArgs& a,
                                             const ListenArg& addr) {
  std::shared_ptr<Listener> first;
  for (const auto& alpn : a.alpns) {
    const Multiaddr where = first ? first->multiaddrs().front() : addr.multiaddr;
    TlsServerConfig tls;
    tls.default_choice.identity = a.identity;
    tls.default_choice.alpns.push_back(alpn);
    tls.cipher_suites = a.cipher_suites;
    auto listener = s.cm->listen_quic(where, tls);
    if (!listener) {
      std::string what = "cannot listen on " + where.to_string();
      if (a.alpns.size() > 1) {
        what += " (alpn " + alpn + ")";
      }
      return tl::make_unexpected(what + ": " + listen_reason(listener.error()));
    }
    std::shared_ptr<Listener> shared(std::move(*listener));
    if (!first) {
      first = shared;
    }
    s.listeners.push_back(std::move(shared));
  }
  s.bound.push_back(first->multiaddrs().front());
  if (a.stun) {
    auto conn = s.cm->shared_non_quic_packet_conn(addr.network, first->addr());
    if (!conn) {
      return tl::make_unexpected("cannot answer STUN on " + s.bound.back().to_string() + ": " +
                                 manager_reason(conn.error()));
    }
    s.stun.emplace_back(std::move(*conn));
  }
  return {};
}

tl::expected<void, std::string> open_all(Serving& s, const ListenArgs& a,
                                         const asio::any_io_executor& ex) {
  auto cm = make_manager(ex, a.qlog_dir);
  if (!cm) {
    return tl::make_unexpected(cm.error());
  }
  s.cm = *cm;
  for (const auto& addr : a.addrs) {
    if (auto r = open_address(s, a, addr); !r) {
      return r;
    }
  }
  if (a.metrics) {
    auto server = MetricsServer::start(ex, *a.metrics, s.cm->metrics());
    if (!server) {
      return tl::make_unexpected(server.error());
    }
    s.metrics = std::move(*server);
  }
  return {};
}

// Dials target through cm and sends one message; returns the reply text and the local address the
// connection used, or what failed.
struct DialReply {
  std::string text;
  asio::ip::udp::endpoint local;
};

asio::awaitable<tl::expected<DialReply, std::string>> dial_and_send(std::shared_ptr<ConnManager> cm,
                                                                    Multiaddr target,
                                                                    TlsClientConfig tls,
                                                                    ClientTlsOptions options,
                                                                    std::string message) {
  auto conn = co_await cm->dial_quic(std::move(target), std::move(tls));
  if (!conn) {
    co_return tl::make_unexpected(describe_dial_error(conn.error(), options));
  }
  DialReply out;
  out.local = conn->local_endpoint();
  auto reply = co_await round_trip(*conn, to_bytes(message));
  conn->close();
  if (!reply) {
    co_return tl::make_unexpected(reply.error());
  }
  out.text = to_text(*reply);
  co_return out;
}

asio::awaitable<void> dial_task(std::shared_ptr<ConnManager> cm, DialArg target, std::string alpn,
                                ClientTlsOptions options, Output out) {
  std::vector<std::string> alpns;
  alpns.push_back(std::move(alpn));
  auto tls = client_tls(target.endpoint, std::move(alpns), options);
  const std::string to = target.multiaddr.to_string();
  auto result = co_await with_timeout(
      dial_and_send(std::move(cm), target.multiaddr, std::move(tls), options, "hello"),
      kDialTimeout);
  if (!result) {
    result = tl::make_unexpected("timeout after " + std::to_string(kDialTimeout.count()) + " s");
  }
  if (*result) {
    const std::string from = format_host_port((*result)->local);
    out.emit_always(
        Event("dial_reply").str("from", from).str("to", to).str("text", (*result)->text),
        "dial reply: " + (*result)->text + " (from " + from + ")");
  } else {
    out.emit_always(Event("dial_error").str("to", to).str("error", result->error()),
                    "dial failed: " + to + ": " + result->error());
  }
}

asio::awaitable<int> listen_main(ListenArgs a) {
  const auto ex = co_await asio::this_coro::executor;
  // Installed before the first line is printed: a supervisor may signal as soon as it reads it.
  asio::signal_set signals(ex, SIGINT, SIGTERM);
  Serving s;
  if (auto opened = open_all(s, a, ex); !opened) {
    s.close_all();
    print_error(opened.error());
    co_return kExitUsage;
  }
  for (const auto& bound : s.bound) {
    const std::string addr = bound.to_string();
    a.out.emit_always(Event("listening").str("addr", addr), "listening " + addr);
  }
  if (s.metrics) {
    const std::string url = metrics_url(s.metrics->local_endpoint());
    a.out.emit_always(Event("metrics").str("url", url), "metrics " + url);
  }
  for (const auto& listener : s.listeners) {
    asio::co_spawn(ex, echo_server(listener, a.out), asio::detached);
  }
  // One limiter for every address the tool answers STUN on.
  auto stun_limiter = std::make_shared<StunLimiter>();
  for (const auto& conn : s.stun) {
    const Output out = a.out;
    StunObserver observer = [out](const asio::ip::udp::endpoint& from) {
      const std::string remote = format_host_port(from);
      out.emit(Event("stun").str("remote", remote), "stun answered " + remote);
    };
    asio::co_spawn(ex, stun_responder(conn, std::move(observer), stun_limiter), asio::detached);
  }
  if (a.dial) {
    asio::co_spawn(ex, dial_task(s.cm, *a.dial, a.dial_alpn, a.dial_tls, a.out), asio::detached);
  }
  co_await signals.async_wait(as_tuple(use_awaitable));
  block_termination_signals();
  s.close_all();
  if (stun_limiter->refused() > 0) {
    a.out.emit_always(
        Event("stun_refused").num("requests", stun_limiter->refused()),
        "stun refused " + std::to_string(stun_limiter->refused()) + " requests (rate limit)");
  }
  co_return kExitOk;
}

}  // namespace

int run_listen(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto stop = parse_command_line(args, kOptions, "listen", kUsage, parsed)) {
    return *stop;
  }
  auto a = parse(parsed);
  if (!a) {
    print_error(a.error());
    return kExitUsage;
  }
  asio::io_context io;
  return run_to_completion(io, listen_main(std::move(*a)));
}

}  // namespace quicreuse::tool
