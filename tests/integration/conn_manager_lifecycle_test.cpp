// ConnManager lifecycle on real sockets (issue 7): what becomes of lent endpoints, shared
// listeners, handshakes and single-owner sockets when the manager, a listener or an endpoint's
// owner lets go; plus the dial-side window callback, DNS dials, shared non-QUIC reads and final
// connection statistics. Clients send to 127.0.0.1 only.
#include "io_helpers.hpp"
#include "manager_helpers.hpp"
#include "reuse/manager_state.hpp"

#include <quicreuse/conn_manager.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <array>
#include <optional>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using udp = asio::ip::udp;

// An application endpoint lent to a manager.
struct Lent {
  std::shared_ptr<Endpoint> endpoint;
  std::optional<DoneSignal> done;
  std::uint16_t port = 0;
};

Lent lend(asio::io_context& io, ConnManager& cm) {
  Lent out;
  auto ep = Endpoint::bind(io.get_executor(), udp::endpoint(asio::ip::address_v4::any(), 0));
  EXPECT_TRUE(ep);
  if (!ep) {
    return out;
  }
  out.endpoint = std::make_shared<Endpoint>(std::move(*ep));
  out.port = out.endpoint->local_endpoint().port();
  auto done = cm.lend_transport("udp4", out.endpoint);
  EXPECT_TRUE(done) << ConnManager::last_error();
  if (done) {
    out.done.emplace(*done);
  }
  return out;
}

// Lets the other coroutines park their operations, runs action, then waits at most bound (the
// other branch of an `||` is expected to finish first).
asio::awaitable<void> act_then_wait(std::function<void()> action, std::chrono::milliseconds bound) {
  co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
  action();
  co_await sleep_for(bound);
}

// Accepts one connection; the error when the accept fails.
asio::awaitable<std::error_code> accept_error(Listener& listener) {
  auto r = co_await listener.accept();
  co_return r ? std::error_code{} : r.error();
}

// ---------------------------------------------------------------------------------------------
// 1. Closing the manager hands a lent endpoint back without the manager's QUIC listener.

TEST(ConnManagerLifecycle, ManagerCloseStopsItsListenerOnALentEndpoint) {
  asio::io_context io;
  auto cm = make_manager(io, true);
  ASSERT_TRUE(cm);
  Lent lent = lend(io, *cm);
  ASSERT_TRUE(lent.done);
  auto ln =
      cm->listen_quic(ma("/ip4/0.0.0.0/udp/" + std::to_string(lent.port)), server_tls({"libp2p"}));
  ASSERT_TRUE(ln) << ConnManager::last_error();
  ASSERT_TRUE(lent.endpoint->is_listening());
  std::optional<std::variant<std::error_code, std::monostate>> pending;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        pending = co_await (accept_error(**ln) || act_then_wait([&] { cm->close(); }, 5s));
      },
      10s));
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->index(), 0u) << "a pending accept outlived the manager";
  EXPECT_EQ(std::get<0>(*pending), make_error_code(errc::listener_closed));
  EXPECT_TRUE(lent.done->fired());
  EXPECT_TRUE(lent.endpoint->is_open());
  EXPECT_FALSE(lent.endpoint->is_listening());
  EXPECT_TRUE(lent.endpoint->listen(server_tls({"h3"})));  // the owner's own listen works
  (*ln)->close();
  EXPECT_TRUE(lent.endpoint->is_listening());  // and closing the Listener later leaves it alone
}

}  // namespace
}  // namespace quicreuse::test
