// quicreuse dial: one connection through a ConnManager, one stream, the echo checked byte for
// byte. With --listen the same manager listens first, so the dial leaves from the listen port.
#include "args.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "line_writer.hpp"
#include "multiaddr_arg.hpp"
#include "output.hpp"
#include "streams.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <algorithm>
#include <array>

namespace quicreuse::tool {
namespace {

constexpr std::string_view kUsage = R"(usage: quicreuse dial MULTIADDR [options]

Dials MULTIADDR, opens one bidirectional stream, sends the message, half-closes, reads the echo
to FIN and prints it. Exit code 0 if and only if the echo equals what was sent; 1 when the dial,
the stream or the echo failed, or on timeout; 2 for a bad command line.

options:
  --alpn P             ALPN to offer (repeatable, in preference order; default echo/1)
  --message TEXT       send TEXT (default "hello"); the echo is printed
  --bytes N            send N pseudo-random bytes instead (suffixes K M G, Ki Mi Gi) and print
                       'echoed N bytes'
  --listen MULTIADDR   listen there first with the same connection manager (echo/1, echoing
                       like 'quicreuse listen'; prints 'listening <multiaddr>'), so the dial
                       leaves from the listen port
  --timeout SECONDS    give up after this long (default 10)
  --insecure           do not verify the server certificate
  --ca PEM             verify the server certificate with this CA file (default: the system
                       trust store, which rejects self-signed servers)
  --server-name NAME   SNI and verified name (default: localhost for loopback addresses, else
                       the IP address)
  --cipher-suites LIST
                       TLS 1.3 cipher suites to offer, comma-separated, in preference order:
                       TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
                       TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256 (any case, TLS_
                       optional; default: all four); --listen accepts only these too
  --qlog-dir DIR       write qlog files to DIR (default: $QLOGDIR when set)
  --json               print events as JSON lines (the 'connected' event names the negotiated
                       cipher suite)

example: quicreuse dial /ip4/127.0.0.1/udp/4001/quic-v1 --insecure --message hi
)";

constexpr std::array<OptionSpec, 11> kOptions{{
    {"alpn", true, true},
    {"message", true, false},
    {"bytes", true, false},
    {"listen", true, false},
    {"timeout", true, false},
    {"insecure", false, false},
    {"ca", true, false},
    {"server-name", true, false},
    {"cipher-suites", true, false},
    {"qlog-dir", true, false},
    {"json", false, false},
}};

struct DialArgs {
  DialArg target;
  std::vector<std::string> alpns;
  std::vector<std::uint8_t> payload;
  bool bytes_mode = false;
  std::optional<ListenArg> listen;
  double timeout = 10;
  ClientTlsOptions tls;
  std::optional<std::string> qlog_dir;
  Output out;
};

tl::expected<DialArgs, std::string> parse(const ParsedArgs& p) {
  DialArgs a;
  if (p.positionals.size() != 1) {
    return tl::make_unexpected(
        std::string("dial needs exactly one MULTIADDR (see 'quicreuse dial --help')"));
  }
  auto target = parse_dial_multiaddr(p.positionals[0]);
  if (!target) {
    return tl::make_unexpected(target.error());
  }
  a.target = std::move(*target);
  a.alpns = p.values("alpn");
  if (a.alpns.empty()) {
    a.alpns.emplace_back("echo/1");
  }
  for (const auto& alpn : a.alpns) {
    if (alpn.empty() || alpn.size() > 255) {
      return tl::make_unexpected("bad --alpn '" + alpn + "' (1 to 255 bytes)");
    }
  }
  if (p.has("message") && p.has("bytes")) {
    return tl::make_unexpected(std::string("--message and --bytes exclude each other"));
  }
  if (auto bytes = p.value("bytes")) {
    const auto n = parse_size(*bytes);
    if (!n || *n > (std::uint64_t{1} << 32)) {
      return tl::make_unexpected("bad --bytes '" + *bytes +
                                 "' (a size up to 4Gi, e.g. 5000000, 5M, 4Mi)");
    }
    a.bytes_mode = true;
    a.payload = pseudo_random_bytes(static_cast<std::size_t>(*n), *n);
  } else {
    a.payload = to_bytes(p.value("message").value_or("hello"));
  }
  if (auto listen = p.value("listen")) {
    auto local = parse_listen_multiaddr(*listen);
    if (!local) {
      return tl::make_unexpected("--listen: " + local.error());
    }
    if (local->endpoint.address().is_v6() != a.target.endpoint.address().is_v6()) {
      return tl::make_unexpected("--listen " + *listen + " and " + p.positionals[0] +
                                 " are of different address families");
    }
    a.listen = std::move(*local);
  }
  if (auto timeout = p.value("timeout")) {
    const auto seconds = parse_seconds(*timeout);
    if (!seconds) {
      return tl::make_unexpected("bad --timeout '" + *timeout + "' (seconds, > 0)");
    }
    a.timeout = *seconds;
  }
  a.tls.insecure = p.has("insecure");
  a.tls.ca_file = p.value("ca");
  a.tls.server_name = p.value("server-name");
  auto suites = parse_cipher_suites_option(p.value("cipher-suites"));
  if (!suites) {
    return tl::make_unexpected(suites.error());
  }
  a.tls.cipher_suites = std::move(*suites);
  if (a.tls.insecure && a.tls.ca_file) {
    return tl::make_unexpected(std::string("--insecure and --ca exclude each other"));
  }
  if (a.tls.ca_file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*a.tls.ca_file, ec)) {
      return tl::make_unexpected("cannot read --ca '" + *a.tls.ca_file + "'");
    }
  }
  a.qlog_dir = p.value("qlog-dir");
  if (auto error = prepare_qlog_dir(a.qlog_dir)) {
    return tl::make_unexpected(*error);
  }
  a.out.json = p.has("json");
  LineWriter::instance().set_json(a.out.json);
  return a;
}

