// FrameReader: walks the frames of a decrypted QUIC packet payload (RFC 9000 19, RFC 9221) the way
// ngtcp2 0.12 decodes them (one-byte frame types; unknown types with the 0x08 bit are STREAM
// frames), without interpreting them beyond what the receive-path guards need. A pure parser: it
// never reads outside the payload and stops at the first frame it cannot delimit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace quicreuse::core {

// Frame types the guards look at.
inline constexpr std::uint64_t kFramePadding = 0x00;
inline constexpr std::uint64_t kFrameAckEcn = 0x03;
inline constexpr std::uint64_t kFrameNewConnectionId = 0x18;
inline constexpr std::uint64_t kFrameHandshakeDone = 0x1e;

// FrameInfo delimits one frame; seq and retire_prior_to are set for NEW_CONNECTION_ID, the ECN
// counts for ACK frames of type 0x03.
struct FrameInfo {
  std::uint64_t type = 0;
  std::size_t begin = 0;  // offset of the frame's first byte in the payload
  std::size_t end = 0;    // one past its last byte
  std::uint64_t seq = 0;
  std::uint64_t retire_prior_to = 0;
  std::uint64_t ect0 = 0;
  std::uint64_t ect1 = 0;
  std::uint64_t ce = 0;
};

class FrameReader {
 public:
  explicit FrameReader(std::span<const std::uint8_t> payload) : payload_(payload) {}

  // Reads the next frame into frame; false at the end of the payload or at a frame that is
  // unknown or does not fit (then malformed() is true).
  bool next(FrameInfo& frame);
  [[nodiscard]] bool malformed() const noexcept { return malformed_; }

 private:
  static bool known_non_stream(std::uint64_t type) noexcept;
  bool varint(std::uint64_t& value);
  bool skip(std::uint64_t n);
  bool skip_varints(int n);

  std::span<const std::uint8_t> payload_;
  std::size_t pos_ = 0;
  bool malformed_ = false;
};

}  // namespace quicreuse::core
