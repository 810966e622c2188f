// ChunkedBuffer: a byte FIFO in heap blocks that never move, addressed by absolute stream offset.
//
// Stream send data must stay valid and unmoved until the peer acknowledges it, because ngtcp2 keeps
// pointers to it for retransmission. Appending never relocates bytes
// already stored, and bytes are released only by consume_to().
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace quicreuse::core {

class ChunkedBuffer {
 public:
  ChunkedBuffer() = default;
  ChunkedBuffer(const ChunkedBuffer&) = delete;
  ChunkedBuffer& operator=(const ChunkedBuffer&) = delete;
  ChunkedBuffer(ChunkedBuffer&&) noexcept = default;
  ChunkedBuffer& operator=(ChunkedBuffer&&) noexcept = default;
  ~ChunkedBuffer() = default;

  // Appends data at end_offset().
  void append(std::span<const std::uint8_t> data);
  // Returns the number of bytes held, from begin_offset() to end_offset().
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(end_ - begin_);
  }
  [[nodiscard]] bool empty() const noexcept { return end_ == begin_; }
  [[nodiscard]] std::uint64_t begin_offset() const noexcept { return begin_; }
  [[nodiscard]] std::uint64_t end_offset() const noexcept { return end_; }

  // Fills out with vectors covering [offset, end_offset()) in order, at most out.size() of them;
  // returns how many were filled. offset must be within [begin_offset(), end_offset()].
  [[nodiscard]] std::size_t peek(std::uint64_t offset, std::span<ngtcp2_vec> out) const noexcept;
  // Copies up to out.size() bytes from the front into out, releases them, returns the count.
  std::size_t read(std::span<std::uint8_t> out) noexcept;
  // Releases every byte before offset (offsets beyond end_offset() are clamped).
  void consume_to(std::uint64_t offset) noexcept;
  // Releases everything; begin and end offsets move to the end.
  void clear() noexcept;

 private:
  static constexpr std::size_t kMinBlock = 4096;
  static constexpr std::size_t kMaxBlock = 65536;

  struct Block {
    std::vector<std::uint8_t> bytes;  // capacity fixed at creation: data() never moves
    std::uint64_t offset = 0;         // stream offset of bytes[0]
  };
  std::deque<Block> blocks_;
  std::uint64_t begin_ = 0;
  std::uint64_t end_ = 0;
};

}  // namespace quicreuse::core
