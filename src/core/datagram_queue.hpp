// DatagramQueue: the unreliable datagrams (RFC 9221) of one connection: a bounded queue each
// way, the rule for a datagram that does not fit a packet, and the count of those dropped.
#pragma once

#include "core/fifo.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace quicreuse::core {

class DatagramQueue {
 public:
  // Packets in a row a queued datagram may fail to fit before it is dropped.
  static constexpr std::uint32_t kSendAttempts = 3;

  // send_limit / receive_limit: most datagrams waiting each way (0 counts as 1).
  DatagramQueue(std::size_t send_limit, std::size_t receive_limit) noexcept;

  // ---- Send side ----
  // Queues a copy of data; false (nothing queued) when the send queue is full.
  [[nodiscard]] bool push_outgoing(std::span<const std::uint8_t> data);
  [[nodiscard]] bool has_outgoing() const noexcept { return !out_.empty(); }
  // The oldest queued datagram. Precondition: has_outgoing().
  [[nodiscard]] const std::vector<std::uint8_t>& next_outgoing() const { return out_.front(); }
  // The id ngtcp2 is given for next_outgoing() (one per datagram sent).
  [[nodiscard]] std::uint64_t next_outgoing_id() const noexcept { return next_id_; }
  // next_outgoing() went into a packet. Precondition: has_outgoing().
  void outgoing_sent();
  // next_outgoing() can never be sent (the peer cannot take it, or the path shrank under it):
  // drops it and counts it. Precondition: has_outgoing().
  void drop_outgoing();
  // A packet was written without next_outgoing() (no room left in it): after kSendAttempts such
  // packets in a row the datagram is dropped and counted, and true is returned.
  // Precondition: has_outgoing().
  bool outgoing_missed_packet();

  // ---- Receive side ----
  // Queues a received datagram; when the queue is full the oldest (the least useful) is dropped
  // and counted first.
  void push_received(std::span<const std::uint8_t> data);
  // Removes and returns the oldest received datagram, if any.
  std::optional<std::vector<std::uint8_t>> pop_received();

  // Datagrams dropped either way (full receive queue, or unsendable).
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  std::size_t send_limit_;
  std::size_t receive_limit_;
  Fifo<std::vector<std::uint8_t>> out_;
  Fifo<std::vector<std::uint8_t>> in_;
  std::uint64_t next_id_ = 0;
  std::uint32_t attempts_ = 0;  // packets in a row written without out_.front()
  std::uint64_t dropped_ = 0;
};

}  // namespace quicreuse::core
