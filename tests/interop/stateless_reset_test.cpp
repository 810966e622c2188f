// A quic-go 0.29 server that crashed and came back on the same port with the same stateless
// reset key resets our idle client's connection. quic-go answers an unknown connection's packet
// with a stateless reset only when the packet is longer than 42 bytes, and an idle connection
// sends nothing but keep-alive PINGs and ACKs, so this holds only because we pad those.
// The Go peer runs under `timeout`; a missing peer is a failure, never a skip.
#include "interop_helpers.hpp"
#include "io_helpers.hpp"
#include "subprocess.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

// The quic-go server's stateless reset key, the same for both of its runs.
constexpr std::string_view kResetKey =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

// Waits (bounded) until conn is closed; true if it closed within limit.
asio::awaitable<bool> wait_closed(Connection& conn, std::chrono::milliseconds limit) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (conn.is_open() && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(10ms);
    co_await t.async_wait(as_tuple(use_awaitable));
  }
  co_return !conn.is_open();
}

// Waits (bounded) until conn is idle: at least two more packets sent (keep-alives, ACKs) since
// the call and nothing in flight; true if it got there within limit.
asio::awaitable<bool> wait_idle(Connection& conn, std::chrono::milliseconds limit) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const std::uint64_t sent = conn.stats().packets_sent;
  while (std::chrono::steady_clock::now() < deadline) {
    const ConnectionStats stats = conn.stats();
    if (stats.packets_sent >= sent + 2 && stats.bytes_in_flight == 0) {
      co_return true;
    }
    t.expires_after(10ms);
    co_await t.async_wait(as_tuple(use_awaitable));
  }
  co_return false;
}

TEST(InteropStatelessReset, QuicGoServerRestartedWithTheSameKeyResetsOurIdleClient) {
  ASSERT_TRUE(is_executable(kGoPeer))
      << kGoPeer << " is missing: the CMake build makes it (a missing peer is a failure)";
  asio::io_context io;
  EndpointConfig config;
  // Idle: a keep-alive PING a second; the idle timeout (30 s, quic-go's too) is far off.
  config.transport.keep_alive_period = 1s;
  config.transport.max_idle_timeout = 30s;
  auto client = Endpoint::bind(io.get_executor(), loopback(false), config);
  ASSERT_TRUE(client);

  auto first = std::make_unique<Subprocess>(
      std::vector<std::string>{kGoPeer, "server", "-addr", "127.0.0.1:0", "-reset-key",
                               std::string(kResetKey)},
      60s);
  ASSERT_TRUE(first->started());
  std::unique_ptr<Subprocess> second;
  std::vector<std::uint8_t> echoed;
  const auto data = pattern(2000, 11);
  std::optional<int> first_exit;
  bool idle = false;
  bool closed = false;
  std::chrono::steady_clock::duration restart_to_close{};
  CloseInfo info;
  std::string first_output;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto addr = co_await wait_listening(*first);
        if (!addr) {
          co_return;
        }
        auto conn = co_await client->dial(*addr, client_tls());
        EXPECT_TRUE(conn) << conn.error().message();
        if (!conn) {
          co_return;
        }
        echoed = co_await echo_round_trip(*conn, data);
        // Idle before the crash, so that what reaches the restarted server is a keep-alive PING.
        idle = co_await wait_idle(*conn, 10s);

        // The crash: no CONNECTION_CLOSE reaches us. The restart: same port, same key.
        first->kill();
        first_exit = co_await wait_exit(*first, 10s);
        first_output = first->output();
        const auto restarted = std::chrono::steady_clock::now();
        second = std::make_unique<Subprocess>(
            std::vector<std::string>{kGoPeer, "server", "-addr",
                                     "127.0.0.1:" + std::to_string(addr->port()), "-reset-key",
                                     std::string(kResetKey)},
            60s);
        auto again = co_await wait_listening(*second);
        if (!again) {
          co_return;
        }
        EXPECT_EQ(again->port(), addr->port());
        // A keep-alive goes out within a second, a probe for it soon after: the reset comes
        // back within a few seconds. 12 s is well before the 30 s idle timeout.
        closed = co_await wait_closed(*conn, 12s);
        restart_to_close = std::chrono::steady_clock::now() - restarted;
        info = conn->close_info();
      },
      50s));
  EXPECT_TRUE(echoed == data);
  EXPECT_TRUE(idle) << "the connection never went idle (keep-alives only)";
  EXPECT_EQ(first_exit, 128 + 9) << first_output;  // SIGKILL
  ASSERT_TRUE(closed) << "no stateless reset within 12 s of the restart; the restarted server "
                         "printed:\n"
                      << (second ? second->output() : std::string("(not started)"));
  EXPECT_EQ(info.kind, CloseInfo::Kind::stateless_reset) << info.error.message();
  EXPECT_EQ(info.error, make_error_code(errc::stateless_reset)) << info.error.message();
  EXPECT_LT(restart_to_close, 12s);
  EXPECT_GE(client->stats().stateless_resets_received, 1u);
}

}  // namespace
}  // namespace quicreuse::test
