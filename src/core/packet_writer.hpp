// PacketWriter: the packets of one Connection::write(), batched for GSO and handed to the
// PacketSink, and PacketSink itself.
#pragma once

#include "core/path_info.hpp"
#include "core/socket_address.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace quicreuse::core {

// PacketSink receives packets to send. data holds one or more packets of segment_size bytes each
// (the last may be shorter), all for remote and all with the same path (source address and ECN
// mark): a driver may send them with one GSO call.
class PacketSink {
 public:
  PacketSink() = default;
  PacketSink(const PacketSink&) = delete;
  PacketSink& operator=(const PacketSink&) = delete;
  PacketSink(PacketSink&&) = delete;
  PacketSink& operator=(PacketSink&&) = delete;
  virtual ~PacketSink() = default;
  virtual void send(const SocketAddress& remote, std::span<const std::uint8_t> data,
                    std::size_t segment_size, const PathInfo& path) = 0;
};

// Counters a PacketWriter adds to (the connection's own).
struct PacketWriterCounters {
  std::uint64_t& bytes_sent;
  std::uint64_t& ect0_datagrams_sent;
};

// Collects packets written one after the other into a buffer and sends them in batches: the
// packets of a batch share their destination, source address and ECN mark, and every one but
// the last has the batch's segment size. A packet that cannot join the batch sends the batch and
// starts the next one. Not copyable; lives for one write() call.
class PacketWriter {
 public:
  struct Limits {
    std::size_t max_packets = 1;  // most packets in this write, and in one batch (>= 1)
    std::size_t path_max = 0;     // the path's largest UDP payload: a bigger segment (a probe)
                                  // batches only with packets of its own size
  };
  // buffer holds at least limits.max_packets packets of the largest size the caller writes.
  // copy_limit: when set, every batch is sent twice as long as counters.bytes_sent stays within
  // it with the copy (a client's duplicated handshake probe; a server passes its
  // anti-amplification limit).
  PacketWriter(PacketSink& sink, std::span<std::uint8_t> buffer, Limits limits,
               PacketWriterCounters counters, std::uint64_t copy_limit = 0) noexcept;
  PacketWriter(const PacketWriter&) = delete;
  PacketWriter& operator=(const PacketWriter&) = delete;
  PacketWriter(PacketWriter&&) = delete;
  PacketWriter& operator=(PacketWriter&&) = delete;
  ~PacketWriter() = default;

  // Where the next packet is to be written; room() bytes are free there.
  [[nodiscard]] std::uint8_t* next() const noexcept { return buffer_.data() + pos_; }
  [[nodiscard]] std::size_t room() const noexcept { return buffer_.size() - pos_; }
  // Takes the packet of n bytes just written at next(), for remote, sent from path. Returns
  // false once limits.max_packets packets were taken: the caller stops writing.
  bool add(std::size_t n, const SocketAddress& remote, const PathInfo& path);
  // Sends the packets taken and not yet sent.
  void flush();
  // Packets taken in this write.
  [[nodiscard]] std::size_t packets() const noexcept { return total_; }

 private:
  [[nodiscard]] bool joins_batch(std::size_t n, const SocketAddress& remote,
                                 const PathInfo& path) const noexcept;

  PacketSink& sink_;
  std::span<std::uint8_t> buffer_;
  Limits limits_;
  PacketWriterCounters counters_;
  std::uint64_t copy_limit_;
  std::size_t pos_ = 0;    // bytes of the current batch, from the start of buffer_
  std::size_t count_ = 0;  // packets of the current batch
  std::size_t segment_ = 0;
  std::size_t total_ = 0;
  SocketAddress remote_;
  PathInfo path_;
};

}  // namespace quicreuse::core
