// Bounded waits for a condition on an Asio executor, for tests whose only observable is a value
// (a counter, a table size) with no completion to await.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <functional>

namespace quicreuse::test {

// Waits until condition() holds, checking it at once and then every millisecond while the
// executor runs other work; returns whether it held. It returns as soon as the condition holds:
// bound only limits how long a failing test waits, so no assertion depends on how fast the
// machine is. Runs on the calling coroutine's executor.
inline asio::awaitable<bool> wait_until(std::function<bool()> condition,
                                        std::chrono::milliseconds bound) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return false;
    }
    tick.expires_after(std::chrono::milliseconds(1));
    co_await tick.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  co_return true;
}

}  // namespace quicreuse::test
