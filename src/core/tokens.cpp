#include "core/tokens.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

namespace quicreuse::core {

ResetToken derive_reset_token(const StaticKey& reset_key, const ConnectionId& cid) noexcept {
  ResetToken token;
  const ngtcp2_cid c = cid.to_ngtcp2();
  if (ngtcp2_crypto_generate_stateless_reset_token(token.bytes.data(), reset_key.data(),
                                                   reset_key.size(), &c) != 0) {
    // HKDF over a fixed-size key cannot fail in practice; never hand out a predictable token.
    std::abort();
  }
  return token;
}

std::vector<std::uint8_t> make_retry_token(const StaticKey& token_key, std::uint32_t version,
                                           const SocketAddress& remote,
                                           const ConnectionId& retry_scid,
                                           const ConnectionId& original_dcid, Timestamp now) {
  std::vector<std::uint8_t> token(NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN);
  const ngtcp2_cid scid = retry_scid.to_ngtcp2();
  const ngtcp2_cid odcid = original_dcid.to_ngtcp2();
  const ngtcp2_ssize n = ngtcp2_crypto_generate_retry_token(
      token.data(), token_key.data(), token_key.size(), version, remote.data(), remote.size(),
      &scid, &odcid, to_ngtcp2(now));
  if (n < 0) {
    return {};
  }
  token.resize(static_cast<std::size_t>(n));
  return token;
}

std::optional<ConnectionId> verify_retry_token(const StaticKey& token_key,
                                               std::span<const std::uint8_t> token,
                                               std::uint32_t version, const SocketAddress& remote,
                                               const ConnectionId& dcid, Duration lifetime,
                                               Timestamp now) {
  if (token.empty() || token.size() > NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN) {
    return std::nullopt;
  }
  ngtcp2_cid odcid{};
  const ngtcp2_cid d = dcid.to_ngtcp2();
  if (ngtcp2_crypto_verify_retry_token(&odcid, token.data(), token.size(), token_key.data(),
                                       token_key.size(), version, remote.data(), remote.size(), &d,
                                       to_ngtcp2(lifetime), to_ngtcp2(now)) != 0) {
    return std::nullopt;
  }
  return ConnectionId::from(odcid);
}

std::vector<std::uint8_t> make_regular_token(const StaticKey& token_key,
                                             const SocketAddress& remote, Timestamp now) {
  std::vector<std::uint8_t> token(NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN);
  const ngtcp2_ssize n =
      ngtcp2_crypto_generate_regular_token(token.data(), token_key.data(), token_key.size(),
                                           remote.data(), remote.size(), to_ngtcp2(now));
  if (n < 0) {
    return {};
  }
  token.resize(static_cast<std::size_t>(n));
  return token;
}

bool verify_regular_token(const StaticKey& token_key, std::span<const std::uint8_t> token,
                          const SocketAddress& remote, Duration lifetime, Timestamp now) {
  if (token.empty() || token.size() > NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN) {
    return false;
  }
  return ngtcp2_crypto_verify_regular_token(token.data(), token.size(), token_key.data(),
                                            token_key.size(), remote.data(), remote.size(),
                                            to_ngtcp2(lifetime), to_ngtcp2(now)) == 0;
}

TokenKind token_kind(std::span<const std::uint8_t> token) noexcept {
  if (token.empty()) {
    return TokenKind::none;
  }
  switch (token[0]) {
    case NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY:
      return TokenKind::retry;
    case NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR:
      return TokenKind::regular;
    default:
      return TokenKind::unknown;
  }
}

}  // namespace quicreuse::core
