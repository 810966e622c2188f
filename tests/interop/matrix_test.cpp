// The interop matrix: the QUIC interop runner's test cases, each in both directions between
// quicreuse and quic-go 0.29 (our Go peer), and with ngtcp2's gtlsclient/gtlsserver where those
// tools allow it (they speak HTTP/3 only and we do not, so with them only handshake-level cases
// run). Impaired cases go through tests/support/impairment_relay (the kernel has no netem).
//
// Counting follows the runner: a transfer passes when every byte came back exact (echo over
// bidirectional streams, so data crosses the impairments both ways), a multi-connection case
// when every connection succeeded. Results as measured are in docs/interop-matrix.md. Every wait
// is bounded and every foreign program runs under `timeout`; a missing program is a failure.
#include "impairment_relay.hpp"
#include "interop_helpers.hpp"
#include "io_helpers.hpp"
#include "subprocess.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <type_traits>

#ifndef QUICREUSE_TOOL_PATH
#error "QUICREUSE_TOOL_PATH must name the quicreuse tool"
#endif

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using asio::ip::udp;
using namespace std::chrono_literals;

const std::string kTool = QUICREUSE_TOOL_PATH;

// MatrixCase is one runner test case as we run it.
struct MatrixCase {
  std::string name;
  int conns = 1;
  int streams = 1;
  int parallel = 0;       // connections at once (0: all)
  std::size_t bytes = 0;  // per stream; 0: the 5-byte message "hello"
  bool relay = false;     // through the impairment relay (with these impairments)
  DirectionImpairment to_server{};
  DirectionImpairment to_client{};
  // Arms triggers on the relay (rebinds, blackholes); total is what the client sends in all.
  std::function<void(ImpairmentRelay&, std::uint64_t total)> arm{};
  std::vector<std::string> quicgo_flags{};  // for the quic-go side, client or server
  bool retry = false;                       // the server demands a Retry round trip
  bool big_certificate = false;             // the server's first flight exceeds 3x the client's
  bool ipv6 = false;
  std::chrono::seconds limit{30};
};

// Outcome is what one run of a case measured.
struct Outcome {
  int succeeded = 0;
  std::uint64_t exact_bytes = 0;  // bytes echoed back byte-exact
  std::string peer_output;
  RelayCounters relay;
  std::optional<RelayCounters> lifted;  // counters when a to_server blackhole lifted
  EndpointStats ours;
};

std::uint64_t total_bytes(const MatrixCase& c) {
  return static_cast<std::uint64_t>(c.conns) * static_cast<std::uint64_t>(c.streams) *
         (c.bytes == 0 ? 5 : c.bytes);
}

std::vector<std::uint8_t> payload_of(const MatrixCase& c, int index) {
  if (c.bytes == 0) {
    return {'h', 'e', 'l', 'l', 'o'};
  }
  return pattern(c.bytes, static_cast<std::uint64_t>(index));
}

std::string host_any(bool v6) {
  return v6 ? "[::1]:0" : "127.0.0.1:0";
}

std::string host_port(const udp::endpoint& ep) {
  return ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                              : ep.address().to_string() + ":" + std::to_string(ep.port());
}

// Returns the value of key=<digits> in the last line of text starting with prefix.
std::optional<std::uint64_t> field(const std::string& text, const std::string& prefix,
                                   const std::string& key) {
  std::optional<std::uint64_t> out;
  std::istringstream in(text);
  std::string line;
  const std::regex re("(^| )" + key + "=([0-9]+)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind(prefix, 0) == 0 && std::regex_search(line, m, re)) {
      out = std::stoull(m[2]);
    }
  }
  return out;
}

std::shared_ptr<const TlsIdentity> big_identity() {
  std::vector<std::string> names = {"localhost"};
  for (int i = 0; i < 300; ++i) {
    names.push_back("name" + std::to_string(i) + ".amplification-limit.localhost");
  }
  auto id = TlsIdentity::self_signed(names);
  EXPECT_TRUE(id);
  return id ? *id : nullptr;
}

// A pool of at most `parallel` concurrent tasks over indices 0..n-1, counting successes.
struct Pool {
  int n = 0;
  int next = 0;
  int active = 0;
  int succeeded = 0;
  std::function<asio::awaitable<bool>(int)> task;
};

asio::awaitable<void> pool_worker(std::shared_ptr<Pool> pool) {
  while (pool->next < pool->n) {
    const int index = pool->next++;
    pool->succeeded += (co_await pool->task(index)) ? 1 : 0;
  }
  --pool->active;
}

// Runs task(0..n-1), `parallel` at a time; returns how many succeeded once all have finished,
// or what succeeded by then when limit passes first.
asio::awaitable<int> run_pool(int n, int parallel, std::function<asio::awaitable<bool>(int)> task,
                              std::chrono::milliseconds limit) {
  auto pool = std::make_shared<Pool>();
  pool->n = n;
  pool->task = std::move(task);
  const auto ex = co_await asio::this_coro::executor;
  pool->active = std::min(n, parallel <= 0 ? n : parallel);
  for (int i = pool->active; i > 0; --i) {
    asio::co_spawn(ex, pool_worker(pool), asio::detached);
  }
  asio::steady_timer t(ex);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (pool->active > 0 && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(5ms);
    co_await t.async_wait(as_tuple(use_awaitable));
  }
  co_return pool->succeeded;
}

