// The ConnManager's metrics collector (library internal).
#pragma once

#include <quicreuse/metrics.hpp>

namespace quicreuse::detail {

struct ManagerState;

// Writes the manager's metrics (pools, references, every endpoint's counters). Runs on the
// manager's executor (or while no event loop runs), like every access to its state.
void collect_manager_metrics(ManagerState& state, MetricsWriter& writer);

}  // namespace quicreuse::detail
