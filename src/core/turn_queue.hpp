// TurnQueue: a FIFO that knows which of its entries have waited through a turn of the
// application (library internal, sans-IO).
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <utility>

namespace quicreuse::core {

// TurnQueue tells a burst from a backlog in an accept queue. Entries that arrived since the
// application's last turn are a burst it has not had the chance to take yet; only the entries
// that were already queued at that turn have "waited a turn", and only they count against the
// queue's bound. The driver calls application_turn() from a handler queued behind the accept
// completions it posted (io/application_turn.hpp).
template <class T>
class TurnQueue {
 public:
  // Appends value; it has not waited a turn yet.
  void push(T value) { entries_.push_back(std::move(value)); }
  // Removes and returns the oldest entry. The queue must not be empty.
  T pop() {
    T value = std::move(entries_.front());
    entries_.pop_front();
    waited_ -= waited_ > 0 ? 1 : 0;  // the oldest entries are the ones that waited
    return value;
  }
  // Removes the entries for which pred holds (those that waited among them stop counting).
  template <class Pred>
  void erase_if(Pred pred) {
    std::size_t index = 0;
    std::size_t waited_left = 0;
    std::erase_if(entries_, [&](const T& entry) {
      const bool waited = index++ < waited_;
      const bool erase = pred(entry);
      waited_left += waited && !erase ? 1 : 0;
      return erase;
    });
    waited_ = waited_left;
  }
  void clear() noexcept {
    entries_.clear();
    waited_ = 0;
  }
  // The application had its turn: every entry queued now has waited through it.
  void application_turn() noexcept { waited_ = entries_.size(); }

  // Returns how many entries have waited through a turn of the application.
  [[nodiscard]] std::size_t waited() const noexcept { return std::min(waited_, entries_.size()); }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

 private:
  std::deque<T> entries_;
  std::size_t waited_ = 0;  // the first waited_ entries have waited a turn
};

}  // namespace quicreuse::core
