// PeerFrameGuard: inspects every decrypted 1-RTT payload of a connection before ngtcp2 0.12 acts
// on it, and keeps away frame sequences that reach ngtcp2 0.12 assertions (Debian builds it with
// assertions on, so each of them would let a peer abort the process):
//
// - NEW_CONNECTION_ID for a sequence number already retired (a frame that arrives, or arrives
//   again, after a Retire Prior To above it): ngtcp2 retires it a second time and aborts in
//   ngtcp2_conn_track_retired_dcid_seq (fixed upstream in 1.4.0). RFC 9000 19.15 says such a frame
//   needs no new RETIRE_CONNECTION_ID when one was sent already, so the guard overwrites the frame
//   with PADDING: the rest of the packet is processed and acknowledged as usual.
// - On a client, between the end of its TLS handshake and its next write (ngtcp2 finishes the
//   handshake there): a HANDSHAKE_DONE frees state that write still needs, and a
//   NEW_CONNECTION_ID that retires the first connection ID breaks an assertion of that write. The
//   guard drops such packets (as if they failed to decrypt); the peer retransmits their frames,
//   which arrive after the transition. A well-behaved server cannot send HANDSHAKE_DONE that early
//   anyway.
// - A payload the guard cannot walk to its end is dropped (ngtcp2 would reject it as well).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace quicreuse::core {

class PeerFrameGuard {
 public:
  enum class Verdict { accept, drop };

  // The peer's connection ID sequence numbers already known: 0 is the handshake's connection ID.
  PeerFrameGuard() { seen_.emplace_back(0, 0); }

  // Inspects payload (the plaintext of a 1-RTT packet); may overwrite frames with PADDING.
  // handshake_pending is true on a client that has not made its post-handshake transition yet.
  Verdict inspect(std::span<std::uint8_t> payload, bool handshake_pending);

  // Records a sequence number the peer gave in its transport parameters (preferred_address: 1).
  void note_sequence(std::uint64_t seq) { insert(seq); }

  // EcnCounts are the ECN counts of an ACK frame (RFC 9000 19.3.2).
  struct EcnCounts {
    std::uint64_t ect0 = 0;
    std::uint64_t ect1 = 0;
    std::uint64_t ce = 0;
  };
  // Returns the highest ECN counts the peer reported in the 1-RTT ACK frames seen so far (ngtcp2
  // 0.12 validates ECN with them but does not expose them).
  [[nodiscard]] const EcnCounts& peer_ecn() const noexcept { return peer_ecn_; }

  // Frames the guard overwrote and packets it dropped (for statistics and tests).
  [[nodiscard]] std::uint64_t frames_neutralised() const noexcept { return neutralised_; }
  [[nodiscard]] std::uint64_t packets_dropped() const noexcept { return dropped_; }

 private:
  // Sequence numbers seen are kept as ranges; past this many ranges, every sequence number below
  // the highest Retire Prior To is treated as seen (the safe direction).
  static constexpr std::size_t kMaxRanges = 64;

  [[nodiscard]] bool seen(std::uint64_t seq) const noexcept;
  void insert(std::uint64_t seq);

  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen_;  // sorted, disjoint, inclusive
  bool saturated_ = false;
  std::uint64_t retire_prior_to_ = 0;
  std::uint64_t neutralised_ = 0;
  std::uint64_t dropped_ = 0;
  EcnCounts peer_ecn_;
};

}  // namespace quicreuse::core
