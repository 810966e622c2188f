#include "core/peer_frame_guard.hpp"

#include "core/frame_reader.hpp"

#include <algorithm>
#include <cstring>

namespace quicreuse::core {

PeerFrameGuard::Verdict PeerFrameGuard::inspect(std::span<std::uint8_t> payload,
                                                bool handshake_pending) {
  FrameInfo f;
  FrameReader check(payload);
  while (check.next(f)) {
    if (f.type == kFrameAckEcn) {
      peer_ecn_.ect0 = std::max(peer_ecn_.ect0, f.ect0);
      peer_ecn_.ect1 = std::max(peer_ecn_.ect1, f.ect1);
      peer_ecn_.ce = std::max(peer_ecn_.ce, f.ce);
    }
    if (handshake_pending && (f.type == kFrameHandshakeDone ||
                              (f.type == kFrameNewConnectionId && f.retire_prior_to > 0))) {
      ++dropped_;
      return Verdict::drop;
    }
  }
  if (check.malformed()) {
    // ngtcp2 rejects such a packet too (FRAME_ENCODING_ERROR); dropping it instead keeps any
    // frame the reader could not see away from ngtcp2, should the two ever disagree.
    ++dropped_;
    return Verdict::drop;
  }
  FrameReader reader(payload);
  while (reader.next(f)) {
    if (f.type != kFrameNewConnectionId) {
      continue;
    }
    if (f.retire_prior_to > retire_prior_to_) {
      // ngtcp2 retires everything below the new value itself, once.
      retire_prior_to_ = f.retire_prior_to;
      insert(f.seq);
    } else if (f.seq < retire_prior_to_ && (saturated_ || seen(f.seq))) {
      // Already retired: ngtcp2 would retire it again. Overwrite the frame with PADDING.
      std::memset(payload.data() + f.begin, 0, f.end - f.begin);
      ++neutralised_;
    } else {
      insert(f.seq);
    }
  }
  return Verdict::accept;
}

bool PeerFrameGuard::seen(std::uint64_t seq) const noexcept {
  auto it = std::upper_bound(seen_.begin(), seen_.end(), seq,
                             [](std::uint64_t v, const auto& r) { return v < r.first; });
  return it != seen_.begin() && std::prev(it)->second >= seq;
}

void PeerFrameGuard::insert(std::uint64_t seq) {
  if (seen(seq)) {
    return;
  }
  auto it = std::upper_bound(seen_.begin(), seen_.end(), seq,
                             [](std::uint64_t v, const auto& r) { return v < r.first; });
  const bool joins_previous = it != seen_.begin() && std::prev(it)->second + 1 == seq;
  const bool joins_next = it != seen_.end() && seq + 1 == it->first;
  if (joins_previous && joins_next) {
    std::prev(it)->second = it->second;
    seen_.erase(it);
  } else if (joins_previous) {
    std::prev(it)->second = seq;
  } else if (joins_next) {
    it->first = seq;
  } else if (seen_.size() < kMaxRanges) {
    seen_.insert(it, {seq, seq});
  } else {
    saturated_ = true;
  }
}

}  // namespace quicreuse::core