asio::awaitable<bool> echo_exact(Connection conn, std::vector<std::uint8_t> data,
                                 std::shared_ptr<std::uint64_t> exact) {
  const auto got = co_await echo_round_trip(conn, data);
  if (got != data) {
    co_return false;
  }
  *exact += data.size();
  co_return true;
}

// Dials target and echoes c.streams streams on the connection; true if all came back exact.
asio::awaitable<bool> dial_and_echo(Endpoint* ep, udp::endpoint target, TlsClientConfig tls,
                                    MatrixCase c, int index, std::shared_ptr<std::uint64_t> exact,
                                    std::shared_ptr<std::string> errors) {
  auto conn = co_await ep->dial(target, tls);
  if (!conn) {
    *errors += "conn " + std::to_string(index) + ": " + conn.error().message() + "\n";
    co_return false;
  }
  Connection handle = *conn;
  // A named std::function: GCC 12 destroys a temporary one passed to a coroutine twice.
  std::function<asio::awaitable<bool>(int)> task = [handle, c, index, exact](int s) {
    return echo_exact(handle, payload_of(c, index * c.streams + s), exact);
  };
  const int ok = co_await run_pool(c.streams, c.streams, std::move(task), c.limit);
  if (ok != c.streams) {
    *errors += "conn " + std::to_string(index) + ": " + std::to_string(c.streams - ok) +
               " streams not echoed exact\n";
  }
  handle.close();
  co_return ok == c.streams;
}

// Dials target offering h3 and closes at once; true if the handshake completed.
asio::awaitable<bool> dial_only(Endpoint* ep, udp::endpoint target, TlsClientConfig tls, int index,
                                std::shared_ptr<std::string> errors) {
  auto conn = co_await ep->dial(target, tls);
  if (!conn) {
    *errors += "conn " + std::to_string(index) + ": " + conn.error().message() + "\n";
    co_return false;
  }
  conn->close(0x100, "no http/3 here");
  co_return true;
}

