// TransportRef: the one way to hold a reference on a pooled socket (library internal). The C++
// form of go-libp2p's IncreaseCount/DecreaseCount pairs: a reference exists exactly as long as a
// TransportRef holds it, so none can leak or be dropped twice.
#pragma once

#include "reuse/refcounted_transport.hpp"

#include <memory>

namespace quicreuse::detail {

// TransportRef counts as one reference on a RefcountedTransport while it is non-empty. Copying
// takes another reference; moving hands this one over (the source becomes empty); destruction,
// reset() and assignment drop it. The last one going stamps the transport "unused since" and
// runs its on_unused action. Confined to the manager's executor, like the transport.
class TransportRef {
 public:
  TransportRef() = default;
  // Takes a reference on transport (null: an empty TransportRef).
  explicit TransportRef(std::shared_ptr<RefcountedTransport> transport) noexcept;
  TransportRef(const TransportRef& other) noexcept;
  TransportRef& operator=(const TransportRef& other);
  TransportRef(TransportRef&& other) noexcept = default;
  TransportRef& operator=(TransportRef&& other) noexcept;
  ~TransportRef();

  // Drops the reference now (nothing when empty).
  void reset() noexcept;

  [[nodiscard]] RefcountedTransport* get() const noexcept { return transport_.get(); }
  [[nodiscard]] RefcountedTransport* operator->() const noexcept { return transport_.get(); }
  [[nodiscard]] RefcountedTransport& operator*() const noexcept { return *transport_; }
  // Returns the transport itself (to pool it, or to take a new reference later).
  [[nodiscard]] const std::shared_ptr<RefcountedTransport>& transport() const noexcept {
    return transport_;
  }
  [[nodiscard]] explicit operator bool() const noexcept { return transport_ != nullptr; }
  // Two references are equal when they refer to the same socket.
  friend bool operator==(const TransportRef& a, const TransportRef& b) noexcept {
    return a.transport_ == b.transport_;
  }

 private:
  std::shared_ptr<RefcountedTransport> transport_;
};

}  // namespace quicreuse::detail
