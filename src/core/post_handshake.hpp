// PostHandshakeReader follows the TLS handshake messages a peer sends in 1-RTT CRYPTO frames, so
// that they can be judged once the connection has released its GnuTLS session (after the
// handshake, see Connection::release_handshake_state).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace quicreuse::core {

class PostHandshakeReader {
 public:
  // TLS alert unexpected_message (RFC 8446 section 6).
  static constexpr std::uint8_t kUnexpectedMessage = 10;

  // client: this endpoint is the client (its peer may send NewSessionTicket).
  explicit PostHandshakeReader(bool client) noexcept : client_(client) {}

  // Consumes the next bytes of the 1-RTT CRYPTO stream (messages may be split anywhere). Returns
  // 0 when every message seen so far is one QUIC allows after the handshake: NewSessionTicket
  // from a server, which is skipped since sessions are never resumed. Anything else (KeyUpdate
  // and post-handshake authentication are forbidden by RFC 9001 sections 4.4 and 6) gives
  // kUnexpectedMessage, from then on.
  std::uint8_t read(std::span<const std::uint8_t> data) noexcept;

 private:
  static constexpr std::uint8_t kNewSessionTicket = 4;
  static constexpr std::size_t kHeaderSize = 4;  // msg_type(1) length(3)

  std::array<std::uint8_t, kHeaderSize> header_{};
  std::uint8_t header_size_ = 0;
  std::uint32_t body_left_ = 0;
  std::uint8_t alert_ = 0;
  bool client_;
};

}  // namespace quicreuse::core
