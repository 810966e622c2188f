// Executor confinement: the ConnManager and every object under it (pools, listeners, leases,
// non-QUIC views) are touched from the manager's executor only, so they need no locks. These
// checks catch a call from elsewhere in debug builds (library internal).
#pragma once

#include <asio/any_io_executor.hpp>

#include <cassert>

namespace quicreuse::detail {

// Returns whether the calling thread may touch objects confined to executor: it runs a handler
// of executor (an io_context's executor or a strand over one), or it runs no Asio event loop at
// all (a program setting objects up before io_context::run(), or tearing them down after it
// returned). An executor of another kind cannot be asked, and is taken on trust.
[[nodiscard]] bool running_on(const asio::any_io_executor& executor) noexcept;

}  // namespace quicreuse::detail

// Asserts running_on(executor) in debug builds; compiles to nothing with NDEBUG.
#define QUICREUSE_ASSERT_CONFINED(executor) assert(::quicreuse::detail::running_on(executor))
