// ConnManagerTestPeer: the tests' one way into a ConnManager's internal state. ConnManager
// befriends it; nothing in the library uses it.
#pragma once

#include "reuse/manager_state.hpp"

#include <quicreuse/conn_manager.hpp>

namespace quicreuse::detail {

struct ConnManagerTestPeer {
  // Returns the manager's internal state (owned by the manager; valid while it lives).
  static ManagerState& state(const ConnManager& manager) { return *manager.state_; }
};

// Shorthand for ConnManagerTestPeer::state.
inline ManagerState& manager_state(const ConnManager& manager) {
  return ConnManagerTestPeer::state(manager);
}

}  // namespace quicreuse::detail
