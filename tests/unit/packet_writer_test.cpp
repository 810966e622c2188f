#include "core/packet_writer.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace quicreuse::core {
namespace {

struct Sent {
  SocketAddress remote;
  std::vector<std::uint8_t> data;
  std::size_t segment;
  PathInfo path;
};

class RecordingSink : public PacketSink {
 public:
  void send(const SocketAddress& remote, std::span<const std::uint8_t> data,
            std::size_t segment_size, const PathInfo& path) override {
    sent.push_back({remote, {data.begin(), data.end()}, segment_size, path});
  }
  std::vector<Sent> sent;
};

SocketAddress v4(std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
}

// Writes a packet of n bytes of value fill at the writer's next position and adds it.
bool put(PacketWriter& w, std::size_t n, std::uint8_t fill, const SocketAddress& to,
         const PathInfo& from = {}) {
  std::memset(w.next(), fill, n);
  return w.add(n, to, from);
}

struct Fixture {
  RecordingSink sink;
  std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(8 * 1500);
  std::uint64_t bytes = 0;
  std::uint64_t ect0 = 0;
};

TEST(PacketWriter, SameSizedPacketsToOnePeerFormOneBatch) {
  Fixture f;
  PacketWriter w(f.sink, f.buffer, {8, 1500}, {f.bytes, f.ect0});
  EXPECT_TRUE(put(w, 1200, 1, v4(1)));
  EXPECT_TRUE(put(w, 1200, 2, v4(1)));
  EXPECT_TRUE(put(w, 1200, 3, v4(1)));
  EXPECT_TRUE(f.sink.sent.empty());  // nothing leaves before the flush
  w.flush();
  ASSERT_EQ(f.sink.sent.size(), 1U);
  EXPECT_EQ(f.sink.sent[0].data.size(), 3600U);
  EXPECT_EQ(f.sink.sent[0].segment, 1200U);
  EXPECT_EQ(f.sink.sent[0].data[1200], 2);
  EXPECT_EQ(f.bytes, 3600U);
  EXPECT_EQ(w.packets(), 3U);
}

TEST(PacketWriter, AShortPacketEndsTheBatch) {
  Fixture f;
  PacketWriter w(f.sink, f.buffer, {8, 1500}, {f.bytes, f.ect0});
  put(w, 1200, 1, v4(1));
  put(w, 300, 2, v4(1));
  ASSERT_EQ(f.sink.sent.size(), 1U);
  EXPECT_EQ(f.sink.sent[0].data.size(), 1500U);
  EXPECT_EQ(f.sink.sent[0].segment, 1200U);
}

TEST(PacketWriter, APacketThatCannotJoinStartsANewBatchAtTheFront) {
  Fixture f;
  PacketWriter w(f.sink, f.buffer, {8, 1500}, {f.bytes, f.ect0});
  put(w, 1000, 1, v4(1));
  put(w, 1000, 2, v4(2));  // another peer
  ASSERT_EQ(f.sink.sent.size(), 1U);
  EXPECT_EQ(f.sink.sent[0].remote, v4(1));
  put(w, 1200, 3, v4(2));  // larger than the batch's segment
  ASSERT_EQ(f.sink.sent.size(), 2U);
  EXPECT_EQ(f.sink.sent[1].data, std::vector<std::uint8_t>(1000, 2));
  put(w, 1200, 4, v4(2), PathInfo{{}, 2});  // another ECN mark
  w.flush();
  ASSERT_EQ(f.sink.sent.size(), 4U);
  EXPECT_EQ(f.sink.sent[2].data, std::vector<std::uint8_t>(1200, 3));
  EXPECT_EQ(f.sink.sent[3].data, std::vector<std::uint8_t>(1200, 4));
  EXPECT_EQ(f.sink.sent[3].path.ecn, 2);
  EXPECT_EQ(f.ect0, 1U);  // ECT(0) is codepoint 2
}

TEST(PacketWriter, AProbeLargerThanThePathBatchesOnlyWithItsOwnSize) {
  Fixture f;
  PacketWriter w(f.sink, f.buffer, {8, 1200}, {f.bytes, f.ect0});
  put(w, 1400, 1, v4(1));
  put(w, 1000, 2, v4(1));  // would fit under the segment, but the segment exceeds the path
  w.flush();
  ASSERT_EQ(f.sink.sent.size(), 2U);
  EXPECT_EQ(f.sink.sent[0].data.size(), 1400U);
}

TEST(PacketWriter, TheBatchLimitStopsTheWrite) {
  Fixture f;
  PacketWriter w(f.sink, f.buffer, {3, 1500}, {f.bytes, f.ect0});
  EXPECT_TRUE(put(w, 1000, 1, v4(1)));
  EXPECT_TRUE(put(w, 1000, 1, v4(1)));
  EXPECT_FALSE(put(w, 1000, 1, v4(1)));  // the third packet reaches the limit
  ASSERT_EQ(f.sink.sent.size(), 1U);     // and sends the full batch
  EXPECT_EQ(f.sink.sent[0].data.size(), 3000U);
}

TEST(PacketWriter, ALimitOfZeroCountsAsOne) {
  Fixture f;
  PacketWriter w(f.sink, f.buffer, {0, 1500}, {f.bytes, f.ect0});
  EXPECT_FALSE(put(w, 1000, 1, v4(1)));
  EXPECT_EQ(f.sink.sent.size(), 1U);
}

TEST(PacketWriter, CopiesAreSentWhileWithinTheCopyLimit) {
  Fixture f;
  f.bytes = 1000;  // already sent in this connection
  PacketWriter w(f.sink, f.buffer, {8, 1500}, {f.bytes, f.ect0}, 5000);
  put(w, 1200, 1, v4(1), PathInfo{{}, 2});
  put(w, 600, 1, v4(1), PathInfo{{}, 2});  // ends the first batch of 1800 bytes: with its
                                           // copy, 1000 + 3600 stays within 5000
  put(w, 800, 1, v4(1), PathInfo{{}, 2});
  w.flush();  // 4600 + 800 sent; a copy would reach 6200
  ASSERT_EQ(f.sink.sent.size(), 3U);
  EXPECT_EQ(f.sink.sent[0].data, f.sink.sent[1].data);
  EXPECT_EQ(f.bytes, 1000U + 3600U + 800U);
  EXPECT_EQ(f.ect0, 5U);  // three packets, and the two copied
}

}  // namespace
}  // namespace quicreuse::core
