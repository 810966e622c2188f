// Fifo: a first-in first-out queue that holds no memory until it is used, for the per-connection
// queues that are empty most of the time (incoming streams, stream send order, datagrams, parked
// operations). A std::deque allocates its map and one 512-byte block even when empty: about
// 600 bytes per queue and eleven queues per connection.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace quicreuse::core {

// Elements live in a vector from a head index, so pop_front is O(1). A popped element is reset to
// T{} at once (it releases what it owned); the popped prefix is dropped when the queue empties or
// makes up half of the storage. Storage larger than kKeptCapacity is released when the queue
// empties, so a connection that once had a burst does not keep its peak.
template <class T>
class Fifo {
  static_assert(std::is_default_constructible_v<T> && std::is_move_assignable_v<T>);

 public:
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
  [[nodiscard]] T& front() { return items_[head_]; }
  [[nodiscard]] const T& front() const { return items_[head_]; }

  void push_back(T value) { items_.push_back(std::move(value)); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    return items_.emplace_back(std::forward<Args>(args)...);
  }

  void pop_front() {
    items_[head_] = T{};
    ++head_;
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= kCompactAt && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  [[nodiscard]] iterator begin() noexcept {
    return items_.begin() + static_cast<std::ptrdiff_t>(head_);
  }
  [[nodiscard]] iterator end() noexcept { return items_.end(); }
  [[nodiscard]] const_iterator begin() const noexcept {
    return items_.begin() + static_cast<std::ptrdiff_t>(head_);
  }
  [[nodiscard]] const_iterator end() const noexcept { return items_.end(); }

  // Removes the element at it (between begin() and end()); returns the iterator after it.
  iterator erase(iterator it) {
    auto next = items_.erase(it);
    if (head_ == items_.size()) {
      clear();
      return end();
    }
    return next;
  }

  void clear() noexcept {
    if (items_.capacity() > kKeptCapacity) {
      std::vector<T>().swap(items_);
    } else {
      items_.clear();
    }
    head_ = 0;
  }

 private:
  static constexpr std::size_t kKeptCapacity = 4;
  static constexpr std::size_t kCompactAt = 16;

  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace quicreuse::core
