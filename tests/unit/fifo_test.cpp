#include "core/fifo.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace quicreuse::core {
namespace {

TEST(Fifo, KeepsOrderAcrossCompactions) {
  Fifo<int> q;
  EXPECT_TRUE(q.empty());
  int next_in = 0;
  int next_out = 0;
  // Interleave pushes and pops so that the popped prefix is dropped several times.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7; ++i) {
      q.push_back(next_in++);
    }
    for (int i = 0; i < 5; ++i) {
      ASSERT_FALSE(q.empty());
      EXPECT_EQ(q.front(), next_out++);
      q.pop_front();
    }
    EXPECT_EQ(q.size(), static_cast<std::size_t>(next_in - next_out));
  }
  while (!q.empty()) {
    EXPECT_EQ(q.front(), next_out++);
    q.pop_front();
  }
  EXPECT_EQ(next_out, next_in);
}

TEST(Fifo, PopReleasesTheElementAtOnce) {
  Fifo<std::shared_ptr<int>> q;
  auto first = std::make_shared<int>(1);
  auto second = std::make_shared<int>(2);
  q.push_back(first);
  q.push_back(second);
  q.pop_front();
  EXPECT_EQ(first.use_count(), 1);  // not kept alive in the popped prefix
  EXPECT_EQ(second.use_count(), 2);
  EXPECT_EQ(*q.front(), 2);
}

TEST(Fifo, EraseAndIterateVisitOnlyQueuedElements) {
  Fifo<int> q;
  for (int i = 0; i < 6; ++i) {
    q.emplace_back(i);
  }
  q.pop_front();
  q.pop_front();
  std::vector<int> seen(q.begin(), q.end());
  EXPECT_EQ(seen, (std::vector<int>{2, 3, 4, 5}));
  for (auto it = q.begin(); it != q.end();) {
    it = *it % 2 == 1 ? q.erase(it) : it + 1;
  }
  seen.assign(q.begin(), q.end());
  EXPECT_EQ(seen, (std::vector<int>{2, 4}));
  q.erase(q.begin());
  q.erase(q.begin());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.begin(), q.end());
  q.push_back(9);
  EXPECT_EQ(q.front(), 9);
}

}  // namespace
}  // namespace quicreuse::core
