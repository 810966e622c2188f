// post_application_turn: marks the end of the application's turn for an accept queue (library
// internal). Used by the endpoint's accept queue and by the ConnManager's per-protocol queues.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>

#include <memory>

namespace quicreuse::detail {

// Posts on_turn(*owner) to executor, behind the handlers already queued there (the accept
// completions posted so far): when it runs, the application has had its chance to take what
// was ready, so whatever is still queued has waited a turn. owner->*pending is set while one is
// posted, so a turn posts at most one. Does nothing once owner is gone.
template <class Owner, class OnTurn>
void post_application_turn(const asio::any_io_executor& executor,
                           const std::shared_ptr<Owner>& owner, bool Owner::*pending,
                           OnTurn on_turn) {
  if ((*owner).*pending) {
    return;
  }
  (*owner).*pending = true;
  asio::post(executor, [weak = std::weak_ptr<Owner>(owner), pending, on_turn] {
    if (auto self = weak.lock()) {
      (*self).*pending = false;
      on_turn(*self);
    }
  });
}

}  // namespace quicreuse::detail
