// Limits on TransportConfig values: ngtcp2 asserts that windows and stream counts fit the QUIC
// variable-length integer encoding, and timeouts are converted to nanoseconds.
#pragma once

#include <quicreuse/transport_config.hpp>

namespace quicreuse::core {

// Returns true when every value of config can be encoded and converted: flow-control windows
// below 2^62, stream limits at most 2^60 (RFC 9000 4.6), timeouts between 0 and one year, send
// buffers of at least one byte.
[[nodiscard]] bool valid_transport_config(const TransportConfig& config) noexcept;

}  // namespace quicreuse::core
