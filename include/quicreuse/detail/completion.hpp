// Completion: a type-erased, move-only Asio completion handler with its executor work.
//
// Asynchronous operations of quicreuse park the caller's handler in a Completion until the
// protocol state allows it to finish. complete() never invokes the handler inline: it posts it to
// the handler's associated executor (Asio's rule for operations that may finish at once), and it
// holds outstanding work on that executor while parked, so io_context::run() does not return
// under a pending operation.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include <functional>
#include <memory>
#include <tuple>
#include <utility>

namespace quicreuse::detail {

template <class... Args>
class Completion {
 public:
  Completion() = default;

  // Takes ownership of handler; io_executor is the I/O object's executor (used when the handler
  // has no associated executor of its own).
  template <class Handler>
  Completion(Handler&& handler, const asio::any_io_executor& io_executor)
      : impl_(std::make_unique<Impl<std::decay_t<Handler>>>(std::forward<Handler>(handler),
                                                            io_executor)) {}

  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;
  Completion(Completion&&) noexcept = default;
  Completion& operator=(Completion&&) noexcept = default;
  ~Completion() = default;

  // True while it holds a handler that has not been completed.
  explicit operator bool() const noexcept { return impl_ != nullptr; }

  // Posts the handler with args; afterwards *this is empty. Must hold a handler.
  void complete(Args... args) {
    auto impl = std::move(impl_);
    impl->complete(false, std::move(args)...);
  }

  // Like complete(), for use from inside the handler's own cancellation callback (the slot is
  // not cleared, since clearing it would destroy the running callback).
  void complete_cancelled(Args... args) {
    auto impl = std::move(impl_);
    impl->complete(true, std::move(args)...);
  }

  // If the handler has a connected cancellation slot, installs on_cancel there; on_cancel runs
  // when the operation is cancelled (per-operation cancellation, e.g. awaitable operator ||).
  // on_cancel must tolerate running after the operation completed (it is never removed by a
  // cancellation-path completion).
  void on_cancel(std::function<void()> on_cancel) {
    if (impl_) {
      impl_->on_cancel(std::move(on_cancel));
    }
  }

 private:
  struct Base {
    Base() = default;
    Base(const Base&) = delete;
    Base& operator=(const Base&) = delete;
    Base(Base&&) = delete;
    Base& operator=(Base&&) = delete;
    virtual ~Base() = default;
    virtual void complete(bool from_cancel, Args&&... args) = 0;
    virtual void on_cancel(std::function<void()> f) = 0;
  };

  template <class Handler>
  struct Impl final : Base {
    using Executor = asio::associated_executor_t<Handler, asio::any_io_executor>;

    Impl(Handler&& h, const asio::any_io_executor& io_executor)
        : handler(std::move(h)), work(asio::get_associated_executor(handler, io_executor)) {}

    void complete(bool from_cancel, Args&&... args) override {
      if (!from_cancel) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) {
          slot.clear();
        }
      }
      Executor executor = work.get_executor();
      asio::post(executor, [h = std::move(handler), w = std::move(work),
                            tuple = std::make_tuple(std::move(args)...)]() mutable {
        std::apply(std::move(h), std::move(tuple));
        (void)w;
      });
    }

    void on_cancel(std::function<void()> f) override {
      auto slot = asio::get_associated_cancellation_slot(handler);
      if (slot.is_connected()) {
        slot.assign([f = std::move(f)](asio::cancellation_type type) {
          if (type != asio::cancellation_type::none) {
            f();
          }
        });
      }
    }

    Handler handler;
    asio::executor_work_guard<Executor> work;
  };

  std::unique_ptr<Base> impl_;
};

}  // namespace quicreuse::detail
