#include "streams.hpp"

#include "common.hpp"
#include "multiaddr_arg.hpp"

#include <quicreuse/stun.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace quicreuse::tool {

using asio::use_awaitable;
using asio::experimental::as_tuple;

namespace {
// The client side reads whole echoes: one larger buffer per stream it opens itself.
constexpr std::size_t kReadBuffer = std::size_t{256} * 1024;

asio::awaitable<void> serve_connection(Connection conn, Output out) {
  const std::string remote = format_host_port(conn.remote_endpoint());
  const std::string alpn = conn.alpn();
  const std::string cipher = cipher_name(conn);
  out.emit(Event("accepted").str("remote", remote).str("alpn", alpn).str("cipher", cipher),
           "accepted " + remote + " alpn=" + alpn + " cipher=" + cipher);
  co_await echo_connection(std::move(conn));
}

}  // namespace

asio::awaitable<void> echo_server(std::shared_ptr<Listener> listener, Output out) {
  for (;;) {
    auto [ec, conn] = co_await listener->async_accept(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    const auto ex = conn.get_executor();
    asio::co_spawn(ex, serve_connection(std::move(conn), out), asio::detached);
    // Take the rest of a burst in this same turn.
    while (auto more = listener->try_accept()) {
      asio::co_spawn(ex, serve_connection(std::move(*more), out), asio::detached);
    }
  }
}

asio::awaitable<std::error_code> read_to_end(Stream& stream, std::vector<std::uint8_t>& out) {
  std::vector<std::uint8_t> buf(kReadBuffer);
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec == asio::error::eof) {
      co_return std::error_code{};
    }
    if (ec) {
      co_return ec;
    }
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

asio::awaitable<std::error_code> write_and_finish(Stream& stream,
                                                  const std::vector<std::uint8_t>& data) {
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(data), as_tuple(use_awaitable));
  if (ec) {
    co_return ec;
  }
  auto r = stream.shutdown_send();
  co_return r ? std::error_code{} : r.error();
}

asio::awaitable<tl::expected<std::vector<std::uint8_t>, std::string>> round_trip(
    Connection conn, std::vector<std::uint8_t> data) {
  using namespace asio::experimental::awaitable_operators;
  auto [ec, stream] = co_await conn.async_open_stream(as_tuple(use_awaitable));
  if (ec) {
    co_return tl::make_unexpected("cannot open a stream: " + ec.message());
  }
  std::vector<std::uint8_t> received;
  // Read while writing: a large echo comes back while we send (flow control would stall).
  auto [write_error, read_error] =
      co_await (write_and_finish(stream, data) && read_to_end(stream, received));
  if (write_error) {
    co_return tl::make_unexpected("stream write failed: " + write_error.message());
  }
  if (read_error) {
    co_return tl::make_unexpected("stream read failed: " + read_error.message());
  }
  co_return received;
}

asio::awaitable<void> stun_responder(std::shared_ptr<NonQuicPacketConn> conn, StunObserver observer,
                                     std::shared_ptr<StunLimiter> limiter) {
  std::vector<std::uint8_t> buf(2048);
  for (;;) {
    auto [ec, n, from] = co_await conn->async_read_from(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    auto response = stun::make_binding_response(std::span<const std::uint8_t>(buf.data(), n), from);
    if (!response) {
      continue;
    }
    if (limiter && !limiter->allow(from, StunLimiter::Clock::now())) {
      continue;  // over this address's (or the total) rate: no answer, counted
    }
    if (conn->write_to(*response, from) && observer) {
      observer(from);
    }
  }
}

std::string to_text(const std::vector<std::uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

std::vector<std::uint8_t> to_bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

}  // namespace quicreuse::tool