class Matrix : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto* path : {&kGoPeer, &kGtlsClient, &kGtlsServer, &kCertTool, &kTool}) {
      ASSERT_TRUE(is_executable(*path)) << *path << " is missing: run scripts/setup (a missing "
                                        << "peer is a failure, not a skip)";
    }
  }

  // Starts the relay in front of server when the case asks for one; returns the address
  // clients should use.
  udp::endpoint front_of(const MatrixCase& c, const udp::endpoint& server) {
    if (!c.relay) {
      return server;
    }
    ImpairmentConfig config;
    config.listen = udp::endpoint(server.address(), 0);
    config.server = server;
    config.seed = std::hash<std::string>{}(c.name);
    config.to_server = c.to_server;
    config.to_client = c.to_client;
    auto r = ImpairmentRelay::start(io.get_executor(), config);
    EXPECT_TRUE(r) << r.error().message();
    if (!r) {
      return server;
    }
    relay = std::move(*r);
    relay->on_blackhole_lifted(RelayDirection::to_server,
                               [this](const RelayCounters& counters) { lifted = counters; });
    if (c.arm) {
      c.arm(*relay, total_bytes(c));
    }
    return relay->client_endpoint();
  }

  void collect(Outcome& out) {
    if (relay) {
      out.relay = relay->counters();
      out.lifted = lifted;
    }
  }

  // quicreuse dials a quic-go server: c.conns connections of c.streams echoed streams each.
  Outcome our_client_to_quicgo(const MatrixCase& c) {
    std::vector<std::string> argv = {kGoPeer, "server", "-addr", host_any(c.ipv6)};
    if (c.retry) {
      argv.emplace_back("-retry");
    }
    if (c.big_certificate) {
      argv.insert(argv.end(), {"-big-cert", "300"});
    }
    argv.insert(argv.end(), c.quicgo_flags.begin(), c.quicgo_flags.end());
    Subprocess server(argv, c.limit + 30s);
    auto client = Endpoint::bind(io.get_executor(), loopback(c.ipv6));
    EXPECT_TRUE(client);
    Outcome out;
    auto exact = std::make_shared<std::uint64_t>(0);
    auto errors = std::make_shared<std::string>();
    EXPECT_TRUE(run_bounded(
        io,
        [&]() -> asio::awaitable<void> {
          const auto addr = co_await wait_listening(server);
          if (!addr || !client) {
            co_return;
          }
          const auto target = front_of(c, *addr);
          Endpoint* ep = &*client;
          std::function<asio::awaitable<bool>(int)> task = [ep, target, c, exact, errors](int i) {
            return dial_and_echo(ep, target, client_tls(), c, i, exact, errors);
          };
          out.succeeded = co_await run_pool(c.conns, c.parallel, std::move(task), c.limit);
          if (out.succeeded > 0) {
            // The server prints its STATS line once it saw our CONNECTION_CLOSE; stopping it
            // before that loses the line (bounded: a lost close ends by its idle timeout).
            co_await wait_line(server, "STATS", 5s);
          }
          server.terminate();
          co_await wait_exit(server, 10s);
        },
        c.limit + 40s));
    out.exact_bytes = *exact;
    out.peer_output = server.output() + *errors;
    out.ours = client ? client->stats() : EndpointStats{};
    collect(out);
    return out;
  }

  // A quic-go client dials our echo server: -conns, -streams, -report.
  Outcome quicgo_client_to_us(const MatrixCase& c) {
    EndpointConfig config;
    if (c.retry) {
      config.verify_source_address = [](const udp::endpoint&) { return true; };
    }
    auto server = Endpoint::bind(io.get_executor(), loopback(c.ipv6), config);
    EXPECT_TRUE(server);
    auto tls = server_tls();
    if (c.big_certificate) {
      tls.default_choice.identity = big_identity();
    }
    Outcome out;
    if (!server || !server->listen(tls)) {
      ADD_FAILURE() << "our server could not listen";
      return out;
    }
    asio::co_spawn(io, echo_server(*server), asio::detached);
    const auto target = front_of(c, server->local_endpoint());
    std::vector<std::string> argv = {kGoPeer,     "client",
                                     "-addr",     host_port(target),
                                     "-local",    host_any(c.ipv6),
                                     "-insecure", "-report",
                                     "-conns",    std::to_string(c.conns),
                                     "-streams",  std::to_string(c.streams),
                                     "-parallel", std::to_string(c.parallel),
                                     "-timeout",  std::to_string(c.limit.count()) + "s"};
    if (c.bytes > 0) {
      argv.insert(argv.end(), {"-bytes", std::to_string(c.bytes)});
    }
    argv.insert(argv.end(), c.quicgo_flags.begin(), c.quicgo_flags.end());
    Subprocess client(argv, c.limit + 10s);
    std::optional<int> exit_code;
    EXPECT_TRUE(run_bounded(
        io,
        [&]() -> asio::awaitable<void> { exit_code = co_await wait_exit(client, c.limit + 5s); },
        c.limit + 20s));
    out.peer_output = client.output();
    out.succeeded = static_cast<int>(field(out.peer_output, "RESULT", "succeeded").value_or(0));
    out.exact_bytes = field(out.peer_output, "RESULT", "bytes").value_or(0);
    out.ours = server->stats();
    collect(out);
    return out;
  }

  // c.conns gtlsclient processes (HTTP/3 only: the handshake is what counts) dial our listener
  // offering h3; a connection succeeded when gtlsclient reports the handshake confirmed.
  Outcome gtlsclient_to_us(const MatrixCase& c, const std::vector<std::string>& extra) {
    EndpointConfig config;
    if (c.retry) {
      config.verify_source_address = [](const udp::endpoint&) { return true; };
    }
    auto server = Endpoint::bind(io.get_executor(), loopback(c.ipv6), config);
    Outcome out;
    if (!server || !server->listen(server_tls(std::vector<std::string>{"h3"}))) {
      ADD_FAILURE() << "our server could not listen";
      return out;
    }
    const auto target = front_of(c, server->local_endpoint());
    std::vector<std::unique_ptr<Subprocess>> clients;
    for (int i = 0; i < c.conns; ++i) {
      std::vector<std::string> argv = {kGtlsClient, "--no-quic-dump", "--no-http-dump",
                                       "--exit-on-all-streams-close"};
      argv.insert(argv.end(), extra.begin(), extra.end());
      argv.insert(argv.end(), {target.address().to_string(), std::to_string(target.port()),
                               "https://localhost/"});
      clients.push_back(std::make_unique<Subprocess>(argv, c.limit + 10s));
    }
    std::vector<Connection> accepted;
    EXPECT_TRUE(run_bounded(
        io,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer t(io);
          const auto deadline = std::chrono::steady_clock::now() + c.limit;
          auto confirmed = [&] {
            int n = 0;
            for (auto& p : clients) {
              n += p->output().find("QUIC handshake has been confirmed") != std::string::npos;
            }
            return n;
          };
          while (confirmed() < c.conns && std::chrono::steady_clock::now() < deadline) {
            while (auto conn = server->try_accept()) {
              accepted.push_back(std::move(*conn));
            }
            t.expires_after(10ms);
            co_await t.async_wait(as_tuple(use_awaitable));
          }
          out.succeeded = confirmed();
          for (auto& conn : accepted) {
            conn.close(0x100, "no http/3 here");  // H3_NO_ERROR
          }
          for (auto& p : clients) {  // counted: gtlsclient would wait for HTTP/3 answers
            p->terminate();
            co_await wait_exit(*p, 5s);
          }
        },
        c.limit + 60s));
    for (auto& p : clients) {
      out.peer_output += p->output();
    }
    out.exact_bytes = total_bytes(c);  // no data: the handshake is the whole case
    out.ours = server->stats();
    collect(out);
    return out;
  }

  // Our client dials gtlsserver (ALPN h3) c.conns times; a completed handshake counts.
  Outcome us_to_gtlsserver(const MatrixCase& c, const std::vector<std::string>& extra) {
    const auto [key, cert] = make_cert_files();
    // gtlsserver takes a port number: a free one is picked and released, so another program may
    // take it first (gtlsserver then exits). It is started again on a new port, up to 3 times.
    std::uint16_t port = 0;
    std::unique_ptr<Subprocess> server_proc;
    auto start_server = [&] {
      {
        udp::socket probe(io, loopback(c.ipv6));
        port = probe.local_endpoint().port();
      }
      std::vector<std::string> argv = {kGtlsServer, "--no-quic-dump", "--no-http-dump"};
      argv.insert(argv.end(), extra.begin(), extra.end());
      argv.insert(argv.end(), {c.ipv6 ? "::1" : "127.0.0.1", std::to_string(port), key, cert});
      server_proc = std::make_unique<Subprocess>(argv, c.limit + 30s);
    };
    start_server();
    auto client = Endpoint::bind(io.get_executor(), loopback(c.ipv6));
    Outcome out;
    auto errors = std::make_shared<std::string>();
    // (Built outside the coroutine: GCC 12 miscompiles an initializer_list inside one.)
    const auto h3 = client_tls(std::vector<std::string>{"h3"});
    EXPECT_TRUE(run_bounded(
        io,
        [&]() -> asio::awaitable<void> {
          // gtlsserver prints nothing when it is ready: dial it until it answers (a dial to a
          // port nobody serves yet keeps probing, so it completes once gtlsserver is up).
          bool up = false;
          for (int attempt = 0; attempt < 6 && !up; ++attempt) {
            if (server_proc->poll() && attempt < 3) {
              start_server();  // it exited: most likely its port was taken
            }
            auto probe = co_await client->dial(loopback(c.ipv6, port), h3);
            up = static_cast<bool>(probe);
            if (probe) {
              probe->close();
            }
          }
          Subprocess& server = *server_proc;
          EXPECT_TRUE(up) << server.output();
          const auto target = front_of(c, loopback(c.ipv6, port));
          Endpoint* ep = &*client;
          std::function<asio::awaitable<bool>(int)> task = [ep, target, h3, errors](int i) {
            return dial_only(ep, target, h3, i, errors);
          };
          out.succeeded = co_await run_pool(c.conns, c.parallel, std::move(task), c.limit);
        },
        c.limit + 40s));
    server_proc->terminate();
    out.peer_output = *errors;
    out.exact_bytes = total_bytes(c);
    collect(out);
    return out;
  }

  asio::io_context io;
  std::unique_ptr<ImpairmentRelay> relay;
  std::optional<RelayCounters> lifted;
};

