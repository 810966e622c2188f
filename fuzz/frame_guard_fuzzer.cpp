// Fuzzes FrameReader and PeerFrameGuard (src/core/frame_reader.hpp, peer_frame_guard.hpp), which
// walk every decrypted 1-RTT payload before ngtcp2 parses it.
//
// The input's first byte chooses whether the guard runs as a client before its post-handshake
// transition; the rest is a sequence of payloads separated by 0xff 0xff (one guard sees them
// all, as one connection would). Properties: frames are contiguous, in bounds and cover the
// payload up to where the reader stops; the guard only ever rewrites whole NEW_CONNECTION_ID
// frames into zeros (PADDING) and never changes the payload's length.
#include "core/frame_reader.hpp"
#include "core/peer_frame_guard.hpp"
#include "fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace {

using quicreuse::core::FrameInfo;
using quicreuse::core::FrameReader;
using quicreuse::core::PeerFrameGuard;

std::vector<FrameInfo> walk(std::span<const std::uint8_t> payload) {
  FrameReader reader(payload);
  std::vector<FrameInfo> frames;
  FrameInfo f;
  std::size_t expected_begin = 0;
  while (reader.next(f)) {
    QUICREUSE_FUZZ_CHECK(f.begin == expected_begin);
    QUICREUSE_FUZZ_CHECK(f.end > f.begin && f.end <= payload.size());
    expected_begin = f.end;
    frames.push_back(f);
  }
  QUICREUSE_FUZZ_CHECK(reader.malformed() || expected_begin == payload.size());
  return frames;
}

void check_payload(PeerFrameGuard& guard, std::vector<std::uint8_t> payload, bool pending) {
  const std::vector<std::uint8_t> before = payload;
  const auto frames = walk(before);
  FrameReader reader(before);
  FrameInfo ignored;
  while (reader.next(ignored)) {
  }
  const auto neutralised = guard.frames_neutralised();
  const auto verdict = guard.inspect(payload, pending);
  // What the reader cannot walk to its end never reaches ngtcp2.
  QUICREUSE_FUZZ_CHECK(!reader.malformed() || verdict == PeerFrameGuard::Verdict::drop);
  QUICREUSE_FUZZ_CHECK(payload.size() == before.size());
  for (std::size_t i = 0; i < payload.size(); ++i) {
    if (payload[i] == before[i]) {
      continue;
    }
    // A changed byte is zero and lies in a NEW_CONNECTION_ID frame that is zero throughout.
    QUICREUSE_FUZZ_CHECK(payload[i] == 0);
    const auto it = std::find_if(frames.begin(), frames.end(),
                                 [&](const FrameInfo& f) { return f.begin <= i && i < f.end; });
    QUICREUSE_FUZZ_CHECK(it != frames.end() && it->type == quicreuse::core::kFrameNewConnectionId);
    QUICREUSE_FUZZ_CHECK(std::all_of(payload.begin() + static_cast<std::ptrdiff_t>(it->begin),
                                     payload.begin() + static_cast<std::ptrdiff_t>(it->end),
                                     [](std::uint8_t b) { return b == 0; }));
  }
  QUICREUSE_FUZZ_CHECK(guard.frames_neutralised() >= neutralised);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const bool pending = (data[0] & 1) != 0;
  PeerFrameGuard guard;
  std::vector<std::uint8_t> payload;
  for (std::size_t i = 1; i < size; ++i) {
    if (data[i] == 0xff && i + 1 < size && data[i + 1] == 0xff) {
      check_payload(guard, payload, pending);
      payload.clear();
      ++i;
      continue;
    }
    payload.push_back(data[i]);
  }
  check_payload(guard, payload, pending);
  return 0;
}
