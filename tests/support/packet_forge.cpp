#include "packet_forge.hpp"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>

namespace quicreuse::test {
namespace {

constexpr std::size_t kPacketNumberLength = 4;
constexpr std::size_t kSampleLength = 16;

void put_varint(std::vector<std::uint8_t>& out, std::uint64_t v) {
  if (v < 64) {
    out.push_back(static_cast<std::uint8_t>(v));
  } else if (v < 16384) {
    out.push_back(static_cast<std::uint8_t>(0x40 | (v >> 8)));
    out.push_back(static_cast<std::uint8_t>(v));
  } else {
    out.push_back(static_cast<std::uint8_t>(0x80 | (v >> 24)));
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
  }
}

// RFC 9001 5.4: the mask is AES-ECB(hp_key, sample) for AES ciphers, and ChaCha20 of five zero
// bytes keyed by hp_key with the sample as counter and nonce for ChaCha20. ngtcp2's GnuTLS backend
// names the AES ones by their CBC algorithm (one block with a zero IV is ECB).
std::array<std::uint8_t, NGTCP2_HP_MASKLEN> header_protection_mask(
    const ngtcp2_crypto_cipher& hp, std::span<const std::uint8_t> key, const std::uint8_t* sample) {
  const auto algorithm =
      static_cast<gnutls_cipher_algorithm_t>(reinterpret_cast<std::intptr_t>(hp.native_handle));
  gnutls_datum_t key_datum{const_cast<unsigned char*>(key.data()),
                           static_cast<unsigned>(gnutls_cipher_get_key_size(algorithm))};
  gnutls_cipher_hd_t handle = nullptr;
  if (key.size() < key_datum.size ||
      gnutls_cipher_init(&handle, algorithm, &key_datum, nullptr) != 0) {
    throw std::runtime_error("forge_one_rtt_packet: header protection init failed");
  }
  std::array<std::uint8_t, kSampleLength> out{};
  int rv = 0;
  if (algorithm == GNUTLS_CIPHER_CHACHA20_32) {
    gnutls_cipher_set_iv(handle, const_cast<std::uint8_t*>(sample), kSampleLength);
    const std::array<std::uint8_t, NGTCP2_HP_MASKLEN> zeros{};
    rv = gnutls_cipher_encrypt2(handle, zeros.data(), zeros.size(), out.data(), zeros.size());
  } else {
    std::array<std::uint8_t, kSampleLength> iv{};
    gnutls_cipher_set_iv(handle, iv.data(), iv.size());
    rv = gnutls_cipher_encrypt2(handle, sample, kSampleLength, out.data(), out.size());
  }
  gnutls_cipher_deinit(handle);
  if (rv != 0) {
    throw std::runtime_error("forge_one_rtt_packet: header protection failed");
  }
  std::array<std::uint8_t, NGTCP2_HP_MASKLEN> mask{};
  std::copy_n(out.begin(), mask.size(), mask.begin());
  return mask;
}

}  // namespace

std::vector<std::uint8_t> forge_one_rtt_packet(const OneRttKeys& keys,
                                               std::span<const std::uint8_t> dcid, std::uint64_t pn,
                                               std::span<const std::uint8_t> frames) {
  const ngtcp2_crypto_ctx& ctx = keys.ctx;
  if (keys.key.empty() || keys.iv.size() < 8 || frames.empty()) {
    throw std::invalid_argument("forge_one_rtt_packet: no keys or no frames");
  }
  // Header: short form, fixed bit, key phase 0, 4-byte packet number.
  const std::size_t pn_offset = 1 + dcid.size();
  const std::size_t header_length = pn_offset + kPacketNumberLength;
  std::vector<std::uint8_t> packet(header_length);
  packet[0] = static_cast<std::uint8_t>(0x40 | (kPacketNumberLength - 1));
  std::copy(dcid.begin(), dcid.end(), packet.begin() + 1);
  for (std::size_t i = 0; i < kPacketNumberLength; ++i) {
    packet[pn_offset + i] = static_cast<std::uint8_t>(pn >> (8 * (kPacketNumberLength - 1 - i)));
  }

  // Payload: frames, encrypted with the header as associated data; nonce = iv XOR pn.
  std::vector<std::uint8_t> nonce = keys.iv;
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<std::uint8_t>(pn >> (8 * i));
  }
  ngtcp2_crypto_aead_ctx aead_ctx{};
  if (ngtcp2_crypto_aead_ctx_encrypt_init(&aead_ctx, &ctx.aead, keys.key.data(), nonce.size()) !=
      0) {
    throw std::runtime_error("forge_one_rtt_packet: AEAD init failed");
  }
  packet.resize(header_length + frames.size() + ctx.aead.max_overhead);
  const int rv = ngtcp2_crypto_encrypt(packet.data() + header_length, &ctx.aead, &aead_ctx,
                                       frames.data(), frames.size(), nonce.data(), nonce.size(),
                                       packet.data(), header_length);
  ngtcp2_crypto_aead_ctx_free(&aead_ctx);
  if (rv != 0) {
    throw std::runtime_error("forge_one_rtt_packet: encryption failed");
  }

  // Header protection: the sample starts 4 bytes after the packet number's start.
  if (packet.size() < pn_offset + 4 + kSampleLength) {
    packet.resize(pn_offset + 4 + kSampleLength);  // cannot happen with a 16-byte tag
  }
  const auto mask = header_protection_mask(ctx.hp, keys.hp_key, packet.data() + pn_offset + 4);
  packet[0] ^= static_cast<std::uint8_t>(mask[0] & 0x1f);
  for (std::size_t i = 0; i < kPacketNumberLength; ++i) {
    packet[pn_offset + i] ^= mask[1 + i];
  }
  return packet;
}

std::vector<std::uint8_t> ping_frame() {
  return std::vector<std::uint8_t>(1, 0x01);
}

std::vector<std::uint8_t> handshake_done_frame() {
  return std::vector<std::uint8_t>(1, 0x1e);
}

std::vector<std::uint8_t> new_connection_id_frame(std::uint64_t seq,
                                                  std::uint64_t retire_prior_to) {
  std::vector<std::uint8_t> f;
  f.reserve(64);
  f.push_back(0x18);
  put_varint(f, seq);
  put_varint(f, retire_prior_to);
  f.push_back(8);
  for (std::uint8_t i = 0; i < 8; ++i) {
    f.push_back(static_cast<std::uint8_t>(0xc0 + i + (seq << 3)));
  }
  for (std::uint8_t i = 0; i < 16; ++i) {
    f.push_back(static_cast<std::uint8_t>(0x50 + i + seq));
  }
  return f;
}

}  // namespace quicreuse::test
