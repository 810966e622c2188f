// Helpers for tests on real sockets: bounded runs of coroutines, echo servers, test TLS.
#pragma once

#include "tool/echo.hpp"

#include <quicreuse/endpoint.hpp>
#include <quicreuse/stun.hpp>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace quicreuse::test {

// Runs the coroutine made by body on io until it finishes; false (with a gtest failure) if it
// does not finish within limit or throws. Every wait of a test goes through this bound.
bool run_bounded(asio::io_context& io, const std::function<asio::awaitable<void>()>& body,
                 std::chrono::milliseconds limit = std::chrono::seconds(30));

// A server TLS configuration with a fresh self-signed identity and these ALPNs (default echo/1).
// (No default arguments: GCC 12 cannot hold an initializer_list default inside a coroutine.)
TlsServerConfig server_tls(std::vector<std::string> alpns);
TlsServerConfig server_tls();
// A client TLS configuration that skips verification and offers these ALPNs (default echo/1).
TlsClientConfig client_tls(std::vector<std::string> alpns);
TlsClientConfig client_tls();

// The echo service of the tool (src/tool/echo.hpp), shared with the tests.
using tool::echo_connection;
using tool::echo_stream;
// Accepts connections on ep and echoes them until the endpoint closes.
asio::awaitable<void> echo_server(Endpoint& ep);
// Sends data on a new stream of conn, half-closes, reads to EOF; returns what came back (or the
// error's message prefixed with "error: ").
asio::awaitable<std::vector<std::uint8_t>> echo_round_trip(Connection conn,
                                                           std::vector<std::uint8_t> data);
// Answers STUN Binding Requests read as non-QUIC packets on ep until it closes; counts them.
asio::awaitable<void> stun_responder(Endpoint& ep, int& answered);

std::vector<std::uint8_t> pattern(std::size_t n, std::uint64_t seed);
asio::ip::udp::endpoint loopback(bool v6, std::uint16_t port = 0);

}  // namespace quicreuse::test
