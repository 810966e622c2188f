#include "reuse/confined.hpp"

#include <asio/detail/thread_context.hpp>
#include <asio/io_context.hpp>
#include <asio/strand.hpp>

namespace quicreuse::detail {
namespace {

using IoExecutor = asio::io_context::executor_type;
// The same executor once asio::require(outstanding_work.tracked) was applied to it.
using TrackedIoExecutor =
    decltype(asio::require(std::declval<IoExecutor>(), asio::execution::outstanding_work.tracked));

template <class... Executors>
bool asked(const asio::any_io_executor& executor, bool& known) noexcept {
  bool on = false;
  auto ask = [&](const auto* target) {
    if (target != nullptr) {
      known = true;
      on = target->running_in_this_thread();
    }
  };
  (ask(executor.target<Executors>()), ...);
  return on;
}

}  // namespace

bool running_on(const asio::any_io_executor& executor) noexcept {
  if (!executor) {
    return true;
  }
  bool known = false;
  const bool on =
      asked<IoExecutor, TrackedIoExecutor, asio::strand<IoExecutor>,
            asio::strand<TrackedIoExecutor>, asio::strand<asio::any_io_executor>>(executor, known);
  if (on || !known) {
    return true;
  }
  // Not on the executor: fine only from a thread outside every event loop.
  return asio::detail::thread_context::top_of_thread_call_stack() == nullptr;
}

}  // namespace quicreuse::detail
