#include "reuse/confined.hpp"

#include <asio/detail/thread_context.hpp>
#include <asio/io_context.hpp>
#include <asio/strand.hpp>

#include <type_traits>
#include <typeinfo>

namespace quicreuse::detail {
namespace {

using IoExecutor = asio::io_context::executor_type;
// The same executor once asio::require(outstanding_work.tracked) was applied to it.
using TrackedIoExecutor =
    decltype(asio::require(std::declval<IoExecutor>(), asio::execution::outstanding_work.tracked));

template <class... Executors>
bool asked(const asio::any_io_executor& executor, bool& known) noexcept {
  bool on = false;
  // Asio 1.22's any_executor::target() does not check the type, so compare it first.
  auto ask = [&](const auto* tag) {
    using Executor = std::remove_const_t<std::remove_pointer_t<decltype(tag)>>;
    if (!known && executor.target_type() == typeid(Executor)) {
      known = true;
      on = executor.target<Executor>()->running_in_this_thread();
    }
  };
  (ask(static_cast<const Executors*>(nullptr)), ...);
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
