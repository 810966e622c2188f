// Returning freed heap memory to the system after bursts of connections.
//
// A burst (a handshake flood, thousands of short connections) leaves glibc's heap full of freed
// chunks that RSS keeps counting: glibc returns memory only from the top of the heap. After many
// connections went away, the driver asks glibc to give back every free page (malloc_trim), at
// most once a second. A no-op with other C libraries.
#pragma once

#include <cstddef>

namespace quicreuse::detail {

// Connections removed since the last release before it is worth walking the heap.
inline constexpr std::size_t kRemovalsBeforeRelease = 64;

// Returns free heap pages to the system; true when anything was released.
bool release_free_memory() noexcept;

}  // namespace quicreuse::detail
