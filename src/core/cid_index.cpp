#include "core/cid_index.hpp"

namespace quicreuse::core {

bool CidIndex::insert(const ConnectionId& cid, ConnectionHandle handle) {
  return cids_.emplace(cid, handle).second;
}

void CidIndex::erase(const ConnectionId& cid, ConnectionHandle handle) {
  auto it = cids_.find(cid);
  if (it != cids_.end() && it->second == handle) {
    cids_.erase(it);
  }
}

std::optional<ConnectionHandle> CidIndex::find(std::span<const std::uint8_t> cid) const {
  if (cid.size() > kMaxCidLength) {
    return std::nullopt;
  }
  auto it = cids_.find(ConnectionId::from(cid));
  if (it == cids_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void CidIndex::insert_token(const ResetToken& token, ConnectionHandle handle) {
  tokens_[token] = handle;
}

void CidIndex::erase_token(const ResetToken& token, ConnectionHandle handle) {
  auto it = tokens_.find(token);
  if (it != tokens_.end() && it->second == handle) {
    tokens_.erase(it);
  }
}

std::optional<ConnectionHandle> CidIndex::find_token(const ResetToken& token) const {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace quicreuse::core