// Checks what every case requires: all connections succeeded, every byte came back exact.
// What our endpoint dropped, by reason, for a failure message: "invalid_initial=7 ...".
std::string drops(const EndpointStats& stats) {
  std::string text = "our endpoint dropped:";
  for (const auto& [reason, n] : stats.dropped_by_reason) {
    if (n > 0) {
      text += " " + reason + "=" + std::to_string(n);
    }
  }
  text += "; connections incoming=" + std::to_string(stats.connections_incoming) +
          " accepted=" + std::to_string(stats.connections_accepted) + "; closed:";
  for (const auto& c : stats.connections_closed_by_reason) {
    if (c.count > 0) {
      text += " " + c.direction + "/" + c.reason + "=" + std::to_string(c.count);
    }
  }
  return text;
}

void expect_complete(const MatrixCase& c, const Outcome& out) {
  // One line per run for docs/interop-matrix.md.
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const auto& r = out.relay;
  std::printf(
      "MATRIX %s.%s conns=%d/%d bytes=%llu/%llu retries=%llu lost=%llu/%llu corrupted=%llu/%llu "
      "blackholed=%llu/%llu rebinds=%llu\n",
      info->test_suite_name(), info->name(), out.succeeded, c.conns,
      static_cast<unsigned long long>(out.exact_bytes),
      static_cast<unsigned long long>(total_bytes(c)),
      static_cast<unsigned long long>(r.to_client.quic_retries),
      static_cast<unsigned long long>(r.to_server.lost),
      static_cast<unsigned long long>(r.to_client.lost),
      static_cast<unsigned long long>(r.to_server.corrupted),
      static_cast<unsigned long long>(r.to_client.corrupted),
      static_cast<unsigned long long>(r.to_server.blackholed),
      static_cast<unsigned long long>(r.to_client.blackholed),
      static_cast<unsigned long long>(r.rebinds));
  EXPECT_EQ(out.succeeded, c.conns)
      << c.name << ": " << out.succeeded << " of " << c.conns << " connections succeeded\n"
      << drops(out.ours) << "\n"
      << out.peer_output;
  EXPECT_EQ(out.exact_bytes, total_bytes(c)) << c.name << "\n" << out.peer_output;
}

// ---------------------------------------------------------------------------------------------
// The cases, named after the interop runner's.

DirectionImpairment lossy(double p) {
  DirectionImpairment d;
  d.loss = p;
  return d;
}

DirectionImpairment corrupting(double p) {
  DirectionImpairment d;
  d.corrupt = p;
  return d;
}

DirectionImpairment delayed(std::chrono::milliseconds one_way) {
  DirectionImpairment d;
  d.delay = one_way;
  return d;
}

