// BufferBudget: the endpoint-wide limit on what peers can make us hold in stream buffers.
//
// Each connection's receive side is bounded by its flow-control window and its send side by its
// per-connection send budget (TransportConfig). Across connections, this budget counts the bytes
// held in stream send buffers plus every connection's window growth beyond its initial window:
// a commitment, since a granted window is memory the peer may fill at any time. While the budget
// is exhausted, windows stop growing and peers get no new stream credit (MAX_STREAMS); the
// connections waiting for it are woken once usage falls under the limit again. Sends are never
// refused here: the per-connection budget bounds them, and refusing them endpoint-wide would let a
// few stalled peers block every healthy connection.
#pragma once

#include "core/cid_index.hpp"

#include <cstdint>
#include <vector>

namespace quicreuse::core {

class BufferBudget {
 public:
  // A budget of limit bytes (0: no window growth and no deferred credit ever, every use waits).
  explicit BufferBudget(std::uint64_t limit) : limit_(limit) {}
  BufferBudget(const BufferBudget&) = delete;
  BufferBudget& operator=(const BufferBudget&) = delete;
  BufferBudget(BufferBudget&&) = delete;
  BufferBudget& operator=(BufferBudget&&) = delete;
  ~BufferBudget() = default;

  // Records n bytes of stream data entering (or leaving) send buffers.
  void add_send(std::uint64_t n) noexcept { send_ += n; }
  void remove_send(std::uint64_t n) noexcept;
  // Records n bytes entering (or leaving) receive buffers (statistics only: the windows bound
  // them).
  void add_receive(std::uint64_t n) noexcept { receive_ += n; }
  void remove_receive(std::uint64_t n) noexcept { receive_ -= n <= receive_ ? n : receive_; }
  // Charges a window growth of n bytes if it fits; false (counted) when it does not.
  [[nodiscard]] bool try_grow_window(std::uint64_t n) noexcept;
  // Returns a window growth charged earlier (the connection is gone).
  void release_window(std::uint64_t n) noexcept;

  // True when nothing more may be committed.
  [[nodiscard]] bool exhausted() const noexcept { return used() >= limit_; }
  // Registers a connection to wake once the budget is available again (once per wait: the
  // connection remembers that it waits).
  void wait(ConnectionHandle handle);
  // Forgets a waiting connection (it is going away).
  void cancel_wait(ConnectionHandle handle) noexcept;
  // Returns the connections to wake (empty while exhausted) and forgets them.
  std::vector<ConnectionHandle> take_wakeups();
  // Counts a stream credit deferred because the budget was exhausted.
  void count_deferred_stream() noexcept { ++deferred_streams_; }

  [[nodiscard]] std::uint64_t limit() const noexcept { return limit_; }
  [[nodiscard]] std::uint64_t used() const noexcept { return send_ + window_growth_; }
  [[nodiscard]] std::uint64_t send_bytes() const noexcept { return send_; }
  [[nodiscard]] std::uint64_t receive_bytes() const noexcept { return receive_; }
  [[nodiscard]] std::uint64_t window_growth() const noexcept { return window_growth_; }
  [[nodiscard]] std::uint64_t window_growth_refused() const noexcept { return refused_growth_; }
  [[nodiscard]] std::uint64_t deferred_streams() const noexcept { return deferred_streams_; }

 private:
  std::uint64_t limit_;
  std::uint64_t send_ = 0;
  std::uint64_t receive_ = 0;
  std::uint64_t window_growth_ = 0;
  std::uint64_t refused_growth_ = 0;
  std::uint64_t deferred_streams_ = 0;
  std::vector<ConnectionHandle> waiters_;
};

}  // namespace quicreuse::core
