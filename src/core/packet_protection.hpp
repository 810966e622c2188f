// Packet protection: the ngtcp2 callbacks that encrypt, decrypt and mask QUIC packet headers.
//
// Normally these are ngtcp2_crypto's (AEAD and header protection keyed from the TLS secrets).
// A fuzzing build (QUICREUSE_FUZZING_TRANSPARENT_PROTECTION defined, only by the fuzz preset)
// swaps in transparent ones, so that a fuzzer's bytes reach frame parsing instead of failing
// authentication: "encryption" copies the plaintext and appends a tag of 16 zero bytes,
// "decryption" accepts a payload only when it ends with that tag and strips it, and header
// protection masks with zeros (packet numbers and header bits travel in clear). Both peers must
// use the same mode; such a build must never carry real traffic.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstddef>

namespace quicreuse::core {

// True in fuzzing builds, where packet protection is transparent (see above).
#ifdef QUICREUSE_FUZZING_TRANSPARENT_PROTECTION
inline constexpr bool kTransparentPacketProtection = true;
#else
inline constexpr bool kTransparentPacketProtection = false;
#endif

// The length of the zero tag transparent protection appends (every AEAD of QUIC v1 has 16-byte
// tags, and ngtcp2 leaves that much room after the plaintext).
inline constexpr std::size_t kTransparentTagLength = 16;

// Sets cb.encrypt, cb.decrypt and cb.hp_mask (the other callbacks are left alone).
void set_packet_protection_callbacks(ngtcp2_callbacks& cb) noexcept;
// Returns the decrypt callback set_packet_protection_callbacks installs (for a wrapper that
// decrypts, then inspects the plaintext).
ngtcp2_decrypt packet_decrypt_callback() noexcept;

}  // namespace quicreuse::core
