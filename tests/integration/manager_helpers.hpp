// Helpers shared by the ConnManager integration tests (library internals are reachable: these
// tests look at the manager's pools and tables).
#pragma once

#include "io_helpers.hpp"

#include <quicreuse/conn_manager.hpp>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace quicreuse::test {

// The all-zero keys of the seed's tests.
inline const ConnManager::Key kZeroKey{};

// Parses a multiaddr (a gtest failure when it does not parse).
Multiaddr ma(const std::string& text);

// Returns a manager on io with all-zero keys, reuse on or off, plus extra options.
std::shared_ptr<ConnManager> make_manager(asio::io_context& io, bool reuse,
                                          std::vector<ConnManagerOption> extra = {});

// A server TLS configuration serving alpns with identity id.
TlsServerConfig tls_for(std::vector<std::string> alpns, std::shared_ptr<const TlsIdentity> id);

// A client TLS configuration offering one ALPN (a plain function: GCC 12 cannot keep a braced
// initializer list inside a coroutine frame).
TlsClientConfig tls_offer(const std::string& alpn);

// A fresh self-signed identity for name.
std::shared_ptr<const TlsIdentity> identity(const std::string& name);

// The seed's checkClosed, called after cm.close(): every socket the pools still hold has no
// reference left and is closed, no listener is registered, no single-owner socket is tracked,
// and the garbage-collection timer has nothing pending.
void check_closed(ConnManager& cm);

// Dials addr from a fresh loopback endpoint with tls, giving up after timeout; returns the
// server's leaf certificate, or an empty vector when the dial failed.
asio::awaitable<std::vector<std::uint8_t>> dial_leaf(asio::ip::udp::endpoint addr,
                                                     TlsClientConfig tls,
                                                     std::chrono::milliseconds timeout);
// As above, offering one ALPN.
asio::awaitable<std::vector<std::uint8_t>> dial_leaf(asio::ip::udp::endpoint addr, std::string alpn,
                                                     std::chrono::milliseconds timeout);

// Returns an endpoint on 127.0.0.1 that listens for echo/1 and echoes every connection (null,
// with a gtest failure, when it cannot bind or listen).
std::unique_ptr<Endpoint> start_echo_server(asio::io_context& io);

// Waits d on the current executor (the other branch of `op || sleep_for(d)` bounds).
asio::awaitable<void> sleep_for(std::chrono::milliseconds d);

}  // namespace quicreuse::test
