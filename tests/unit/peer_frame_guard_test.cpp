// FrameReader delimits frames; PeerFrameGuard keeps frame sequences that reach ngtcp2 0.12
// assertions away from it (pure functions on plaintext payloads).
#include "core/peer_frame_guard.hpp"

#include "core/frame_reader.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace quicreuse::core {
namespace {

void put_varint(std::vector<std::uint8_t>& out, std::uint16_t v) {
  if (v < 64) {
    out.push_back(static_cast<std::uint8_t>(v));
  } else {
    out.push_back(static_cast<std::uint8_t>(0x40 | (v >> 8)));
    out.push_back(static_cast<std::uint8_t>(v));
  }
}

std::vector<std::uint8_t> ncid(std::uint16_t seq, std::uint16_t retire_prior_to) {
  std::vector<std::uint8_t> f = {0x18};
  put_varint(f, seq);
  put_varint(f, retire_prior_to);
  f.push_back(8);
  f.resize(f.size() + 8 + 16, 0xab);
  return f;
}

std::vector<std::uint8_t> join(std::initializer_list<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

std::vector<FrameInfo> frames_of(std::span<const std::uint8_t> payload, bool* malformed = nullptr) {
  FrameReader reader(payload);
  std::vector<FrameInfo> out;
  FrameInfo f;
  while (reader.next(f)) {
    out.push_back(f);
  }
  if (malformed != nullptr) {
    *malformed = reader.malformed();
  }
  return out;
}

TEST(FrameReader, DelimitsEveryKindOfFrame) {
  const auto payload = join({
      {0x01},                                      // PING
      {0x00, 0x00, 0x00},                          // PADDING run
      {0x02, 0x05, 0x00, 0x01, 0x00, 0x01, 0x00},  // ACK with one more range
      {0x06, 0x00, 0x02, 'h', 'i'},                // CRYPTO
      {0x0a, 0x04, 0x03, 'a', 'b', 'c'},           // STREAM with length
      ncid(3, 1),
      {0x1e},                            // HANDSHAKE_DONE
      {0x31, 0x01, 'x'},                 // DATAGRAM with length
      {0x08, 0x00, 'r', 'e', 's', 't'},  // STREAM to the end
  });
  bool malformed = true;
  const auto frames = frames_of(payload, &malformed);
  EXPECT_FALSE(malformed);
  ASSERT_EQ(frames.size(), 9u);
  EXPECT_EQ(frames[5].type, kFrameNewConnectionId);
  EXPECT_EQ(frames[5].seq, 3u);
  EXPECT_EQ(frames[5].retire_prior_to, 1u);
  EXPECT_EQ(frames[6].type, kFrameHandshakeDone);
  EXPECT_EQ(frames.back().end, payload.size());
}

TEST(FrameReader, StopsAtUnknownOrTruncatedFramesWithoutReadingPastTheEnd) {
  bool malformed = false;
  EXPECT_TRUE(frames_of(std::vector<std::uint8_t>{0x01, 0x3f}, &malformed).size() == 1);
  EXPECT_TRUE(malformed);
  const auto n = ncid(1, 0);
  for (std::size_t cut = 1; cut < n.size(); ++cut) {
    EXPECT_TRUE(frames_of(std::span(n).first(cut), &malformed).empty()) << cut;
    EXPECT_TRUE(malformed);
  }
  // An ACK claiming more ranges than bytes left.
  EXPECT_TRUE(frames_of(std::vector<std::uint8_t>{0x02, 0, 0, 0x3f, 0}, &malformed).empty());
  EXPECT_TRUE(malformed);
}

TEST(FrameReader, ReadsFrameTypesAsNgtcp2Does) {
  // ngtcp2 0.12 reads one type byte and takes unknown types with the 0x08 bit for STREAM frames.
  const auto odd_stream = join({{0x2a, 0x04, 0x02, 'h', 'i'}, ncid(1, 0)});
  bool malformed = true;
  const auto frames = frames_of(odd_stream, &malformed);
  EXPECT_FALSE(malformed);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].end, 5u);
  EXPECT_EQ(frames[1].type, kFrameNewConnectionId);
  // A two-byte type encoding is not one ngtcp2 reads (0x40 has no 0x08 bit): malformed.
  EXPECT_TRUE(frames_of(std::vector<std::uint8_t>{0x40, 0x01}, &malformed).empty());
  EXPECT_TRUE(malformed);
}

TEST(PeerFrameGuard, FramesBehindAnUnusualStreamTypeAreStillScreened) {
  PeerFrameGuard guard;
  auto first = ncid(1, 0);
  auto raise = ncid(10, 10);
  (void)guard.inspect(first, false);
  (void)guard.inspect(raise, false);
  auto disguised = join({{0xfa, 0x04, 0x01, 'x'}, ncid(1, 0)});
  EXPECT_EQ(guard.inspect(disguised, false), PeerFrameGuard::Verdict::accept);
  EXPECT_EQ(guard.frames_neutralised(), 1u);
  auto done = join({{0x2a, 0x04, 0x01, 'x'}, {0x1e}});
  EXPECT_EQ(guard.inspect(done, true), PeerFrameGuard::Verdict::drop);
}

