#include "core/ngtcp2_memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace quicreuse::core {
namespace {

std::atomic<const ngtcp2_mem*> g_allocator{nullptr};

// Blocks of at least a page are recycled per thread, in kClasses size classes (ngtcp2 asks for a
// handful of sizes) of at most kPerClass blocks each.
constexpr std::size_t kClasses = 8;
constexpr std::size_t kPerClass = 16;
// A cached block serves a request up to this many bytes smaller than the block.
constexpr std::size_t kFitSlack = 64;

std::size_t page_size() noexcept {
  static const auto size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// Discards the whole pages inside [p, p + size) (malloc's bookkeeping lies outside an allocated
// block, so only contents nobody has written yet are lost). Best effort: on failure the pages
// merely stay resident.
void discard_inner_pages(void* p, std::size_t size) noexcept {
  const std::uintptr_t page = page_size();
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t first = (begin + page - 1) & ~(page - 1);
  const std::uintptr_t last = (begin + size) & ~(page - 1);
  if (last > first) {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): page arithmetic on the block address
    (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }
}

// The calling thread's recycled blocks. Trivially destructible, so that it stays usable while
// other thread-local objects are destroyed; Reaper frees its blocks when the thread ends.
struct BlockCache {
  struct SizeClass {
    std::size_t usable = 0;  // malloc_usable_size of its blocks; 0 while unused
    std::size_t count = 0;
    std::array<void*, kPerClass> blocks{};
  };
  std::array<SizeClass, kClasses> classes;
  bool closed = false;  // the thread is ending: no more caching
};
constinit thread_local BlockCache t_cache{};

struct Reaper {
  Reaper() = default;
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;
  Reaper(Reaper&&) = delete;
  Reaper& operator=(Reaper&&) = delete;
  ~Reaper() {
    t_cache.closed = true;
    for (auto& c : t_cache.classes) {
      for (std::size_t i = 0; i < c.count; ++i) {
        std::free(c.blocks[i]);  // NOLINT(cppcoreguidelines-no-malloc)
      }
      c.count = 0;
    }
  }
};
thread_local Reaper t_reaper;

void* take_cached(std::size_t size) noexcept {
  for (auto& c : t_cache.classes) {
    if (c.count > 0 && c.usable >= size && c.usable - size < kFitSlack) {
      return c.blocks[--c.count];
    }
  }
  return nullptr;
}

// Keeps ptr (of usable size) for reuse; false when there is no room.
bool cache(void* ptr, std::size_t usable) noexcept {
  if (t_cache.closed) {
    return false;
  }
  BlockCache::SizeClass* unused = nullptr;
  for (auto& c : t_cache.classes) {
    if (c.usable == usable) {
      if (c.count == kPerClass) {
        return false;
      }
      c.blocks[c.count++] = ptr;
      return true;
    }
    if (c.usable == 0 && unused == nullptr) {
      unused = &c;
    }
  }
  if (unused == nullptr) {
    return false;
  }
  (void)&t_reaper;  // frees the cache at thread exit
  unused->usable = usable;
  unused->blocks[unused->count++] = ptr;
  return true;
}

void* recycling_malloc(std::size_t size, void* /*user_data*/) {
  if (size < page_size()) {
    return std::malloc(size);  // NOLINT(cppcoreguidelines-no-malloc)
  }
  if (void* p = take_cached(size); p != nullptr) {
    return p;
  }
  void* p = std::malloc(size);  // NOLINT(cppcoreguidelines-no-malloc)
  if (p != nullptr) {
    discard_inner_pages(p, malloc_usable_size(p));
  }
  return p;
}

void recycling_free(void* ptr, void* /*user_data*/) {
  if (ptr == nullptr) {
    return;
  }
  const std::size_t usable = malloc_usable_size(ptr);
  if (usable < page_size() || !cache(ptr, usable)) {
    std::free(ptr);  // NOLINT(cppcoreguidelines-no-malloc)
  }
}

void* recycling_calloc(std::size_t nmemb, std::size_t size, void* /*user_data*/) {
  if (size != 0 && nmemb <= SIZE_MAX / size && nmemb * size >= page_size()) {
    if (void* p = take_cached(nmemb * size); p != nullptr) {
      std::memset(p, 0, nmemb * size);
      return p;
    }
  }
  return std::calloc(nmemb, size);  // NOLINT(cppcoreguidelines-no-malloc)
}

void* plain_realloc(void* ptr, std::size_t size, void* /*user_data*/) {
  return std::realloc(ptr, size);  // NOLINT(cppcoreguidelines-no-malloc)
}

constexpr ngtcp2_mem kDefault{nullptr, recycling_malloc, recycling_free, recycling_calloc,
                              plain_realloc};

}  // namespace

const ngtcp2_mem* default_ngtcp2_allocator() noexcept {
  return &kDefault;
}

const ngtcp2_mem* ngtcp2_allocator() noexcept {
  const ngtcp2_mem* mem = g_allocator.load(std::memory_order_acquire);
  return mem != nullptr ? mem : &kDefault;
}

void set_ngtcp2_allocator(const ngtcp2_mem* mem) noexcept {
  g_allocator.store(mem, std::memory_order_release);
}

}  // namespace quicreuse::core
