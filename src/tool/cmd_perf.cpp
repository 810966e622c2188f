// quicreuse perf: the perf/1 throughput and handshake benchmark (libp2p perf protocol shape).
//
// Protocol: the client opens a bidirectional stream, sends an 8-byte big-endian download size D,
// uploads U bytes and half-closes; the server reads everything to FIN, sends D bytes back and
// half-closes.
#include "args.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "line_writer.hpp"
#include "multiaddr_arg.hpp"
#include "output.hpp"
#include "streams.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>

namespace quicreuse::tool {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage = R"(usage: quicreuse perf server MULTIADDR... [options]
       quicreuse perf client MULTIADDR [options]

A throughput and handshake benchmark over ALPN perf/1: the client opens a stream, sends an
8-byte big-endian download size D, uploads U bytes and half-closes; the server reads to FIN,
sends D bytes back and half-closes.

server options (prints 'listening <multiaddr>', serves until SIGINT/SIGTERM):
  --cert PEM --key PEM   TLS identity (default: a fresh self-signed certificate)
  --cipher-suites LIST   TLS 1.3 cipher suites to accept (see SUITES below; default: all four)
  --qlog-dir DIR         write qlog files to DIR
  --json                 print events as JSON lines

client options:
  --upload SIZE          bytes to upload per connection (default 10M)
  --download SIZE        bytes to download per connection (default 10M)
                         (SIZE suffixes: K M G = 10^3.., Ki Mi Gi = 2^10..)
  --conns C              C concurrent connections, one stream each (default 1)
  --handshakes N         instead: N sequential full handshakes, each with one empty exchange
  --insecure             do not verify the server certificate
  --ca PEM               verify the server certificate with this CA file (default: system store)
  --server-name NAME     SNI and verified name (default: localhost for loopback addresses)
  --cipher-suites LIST   TLS 1.3 cipher suites to offer, in preference order (see SUITES below;
                         default: all four)
  --timeout SECONDS      give up after this long: exit code 1 (default 60)
  --qlog-dir DIR         write qlog files to DIR

SUITES: comma-separated names out of TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
TLS_CHACHA20_POLY1305_SHA256 and TLS_AES_128_CCM_SHA256 (any case, TLS_ optional), each once.

The client's last stdout line is one JSON object:
  {"upload_bytes":..,"download_bytes":..,"seconds":..,"gbit_s":..}
  {"handshakes":N,"seconds":..,"per_second":..}                      (with --handshakes)
On a terminal it also shows a live progress line. Exit 0 only if every byte arrived.
)";

constexpr std::array<OptionSpec, 5> kServerOptions{{
    {"cert", true, false},
    {"key", true, false},
    {"cipher-suites", true, false},
    {"qlog-dir", true, false},
    {"json", false, false},
}};

constexpr std::array<OptionSpec, 10> kClientOptions{{
    {"upload", true, false},
    {"download", true, false},
    {"conns", true, false},
    {"handshakes", true, false},
    {"insecure", false, false},
    {"ca", true, false},
    {"server-name", true, false},
    {"cipher-suites", true, false},
    {"timeout", true, false},
    {"qlog-dir", true, false},
}};

constexpr std::string_view kPerfAlpn = "perf/1";
constexpr std::size_t kChunk = std::size_t{256} * 1024;
constexpr std::uint64_t kDefaultSize = 10'000'000;
constexpr double kDefaultTimeout = 60;

// Returns the block every perf payload is cut from.
const std::vector<std::uint8_t>& payload_block() {
  static const std::vector<std::uint8_t> block = pseudo_random_bytes(kChunk, 0x9e3779b97f4a7c15);
  return block;
}

std::array<std::uint8_t, 8> encode_be64(std::uint64_t v) {
  std::array<std::uint8_t, 8> out{};
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<std::uint8_t>(v >> (8 * (7 - i)));
  }
  return out;
}

std::uint64_t decode_be64(const std::array<std::uint8_t, 8>& in) {
  std::uint64_t v = 0;
  for (const auto b : in) {
    v = (v << 8) | b;
  }
  return v;
}

