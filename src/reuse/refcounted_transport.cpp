#include "reuse/refcounted_transport.hpp"

#include "reuse/transport_ref.hpp"

namespace quicreuse::detail {

RefcountedTransport::RefcountedTransport(BoundSocket socket, ReuseNow now,
                                         std::function<void()> borrow_done)
    : socket_(std::move(socket)),
      now_(std::move(now)),
      borrowed_(static_cast<bool>(borrow_done)),
      borrow_done_(std::move(borrow_done)) {}

void RefcountedTransport::increase_count() noexcept {
  ++ref_count_;
  unused_since_.reset();
}

void RefcountedTransport::decrease_count() {
  if (--ref_count_ != 0) {
    return;
  }
  unused_since_ = now_();
  if (on_unused_) {
    on_unused_();
  }
}

bool RefcountedTransport::should_garbage_collect(ReuseClock::time_point now,
                                                 ReuseClock::duration max_unused) const {
  return unused_since_.has_value() && *unused_since_ + max_unused < now;
}

void RefcountedTransport::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  if (borrowed_) {
    std::exchange(borrow_done_, {})();  // the owner gets its endpoint back; we never close it
    return;
  }
  if (socket_.endpoint) {
    socket_.endpoint->close();
  }
  if (socket_.on_close) {
    socket_.on_close();
  }
}

void RefcountedTransport::associate(const Association& association, std::uint64_t listener_id) {
  if (!association.is_null()) {
    associations_[association].insert(listener_id);
  }
}

void RefcountedTransport::remove_associations(std::uint64_t listener_id) {
  for (auto it = associations_.begin(); it != associations_.end();) {
    it->second.erase(listener_id);
    it = it->second.empty() ? associations_.erase(it) : std::next(it);
  }
}

bool RefcountedTransport::has_association(const Association& association) const {
  if (association.is_null()) {
    return true;
  }
  auto it = associations_.find(association);
  return it != associations_.end() && !it->second.empty();
}

// ---------------------------------------------------------------------------------------------
// TransportRef

TransportRef::TransportRef(std::shared_ptr<RefcountedTransport> transport) noexcept
    : transport_(std::move(transport)) {
  if (transport_) {
    transport_->increase_count();
  }
}

TransportRef::TransportRef(const TransportRef& other) noexcept : TransportRef(other.transport_) {}

TransportRef& TransportRef::operator=(const TransportRef& other) {
  if (this != &other) {
    *this = TransportRef(other);
  }
  return *this;
}

TransportRef& TransportRef::operator=(TransportRef&& other) noexcept {
  if (this != &other) {
    reset();
    transport_ = std::move(other.transport_);
  }
  return *this;
}

TransportRef::~TransportRef() {
  reset();
}

void TransportRef::reset() noexcept {
  // Cleared first: on_unused may close the socket, and must find this reference gone.
  if (auto transport = std::move(transport_)) {
    transport->decrease_count();
  }
}

}  // namespace quicreuse::detail
