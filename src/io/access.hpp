// Access builds the public handles (Connection, Stream, Listener, NonQuicPacketConn, ConnManager,
// DoneSignal) from their internal state. Those constructors are private and befriend only this
// struct, so no public constructor takes a detail:: type (library internal).
#pragma once

#include <memory>
#include <utility>

namespace quicreuse::detail {

struct Access {
  // Returns Handle(args...).
  template <class Handle, class... Args>
  static Handle make(Args&&... args) {
    return Handle(std::forward<Args>(args)...);
  }
  // Returns a new Handle(args...) owned by a unique_ptr.
  template <class Handle, class... Args>
  static std::unique_ptr<Handle> make_unique(Args&&... args) {
    return std::unique_ptr<Handle>(new Handle(std::forward<Args>(args)...));
  }
  // Returns a new Handle(args...) owned by a shared_ptr.
  template <class Handle, class... Args>
  static std::shared_ptr<Handle> make_shared(Args&&... args) {
    return std::shared_ptr<Handle>(new Handle(std::forward<Args>(args)...));
  }
};

}  // namespace quicreuse::detail
