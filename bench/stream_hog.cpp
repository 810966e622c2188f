// stream_hog: peers that open many streams, write on all of them and never read, against
// `quicreuse listen` (which echoes every stream), and what they make the server hold.
//
// Starts the tool (its path is the first argument) on 127.0.0.1, then --peers client connections
// (each its own endpoint), each opening --streams bidirectional streams and writing 64 KiB
// chunks on every one of them for as long as writes complete, never reading the echo. It samples
// the server's resident set (/proc/<pid>/status VmRSS) every 100 ms for --seconds and prints
// the start, the peak and the growth per peer, and a final JSON line.
//
//   build/bench/stream_hog build/quicreuse [--peers 1] [--streams 256] [--seconds 10]
#include "tool_process.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using quicreuse::bench::mib;
using quicreuse::bench::rss_of;
using quicreuse::bench::start_tool;

using asio::use_awaitable;
using asio::experimental::as_tuple;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

asio::awaitable<void> write_forever(quicreuse::Stream stream,
                                    const std::vector<std::uint8_t>* chunk,
                                    std::uint64_t* written) {
  for (;;) {
    auto [ec, n] =
        co_await asio::async_write(stream, asio::buffer(*chunk), as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    *written += n;
  }
}

asio::awaitable<void> hog(quicreuse::Endpoint* ep, asio::ip::udp::endpoint server, int streams,
                          const std::vector<std::uint8_t>* chunk, std::uint64_t* written,
                          int* opened) {
  quicreuse::TlsClientConfig tls;
  tls.alpns = {"echo/1"};
  tls.insecure_skip_verify = true;
  auto conn = co_await ep->dial(server, tls);
  if (!conn) {
    std::fprintf(stderr, "stream_hog: dial failed: %s\n", conn.error().message().c_str());
    co_return;
  }
  auto ex = co_await asio::this_coro::executor;
  for (int i = 0; i < streams; ++i) {
    auto stream = co_await conn->open_stream();
    if (!stream) {
      break;
    }
    ++*opened;
    asio::co_spawn(ex, write_forever(std::move(*stream), chunk, written), asio::detached);
  }
  // Keep the connection: this coroutine's frame holds it until the io_context stops.
  asio::steady_timer forever(ex, Clock::time_point::max());
  co_await forever.async_wait(as_tuple(use_awaitable));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: stream_hog TOOL [--peers N] [--streams S] [--seconds T]\n");
    return 2;
  }
  const std::string tool = argv[1];
  int peers = 1;
  int streams = 256;
  int seconds = 10;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--peers") {
      peers = value;
    } else if (flag == "--streams") {
      streams = value;
    } else if (flag == "--seconds") {
      seconds = value;
    } else {
      std::fprintf(stderr, "stream_hog: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  pid_t pid = -1;
  std::uint16_t port = 0;
  if (!start_tool(tool, pid, port)) {
    std::fprintf(stderr, "stream_hog: cannot start %s\n", tool.c_str());
    return 1;
  }
  std::this_thread::sleep_for(300ms);
  const std::uint64_t start_rss = rss_of(pid);
  const asio::ip::udp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
  asio::io_context io;
  const std::vector<std::uint8_t> chunk(64 * 1024, 0x5a);
  std::vector<quicreuse::Endpoint> endpoints;
  std::uint64_t written = 0;
  int opened = 0;
  for (int p = 0; p < peers; ++p) {
    auto ep =
        quicreuse::Endpoint::bind(io.get_executor(), {asio::ip::make_address("127.0.0.1"), 0});
    if (!ep) {
      return 1;
    }
    endpoints.push_back(std::move(*ep));
  }
  for (auto& ep : endpoints) {
    asio::co_spawn(io, hog(&ep, server, streams, &chunk, &written, &opened), asio::detached);
  }
  std::uint64_t peak = start_rss;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    io.run_for(100ms);
    peak = std::max(peak, rss_of(pid));
  }
  const std::uint64_t last = rss_of(pid);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  const double growth_per_peer = (mib(peak) - mib(start_rss)) / peers;
  std::printf("%d peer(s) x %d streams (%d opened), %.1f MiB written by the peers in %d s\n", peers,
              streams, opened, mib(written), seconds);
  std::printf("server RSS: start %.1f MiB, peak %.1f MiB, end %.1f MiB: +%.1f MiB per peer\n",
              mib(start_rss), mib(peak), mib(last), growth_per_peer);
  std::printf(
      "{\"peers\":%d,\"streams\":%d,\"opened\":%d,\"written_mib\":%.1f,\"rss_start_mib\":%.1f,"
      "\"rss_peak_mib\":%.1f,\"growth_per_peer_mib\":%.1f}\n",
      peers, streams, opened, mib(written), mib(start_rss), mib(peak), growth_per_peer);
  return 0;
}
