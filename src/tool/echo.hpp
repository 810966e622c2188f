// The echo service: what the tool's `listen`, its demo and the tests answer streams with. Built on
// the public API only (library quicreuse_echo).
#pragma once

#include <quicreuse/connection.hpp>
#include <quicreuse/stream.hpp>

#include <asio/awaitable.hpp>

#include <cstddef>

namespace quicreuse::tool {

// Per-stream buffer of the echo service by default: small, since a peer may open hundreds of
// streams at once.
inline constexpr std::size_t kEchoBufferBytes = std::size_t{16} * 1024;

// Echoes one stream: every byte read is written back; the peer's FIN is answered with FIN. Ends
// on the first read or write error (the stream is then dropped, which resets it if unfinished).
// buffer_bytes: the size of the one buffer this stream holds (must be > 0).
asio::awaitable<void> echo_stream(Stream stream, std::size_t buffer_bytes = kEchoBufferBytes);

// Echoes every bidirectional stream the peer opens on conn, each in its own coroutine on conn's
// executor, until accepting fails (the connection closed).
asio::awaitable<void> echo_connection(Connection conn, std::size_t buffer_bytes = kEchoBufferBytes);

}  // namespace quicreuse::tool
