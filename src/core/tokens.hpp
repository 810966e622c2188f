// Tokens derived from the endpoint's static keys: stateless-reset tokens (reset key) and Retry /
// NEW_TOKEN address-validation tokens (token key). Both keys are 32 bytes; an endpoint restarted
// with the same reset key produces the same reset tokens, so it can reset its old peers.
#pragma once

#include "core/cid_index.hpp"
#include "core/connection_id.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace quicreuse::core {

// StaticKey is a 32-byte secret (stateless-reset key or token key).
using StaticKey = std::array<std::uint8_t, 32>;

// Returns the stateless-reset token for one of our connection IDs (HKDF of key and cid).
ResetToken derive_reset_token(const StaticKey& reset_key, const ConnectionId& cid) noexcept;

// Returns a Retry token binding the client address, the Retry packet's SCID and the client's
// original DCID, encrypted under token_key; empty on failure.
std::vector<std::uint8_t> make_retry_token(const StaticKey& token_key, std::uint32_t version,
                                           const SocketAddress& remote,
                                           const ConnectionId& retry_scid,
                                           const ConnectionId& original_dcid, Timestamp now);

// Returns the client's original DCID if token is a Retry token we issued to remote for the Initial
// whose DCID is dcid (our Retry SCID), not older than lifetime; nullopt otherwise.
std::optional<ConnectionId> verify_retry_token(const StaticKey& token_key,
                                               std::span<const std::uint8_t> token,
                                               std::uint32_t version, const SocketAddress& remote,
                                               const ConnectionId& dcid, Duration lifetime,
                                               Timestamp now);

// Returns a NEW_TOKEN token for remote's IP address (any port); empty on failure.
std::vector<std::uint8_t> make_regular_token(const StaticKey& token_key,
                                             const SocketAddress& remote, Timestamp now);

// Returns true if token is a NEW_TOKEN token we issued to remote's IP, not older than lifetime.
bool verify_regular_token(const StaticKey& token_key, std::span<const std::uint8_t> token,
                          const SocketAddress& remote, Duration lifetime, Timestamp now);

// TokenKind tells which kind of token a client Initial carries (by its first byte).
enum class TokenKind { none, retry, regular, unknown };
TokenKind token_kind(std::span<const std::uint8_t> token) noexcept;

}  // namespace quicreuse::core
