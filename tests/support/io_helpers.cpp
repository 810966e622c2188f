#include "io_helpers.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <random>

namespace quicreuse::test {

using asio::use_awaitable;
using asio::experimental::as_tuple;

bool run_bounded(asio::io_context& io, const std::function<asio::awaitable<void>()>& body,
                 std::chrono::milliseconds limit) {
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    error = std::move(e);
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(50));
    if (io.stopped()) {
      io.restart();
    }
  }
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "test coroutine threw: " << e.what();
    }
    return false;
  }
  if (!done) {
    ADD_FAILURE() << "test coroutine did not finish within " << limit.count() << " ms";
  }
  return done;
}

TlsServerConfig server_tls(std::vector<std::string> alpns) {
  auto identity = TlsIdentity::self_signed({"localhost"});
  EXPECT_TRUE(identity) << identity.error().message();
  TlsServerConfig config;
  config.default_choice.identity = *identity;
  config.default_choice.alpns = std::move(alpns);
  return config;
}

TlsServerConfig server_tls() {
  return server_tls(std::vector<std::string>{"echo/1"});
}
TlsClientConfig client_tls() {
  return client_tls(std::vector<std::string>{"echo/1"});
}

TlsClientConfig client_tls(std::vector<std::string> alpns) {
  TlsClientConfig config;
  config.alpns = std::move(alpns);
  config.server_name = "localhost";
  config.insecure_skip_verify = true;
  return config;
}

asio::awaitable<void> echo_server(Endpoint& ep) {
  for (;;) {
    auto [ec, conn] = co_await ep.async_accept(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    asio::co_spawn(ep.get_executor(), echo_connection(std::move(conn)), asio::detached);
    while (auto more = ep.try_accept()) {  // a burst is taken in one turn
      asio::co_spawn(ep.get_executor(), echo_connection(std::move(*more)), asio::detached);
    }
  }
}

namespace {

asio::awaitable<std::error_code> read_to_end(Stream& stream, std::vector<std::uint8_t>& out) {
  std::vector<std::uint8_t> buf(std::size_t{64} * 1024);
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

}  // namespace

asio::awaitable<std::vector<std::uint8_t>> echo_round_trip(Connection conn,
                                                           std::vector<std::uint8_t> data) {
  using namespace asio::experimental::awaitable_operators;
  auto error = [](const std::error_code& e) {
    const std::string m = "error: " + e.message();
    return std::vector<std::uint8_t>(m.begin(), m.end());
  };
  auto [ec, stream] = co_await conn.async_open_stream(as_tuple(use_awaitable));
  if (ec) {
    co_return error(ec);
  }
  std::vector<std::uint8_t> received;
  // Read while writing: the echo comes back as we send (flow control would stall otherwise).
  auto [write_error, read_error] =
      co_await (write_and_finish(stream, data) && read_to_end(stream, received));
  if (write_error) {
    co_return error(write_error);
  }
  if (read_error) {
    co_return error(read_error);
  }
  co_return received;
}

asio::awaitable<void> stun_responder(Endpoint& ep, int& answered) {
  std::vector<std::uint8_t> buf(2048);
  for (;;) {
    auto [ec, n, from] =
        co_await ep.async_read_non_quic_packet(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    if (auto response = stun::make_binding_response({buf.data(), n}, from); response) {
      if (ep.write_to(*response, from)) {
        ++answered;
      }
    }
  }
}

std::vector<std::uint8_t> pattern(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t v = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) {
      out[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  }
  return out;
}

asio::ip::udp::endpoint loopback(bool v6, std::uint16_t port) {
  return {v6 ? asio::ip::address(asio::ip::address_v6::loopback())
             : asio::ip::address(asio::ip::address_v4::loopback()),
          port};
}

}  // namespace quicreuse::test
