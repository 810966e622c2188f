#include "reuse/refcounted_transport.hpp"

namespace quicreuse::detail {

RefcountedTransport::RefcountedTransport(std::shared_ptr<PooledTransport> transport,
                                         std::function<void()> borrow_done)
    : transport_(std::move(transport)),
      local_(transport_->local_endpoint()),
      borrowed_(static_cast<bool>(borrow_done)),
      borrow_done_(std::move(borrow_done)) {}

void RefcountedTransport::increase_count() {
  const std::lock_guard lock(mutex_);
  ++ref_count_;
  unused_since_.reset();
}

void RefcountedTransport::decrease_count(ReuseClock::time_point now) {
  const std::lock_guard lock(mutex_);
  --ref_count_;
  if (ref_count_ == 0) {
    unused_since_ = now;
  }
}

int RefcountedTransport::ref_count() const {
  const std::lock_guard lock(mutex_);
  return ref_count_;
}

bool RefcountedTransport::should_garbage_collect(ReuseClock::time_point now,
                                                 ReuseClock::duration max_unused) const {
  const std::lock_guard lock(mutex_);
  return unused_since_.has_value() && *unused_since_ + max_unused < now;
}

void RefcountedTransport::close() {
  std::function<void()> done;
  {
    const std::lock_guard lock(mutex_);
    if (closed_) {
      return;
    }
    closed_ = true;
    done = std::move(borrow_done_);
  }
  if (borrowed_) {
    if (done) {
      done();  // the owner gets its endpoint back; we never close it
    }
    return;
  }
  transport_->close();
}

bool RefcountedTransport::closed() const {
  const std::lock_guard lock(mutex_);
  return closed_;
}

void RefcountedTransport::associate(const Association& association, std::uint64_t listener_id) {
  if (association.is_null()) {
    return;
  }
  const std::lock_guard lock(mutex_);
  associations_[association].insert(listener_id);
}

void RefcountedTransport::remove_associations(std::uint64_t listener_id) {
  const std::lock_guard lock(mutex_);
  for (auto it = associations_.begin(); it != associations_.end();) {
    it->second.erase(listener_id);
    it = it->second.empty() ? associations_.erase(it) : std::next(it);
  }
}

bool RefcountedTransport::has_association(const Association& association) const {
  if (association.is_null()) {
    return true;
  }
  const std::lock_guard lock(mutex_);
  auto it = associations_.find(association);
  return it != associations_.end() && !it->second.empty();
}

}  // namespace quicreuse::detail
