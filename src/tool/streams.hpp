// Stream-level building blocks: echo service, request/response round trips, STUN answering.
#pragma once

#include "echo.hpp"
#include "output.hpp"
#include "stun_limiter.hpp"

#include <quicreuse/connection.hpp>
#include <quicreuse/listener.hpp>
#include <quicreuse/non_quic_packet_conn.hpp>
#include <quicreuse/stream.hpp>

#include <asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace quicreuse::tool {

// Accepts connections on listener until it closes; prints
// `accepted <ip:port> alpn=<P> cipher=<SUITE>` for each and echoes its streams.
asio::awaitable<void> echo_server(std::shared_ptr<Listener> listener, Output out);

// Reads stream to its FIN, appending to out. Errors: the read error (not eof).
asio::awaitable<std::error_code> read_to_end(Stream& stream, std::vector<std::uint8_t>& out);
// Writes data to stream and half-closes it.
asio::awaitable<std::error_code> write_and_finish(Stream& stream,
                                                  const std::vector<std::uint8_t>& data);

// Opens a stream on conn, sends data and half-closes while reading the answer to FIN.
// Returns the answer, or a one-line description of what failed.
asio::awaitable<tl::expected<std::vector<std::uint8_t>, std::string>> round_trip(
    Connection conn, std::vector<std::uint8_t> data);

// Called for each STUN Binding Request answered, with the requester's address.
using StunObserver = std::function<void(const asio::ip::udp::endpoint& from)>;
// Answers the STUN Binding Requests read from conn (a ConnManager's shared non-QUIC packet conn)
// from the same port, until conn or its socket closes; other non-QUIC datagrams are dropped.
asio::awaitable<void> stun_responder(std::shared_ptr<NonQuicPacketConn> conn, StunObserver observer,
                                     std::shared_ptr<StunLimiter> limiter = nullptr);

std::string to_text(const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> to_bytes(std::string_view text);

}  // namespace quicreuse::tool
