// ParkedQueue: the asynchronous operations of one kind that wait for the protocol (accepts,
// stream opens, datagram reads, dials, raw reads), oldest first, each under the id its
// cancellation callback names (library internal).
#pragma once

#include "core/fifo.hpp"

#include <quicreuse/detail/completion.hpp>

#include <asio/error.hpp>

#include <cstdint>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace quicreuse::detail {

// Finish<Completion<std::error_code, R...>>::run completes c with ec and R{}... (from a
// cancellation callback when cancelled).
template <class C>
struct Finish;
template <class... R>
struct Finish<Completion<std::error_code, R...>> {
  static void run(Completion<std::error_code, R...>& c, std::error_code ec, bool cancelled) {
    if (cancelled) {
      c.complete_cancelled(ec, R{}...);
    } else {
      c.complete(ec, R{}...);
    }
  }
};

// Op is any movable, default-constructible struct with an `id` (std::uint64_t) and a
// `completion` (a detail::Completion<std::error_code, R...>). The queue owns the parked operations;
// completing one always takes it out first, so a handler that parks again cannot disturb the
// iteration.
template <class Op>
class ParkedQueue {
 public:
  [[nodiscard]] bool empty() const noexcept { return ops_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return ops_.size(); }
  [[nodiscard]] Op& front() { return ops_.front(); }
  [[nodiscard]] auto begin() noexcept { return ops_.begin(); }
  [[nodiscard]] auto end() noexcept { return ops_.end(); }
  [[nodiscard]] auto begin() const noexcept { return ops_.begin(); }
  [[nodiscard]] auto end() const noexcept { return ops_.end(); }

  // Parks op behind the others.
  void push(Op op) { ops_.push_back(std::move(op)); }

  // Removes and returns the oldest operation. The queue must not be empty.
  Op pop() {
    Op op = std::move(ops_.front());
    ops_.pop_front();
    return op;
  }

  // Removes and returns the first operation for which pred(op) holds; nullopt when none does.
  template <class Pred>
  std::optional<Op> take_if(Pred pred) {
    for (auto it = ops_.begin(); it != ops_.end(); ++it) {
      if (pred(*it)) {
        Op op = std::move(*it);
        ops_.erase(it);
        return op;
      }
    }
    return std::nullopt;
  }

  // Removes and returns the operation id; nullopt when it is no longer parked.
  std::optional<Op> take(std::uint64_t id) {
    return take_if([id](const Op& op) { return op.id == id; });
  }

  // Removes every operation and returns them, oldest first.
  std::vector<Op> take_all() {
    std::vector<Op> all;
    all.reserve(ops_.size());
    while (!ops_.empty()) {
      all.push_back(pop());
    }
    return all;
  }

  // From the cancellation callback of operation id: completes it with
  // asio::error::operation_aborted (and value-initialised results) if it is still parked.
  // Returns whether it was.
  bool cancel(std::uint64_t id) {
    auto op = take(id);
    if (!op) {
      return false;
    }
    Finish<decltype(op->completion)>::run(op->completion, asio::error::operation_aborted, true);
    return true;
  }

  // Completes every operation parked now with ec (and value-initialised results), oldest first.
  // Handlers are posted, so an operation one of them parks stays parked.
  void fail_all(std::error_code ec) {
    for (auto& op : take_all()) {
      Finish<decltype(op.completion)>::run(op.completion, ec, false);
    }
  }

 private:
  core::Fifo<Op> ops_;
};

}  // namespace quicreuse::detail
