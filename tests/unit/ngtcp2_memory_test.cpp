#include "core/ngtcp2_memory.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

namespace quicreuse::core {
namespace {

const ngtcp2_mem& mem() {
  return *default_ngtcp2_allocator();
}

TEST(Ngtcp2Memory, PageSizedBlocksAreRecycledOnTheSameThread) {
  void* p = mem().malloc(10'000, nullptr);
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xab, 10'000);
  mem().free(p, nullptr);
  void* q = mem().malloc(9'990, nullptr);  // a close fit takes the cached block
  EXPECT_EQ(q, p);
  mem().free(q, nullptr);
  // calloc from the cache is zeroed like any calloc.
  auto* z = static_cast<unsigned char*>(mem().calloc(1, 10'000, nullptr));
  ASSERT_EQ(static_cast<void*>(z), p);
  EXPECT_TRUE(std::all_of(z, z + 10'000, [](unsigned char c) { return c == 0; }));
  // A grown block is an ordinary malloc'd block.
  void* r = mem().realloc(z, 30'000, nullptr);
  ASSERT_NE(r, nullptr);
  mem().free(r, nullptr);
  // Small blocks are plain malloc.
  void* s = mem().malloc(100, nullptr);
  ASSERT_NE(s, nullptr);
  mem().free(s, nullptr);
}

TEST(Ngtcp2Memory, FreshBlocksAreUsableAcrossTheirWholeSize) {
  std::vector<unsigned char*> blocks;
  for (std::size_t size : {4'096u, 8'200u, 12'176u, 70'000u}) {
    auto* p = static_cast<unsigned char*>(mem().malloc(size, nullptr));
    ASSERT_NE(p, nullptr);
    std::memset(p, 0x5a, size);
    EXPECT_EQ(p[0], 0x5a);
    EXPECT_EQ(p[size - 1], 0x5a);
    blocks.push_back(p);
  }
  for (auto* p : blocks) {
    mem().free(p, nullptr);
  }
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST(Ngtcp2Memory, AThreadsCachedBlocksAreFreedWhenItEnds) {
  const std::size_t before = mallinfo2().uordblks + mallinfo2().hblkhd;
  std::thread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 16; ++i) {
      blocks.push_back(mem().malloc(20'000, nullptr));
    }
    for (void* p : blocks) {
      mem().free(p, nullptr);  // kept in this thread's cache
    }
  }).join();
  const std::size_t after = mallinfo2().uordblks + mallinfo2().hblkhd;
  EXPECT_LT(after, before + 16 * 20'000 / 4);
}
#endif

}  // namespace
}  // namespace quicreuse::core
