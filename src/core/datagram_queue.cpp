#include "core/datagram_queue.hpp"

#include <algorithm>
#include <utility>

namespace quicreuse::core {

DatagramQueue::DatagramQueue(std::size_t send_limit, std::size_t receive_limit) noexcept
    : send_limit_(std::max<std::size_t>(1, send_limit)),
      receive_limit_(std::max<std::size_t>(1, receive_limit)) {}

bool DatagramQueue::push_outgoing(std::span<const std::uint8_t> data) {
  if (out_.size() >= send_limit_) {
    return false;
  }
  out_.emplace_back(data.begin(), data.end());
  return true;
}

void DatagramQueue::outgoing_sent() {
  out_.pop_front();
  ++next_id_;
  attempts_ = 0;
}

void DatagramQueue::drop_outgoing() {
  out_.pop_front();
  ++dropped_;
  attempts_ = 0;
}

bool DatagramQueue::outgoing_missed_packet() {
  if (++attempts_ < kSendAttempts) {
    return false;
  }
  drop_outgoing();
  return true;
}

void DatagramQueue::push_received(std::span<const std::uint8_t> data) {
  if (in_.size() >= receive_limit_) {
    in_.pop_front();
    ++dropped_;
  }
  in_.emplace_back(data.begin(), data.end());
}

std::optional<std::vector<std::uint8_t>> DatagramQueue::pop_received() {
  if (in_.empty()) {
    return std::nullopt;
  }
  auto d = std::move(in_.front());
  in_.pop_front();
  return d;
}

}  // namespace quicreuse::core
