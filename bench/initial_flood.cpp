// initial_flood: a flood of valid Initials against `quicreuse listen`, and what it costs the
// server in memory.
//
// Starts the tool (its path is the first argument) on 127.0.0.1, generates --rate x --seconds
// first flights of distinct client connections (real ClientHellos that are never followed up),
// and sends them from 64 source ports at --rate per second. Meanwhile it samples the server's
// resident set (/proc/<pid>/status VmRSS) every 50 ms and, halfway through, dials the server
// with a real client (which follows the Retry the server sends when too many handshakes are
// under way). Then it waits --after seconds and samples again. Output: one line per phase and a
// final JSON line.
//
//   build/bench/initial_flood build/quicreuse [--rate 3000] [--seconds 5] [--after 10]
#include "first_flights.hpp"
#include "tool_process.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using quicreuse::bench::mib;
using quicreuse::bench::rss_of;
using quicreuse::bench::start_tool;

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kSockets = 64;

struct Options {
  std::string tool;
  int rate = 3000;
  int seconds = 5;
  int after = 10;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    std::fprintf(stderr, "usage: initial_flood TOOL [--rate N] [--seconds S] [--after S]\n");
    return 2;
  }
  o.tool = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--rate") {
      o.rate = value;
    } else if (flag == "--seconds") {
      o.seconds = value;
    } else if (flag == "--after") {
      o.after = value;
    } else {
      std::fprintf(stderr, "initial_flood: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  pid_t pid = -1;
  std::uint16_t port = 0;
  if (!start_tool(o.tool, pid, port)) {
    std::fprintf(stderr, "initial_flood: cannot start %s\n", o.tool.c_str());
    return 1;
  }
  const asio::ip::udp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
  const std::size_t total = static_cast<std::size_t>(o.rate) * static_cast<std::size_t>(o.seconds);
  const auto flights = quicreuse::test::first_flights(
      quicreuse::core::SocketAddress(server.data(), static_cast<socklen_t>(server.size())), total);
  if (flights.size() != total) {
    std::fprintf(stderr, "initial_flood: could not generate Initials\n");
    kill(pid, SIGTERM);
    return 1;
  }
  std::this_thread::sleep_for(500ms);  // let the tool settle before the baseline sample
  const std::uint64_t start_rss = rss_of(pid);

  asio::io_context io;
  std::vector<asio::ip::udp::socket> sockets;
  for (int i = 0; i < kSockets; ++i) {
    sockets.emplace_back(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  }
  // The legitimate client, on its own thread and io_context.
  bool legit_ok = false;
  double legit_ms = -1;
  std::thread legit;
  std::uint64_t peak_rss = start_rss;
  const auto begin = Clock::now();
  const auto batch_period = 10ms;
  const std::size_t per_batch = std::max<std::size_t>(1, static_cast<std::size_t>(o.rate) / 100);
  std::size_t sent = 0;
  auto next_batch = begin;
  auto next_sample = begin;
  while (sent < total) {
    for (std::size_t k = 0; k < per_batch && sent < total; ++k, ++sent) {
      std::error_code ec;
      sockets[sent % kSockets].send_to(asio::buffer(flights[sent]), server, 0, ec);
    }
    if (sent >= total / 2 && !legit.joinable()) {
      legit = std::thread([&] {
        asio::io_context lio;
        quicreuse::EndpointConfig config;
        config.transport.handshake_idle_timeout = 30s;
        auto ep = quicreuse::Endpoint::bind(lio.get_executor(),
                                            {asio::ip::make_address("127.0.0.1"), 0}, config);
        if (!ep) {
          return;
        }
        quicreuse::TlsClientConfig tls;
        tls.alpns = {"echo/1"};
        tls.insecure_skip_verify = true;
        const auto t0 = Clock::now();
        ep->async_dial(server, tls, [&](std::error_code ec, quicreuse::Connection conn) {
          legit_ok = !ec;
          legit_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (conn) {
            conn.close();
          }
          ep->close();
        });
        lio.run_for(30s);
      });
    }
    const auto now = Clock::now();
    if (now >= next_sample) {
      peak_rss = std::max(peak_rss, rss_of(pid));
      next_sample = now + 50ms;
    }
    next_batch += batch_period;
    std::this_thread::sleep_until(next_batch);
  }
  const double flood_seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  if (legit.joinable()) {
    legit.join();
  }
  const auto after_end = Clock::now() + std::chrono::seconds(o.after);
  while (Clock::now() < after_end) {
    peak_rss = std::max(peak_rss, rss_of(pid));
    std::this_thread::sleep_for(50ms);
  }
  const std::uint64_t end_rss = rss_of(pid);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::printf("flood: %zu Initials in %.2f s (%.0f/s) from %d ports\n", total, flood_seconds,
              static_cast<double>(total) / flood_seconds, kSockets);
  std::printf("server RSS: start %.1f MiB, peak %.1f MiB, %d s after the flood %.1f MiB\n",
              mib(start_rss), mib(peak_rss), o.after, mib(end_rss));
  std::printf("legitimate client during the flood: %s (%.1f ms)\n",
              legit_ok ? "connected" : "FAILED", legit_ms);
  std::printf(
      "{\"initials\":%zu,\"rate\":%.0f,\"rss_start_mib\":%.1f,\"rss_peak_mib\":%.1f,"
      "\"rss_after_mib\":%.1f,\"legit_connected\":%s,\"legit_ms\":%.1f}\n",
      total, static_cast<double>(total) / flood_seconds, mib(start_rss), mib(peak_rss),
      mib(end_rss), legit_ok ? "true" : "false", legit_ms);
  return legit_ok ? 0 : 1;
}