// Dials through cm, sends payload on one stream and returns the echo, or what failed.
asio::awaitable<tl::expected<std::vector<std::uint8_t>, std::string>> dial_and_echo(
    std::shared_ptr<ConnManager> cm, DialArg target, TlsClientConfig tls, ClientTlsOptions options,
    std::vector<std::uint8_t> payload, Output out) {
  auto conn = co_await cm->dial_quic(target.multiaddr, std::move(tls));
  if (!conn) {
    std::string why = describe_dial_error(conn.error(), options);
    if (conn.error() == make_error_code(errc::invalid_argument)) {
      why = manager_reason(conn.error());  // an address the manager cannot dial
    }
    co_return tl::make_unexpected("dial " + target.multiaddr.to_string() + " failed: " + why);
  }
  if (out.json) {
    out.emit_always(Event("connected")
                        .str("local", format_host_port(conn->local_endpoint()))
                        .str("remote", format_host_port(conn->remote_endpoint()))
                        .str("alpn", conn->alpn())
                        .str("cipher", cipher_name(*conn)),
                    "");
  }
  auto echo = co_await round_trip(*conn, std::move(payload));
  if (!echo) {
    std::string why = with_close_reason(echo.error(), *conn);
    conn->close();
    co_return tl::make_unexpected(why);
  }
  conn->close();
  co_return std::move(*echo);
}

std::string describe_mismatch(const std::vector<std::uint8_t>& sent,
                              const std::vector<std::uint8_t>& got) {
  const auto diff = std::mismatch(sent.begin(), sent.end(), got.begin(), got.end());
  return "echo mismatch: sent " + std::to_string(sent.size()) + " bytes, received " +
         std::to_string(got.size()) + " bytes, first difference at offset " +
         std::to_string(diff.first - sent.begin());
}

// Listens on addr for echo/1 through cm, accepting suites (dial --listen). Errors: one line.
tl::expected<std::shared_ptr<Listener>, std::string> listen_first(
    ConnManager& cm, const ListenArg& addr, const std::vector<CipherSuite>& suites) {
  auto identity = load_identity(std::nullopt, std::nullopt);
  if (!identity) {
    return tl::make_unexpected(identity.error());
  }
  TlsServerConfig tls;
  tls.default_choice.identity = *identity;
  tls.default_choice.alpns.emplace_back("echo/1");
  tls.cipher_suites = suites;
  auto listener = cm.listen_quic(addr.multiaddr, tls);
  if (!listener) {
    return tl::make_unexpected("cannot listen on " + addr.multiaddr.to_string() + ": " +
                               manager_reason(listener.error()));
  }
  return std::shared_ptr<Listener>(std::move(*listener));
}

asio::awaitable<int> dial_main(DialArgs a) {
  const auto ex = co_await asio::this_coro::executor;
  auto cm = make_manager(ex, a.qlog_dir);
  if (!cm) {
    print_error(cm.error());
    co_return kExitUsage;
  }
  std::shared_ptr<Listener> listener;
  if (a.listen) {
    auto opened = listen_first(**cm, *a.listen, a.tls.cipher_suites);
    if (!opened) {
      (*cm)->close();
      print_error(opened.error());
      co_return kExitUsage;
    }
    listener = *opened;
    const std::string addr = listener->multiaddrs().front().to_string();
    a.out.emit_always(Event("listening").str("addr", addr), "listening " + addr);
    asio::co_spawn(ex, echo_server(listener, a.out), asio::detached);
  }
  auto tls = client_tls(a.target.endpoint, a.alpns, a.tls);
  const auto payload = a.payload;
  auto result =
      co_await with_timeout(dial_and_echo(*cm, a.target, std::move(tls), a.tls, a.payload, a.out),
                            to_duration(a.timeout));
  if (listener) {
    listener->close();
  }
  (*cm)->close();
  if (!result) {
    print_error("timeout after " + format_seconds(a.timeout) + " s");
    co_return kExitFailure;
  }
  if (!*result) {
    print_error(result->error());
    co_return kExitFailure;
  }
  const std::vector<std::uint8_t>& echo = **result;
  const bool same = echo == payload;
  if (a.bytes_mode) {
    a.out.emit_always(Event("echo").num("bytes", echo.size()).boolean("match", same),
                      "echoed " + std::to_string(echo.size()) + " bytes");
  } else {
    a.out.emit_always(Event("echo").str("text", to_text(echo)).boolean("match", same),
                      to_text(echo));
  }
  if (!same) {
    print_error(describe_mismatch(payload, echo));
    co_return kExitFailure;
  }
  co_return kExitOk;
}

}  // namespace

int run_dial(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto stop = parse_command_line(args, kOptions, "dial", kUsage, parsed)) {
    return *stop;
  }
  auto a = parse(parsed);
  if (!a) {
    print_error(a.error());
    return kExitUsage;
  }
  asio::io_context io;
  return run_to_completion(io, dial_main(std::move(*a)));
}

}  // namespace quicreuse::tool
