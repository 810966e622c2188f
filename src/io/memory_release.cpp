#include "io/memory_release.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace quicreuse::detail {

bool release_free_memory() noexcept {
#if defined(__GLIBC__)
  return malloc_trim(0) != 0;
#else
  return false;
#endif
}

}  // namespace quicreuse::detail
