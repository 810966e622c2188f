// CidIndex maps connection IDs and stateless-reset tokens to connection handles.
//
// One index serves every connection of an endpoint, dialed and accepted alike (decision D13). Keys
// are hashed with SipHash under a per-endpoint random key: a client chooses its original DCID,
// and an unkeyed hash would let it pile every entry into one bucket.
#pragma once

#include "core/connection_id.hpp"
#include "core/siphash.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>

namespace quicreuse::core {

// ConnectionHandle names a connection inside one endpoint; never reused during its lifetime.
using ConnectionHandle = std::uint64_t;

// ResetToken is a 16-byte stateless-reset token.
struct ResetToken {
  std::array<std::uint8_t, 16> bytes{};
  [[nodiscard]] std::span<const std::uint8_t> span() const noexcept { return bytes; }
  friend bool operator==(const ResetToken&, const ResetToken&) = default;
};

// KeyedHash hashes anything that exposes span() with SipHash-2-4.
struct KeyedHash {
  SipKey key{};
  template <class T>
  std::size_t operator()(const T& value) const noexcept {
    return static_cast<std::size_t>(siphash24(key, value.span()));
  }
};

class CidIndex {
 public:
  explicit CidIndex(const SipKey& key) : cids_(16, KeyedHash{key}), tokens_(16, KeyedHash{key}) {}

  // Maps cid to handle. Returns false (and changes nothing) when cid is already mapped.
  bool insert(const ConnectionId& cid, ConnectionHandle handle);
  // Removes cid if it maps to handle (a stale removal must not unmap a newer owner).
  void erase(const ConnectionId& cid, ConnectionHandle handle);
  // Returns the handle for the connection ID given as raw bytes, if any.
  [[nodiscard]] std::optional<ConnectionHandle> find(std::span<const std::uint8_t> cid) const;
  [[nodiscard]] std::size_t size() const noexcept { return cids_.size(); }

  // Maps a peer's stateless-reset token to handle (replacing an older mapping of the token).
  void insert_token(const ResetToken& token, ConnectionHandle handle);
  // Removes token if it maps to handle.
  void erase_token(const ResetToken& token, ConnectionHandle handle);
  // Returns the handle whose peer issued this token, if any.
  [[nodiscard]] std::optional<ConnectionHandle> find_token(const ResetToken& token) const;
  [[nodiscard]] std::size_t token_count() const noexcept { return tokens_.size(); }

 private:
  std::unordered_map<ConnectionId, ConnectionHandle, KeyedHash> cids_;
  std::unordered_map<ResetToken, ConnectionHandle, KeyedHash> tokens_;
};

}  // namespace quicreuse::core
