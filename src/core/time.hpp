// Time in the sans-IO core: callers pass timestamps in, the core never reads a clock.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <chrono>
#include <cstdint>
#include <limits>

namespace quicreuse::core {

// Timestamp is a point on a monotonic clock in nanoseconds (steady_clock in production, a virtual
// clock in the simulator).
using Duration = std::chrono::nanoseconds;
using Timestamp = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// Returns the ngtcp2 timestamp for t.
constexpr ngtcp2_tstamp to_ngtcp2(Timestamp t) noexcept {
  return static_cast<ngtcp2_tstamp>(t.time_since_epoch().count());
}

// Returns the Timestamp for an ngtcp2 timestamp; UINT64_MAX ("no expiry") maps to Timestamp::max().
constexpr Timestamp from_ngtcp2(ngtcp2_tstamp t) noexcept {
  if (t >= static_cast<ngtcp2_tstamp>(std::numeric_limits<Duration::rep>::max())) {
    return Timestamp::max();
  }
  return Timestamp(Duration(static_cast<Duration::rep>(t)));
}

// Returns the ngtcp2 duration for d (nanoseconds).
constexpr ngtcp2_duration to_ngtcp2(Duration d) noexcept {
  return static_cast<ngtcp2_duration>(d.count());
}

}  // namespace quicreuse::core
