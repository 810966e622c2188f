#include "echo.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <cstdint>
#include <utility>
#include <vector>

namespace quicreuse::tool {

using asio::use_awaitable;
using asio::experimental::as_tuple;

asio::awaitable<void> echo_stream(Stream stream, std::size_t buffer_bytes) {
  std::vector<std::uint8_t> buf(buffer_bytes);
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec == asio::error::eof) {
      (void)stream.shutdown_send();
      co_return;
    }
    if (ec) {
      co_return;
    }
    auto [wec, written] =
        co_await asio::async_write(stream, asio::buffer(buf.data(), n), as_tuple(use_awaitable));
    if (wec) {
      co_return;
    }
  }
}

asio::awaitable<void> echo_connection(Connection conn, std::size_t buffer_bytes) {
  for (;;) {
    auto [ec, stream] = co_await conn.async_accept_stream(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    asio::co_spawn(conn.get_executor(), echo_stream(std::move(stream), buffer_bytes),
                   asio::detached);
  }
}

}  // namespace quicreuse::tool
