#include "core/packet_writer.hpp"

#include <ngtcp2/ngtcp2.h>

#include <cstring>

namespace quicreuse::core {

PacketWriter::PacketWriter(PacketSink& sink, std::span<std::uint8_t> buffer, Limits limits,
                           PacketWriterCounters counters, std::uint64_t copy_limit) noexcept
    : sink_(sink), buffer_(buffer), limits_(limits), counters_(counters), copy_limit_(copy_limit) {
  if (limits_.max_packets == 0) {
    limits_.max_packets = 1;
  }
}

bool PacketWriter::joins_batch(std::size_t n, const SocketAddress& remote,
                               const PathInfo& path) const noexcept {
  return remote == remote_ && path.local == path_.local && path.ecn == path_.ecn && n <= segment_ &&
         (segment_ <= limits_.path_max || n == segment_);
}

bool PacketWriter::add(std::size_t n, const SocketAddress& remote, const PathInfo& path) {
  ++total_;
  counters_.ect0_datagrams_sent += path.ecn == NGTCP2_ECN_ECT_0 ? 1 : 0;
  if (count_ == 0) {
    segment_ = n;
    remote_ = remote;
    path_ = path;
  } else if (!joins_batch(n, remote, path)) {
    // Send the earlier packets, then start a new batch with this one moved to the front.
    const std::size_t earlier = pos_;
    flush();
    std::memmove(buffer_.data(), buffer_.data() + earlier, n);
    segment_ = n;
    remote_ = remote;
    path_ = path;
  }
  pos_ += n;
  ++count_;
  if (count_ == limits_.max_packets || n < segment_) {
    flush();  // full, or a short packet ends the batch
  }
  return total_ < limits_.max_packets;
}

void PacketWriter::flush() {
  if (pos_ > 0) {
    const std::span<const std::uint8_t> batch(buffer_.data(), pos_);
    sink_.send(remote_, batch, segment_, path_);
    counters_.bytes_sent += pos_;
    if (counters_.bytes_sent + pos_ <= copy_limit_) {
      sink_.send(remote_, batch, segment_, path_);
      counters_.bytes_sent += pos_;
      counters_.ect0_datagrams_sent += path_.ecn == NGTCP2_ECN_ECT_0 ? count_ : 0;
    }
  }
  pos_ = 0;
  count_ = 0;
}

}  // namespace quicreuse::core
