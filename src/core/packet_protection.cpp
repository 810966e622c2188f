#include "core/packet_protection.hpp"

#include "core/short_packet_padding.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace quicreuse::core {
namespace {

// Encrypts with Seal after letting pad_short_packet() lengthen a short packet's plaintext (see
// short_packet_padding.hpp); ngtcp2 encrypts in place, so dest is plaintext.
template <ngtcp2_encrypt Seal>
int padding_encrypt(std::uint8_t* dest, const ngtcp2_crypto_aead* aead,
                    const ngtcp2_crypto_aead_ctx* aead_ctx, const std::uint8_t* plaintext,
                    std::size_t plaintextlen, const std::uint8_t* nonce, std::size_t noncelen,
                    const std::uint8_t* aad, std::size_t aadlen) {
  if (dest == plaintext && aead != nullptr) {
    plaintextlen = pad_short_packet(aad, aadlen, dest, plaintextlen, aead->max_overhead);
  }
  return Seal(dest, aead, aead_ctx, plaintext, plaintextlen, nonce, noncelen, aad, aadlen);
}

}  // namespace

#ifdef QUICREUSE_FUZZING_TRANSPARENT_PROTECTION
namespace {

// Copies the plaintext (which may be where dest is: ngtcp2 encrypts in place) and appends a zero
// tag.
int transparent_encrypt(std::uint8_t* dest, const ngtcp2_crypto_aead* /*aead*/,
                        const ngtcp2_crypto_aead_ctx* /*aead_ctx*/, const std::uint8_t* plaintext,
                        std::size_t plaintextlen, const std::uint8_t* /*nonce*/,
                        std::size_t /*noncelen*/, const std::uint8_t* /*aad*/,
                        std::size_t /*aadlen*/) {
  if (plaintextlen > 0) {
    std::memmove(dest, plaintext, plaintextlen);
  }
  std::memset(dest + plaintextlen, 0, kTransparentTagLength);
  return 0;
}

// Accepts ciphertext that ends with a zero tag and copies what comes before it.
int transparent_decrypt(std::uint8_t* dest, const ngtcp2_crypto_aead* /*aead*/,
                        const ngtcp2_crypto_aead_ctx* /*aead_ctx*/, const std::uint8_t* ciphertext,
                        std::size_t ciphertextlen, const std::uint8_t* /*nonce*/,
                        std::size_t /*noncelen*/, const std::uint8_t* /*aad*/,
                        std::size_t /*aadlen*/) {
  if (ciphertextlen < kTransparentTagLength) {
    return NGTCP2_ERR_DECRYPT;
  }
  const std::size_t length = ciphertextlen - kTransparentTagLength;
  const std::uint8_t* tag = ciphertext + length;
  if (!std::all_of(tag, tag + kTransparentTagLength, [](std::uint8_t b) { return b == 0; })) {
    return NGTCP2_ERR_DECRYPT;
  }
  if (length > 0) {
    std::memmove(dest, ciphertext, length);
  }
  return 0;
}

// A zero mask: header protection changes nothing.
int transparent_hp_mask(std::uint8_t* dest, const ngtcp2_crypto_cipher* /*hp*/,
                        const ngtcp2_crypto_cipher_ctx* /*hp_ctx*/,
                        const std::uint8_t* /*sample*/) {
  std::memset(dest, 0, NGTCP2_HP_MASKLEN);
  return 0;
}

}  // namespace

void set_packet_protection_callbacks(ngtcp2_callbacks& cb) noexcept {
  cb.encrypt = padding_encrypt<transparent_encrypt>;
  cb.decrypt = transparent_decrypt;
  cb.hp_mask = transparent_hp_mask;
}

ngtcp2_decrypt packet_decrypt_callback() noexcept {
  return transparent_decrypt;
}

#else

void set_packet_protection_callbacks(ngtcp2_callbacks& cb) noexcept {
  cb.encrypt = padding_encrypt<ngtcp2_crypto_encrypt_cb>;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
}

ngtcp2_decrypt packet_decrypt_callback() noexcept {
  return ngtcp2_crypto_decrypt_cb;
}

#endif

}  // namespace quicreuse::core
