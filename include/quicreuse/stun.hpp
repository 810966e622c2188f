// Minimal STUN (RFC 5389) Binding helpers, for answering STUN on a shared QUIC port.
#pragma once

#include <asio/ip/udp.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace quicreuse::stun {

using TransactionId = std::array<std::uint8_t, 12>;

// Returns true if datagram is a STUN Binding Request (strict: magic cookie, matching length).
bool is_binding_request(std::span<const std::uint8_t> datagram) noexcept;
// Returns a Binding Request with the given transaction ID and no attributes.
std::vector<std::uint8_t> make_binding_request(const TransactionId& id);
// Returns the Binding Success Response to request, carrying XOR-MAPPED-ADDRESS = mapped;
// nullopt when request is not a Binding Request.
std::optional<std::vector<std::uint8_t>> make_binding_response(
    std::span<const std::uint8_t> request, const asio::ip::udp::endpoint& mapped);
// Returns the XOR-MAPPED-ADDRESS of a Binding Success Response for transaction id, or nullopt
// when the datagram is not such a response or is malformed.
std::optional<asio::ip::udp::endpoint> parse_binding_response(
    std::span<const std::uint8_t> response, const TransactionId& id);

}  // namespace quicreuse::stun