MatrixCase handshake_case() {
  return {.name = "handshake"};
}

MatrixCase transfer_case() {
  return {.name = "transfer", .streams = 2, .bytes = 1'000'000};
}

MatrixCase multiplexing_case() {
  // More streams than either server's stream limit (quic-go 100, ours 256): MAX_STREAMS matters.
  return {.name = "multiplexing", .streams = 1000, .bytes = 1000};
}

MatrixCase retry_case() {
  return {.name = "retry", .bytes = 100'000, .relay = true, .retry = true};
}

// 50 short connections, 10 at a time, under an impairment of both directions.
MatrixCase many_handshakes(std::string name, const DirectionImpairment& both) {
  return {.name = std::move(name),
          .conns = 50,
          .parallel = 10,
          .relay = true,
          .to_server = both,
          .to_client = both,
          .limit = 60s};
}

// One 2 MB echo under an impairment of both directions.
MatrixCase impaired_transfer(std::string name, const DirectionImpairment& both) {
  return {.name = std::move(name),
          .bytes = 2'000'000,
          .relay = true,
          .to_server = both,
          .to_client = both};
}

MatrixCase handshakeloss_case() {
  return many_handshakes("handshakeloss", lossy(0.3));
}

MatrixCase transferloss_case() {
  return impaired_transfer("transferloss", lossy(0.02));
}

MatrixCase handshakecorruption_case() {
  return many_handshakes("handshakecorruption", corrupting(0.3));
}

MatrixCase transfercorruption_case() {
  return impaired_transfer("transfercorruption", corrupting(0.02));
}

MatrixCase longrtt_case() {
  return {.name = "longrtt",
          .bytes = 100'000,
          .relay = true,
          .to_server = delayed(750ms),
          .to_client = delayed(750ms),
          .limit = 45s};
}

MatrixCase blackhole_case() {
  // Both directions go dark for a second once a third of the data has been sent.
  return {.name = "blackhole",
          .bytes = 2'000'000,
          .relay = true,
          .arm = [](ImpairmentRelay& r, std::uint64_t total) {
            r.when_received_bytes(RelayDirection::to_server, total / 3, [](ImpairmentRelay& x) {
              x.blackhole_for(RelayDirection::to_server, 1000ms);
              x.blackhole_for(RelayDirection::to_client, 1000ms);
            });
          }};
}

MatrixCase rebind_port_case() {
  // The NAT forgets the mapping twice during the transfer: a new source port each time.
  return {.name = "rebind_port",
          .bytes = 2'000'000,
          .relay = true,
          .arm =
              [](ImpairmentRelay& r, std::uint64_t total) {
                for (std::uint64_t mark : {total / 3, 2 * total / 3}) {
                  r.when_received_bytes(RelayDirection::to_server, mark,
                                        [](ImpairmentRelay& x) { EXPECT_TRUE(x.rebind_port()); });
                }
              },
          .limit = 15s};
}

MatrixCase rebind_addr_case() {
  // The client's address changes from 127.0.0.1 to 127.0.0.2 (and its port) mid-transfer.
  return {.name = "rebind_addr",
          .bytes = 2'000'000,
          .relay = true,
          .arm =
              [](ImpairmentRelay& r, std::uint64_t total) {
                r.when_received_bytes(RelayDirection::to_server, total / 3, [](ImpairmentRelay& x) {
                  EXPECT_TRUE(x.rebind_address(asio::ip::make_address("127.0.0.2")));
                });
              },
          .limit = 15s};
}

MatrixCase amplificationlimit_case() {
  // The server's certificate is large; from the client's second datagram on nothing from the
  // client arrives for 1.5 s, so the server may send at most 3x what it received meanwhile.
  // (The first trigger fires on the first datagram and sets the second one just past it.)
  return {.name = "amplificationlimit",
          .relay = true,
          .arm =
              [](ImpairmentRelay& r, std::uint64_t) {
                r.when_received_bytes(RelayDirection::to_server, 1, [](ImpairmentRelay& x) {
                  const auto first = x.counters().to_server.received_bytes;
                  x.when_received_bytes(RelayDirection::to_server, first + 1,
                                        [](ImpairmentRelay& y) {
                                          y.blackhole_for(RelayDirection::to_server, 1500ms);
                                        });
                });
              },
          .big_certificate = true};
}

MatrixCase ipv6_case() {
  return {.name = "ipv6", .bytes = 1'000'000, .ipv6 = true};
}

void expect_retry(const Outcome& out) {
  EXPECT_GE(out.relay.to_client.quic_retries, 1u) << "no Retry went through the relay";
}

void expect_rebinds(const Outcome& out, std::uint64_t n) {
  EXPECT_EQ(out.relay.rebinds, n);
}

void expect_amplification_limit(const Outcome& out) {
  ASSERT_TRUE(out.lifted) << "the client never sent again after the blackhole";
  const auto received = out.lifted->to_server.forwarded_bytes;  // what the server got
  const auto sent = out.lifted->to_client.received_bytes;       // what the server sent
  std::printf(
      "MATRIX amplification: server got %llu bytes, sent %llu before the client's address "
      "was validated\n",
      static_cast<unsigned long long>(received), static_cast<unsigned long long>(sent));
  EXPECT_GT(sent, 0u);
  EXPECT_LE(sent, 3 * received) << "server sent " << sent << " bytes for " << received;
  // The limit was binding: the whole first flight is bigger than what went out in the window.
  EXPECT_GT(out.relay.to_client.received_bytes, 3 * received);
}

// ---------------------------------------------------------------------------------------------
// quicreuse client -> quic-go server

using OurClient = Matrix;

TEST_F(OurClient, QuicGoServer_handshake) {
  const auto c = handshake_case();
  expect_complete(c, our_client_to_quicgo(c));
}

TEST_F(OurClient, QuicGoServer_transfer) {
  const auto c = transfer_case();
  expect_complete(c, our_client_to_quicgo(c));
}

TEST_F(OurClient, QuicGoServer_multiplexing) {
  const auto c = multiplexing_case();
  expect_complete(c, our_client_to_quicgo(c));
}

TEST_F(OurClient, QuicGoServer_retry) {
  const auto c = retry_case();
  const auto out = our_client_to_quicgo(c);
  expect_complete(c, out);
  expect_retry(out);
  EXPECT_EQ(field(out.peer_output, "STATS", "retries_sent"), 1u) << out.peer_output;
}

TEST_F(OurClient, QuicGoServer_keyupdate_initiated_by_server) {
  // Not the runner's case (there the client initiates; see the keyupdate test below): quic-go
  // updates keys every 100 packets and our client must follow.
  auto c = transfer_case();
  c.name = "keyupdate_server";
  c.quicgo_flags = {"-keyupdate", "100"};
  const auto out = our_client_to_quicgo(c);
  expect_complete(c, out);
  EXPECT_GE(field(out.peer_output, "STATS", "keyupdates_local").value_or(0), 1u) << out.peer_output;
}

// Asks conn for a key update; it happens with the first packet RFC 9001 allows it in.
std::optional<std::string> initiate_key_update(Connection& conn) {
  auto r = conn.initiate_key_update();
  return r ? std::nullopt : std::optional<std::string>(r.error().message());
}

asio::awaitable<void> transfer_with_key_updates(Endpoint& ep, udp::endpoint target,
                                                std::vector<std::uint8_t> data, int& updates,
                                                std::string& error, bool& exact) {
  auto conn = co_await ep.dial(target, client_tls());
  if (!conn) {
    error = conn.error().message();
    co_return;
  }
  // One update before the transfer and one after each quarter of it. A request waits until RFC
  // 9001 allows it (the previous one confirmed, 3 PTO passed): small echoes keep packets going
  // until it has been carried out, then the next quarter goes.
  const std::vector<std::uint8_t> nudge{1};
  for (int i = 0; i < 4 && error.empty(); ++i) {
    if (auto e = initiate_key_update(*conn)) {
      error = *e;
      break;
    }
    const std::vector<std::uint8_t> part(
        data.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(i) * data.size() / 4),
        data.begin() +
            static_cast<std::ptrdiff_t>(static_cast<std::size_t>(i + 1) * data.size() / 4));
    exact = (co_await echo_round_trip(*conn, part)) == part && (i == 0 || exact);
    for (int tries = 0;
         tries < 1000 && conn->stats().key_updates_initiated < static_cast<std::uint64_t>(i + 1);
         ++tries) {
      co_await echo_round_trip(*conn, nudge);
    }
  }
  updates = static_cast<int>(conn->stats().key_updates_initiated);  // carried out, not asked
  conn->close();
}

