// First flights of client connections (Initials carrying real ClientHellos) for flood tests and
// benchmarks: what a peer that starts handshakes and never finishes them sends. No GoogleTest.
#pragma once

#include "core/socket_address.hpp"

#include <cstdint>
#include <vector>

namespace quicreuse::test {

// Returns the first datagram of n distinct client connections to server, from a core client
// endpoint at a made-up address (the source address does not enter the packets). Generated in
// chunks, so memory stays small; deterministic for a given seed. Empty on failure.
std::vector<std::vector<std::uint8_t>> first_flights(const core::SocketAddress& server,
                                                     std::size_t n, std::uint64_t seed = 77);

}  // namespace quicreuse::test
