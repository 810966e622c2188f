// Helpers shared by the interop suites: bounded waits on subprocesses, address parsing, PEM
// files for the ngtcp2 tools, and the paths of the foreign programs.
#pragma once

#include "subprocess.hpp"

#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#ifndef QUICGO_PEER_PATH
#error "QUICGO_PEER_PATH must name the quic-go peer binary built by CMake"
#endif

namespace quicreuse::test {

inline const std::string kGoPeer = QUICGO_PEER_PATH;
inline const std::string kGtlsClient = "/usr/bin/gtlsclient";
inline const std::string kGtlsServer = "/usr/sbin/gtlsserver";
inline const std::string kStunClient = "/usr/bin/turnutils_stunclient";
inline const std::string kCertTool = "/usr/bin/certtool";

// Waits (bounded) until proc exits; returns its exit code.
asio::awaitable<std::optional<int>> wait_exit(Subprocess& proc, std::chrono::milliseconds limit);
// Waits (bounded) until proc prints a line starting with prefix; returns the rest of the line.
asio::awaitable<std::optional<std::string>> wait_line(Subprocess& proc, std::string prefix,
                                                      std::chrono::milliseconds limit);
// Waits (bounded, 20 s) for the quic-go peer's "listening <addr>" line; returns the address, or
// nothing after a gtest failure that shows what the peer printed.
asio::awaitable<std::optional<asio::ip::udp::endpoint>> wait_listening(Subprocess& peer);
// Parses "127.0.0.1:4433" or "[::1]:4433".
asio::ip::udp::endpoint parse_endpoint(const std::string& text);
// Writes a key and a self-signed certificate for localhost with certtool; returns their paths.
std::pair<std::string, std::string> make_cert_files();

}  // namespace quicreuse::test