TEST(PeerFrameGuard, APayloadItCannotWalkIsDropped) {
  PeerFrameGuard guard;
  auto bad = join({{0x01}, {0x40, 0x18}, ncid(1, 0)});
  EXPECT_EQ(guard.inspect(bad, false), PeerFrameGuard::Verdict::drop);
  EXPECT_EQ(guard.packets_dropped(), 1u);
}

TEST(PeerFrameGuard, AnnouncingARetiredSequenceAgainIsTurnedIntoPadding) {
  PeerFrameGuard guard;
  auto first = join({ncid(1, 0), {0x01}});
  EXPECT_EQ(guard.inspect(first, false), PeerFrameGuard::Verdict::accept);
  auto raise = ncid(10, 10);
  EXPECT_EQ(guard.inspect(raise, false), PeerFrameGuard::Verdict::accept);
  EXPECT_EQ(guard.frames_neutralised(), 0u);
  // Sequence 1 was known and is now below Retire Prior To: ngtcp2 would retire it a second time.
  auto again = join({ncid(1, 0), {0x01}});
  EXPECT_EQ(guard.inspect(again, false), PeerFrameGuard::Verdict::accept);
  EXPECT_EQ(guard.frames_neutralised(), 1u);
  const auto frames = frames_of(again);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].type, kFramePadding);
  EXPECT_EQ(frames[1].type, 0x01u);  // the rest of the packet is untouched
  // Sequence 0 (the handshake's connection ID) counts as known from the start.
  auto zero = ncid(0, 0);
  EXPECT_EQ(guard.inspect(zero, false), PeerFrameGuard::Verdict::accept);
  EXPECT_EQ(guard.frames_neutralised(), 2u);
  // A sequence never seen below Retire Prior To is retired once by ngtcp2: left alone.
  auto fresh = ncid(5, 0);
  EXPECT_EQ(guard.inspect(fresh, false), PeerFrameGuard::Verdict::accept);
  EXPECT_EQ(guard.frames_neutralised(), 2u);
  auto fresh_again = ncid(5, 0);
  EXPECT_EQ(guard.inspect(fresh_again, false), PeerFrameGuard::Verdict::accept);
  EXPECT_EQ(guard.frames_neutralised(), 3u);
}

TEST(PeerFrameGuard, BeforeTheClientsTransitionHandshakeDoneAndRetiringCidsAreDropped) {
  PeerFrameGuard guard;
  auto done = join({{0x01}, {0x1e}});
  EXPECT_EQ(guard.inspect(done, true), PeerFrameGuard::Verdict::drop);
  auto retire = ncid(1, 1);
  EXPECT_EQ(guard.inspect(retire, true), PeerFrameGuard::Verdict::drop);
  auto harmless = ncid(1, 0);
  EXPECT_EQ(guard.inspect(harmless, true), PeerFrameGuard::Verdict::accept);
  EXPECT_EQ(guard.packets_dropped(), 2u);
  auto later = join({{0x1e}});
  EXPECT_EQ(guard.inspect(later, false), PeerFrameGuard::Verdict::accept);
}

TEST(PeerFrameGuard, ManySparseSequencesSaturateTowardsSafety) {
  PeerFrameGuard guard;
  // 100 disjoint ranges: more than the guard keeps. It then treats every sequence number below
  // Retire Prior To as already seen, even one it never saw: never a double retirement.
  for (std::uint16_t seq = 2; seq <= 200; seq += 2) {
    auto f = ncid(seq, 0);
    (void)guard.inspect(f, false);
  }
  auto raise = ncid(300, 300);
  (void)guard.inspect(raise, false);
  auto never_seen = ncid(251, 0);
  (void)guard.inspect(never_seen, false);
  EXPECT_EQ(guard.frames_neutralised(), 1u);
}

// ACK_ECN: largest 9, delay 0, no extra range, first range 2, then ECT(0), ECT(1), CE counts.
std::vector<std::uint8_t> ack_ecn(std::uint16_t ect0, std::uint16_t ect1, std::uint16_t ce) {
  std::vector<std::uint8_t> f = {0x03, 9, 0, 0, 2};
  put_varint(f, ect0);
  put_varint(f, ect1);
  put_varint(f, ce);
  return f;
}

TEST(FrameReader, ReadsTheEcnCountsOfAnAckFrame) {
  const auto payload = join({ack_ecn(300, 1, 7), {0x01}});
  const auto frames = frames_of(payload);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].type, kFrameAckEcn);
  EXPECT_EQ(frames[0].ect0, 300U);
  EXPECT_EQ(frames[0].ect1, 1U);
  EXPECT_EQ(frames[0].ce, 7U);
  EXPECT_EQ(frames[1].type, 0x01U);
}

TEST(PeerFrameGuard, KeepsTheHighestEcnCountsThePeerReported) {
  PeerFrameGuard guard;
  for (auto frame : {ack_ecn(10, 0, 2), ack_ecn(8, 0, 1), ack_ecn(12, 0, 2)}) {
    EXPECT_EQ(guard.inspect(frame, false), PeerFrameGuard::Verdict::accept);
  }
  EXPECT_EQ(guard.peer_ecn().ect0, 12U);  // a reordered, older ACK does not lower them
  EXPECT_EQ(guard.peer_ecn().ect1, 0U);
  EXPECT_EQ(guard.peer_ecn().ce, 2U);
}

}  // namespace
}  // namespace quicreuse::core
