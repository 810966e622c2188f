#include "core/chunked_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace quicreuse::core {

void ChunkedBuffer::append(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    if (blocks_.empty() || blocks_.back().bytes.size() == blocks_.back().bytes.capacity()) {
      Block block;
      block.bytes.reserve(std::clamp(data.size(), kMinBlock, kMaxBlock));
      block.offset = end_;
      blocks_.push_back(std::move(block));
    }
    Block& back = blocks_.back();
    const std::size_t n = std::min(data.size(), back.bytes.capacity() - back.bytes.size());
    back.bytes.insert(back.bytes.end(), data.begin(),
                      data.begin() + static_cast<std::ptrdiff_t>(n));
    end_ += n;
    data = data.subspan(n);
  }
}

std::size_t ChunkedBuffer::peek(std::uint64_t offset, std::span<ngtcp2_vec> out) const noexcept {
  std::size_t count = 0;
  for (const Block& block : blocks_) {
    if (count == out.size()) {
      break;
    }
    const std::uint64_t block_end = block.offset + block.bytes.size();
    if (block_end <= offset) {
      continue;
    }
    const auto skip = static_cast<std::size_t>(offset > block.offset ? offset - block.offset : 0);
    // ngtcp2_vec.base is non-const in the C API; ngtcp2 only reads through it.
    out[count].base = const_cast<std::uint8_t*>(block.bytes.data() + skip);
    out[count].len = block.bytes.size() - skip;
    ++count;
  }
  return count;
}

std::size_t ChunkedBuffer::read(std::span<std::uint8_t> out) noexcept {
  std::size_t copied = 0;
  while (copied < out.size() && !blocks_.empty()) {
    Block& front = blocks_.front();
    const auto skip = static_cast<std::size_t>(begin_ - front.offset);
    const std::size_t available = front.bytes.size() - skip;
    const std::size_t n = std::min(available, out.size() - copied);
    std::memcpy(out.data() + copied, front.bytes.data() + skip, n);
    copied += n;
    begin_ += n;
    if (n == available && (front.bytes.size() == front.bytes.capacity() || begin_ == end_)) {
      blocks_.pop_front();
    }
    if (n < available) {
      break;
    }
  }
  return copied;
}

void ChunkedBuffer::consume_to(std::uint64_t offset) noexcept {
  offset = std::min(offset, end_);
  if (offset <= begin_) {
    return;
  }
  begin_ = offset;
  while (!blocks_.empty()) {
    const Block& front = blocks_.front();
    const std::uint64_t block_end = front.offset + front.bytes.size();
    // A block is released once every byte it holds is consumed; a partly filled last block stays
    // (more data may be appended to it) unless it is fully consumed and full.
    if (block_end <= begin_ &&
        (block_end < end_ || front.bytes.size() == front.bytes.capacity() || begin_ == end_)) {
      blocks_.pop_front();
    } else {
      break;
    }
  }
}

void ChunkedBuffer::clear() noexcept {
  blocks_.clear();
  begin_ = end_;
}

}  // namespace quicreuse::core