// Writes n bytes of the payload block to stream; counter (if any) grows as bytes go out.
asio::awaitable<std::error_code> send_bytes(Stream& stream, std::uint64_t n,
                                            std::uint64_t* counter) {
  const auto& block = payload_block();
  while (n > 0) {
    const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, block.size()));
    auto [ec, written] =
        co_await asio::async_write(stream, asio::buffer(block.data(), k), as_tuple(use_awaitable));
    if (ec) {
      co_return ec;
    }
    n -= written;
    if (counter != nullptr) {
      *counter += written;
    }
  }
  co_return std::error_code{};
}

// Reads stream to FIN, discarding; returns the error (not eof) and the byte count.
struct DrainResult {
  std::error_code error;
  std::uint64_t bytes = 0;
};

// Received perf bytes are thrown away: every stream of a thread reads into one buffer, so a
// peer with hundreds of streams costs no per-stream buffer.
std::vector<std::uint8_t>& discard_buffer() {
  thread_local std::vector<std::uint8_t> buffer(kChunk);
  return buffer;
}

asio::awaitable<DrainResult> drain(Stream& stream, std::uint64_t* counter) {
  DrainResult r;
  for (;;) {
    auto [ec, n] =
        co_await stream.async_read_some(asio::buffer(discard_buffer()), as_tuple(use_awaitable));
    r.bytes += n;
    if (counter != nullptr) {
      *counter += n;
    }
    if (ec == asio::error::eof) {
      co_return r;
    }
    if (ec) {
      r.error = ec;
      co_return r;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// server

asio::awaitable<void> serve_perf_stream(Stream stream) {
  std::array<std::uint8_t, 8> header{};
  auto [ec, n] = co_await asio::async_read(stream, asio::buffer(header), as_tuple(use_awaitable));
  if (ec) {
    (void)stream.reset(1);
    co_return;
  }
  const std::uint64_t download = decode_be64(header);
  const DrainResult upload = co_await drain(stream, nullptr);
  if (upload.error) {
    co_return;
  }
  if (auto error = co_await send_bytes(stream, download, nullptr); error) {
    co_return;
  }
  (void)stream.shutdown_send();
}

asio::awaitable<void> serve_perf_connection(Connection conn) {
  for (;;) {
    auto [ec, stream] = co_await conn.async_accept_stream(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    asio::co_spawn(conn.get_executor(), serve_perf_stream(std::move(stream)), asio::detached);
  }
}

asio::awaitable<void> perf_accept_loop(std::shared_ptr<Endpoint> ep) {
  for (;;) {
    auto [ec, conn] = co_await ep->async_accept(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    asio::co_spawn(ep->get_executor(), serve_perf_connection(std::move(conn)), asio::detached);
    while (auto more = ep->try_accept()) {  // the rest of a burst, in this turn
      asio::co_spawn(ep->get_executor(), serve_perf_connection(std::move(*more)), asio::detached);
    }
  }
}

struct ServerArgs {
  std::vector<asio::ip::udp::endpoint> addrs;
  std::shared_ptr<const TlsIdentity> identity;
  std::vector<CipherSuite> cipher_suites;  // accepted; empty: all
  std::optional<std::string> qlog_dir;
  Output out;
};

asio::awaitable<int> server_main(ServerArgs a) {
  const auto ex = co_await asio::this_coro::executor;
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
  tls.default_choice.alpns.emplace_back(kPerfAlpn);
  tls.cipher_suites = a.cipher_suites;
  for (const auto& ep : set.endpoints()) {
    if (auto r = ep->listen(tls); !r) {
      print_error("cannot listen on " + format_multiaddr(ep->local_endpoint()) + ": " +
                  r.error().message());
      co_return kExitUsage;
    }
  }
  for (const auto& ep : set.endpoints()) {
    const std::string addr = format_multiaddr(ep->local_endpoint());
    a.out.emit_always(Event("listening").str("addr", addr), "listening " + addr);
    asio::co_spawn(ex, perf_accept_loop(ep), asio::detached);
  }
  co_await signals.async_wait(as_tuple(use_awaitable));
  block_termination_signals();
  set.close_all();
  co_return kExitOk;
}

int run_server(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto stop = parse_command_line(args, kServerOptions, "perf server", kUsage, parsed)) {
    return *stop;
  }
  ServerArgs a;
  if (parsed.positionals.empty()) {
    print_error("perf server needs at least one MULTIADDR (see 'quicreuse perf --help')");
    return kExitUsage;
  }
  for (const auto& text : parsed.positionals) {
    auto addr = parse_listen_multiaddr(text);
    if (!addr) {
      print_error(addr.error());
      return kExitUsage;
    }
    a.addrs.push_back(addr->endpoint);
  }
  auto suites = parse_cipher_suites_option(parsed.value("cipher-suites"));
  if (!suites) {
    print_error(suites.error());
    return kExitUsage;
  }
  a.cipher_suites = std::move(*suites);
  a.qlog_dir = parsed.value("qlog-dir");
  if (auto error = prepare_qlog_dir(a.qlog_dir)) {
    print_error(*error);
    return kExitUsage;
  }
  auto identity = load_identity(parsed.value("cert"), parsed.value("key"));
  if (!identity) {
    print_error(identity.error());
    return kExitUsage;
  }
  a.identity = *identity;
  a.out.json = parsed.has("json");
  LineWriter::instance().set_json(a.out.json);
  asio::io_context io;
  return run_to_completion(io, server_main(std::move(a)));
}

// ---------------------------------------------------------------------------------------------
// client

struct ClientArgs {
  asio::ip::udp::endpoint target;
  std::uint64_t upload = kDefaultSize;
  std::uint64_t download = kDefaultSize;
  std::uint64_t conns = 1;
  std::uint64_t handshakes = 0;  // 0: throughput mode
  double timeout = kDefaultTimeout;
  ClientTlsOptions tls;
  std::optional<std::string> qlog_dir;
};

// Progress is what the client has moved so far (single-threaded: plain counters).
struct Progress {
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::uint64_t handshakes = 0;
};

// Transfer is one exchange's sizes. (Built with make_transfer, never as a braced temporary in a
// coroutine: GCC 12 destroys such temporaries twice.)
struct Transfer {
  std::uint64_t upload = 0;
  std::uint64_t download = 0;
  std::shared_ptr<Progress> progress;
};

Transfer make_transfer(std::uint64_t upload, std::uint64_t download,
                       std::shared_ptr<Progress> progress) {
  Transfer t;
  t.upload = upload;
  t.download = download;
  t.progress = std::move(progress);
  return t;
}

// Sends the perf header (download size), the upload bytes and FIN.
asio::awaitable<std::error_code> upload_all(Stream& stream, Transfer t) {
  const auto header = encode_be64(t.download);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(header), as_tuple(use_awaitable));
  if (ec) {
    co_return ec;
  }
  if (auto error = co_await send_bytes(stream, t.upload, &t.progress->uploaded); error) {
    co_return error;
  }
  auto r = stream.shutdown_send();
  co_return r ? std::error_code{} : r.error();
}

// Runs one perf exchange on a new stream of conn; returns an error message or "".
asio::awaitable<std::string> perf_exchange(Connection conn, Transfer t) {
  using namespace asio::experimental::awaitable_operators;
  auto [ec, stream] = co_await conn.async_open_stream(as_tuple(use_awaitable));
  if (ec) {
    co_return "cannot open a stream: " + ec.message();
  }
  auto [upload_error, downloaded] =
      co_await (upload_all(stream, t) && drain(stream, &t.progress->downloaded));
  if (upload_error) {
    co_return "upload failed: " + upload_error.message();
  }
  if (downloaded.error) {
    co_return "download failed: " + downloaded.error.message();
  }
  if (downloaded.bytes != t.download) {
    co_return "downloaded " + std::to_string(downloaded.bytes) + " bytes, expected " +
        std::to_string(t.download);
  }
  co_return std::string();
}

// Dials target from ep and runs one exchange; returns an error message or "".
asio::awaitable<std::string> perf_connection(std::shared_ptr<Endpoint> ep,
                                             asio::ip::udp::endpoint target, TlsClientConfig tls,
                                             ClientTlsOptions options, Transfer t) {
  auto conn = co_await ep->dial(target, std::move(tls));
  if (!conn) {
    co_return "dial " + format_multiaddr(target) +
        " failed: " + describe_dial_error(conn.error(), options);
  }
  std::string error = co_await perf_exchange(*conn, t);
  if (!error.empty()) {
    error = with_close_reason(std::move(error), *conn);
  }
  conn->close();
  co_return error;
}

// Join collects the results of concurrently spawned connections.
struct Join {
  explicit Join(const asio::any_io_executor& ex, std::size_t n)
      : remaining(n), done(ex, Clock::time_point::max()) {}
  std::size_t remaining;
  std::string first_error;
  asio::steady_timer done;
};

asio::awaitable<std::string> run_throughput(std::shared_ptr<Endpoint> ep, ClientArgs a,
                                            TlsClientConfig tls, std::shared_ptr<Progress> p) {
  const auto ex = co_await asio::this_coro::executor;
  auto join = std::make_shared<Join>(ex, static_cast<std::size_t>(a.conns));
  const Transfer transfer = make_transfer(a.upload, a.download, p);
  for (std::uint64_t i = 0; i < a.conns; ++i) {
    asio::co_spawn(ex, perf_connection(ep, a.target, tls, a.tls, transfer),
                   [join](const std::exception_ptr& e, std::string error) {
                     if (e && error.empty()) {
                       error = "internal error";
                     }
                     if (!error.empty() && join->first_error.empty()) {
                       join->first_error = std::move(error);
                     }
                     if (--join->remaining == 0) {
                       join->done.cancel();
                     }
                   });
  }
  while (join->remaining > 0) {
    co_await join->done.async_wait(as_tuple(use_awaitable));
  }
  co_return join->first_error;
}

asio::awaitable<std::string> run_handshakes(std::shared_ptr<Endpoint> ep, ClientArgs a,
                                            TlsClientConfig tls, std::shared_ptr<Progress> p) {
  const Transfer empty = make_transfer(0, 0, p);
  for (std::uint64_t i = 0; i < a.handshakes; ++i) {
    auto error = co_await perf_connection(ep, a.target, tls, a.tls, empty);
    if (!error.empty()) {
      co_return "handshake " + std::to_string(i + 1) + ": " + error;
    }
    ++p->handshakes;
  }
  co_return std::string();
}

std::string human_bytes(std::uint64_t n) {
  return format_fixed(static_cast<double>(n) / 1e6, 1) + " MB";
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Shows a live progress line on a terminal until cancelled.
asio::awaitable<void> show_progress(std::shared_ptr<Progress> p, ClientArgs a,
                                    Clock::time_point start) {
  for (;;) {
    co_await sleep_for(std::chrono::milliseconds(250));
    const double s = seconds_since(start);
    std::string line;
    if (a.handshakes > 0) {
      line = "handshakes " + std::to_string(p->handshakes) + "/" + std::to_string(a.handshakes) +
             "  " + format_fixed(s, 1) + " s";
    } else {
      const auto total = p->uploaded + p->downloaded;
      line = "up " + human_bytes(p->uploaded) + "  down " + human_bytes(p->downloaded) + "  " +
             format_fixed(s > 0 ? static_cast<double>(total) * 8 / s / 1e9 : 0, 2) + " Gbit/s  " +
             format_fixed(s, 1) + " s";
    }
    std::fprintf(stdout, "\r\033[K%s", line.c_str());
    std::fflush(stdout);
  }
}

asio::awaitable<int> client_main(ClientArgs a) {
  using namespace asio::experimental::awaitable_operators;
  const auto ex = co_await asio::this_coro::executor;
  EndpointSet set;
  auto ep = set.bind(ex, any_address_like(a.target), endpoint_config(a.qlog_dir));
  if (!ep) {
    print_error("cannot bind a UDP socket: " + ep.error().message());
    co_return kExitUsage;
  }
  std::vector<std::string> alpns;
  alpns.emplace_back(kPerfAlpn);
  const TlsClientConfig tls = client_tls(a.target, std::move(alpns), a.tls);
  auto progress = std::make_shared<Progress>();
  const bool tty = isatty(STDOUT_FILENO) == 1;
  const auto start = Clock::now();
  auto work = a.handshakes > 0 ? run_handshakes(*ep, a, tls, progress)
                               : run_throughput(*ep, a, tls, progress);
  std::optional<std::string> result;
  if (tty) {
    auto r = co_await (with_timeout(std::move(work), to_duration(a.timeout)) ||
                       show_progress(progress, a, start));
    if (r.index() == 0) {
      result = std::get<0>(std::move(r));
    }
    std::fputs("\r\033[K", stdout);
    std::fflush(stdout);
  } else {
    result = co_await with_timeout(std::move(work), to_duration(a.timeout));
  }
  const double seconds = seconds_since(start);
  set.close_all();
  if (!result) {
    print_error("timeout after " + format_seconds(a.timeout) + " s");
    co_return kExitFailure;
  }
  if (!result->empty()) {
    print_error(*result);
    co_return kExitFailure;
  }
  std::string json;
  if (a.handshakes > 0) {
    json = "{\"handshakes\":" + std::to_string(progress->handshakes) +
           ",\"seconds\":" + format_fixed(seconds, 6) + ",\"per_second\":" +
           format_fixed(static_cast<double>(progress->handshakes) / seconds, 1) + "}";
  } else {
    const auto total = progress->uploaded + progress->downloaded;
    json = "{\"upload_bytes\":" + std::to_string(progress->uploaded) +
           ",\"download_bytes\":" + std::to_string(progress->downloaded) +
           ",\"seconds\":" + format_fixed(seconds, 6) +
           ",\"gbit_s\":" + format_fixed(static_cast<double>(total) * 8 / seconds / 1e9, 3) + "}";
  }
  print_line(json);
  co_return kExitOk;
}

int run_client(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto stop = parse_command_line(args, kClientOptions, "perf client", kUsage, parsed)) {
    return *stop;
  }
  const ParsedArgs& p = parsed;
  auto fail_usage = [](const std::string& what) {
    print_error(what);
    return kExitUsage;
  };
  if (p.positionals.size() != 1) {
    return fail_usage("perf client needs exactly one MULTIADDR (see 'quicreuse perf --help')");
  }
  ClientArgs a;
  auto target = parse_dial_multiaddr(p.positionals[0]);
  if (!target) {
    return fail_usage(target.error());
  }
  a.target = target->endpoint;
  for (const auto* name : {"upload", "download"}) {
    if (auto text = p.value(name)) {
      const auto n = parse_size(*text);
      if (!n) {
        return fail_usage("bad --" + std::string(name) + " '" + *text +
                          "' (a size such as 100M or 64Ki)");
      }
      (std::string_view(name) == "upload" ? a.upload : a.download) = *n;
    }
  }
  if (auto text = p.value("conns")) {
    const auto n = parse_count(*text);
    if (!n || *n == 0 || *n > 10'000) {
      return fail_usage("bad --conns '" + *text + "' (1 to 10000)");
    }
    a.conns = *n;
  }
  if (auto text = p.value("handshakes")) {
    const auto n = parse_count(*text);
    if (!n || *n == 0) {
      return fail_usage("bad --handshakes '" + *text + "' (a positive count)");
    }
    if (p.has("upload") || p.has("download") || p.has("conns")) {
      return fail_usage("--handshakes excludes --upload, --download and --conns");
    }
    a.handshakes = *n;
  }
  if (auto text = p.value("timeout")) {
    const auto s = parse_seconds(*text);
    if (!s) {
      return fail_usage("bad --timeout '" + *text + "' (seconds, > 0)");
    }
    a.timeout = *s;
  }
  a.tls.insecure = p.has("insecure");
  a.tls.ca_file = p.value("ca");
  a.tls.server_name = p.value("server-name");
  if (a.tls.insecure && a.tls.ca_file) {
    return fail_usage("--insecure and --ca exclude each other");
  }
  auto suites = parse_cipher_suites_option(p.value("cipher-suites"));
  if (!suites) {
    return fail_usage(suites.error());
  }
  a.tls.cipher_suites = std::move(*suites);
  a.qlog_dir = p.value("qlog-dir");
  if (auto error = prepare_qlog_dir(a.qlog_dir)) {
    return fail_usage(*error);
  }
  asio::io_context io;
  return run_to_completion(io, client_main(std::move(a)));
}

}  // namespace

int run_perf(std::span<const std::string> args) {
  if (args.empty()) {
    print_error("perf needs 'server' or 'client' (see 'quicreuse perf --help')");
    return kExitUsage;
  }
  const std::string& mode = args.front();
  if (mode == "--help" || mode == "-h") {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return kExitOk;
  }
  const auto rest = args.subspan(1);
  if (mode == "server") {
    return run_server(rest);
  }
  if (mode == "client") {
    return run_client(rest);
  }
  print_error("unknown perf mode '" + mode + "' (expected server or client)");
  return kExitUsage;
}

}  // namespace quicreuse::tool
