#include "core/short_packet_padding.hpp"

#include <cstdint>
#include <cstring>

namespace quicreuse::core {
namespace {

// The scope of the ngtcp2 call running on this thread, if any.
thread_local PaddingScope* current_scope = nullptr;

// The header-form bit of a packet's first byte: set for long headers (RFC 9000 17.2), clear for
// short ones. Header protection never changes it, and it is still unprotected when the packet is
// sealed anyway.
constexpr std::uint8_t kLongHeaderBit = 0x80;

}  // namespace

PaddingScope::PaddingScope(const std::uint8_t* buffer_end, bool enabled) noexcept
    : end_(buffer_end), enabled_(enabled), outer_(current_scope) {
  current_scope = this;
}

PaddingScope::~PaddingScope() {
  current_scope = outer_;
}

std::size_t pad_short_packet(const std::uint8_t* header, std::size_t header_length,
                             std::uint8_t* plaintext, std::size_t plaintext_length,
                             std::size_t tag_length) noexcept {
  PaddingScope* scope = current_scope;
  if (scope == nullptr || !scope->enabled_ || scope->end_ == nullptr || header == nullptr ||
      header_length == 0 || plaintext == nullptr) {
    return plaintext_length;
  }
  if ((header[0] & kLongHeaderBit) != 0) {
    return plaintext_length;  // Initial, 0-RTT, Handshake: left as ngtcp2 made them
  }
  // Only a packet laid out as ngtcp2 lays it out (header, then plaintext, in the scope's
  // buffer), and only one per scope: a short packet ends its datagram.
  if (plaintext != header + header_length || scope->added_ != 0) {
    return plaintext_length;
  }
  const std::size_t length = header_length + plaintext_length + tag_length;
  if (length >= kMinShortPacketLength) {
    return plaintext_length;
  }
  // Compared as integers: the room is known only as the scope's end, and a pointer past it
  // must not even be formed.
  const auto begin = reinterpret_cast<std::uintptr_t>(header);
  const auto end = reinterpret_cast<std::uintptr_t>(scope->end_);
  if (begin >= end || end - begin < kMinShortPacketLength) {
    return plaintext_length;  // no room: leave it short rather than write past the buffer
  }
  const std::size_t pad = kMinShortPacketLength - length;
  std::memset(plaintext + plaintext_length, 0, pad);  // PADDING frames
  scope->added_ = pad;
  return plaintext_length + pad;
}

}  // namespace quicreuse::core
