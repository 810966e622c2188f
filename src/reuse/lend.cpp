// Lending application endpoints to the manager. Port of connmgr.go: LendTransport.
#include "io/access.hpp"
#include "reuse/address_key.hpp"
#include "reuse/last_error.hpp"
#include "reuse/manager_state.hpp"

#include <quicreuse/conn_manager.hpp>

#include <asio/post.hpp>

#include <mutex>

namespace quicreuse {

struct DoneSignal::State {
  // The one lock the reuse layer keeps: the manager fires the signal on its executor, while the
  // application that lent the endpoint may ask fired() or add callbacks from its own thread (the
  // endpoint's owner need not live on the manager's executor).
  std::mutex mutex;
  bool fired = false;
  std::vector<std::function<void()>> callbacks;
  asio::any_io_executor executor;  // the manager's: where callbacks run
};

bool DoneSignal::fired() const {
  const std::lock_guard lock(state_->mutex);
  return state_->fired;
}

void DoneSignal::on_fired(std::function<void()> callback) {
  {
    const std::lock_guard lock(state_->mutex);
    if (!state_->fired) {
      state_->callbacks.push_back(std::move(callback));
      return;
    }
  }
  asio::post(state_->executor, std::move(callback));
}

Result<DoneSignal> ConnManager::lend_transport(std::string_view network,
                                               std::shared_ptr<Endpoint> endpoint) {
  auto& s = *state_;
  s.assert_confined();
  if (auto open = s.ensure_open(); !open) {
    return fail(open.error());
  }
  if (!s.config.reuse) {
    // D10: the seed dereferences a null pool here.
    return detail::fail_with(errc::invalid_argument,
                             "cannot lend a transport: reuse is disabled (DisableReuseport)");
  }
  if (!endpoint || !endpoint->is_open()) {
    return detail::fail_with(errc::invalid_argument, "cannot lend a closed endpoint");
  }
  detail::Reuse* reuse = s.reuse_for(network);
  if (reuse == nullptr) {
    return detail::fail_with(errc::invalid_argument, "invalid network: " + std::string(network));
  }
  const asio::ip::udp::endpoint local = endpoint->local_endpoint();
  if (local.address().is_v4() != (network == "udp4")) {
    return detail::fail_with(errc::invalid_argument,
                             "the endpoint's address " + detail::address_key(local) +
                                 " is not of network " + std::string(network));
  }
  auto signal = std::make_shared<DoneSignal::State>();
  signal->executor = s.executor;
  auto fire = [signal] {
    std::vector<std::function<void()>> callbacks;
    {
      const std::lock_guard lock(signal->mutex);
      signal->fired = true;
      callbacks.swap(signal->callbacks);
    }
    for (auto& cb : callbacks) {
      asio::post(signal->executor, std::move(cb));
    }
  };
  // The manager's listeners and dials will run on the endpoint's executor.
  assert(endpoint->get_executor() == s.executor &&
         "a lent endpoint must use the manager's executor");
  auto transport = std::make_shared<detail::RefcountedTransport>(
      detail::BoundSocket{std::move(endpoint), local, {}}, detail::ReuseClock::now,
      std::move(fire));
  if (auto added = reuse->add_transport(transport); !added) {
    return detail::fail_with(
        added.error(), local.address().is_unspecified()
                           ? "already have a global dialer for port " + std::to_string(local.port())
                           : "lending a transport bound to a specific IP "
                             "is not supported");
  }
  return detail::Access::make<DoneSignal>(signal);
}

}  // namespace quicreuse
