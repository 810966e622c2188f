#include "core/ngtcp2_memory.hpp"

#include <atomic>

namespace quicreuse::core {
namespace {

std::atomic<const ngtcp2_mem*> g_allocator{nullptr};

}  // namespace

const ngtcp2_mem* ngtcp2_allocator() noexcept {
  return g_allocator.load(std::memory_order_acquire);
}

void set_ngtcp2_allocator(const ngtcp2_mem* mem) noexcept {
  g_allocator.store(mem, std::memory_order_release);
}

}  // namespace quicreuse::core
