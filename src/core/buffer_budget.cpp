#include "core/buffer_budget.hpp"

#include <algorithm>

namespace quicreuse::core {

void BufferBudget::remove_send(std::uint64_t n) noexcept {
  send_ -= std::min(n, send_);
}

bool BufferBudget::try_grow_window(std::uint64_t n) noexcept {
  if (used() + n > limit_) {
    ++refused_growth_;
    return false;
  }
  window_growth_ += n;
  return true;
}

void BufferBudget::release_window(std::uint64_t n) noexcept {
  window_growth_ -= std::min(n, window_growth_);
}

void BufferBudget::wait(ConnectionHandle handle) {
  waiters_.push_back(handle);
}

void BufferBudget::cancel_wait(ConnectionHandle handle) noexcept {
  std::erase(waiters_, handle);
}

std::vector<ConnectionHandle> BufferBudget::take_wakeups() {
  if (exhausted() || waiters_.empty()) {
    return {};
  }
  std::vector<ConnectionHandle> out;
  out.swap(waiters_);
  return out;
}

}  // namespace quicreuse::core
