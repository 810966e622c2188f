// Short packet padding: once the handshake is confirmed, every short-header (1-RTT) packet we
// send is at least kMinShortPacketLength bytes long.
//
// Why: a peer that lost a connection's state (it restarted) but kept its stateless reset key
// answers the connection's packets with a stateless reset, which must be shorter than the packet
// it answers (RFC 9000 10.3.3: no reset loops). quic-go 0.29 therefore answers only packets
// longer than its 42-byte reset (1 + 20-byte connection ID + 4-byte packet number + 1 + 16-byte
// token). ngtcp2 0.12 pads short packets only to the peer's connection ID length + 22 bytes (26
// with quic-go's 4-byte IDs), so an idle connection, which sends nothing but keep-alive PINGs
// and ACKs, would never be reset and would linger until its idle timeout.
//
// How: ngtcp2 0.12 has no setting for a minimum packet length, so the padding goes in where the
// packet is sealed. ngtcp2 writes a packet as header (the AEAD's associated data) immediately
// followed by the plaintext, encrypts it in place through the encrypt callback, then applies
// header protection to the bytes in the buffer, and reports header + plaintext + tag as the
// packet's length. Around each of its ngtcp2 write calls, Connection opens a PaddingScope that
// names the end of the buffer it handed ngtcp2. The encrypt callback (see packet_protection.cpp)
// asks pad_short_packet() first, which appends zero bytes (PADDING frames) to the plaintext of a
// short-header packet that would be too short and has room; the callback then encrypts the
// longer plaintext, and the caller adds PaddingScope::added() to the length ngtcp2 returned.
//
// Why this is safe with ngtcp2 0.12 (ngtcp2_ppe_final):
// - The header-protection sample (4 bytes after the packet number) lies inside the ciphertext
//   either way, and the mask is computed from the bytes actually in the buffer, which are what
//   the receiver samples. ngtcp2's own check that the sample fits still holds: its own padding
//   (to the connection ID length + 22) is unchanged.
// - A short-header packet has no length field and is always the last packet of its datagram,
//   so nothing ngtcp2 writes later lands on the appended bytes; the padded packet ends within the
//   buffer handed to ngtcp2 for this datagram, so it still fits its GSO slot (the caller treats
//   the padded length as the datagram's length when batching).
// - Every frame ngtcp2 writes carries its own length (STREAM and DATAGRAM frames included), so
//   trailing PADDING frames never change what a frame means.
// - A packet whose writing spans several calls (NGTCP2_ERR_WRITE_MORE) is sealed in the call
//   that finishes it, into the same buffer; each call has its own scope.
// Accepted inaccuracy: ngtcp2 counts the packet's unpadded length for congestion control, loss
// recovery and pacing; the difference is under 48 bytes and only on tiny packets.
//
// The scope is thread-local, not per connection: ngtcp2's encrypt callback gets no user data,
// only the key and the buffers. A scope lives for one synchronous ngtcp2 call on its thread;
// an ngtcp2 connection is only ever driven on one thread at a time, and a nested scope restores
// the outer one when it ends. Without a scope (any encryption outside our write calls), nothing
// is padded.
#pragma once

#include <cstddef>
#include <cstdint>

namespace quicreuse::core {

// The shortest short-header packet we send once the handshake is confirmed. quic-go 0.29 sends a
// stateless reset only in answer to a packet longer than 42 bytes (MinStatelessResetSize); 48
// leaves a margin for peers whose resets are a little longer.
inline constexpr std::size_t kMinShortPacketLength = 48;

// PaddingScope allows padding for the packets of one ngtcp2 write call (see above).
class PaddingScope {
 public:
  // buffer_end: one past the last byte ngtcp2 may write for this call. enabled: padding is
  // wanted (handshake confirmed); when false the scope only shields an outer one.
  PaddingScope(const std::uint8_t* buffer_end, bool enabled) noexcept;
  PaddingScope(const PaddingScope&) = delete;
  PaddingScope& operator=(const PaddingScope&) = delete;
  PaddingScope(PaddingScope&&) = delete;
  PaddingScope& operator=(PaddingScope&&) = delete;
  ~PaddingScope();

  // Bytes appended to the packet sealed in this scope (0 if none was padded).
  [[nodiscard]] std::size_t added() const noexcept { return added_; }

 private:
  friend std::size_t pad_short_packet(const std::uint8_t* header, std::size_t header_length,
                                      std::uint8_t* plaintext, std::size_t plaintext_length,
                                      std::size_t tag_length) noexcept;

  const std::uint8_t* end_;
  bool enabled_;
  std::size_t added_ = 0;
  PaddingScope* outer_;
};

// Called by the encrypt callback before it seals a packet whose header (the associated data) is
// header[0, header_length) and whose plaintext is plaintext[0, plaintext_length), followed by a
// tag of tag_length bytes. When the current scope allows it, the header is a short one that the
// plaintext immediately follows, the packet would be shorter than kMinShortPacketLength and the
// buffer has room, writes zero bytes after the plaintext and records them in the scope. Returns
// the plaintext length to encrypt (plaintext_length when nothing was added).
std::size_t pad_short_packet(const std::uint8_t* header, std::size_t header_length,
                             std::uint8_t* plaintext, std::size_t plaintext_length,
                             std::size_t tag_length) noexcept;

}  // namespace quicreuse::core
