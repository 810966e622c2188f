#include "core/post_handshake.hpp"

#include <algorithm>

namespace quicreuse::core {

std::uint8_t PostHandshakeReader::read(std::span<const std::uint8_t> data) noexcept {
  while (!data.empty() && alert_ == 0) {
    if (body_left_ > 0) {
      const std::size_t n = std::min<std::size_t>(body_left_, data.size());
      body_left_ -= static_cast<std::uint32_t>(n);
      data = data.subspan(n);
      continue;
    }
    header_[header_size_++] = data.front();
    data = data.subspan(1);
    if (header_size_ < kHeaderSize) {
      continue;
    }
    header_size_ = 0;
    if (header_[0] != kNewSessionTicket || !client_) {
      alert_ = kUnexpectedMessage;
      break;
    }
    body_left_ = (std::uint32_t{header_[1]} << 16) | (std::uint32_t{header_[2]} << 8) | header_[3];
  }
  return alert_;
}

}  // namespace quicreuse::core