TEST_F(OurClient, QuicGoServer_keyupdate) {
  // The runner's keyupdate: the client initiates; quic-go counts the updates it followed.
  Subprocess server({kGoPeer, "server", "-addr", "127.0.0.1:0"}, 60s);
  auto client = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(client);
  int updates = 0;
  std::string error;
  bool exact = false;
  const auto data = pattern(1'000'000, 9);
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        const auto addr = co_await wait_listening(server);
        if (!addr) {
          co_return;
        }
        co_await transfer_with_key_updates(*client, *addr, data, updates, error, exact);
        co_await wait_line(server, "STATS", 5s);  // printed once it saw our close
        server.terminate();
        co_await wait_exit(server, 10s);
      },
      60s));
  EXPECT_EQ(error, "");
  EXPECT_TRUE(exact);
  EXPECT_EQ(updates, 4);
  EXPECT_GE(field(server.output(), "STATS", "keyupdates_remote").value_or(0), 1u)
      << server.output();
}

TEST_F(OurClient, QuicGoServer_chacha20) {
  // The runner's chacha20: the client offers only TLS_CHACHA20_POLY1305_SHA256 (the quicreuse
  // tool's --cipher-suites).
  Subprocess server({kGoPeer, "server", "-addr", "127.0.0.1:0", "-count", "1"}, 60s);
  std::optional<int> dial_exit;
  std::string dial_output;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        const auto ep = co_await wait_listening(server);
        if (!ep) {
          co_return;
        }
        Subprocess dial(
            {kTool, "dial", "/ip4/127.0.0.1/udp/" + std::to_string(ep->port()) + "/quic-v1",
             "--insecure", "--cipher-suites", "TLS_CHACHA20_POLY1305_SHA256", "--bytes", "1000000",
             "--timeout", "20"},
            30s);
        dial_exit = co_await wait_exit(dial, 30s);
        dial_output = dial.output();
        co_await wait_exit(server, 10s);
      },
      60s));
  EXPECT_EQ(dial_exit, 0) << dial_output;
  EXPECT_NE(dial_output.find("echoed 1000000 bytes"), std::string::npos) << dial_output;
  EXPECT_NE(server.output().find("cipher=TLS_CHACHA20_POLY1305_SHA256"), std::string::npos)
      << server.output();
}

