// A complete quicreuse program: one UDP socket that serves an echo protocol, dials itself from the
// same socket, and answers STUN on the same port. Built as build/examples/quicreuse_example_echo.
#include <quicreuse/endpoint.hpp>
#include <quicreuse/stun.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <cstdio>
#include <string>
#include <vector>

using asio::use_awaitable;
using asio::experimental::as_tuple;

// Echoes one stream until the peer's FIN, then sends FIN.
asio::awaitable<void> echo(quicreuse::Stream stream) {
  std::vector<char> buf(std::size_t{16} * 1024);
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec) {  // asio::error::eof after the FIN, or the stream/connection error
      (void)stream.shutdown_send();
      co_return;
    }
    co_await asio::async_write(stream, asio::buffer(buf.data(), n), as_tuple(use_awaitable));
  }
}

// Accepts connections and echoes each of their streams.
asio::awaitable<void> serve(quicreuse::Endpoint& ep) {
  for (;;) {
    auto conn = co_await ep.accept();  // Result<Connection>
    if (!conn) {
      co_return;  // endpoint closed
    }
    for (;;) {
      auto stream = co_await conn->accept_stream();
      if (!stream) {
        break;
      }
      asio::co_spawn(ep.get_executor(), echo(std::move(*stream)), asio::detached);
    }
  }
}

// Dials ep's own address from ep's socket, sends a message, prints the echo, closes ep.
asio::awaitable<void> client(quicreuse::Endpoint& ep) {
  quicreuse::TlsClientConfig tls;
  tls.alpns = std::vector<std::string>{"echo/1"};
  tls.insecure_skip_verify = true;  // the demo identity is self-signed
  auto conn = co_await ep.dial(ep.local_endpoint(), tls);
  if (!conn) {
    std::fprintf(stderr, "dial: %s\n", conn.error().message().c_str());
    ep.close();
    co_return;
  }
  auto stream = co_await conn->open_stream();
  const std::string message = "hello over one UDP port";
  co_await asio::async_write(*stream, asio::buffer(message), as_tuple(use_awaitable));
  (void)stream->shutdown_send();  // FIN
  std::string reply(message.size(), '\0');
  auto [ec, n] = co_await asio::async_read(*stream, asio::buffer(reply), as_tuple(use_awaitable));
  std::printf("echo: %s (alpn %s, %s)\n", reply.substr(0, n).c_str(), conn->alpn().c_str(),
              ec ? ec.message().c_str() : "ok");
  conn->close();
  ep.close();  // ends serve() and the program
}

int main() try {
  asio::io_context io;
  auto ep = quicreuse::Endpoint::bind(io.get_executor(), {asio::ip::make_address("127.0.0.1"), 0});
  if (!ep) {
    std::fprintf(stderr, "bind: %s\n", ep.error().message().c_str());
    return 2;
  }
  auto identity = quicreuse::TlsIdentity::self_signed({"localhost"});
  if (!identity) {
    std::fprintf(stderr, "identity: %s\n", identity.error().message().c_str());
    return 2;
  }
  quicreuse::TlsServerConfig tls;
  tls.default_choice.identity = *identity;
  tls.default_choice.alpns = {"echo/1"};
  if (auto ok = ep->listen(tls); !ok) {
    std::fprintf(stderr, "listen: %s\n", ok.error().message().c_str());
    return 2;
  }
  asio::co_spawn(io, serve(*ep), asio::detached);
  asio::co_spawn(io, client(*ep), asio::detached);
  io.run();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
