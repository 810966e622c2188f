// SourceIpSelector: which local IP the operating system would use to reach a destination.
#pragma once

#include <quicreuse/error.hpp>

#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>

#include <memory>

namespace quicreuse {

// SourceIpSelector answers the route lookup the ConnManager does before a dial, so that the dial
// leaves from a socket bound to the right specific IP (spec section 2.4). Implementations must be
// thread-safe: dials may run concurrently.
class SourceIpSelector {
 public:
  SourceIpSelector() = default;
  SourceIpSelector(const SourceIpSelector&) = delete;
  SourceIpSelector& operator=(const SourceIpSelector&) = delete;
  SourceIpSelector(SourceIpSelector&&) = delete;
  SourceIpSelector& operator=(SourceIpSelector&&) = delete;
  virtual ~SourceIpSelector() = default;

  // Returns the preferred source IP for destination. Errors mean "no preference": the dial then
  // goes without source-IP affinity (decision D6).
  virtual Result<asio::ip::address> preferred_source_ip(
      const asio::ip::udp::endpoint& destination) = 0;
};

// Returns the default selector: it asks the kernel by connecting an unbound UDP socket to the
// destination (nothing is sent) and reading the local address the route gave it.
std::shared_ptr<SourceIpSelector> make_kernel_source_ip_selector();

}  // namespace quicreuse