TEST_F(OurClient, QuicGoServer_chacha20_server_restricted) {
  // quic-go accepts only ChaCha20: our client's default offer must include it.
  auto c = transfer_case();
  c.name = "chacha20_server";
  c.quicgo_flags = {"-chacha20"};
  const auto out = our_client_to_quicgo(c);
  expect_complete(c, out);
  EXPECT_NE(out.peer_output.find("cipher=TLS_CHACHA20_POLY1305_SHA256"), std::string::npos);
}

TEST_F(OurClient, QuicGoServer_blackhole) {
  const auto c = blackhole_case();
  const auto out = our_client_to_quicgo(c);
  expect_complete(c, out);
  EXPECT_GT(out.relay.to_server.blackholed + out.relay.to_client.blackholed, 0u);
}

TEST_F(OurClient, QuicGoServer_handshakeloss) {
  // Flaky today: 1-4 of 50 dials end in handshake timeout (handshake under loss is being fixed
  // in the core).
  const auto c = handshakeloss_case();
  const auto out = our_client_to_quicgo(c);
  expect_complete(c, out);
  EXPECT_GT(out.relay.to_server.lost, 0u);
}

TEST_F(OurClient, QuicGoServer_transferloss) {
  const auto c = transferloss_case();
  expect_complete(c, our_client_to_quicgo(c));
}

TEST_F(OurClient, QuicGoServer_handshakecorruption) {
  // Flaky today, as handshakeloss: some dials end in handshake timeout.
  const auto c = handshakecorruption_case();
  const auto out = our_client_to_quicgo(c);
  expect_complete(c, out);
  EXPECT_GT(out.relay.to_client.corrupted, 0u);
}

TEST_F(OurClient, QuicGoServer_transfercorruption) {
  const auto c = transfercorruption_case();
  expect_complete(c, our_client_to_quicgo(c));
}

TEST_F(OurClient, QuicGoServer_longrtt) {
  const auto c = longrtt_case();
  expect_complete(c, our_client_to_quicgo(c));
}

// Not run against a quic-go server, because they test the server: rebind-port and rebind-addr
// (quic-go 0.29 has no connection migration and keeps sending to the old address) and
// amplificationlimit (quic-go 0.29 sends one packet past 3x). docs/interop-matrix.md has the
// measurements; our server passes all three below.

TEST_F(OurClient, QuicGoServer_ipv6) {
  const auto c = ipv6_case();
  const auto out = our_client_to_quicgo(c);
  expect_complete(c, out);
  EXPECT_NE(out.peer_output.find("accepted remote=[::1]:"), std::string::npos) << out.peer_output;
}

// ---------------------------------------------------------------------------------------------
// quic-go client -> quicreuse server

using OurServer = Matrix;

TEST_F(OurServer, QuicGoClient_handshake) {
  const auto c = handshake_case();
  expect_complete(c, quicgo_client_to_us(c));
}

TEST_F(OurServer, QuicGoClient_transfer) {
  const auto c = transfer_case();
  expect_complete(c, quicgo_client_to_us(c));
}

TEST_F(OurServer, QuicGoClient_multiplexing) {
  const auto c = multiplexing_case();
  expect_complete(c, quicgo_client_to_us(c));
}

TEST_F(OurServer, QuicGoClient_retry) {
  const auto c = retry_case();
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  expect_retry(out);
  EXPECT_EQ(out.ours.retries_sent, 1u);
  EXPECT_EQ(field(out.peer_output, "STATS", "retries_received"), 1u) << out.peer_output;
}

TEST_F(OurServer, QuicGoClient_keyupdate) {
  // The runner's keyupdate: the client updates keys (quic-go: every 100 packets).
  auto c = transfer_case();
  c.name = "keyupdate";
  c.quicgo_flags = {"-keyupdate", "100"};
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  EXPECT_GE(field(out.peer_output, "STATS", "keyupdates_local").value_or(0), 1u) << out.peer_output;
}

TEST_F(OurServer, QuicGoClient_chacha20) {
  auto c = transfer_case();
  c.name = "chacha20";
  c.quicgo_flags = {"-chacha20"};
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  EXPECT_NE(out.peer_output.find("cipher=TLS_CHACHA20_POLY1305_SHA256"), std::string::npos)
      << out.peer_output;
}

TEST_F(OurServer, QuicGoClient_blackhole) {
  const auto c = blackhole_case();
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  EXPECT_GT(out.relay.to_server.blackholed + out.relay.to_client.blackholed, 0u);
}

