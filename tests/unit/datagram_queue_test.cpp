#include "core/datagram_queue.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace quicreuse::core {
namespace {

std::vector<std::uint8_t> bytes(std::uint8_t v, std::size_t n = 3) {
  return std::vector<std::uint8_t>(n, v);
}

TEST(DatagramQueue, SendQueueIsBoundedAndKeepsOrder) {
  DatagramQueue q(2, 2);
  EXPECT_TRUE(q.push_outgoing(bytes(1)));
  EXPECT_TRUE(q.push_outgoing(bytes(2)));
  EXPECT_FALSE(q.push_outgoing(bytes(3)));  // full: refused, nothing dropped
  EXPECT_EQ(q.dropped(), 0U);
  EXPECT_EQ(q.next_outgoing(), bytes(1));
  EXPECT_EQ(q.next_outgoing_id(), 0U);
  q.outgoing_sent();
  EXPECT_EQ(q.next_outgoing(), bytes(2));
  EXPECT_EQ(q.next_outgoing_id(), 1U);
  EXPECT_TRUE(q.push_outgoing(bytes(3)));
}

TEST(DatagramQueue, ZeroLimitsCountAsOne) {
  DatagramQueue q(0, 0);
  EXPECT_TRUE(q.push_outgoing(bytes(1)));
  EXPECT_FALSE(q.push_outgoing(bytes(2)));
  q.push_received(bytes(1));
  q.push_received(bytes(2));
  EXPECT_EQ(q.pop_received(), bytes(2));
  EXPECT_EQ(q.pop_received(), std::nullopt);
  EXPECT_EQ(q.dropped(), 1U);
}

TEST(DatagramQueue, EmptyDatagramsAreQueued) {
  DatagramQueue q(4, 4);
  EXPECT_TRUE(q.push_outgoing({}));
  ASSERT_TRUE(q.has_outgoing());
  EXPECT_TRUE(q.next_outgoing().empty());
  q.push_received({});
  auto d = q.pop_received();
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->empty());
}

TEST(DatagramQueue, ADatagramIsDroppedAfterMissingThreePacketsInARow) {
  DatagramQueue q(4, 4);
  ASSERT_TRUE(q.push_outgoing(bytes(1)));
  ASSERT_TRUE(q.push_outgoing(bytes(2)));
  EXPECT_FALSE(q.outgoing_missed_packet());
  EXPECT_FALSE(q.outgoing_missed_packet());
  EXPECT_TRUE(q.outgoing_missed_packet());  // the third packet in a row without it
  EXPECT_EQ(q.dropped(), 1U);
  EXPECT_EQ(q.next_outgoing(), bytes(2));
  EXPECT_EQ(q.next_outgoing_id(), 0U);  // ids count datagrams sent, not dropped
}

TEST(DatagramQueue, TheMissCountStartsAgainForEachDatagram) {
  DatagramQueue q(4, 4);
  ASSERT_TRUE(q.push_outgoing(bytes(1)));
  ASSERT_TRUE(q.push_outgoing(bytes(2)));
  EXPECT_FALSE(q.outgoing_missed_packet());
  EXPECT_FALSE(q.outgoing_missed_packet());
  q.outgoing_sent();
  EXPECT_FALSE(q.outgoing_missed_packet());
  EXPECT_FALSE(q.outgoing_missed_packet());
  EXPECT_TRUE(q.has_outgoing());
  EXPECT_EQ(q.dropped(), 0U);
  q.drop_outgoing();
  EXPECT_FALSE(q.has_outgoing());
  EXPECT_EQ(q.dropped(), 1U);
}

TEST(DatagramQueue, AFullReceiveQueueDropsTheOldest) {
  DatagramQueue q(4, 2);
  q.push_received(bytes(1));
  q.push_received(bytes(2));
  q.push_received(bytes(3));
  EXPECT_EQ(q.dropped(), 1U);
  EXPECT_EQ(q.pop_received(), bytes(2));
  EXPECT_EQ(q.pop_received(), bytes(3));
  EXPECT_EQ(q.pop_received(), std::nullopt);
}

}  // namespace
}  // namespace quicreuse::core
