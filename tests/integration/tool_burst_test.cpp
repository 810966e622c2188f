// Bursts of concurrent handshakes against `quicreuse listen`: while the application keeps
// accepting, no connection is refused (the endpoint hands every ready connection over in the turn
// it became ready, and the tool takes a whole burst per turn).
#include "io_helpers.hpp"
#include "subprocess.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

#include <map>
#include <thread>

#ifndef QUICREUSE_TOOL_PATH
#error "QUICREUSE_TOOL_PATH must name the built quicreuse tool"
#endif

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

#if defined(QUICREUSE_SANITIZED)
// Sanitizers make both processes several times slower on two shared cores: the same shape,
// smaller, so that the test measures refusals and not the machine's speed.
constexpr int kDials = 200;
constexpr int kParallel = 64;
#else
constexpr int kDials = 500;
constexpr int kParallel = 128;
#endif

struct Tally {
  int started = 0;
  int succeeded = 0;
  std::map<std::string, int> failures;  // error message -> count
};

// Dials, echoes one byte on a stream, closes; records the outcome.
asio::awaitable<void> dial_worker(Endpoint& client, asio::ip::udp::endpoint server,
                                  TlsClientConfig tls, Tally& tally) {
  while (tally.started < kDials) {
    ++tally.started;
    auto conn = co_await client.dial(server, tls);
    if (!conn) {
      ++tally.failures["dial: " + conn.error().message()];
      continue;
    }
    auto stream = co_await conn->open_stream();
    std::vector<std::uint8_t> byte(1, 42);
    bool ok = false;
    if (stream) {
      auto [wec, w] =
          co_await asio::async_write(*stream, asio::buffer(byte), as_tuple(use_awaitable));
      (void)stream->shutdown_send();
      std::vector<std::uint8_t> back(1, 0);
      auto [rec, r] =
          co_await asio::async_read(*stream, asio::buffer(back), as_tuple(use_awaitable));
      ok = !wec && !rec && back[0] == 42;
      if (!ok) {
        ++tally.failures["echo: " + (rec ? rec.message() : wec.message())];
      }
    } else {
      ++tally.failures["stream: " + stream.error().message()];
    }
    tally.succeeded += ok ? 1 : 0;
    conn->close(0, "done");
  }
}

TEST(ToolBurst, ConcurrentDialsAreAllServedWhileTheToolAccepts) {
  Subprocess tool({QUICREUSE_TOOL_PATH, "listen", "/ip4/127.0.0.1/udp/0/quic-v1"}, 300s);
  ASSERT_TRUE(tool.started());
  std::optional<std::string> line;
  for (int i = 0; i < 3000 && !line; ++i) {  // bounded: 30 s
    line = find_line(tool.output(), "listening /ip4/127.0.0.1/udp/");
    if (!line) {
      ASSERT_FALSE(tool.poll().has_value()) << tool.output();
      std::this_thread::sleep_for(10ms);
    }
  }
  ASSERT_TRUE(line) << tool.output();
  const auto port = static_cast<std::uint16_t>(std::stoul(*line));

  asio::io_context io;
  EndpointConfig config;
  // Generous handshake limits: the test counts refusals, not how fast two processes run here.
  config.transport.handshake_idle_timeout = 60s;
  auto client = Endpoint::bind(io.get_executor(), loopback(false), config);
  ASSERT_TRUE(client);
  const asio::ip::udp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
  Tally tally;
  const TlsClientConfig tls = client_tls({"echo/1"});
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        // Woken when the last worker ends.
        asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
        int done = 0;
        for (int i = 0; i < kParallel; ++i) {
          asio::co_spawn(ex, dial_worker(*client, server, tls, tally), [&](std::exception_ptr) {
            if (++done == kParallel) {
              all_done.cancel();
            }
          });
        }
        co_await all_done.async_wait(as_tuple(use_awaitable));
      },
      280s));
  std::string report;
  for (const auto& [what, n] : tally.failures) {
    report += what + " x" + std::to_string(n) + "\n";
  }
  EXPECT_EQ(tally.succeeded, kDials) << report;
  EXPECT_TRUE(tally.failures.empty()) << report;
  tool.terminate();
}

}  // namespace
}  // namespace quicreuse::test
