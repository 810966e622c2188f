// TurnQueue: the "waited a turn" count shared by the endpoint's accept queue and the
// ConnManager's per-protocol queues.
#include "core/turn_queue.hpp"

#include <gtest/gtest.h>

namespace quicreuse::core {
namespace {

TEST(TurnQueue, OnlyEntriesQueuedAtTheLastTurnHaveWaited) {
  TurnQueue<int> q;
  q.push(1);
  q.push(2);
  EXPECT_EQ(q.waited(), 0u);  // a burst the application has not seen yet
  q.application_turn();
  EXPECT_EQ(q.waited(), 2u);
  q.push(3);
  EXPECT_EQ(q.waited(), 2u);  // the newcomer has not waited
  EXPECT_EQ(q.pop(), 1);      // the oldest are the ones that waited
  EXPECT_EQ(q.waited(), 1u);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.waited(), 0u);
  EXPECT_EQ(q.pop(), 3);
  EXPECT_TRUE(q.empty());
}

TEST(TurnQueue, ErasingKeepsTheCountOfThoseThatWaited) {
  TurnQueue<int> q;
  for (int i = 0; i < 4; ++i) {
    q.push(i);
  }
  q.application_turn();
  q.push(4);
  q.push(5);
  q.erase_if([](int v) { return v == 1 || v == 5; });  // one that waited, one that did not
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(q.waited(), 3u);
  q.clear();
  EXPECT_EQ(q.waited(), 0u);
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace quicreuse::core
