#include "core/transport_limits.hpp"

#include <ngtcp2/ngtcp2.h>

#include <chrono>

namespace quicreuse::core {
namespace {

constexpr std::uint64_t kMaxStreams = std::uint64_t{1} << 60;
constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::hours(24 * 365);

bool valid_timeout(std::chrono::milliseconds t) noexcept {
  return t.count() >= 0 && t <= kMaxTimeout;
}

}  // namespace

bool valid_transport_config(const TransportConfig& c) noexcept {
  for (const std::uint64_t window : {c.initial_stream_window, c.max_stream_window,
                                     c.initial_connection_window, c.max_connection_window}) {
    if (window > NGTCP2_MAX_VARINT) {
      return false;
    }
  }
  return c.max_incoming_bidi_streams <= kMaxStreams && c.max_incoming_uni_streams <= kMaxStreams &&
         valid_timeout(c.keep_alive_period) && valid_timeout(c.handshake_idle_timeout) &&
         valid_timeout(c.max_idle_timeout) && c.stream_send_buffer > 0 &&
         c.connection_send_buffer > 0 && c.initial_rtt >= std::chrono::milliseconds(1) &&
         c.initial_rtt <= std::chrono::seconds(10);
}

}  // namespace quicreuse::core