TEST_F(OurServer, QuicGoClient_handshakeloss) {
  const auto c = handshakeloss_case();
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  EXPECT_GT(out.relay.to_server.lost, 0u);
}

TEST_F(OurServer, QuicGoClient_transferloss) {
  const auto c = transferloss_case();
  expect_complete(c, quicgo_client_to_us(c));
}

TEST_F(OurServer, QuicGoClient_handshakecorruption) {
  // A damaged Initial must leave nothing behind: quic-go sends its probes in pairs, and a dead
  // connection for the damaged first copy used to swallow the intact second one.
  const auto c = handshakecorruption_case();
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  EXPECT_GT(out.relay.to_server.corrupted, 0u);
  EXPECT_EQ(out.ours.connections_accepted, static_cast<std::uint64_t>(c.conns)) << drops(out.ours);
}

TEST_F(OurServer, QuicGoClient_transfercorruption) {
  const auto c = transfercorruption_case();
  expect_complete(c, quicgo_client_to_us(c));
}

TEST_F(OurServer, QuicGoClient_longrtt) {
  const auto c = longrtt_case();
  expect_complete(c, quicgo_client_to_us(c));
}

TEST_F(OurServer, QuicGoClient_rebind_port) {
  const auto c = rebind_port_case();
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  expect_rebinds(out, 2);
}

TEST_F(OurServer, QuicGoClient_rebind_addr) {
  const auto c = rebind_addr_case();
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  expect_rebinds(out, 1);
}

TEST_F(OurServer, QuicGoClient_amplificationlimit) {
  const auto c = amplificationlimit_case();
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  expect_amplification_limit(out);
}

TEST_F(OurServer, QuicGoClient_ipv6) {
  const auto c = ipv6_case();
  const auto out = quicgo_client_to_us(c);
  expect_complete(c, out);
  EXPECT_NE(out.peer_output.find("connected local=[::1]:"), std::string::npos) << out.peer_output;
}

// ---------------------------------------------------------------------------------------------
// ngtcp2's gtlsclient -> quicreuse server, and quicreuse client -> gtlsserver. Both tools speak
// HTTP/3 only, so transfer-based cases cannot run with them (docs/interop-matrix.md).

using Gtls = Matrix;

// The tools' --ciphers takes a GnuTLS priority string.
const std::string kGtlsChacha20Only =
    "--ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305";

MatrixCase gtls_case(MatrixCase c) {
  c.bytes = 0;
  c.conns = std::min(c.conns, 5);  // one process per connection: 5, not the runner's 50
  c.streams = 0;                   // total_bytes() is then 0: nothing is transferred
  return c;
}

TEST_F(Gtls, GtlsclientToUs_handshake) {
  const auto c = gtls_case(handshake_case());
  expect_complete(c, gtlsclient_to_us(c, {}));
}

TEST_F(Gtls, GtlsclientToUs_retry) {
  const auto c = gtls_case(retry_case());
  const auto out = gtlsclient_to_us(c, {});
  expect_complete(c, out);
  expect_retry(out);
  EXPECT_EQ(out.ours.retries_sent, 1u);
}

TEST_F(Gtls, GtlsclientToUs_chacha20) {
  // The runner's definition: the client offers ChaCha20 only.
  const auto c = gtls_case(handshake_case());
  expect_complete(c, gtlsclient_to_us(c, {kGtlsChacha20Only}));
}

TEST_F(Gtls, GtlsclientToUs_handshakeloss) {
  // gtlsclient's defaults (333 ms initial RTT, one probe per PTO, 10 s handshake timeout) send
  // only four Initials, all lost for about one connection in 120 at 30 % loss, before any server
  // can answer. With quic-go's 100 ms initial RTT and a 30 s limit it sends seven.
  const auto c = gtls_case(handshakeloss_case());
  expect_complete(c, gtlsclient_to_us(c, {"--initial-rtt=100ms", "--handshake-timeout=30s"}));
}

TEST_F(Gtls, GtlsclientToUs_ipv6) {
  const auto c = gtls_case(ipv6_case());
  expect_complete(c, gtlsclient_to_us(c, {}));
}

TEST_F(Gtls, UsToGtlsserver_handshake) {
  const auto c = gtls_case(handshake_case());
  expect_complete(c, us_to_gtlsserver(c, {}));
}

TEST_F(Gtls, UsToGtlsserver_retry) {
  auto c = gtls_case(retry_case());
  const auto out = us_to_gtlsserver(c, {"--validate-addr"});
  expect_complete(c, out);
  expect_retry(out);
}

TEST_F(Gtls, UsToGtlsserver_chacha20_server_restricted) {
  const auto c = gtls_case(handshake_case());
  expect_complete(c, us_to_gtlsserver(c, {kGtlsChacha20Only}));
}

TEST_F(Gtls, UsToGtlsserver_handshakeloss) {
  const auto c = gtls_case(handshakeloss_case());
  expect_complete(c, us_to_gtlsserver(c, {}));
}

TEST_F(Gtls, UsToGtlsserver_ipv6) {
  const auto c = gtls_case(ipv6_case());
  expect_complete(c, us_to_gtlsserver(c, {}));
}

}  // namespace
}  // namespace quicreuse::test
