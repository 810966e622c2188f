// The default SourceIpSelector: the kernel's route choice (io/route_probe.hpp).
#include "io/route_probe.hpp"

#include <quicreuse/source_ip_selector.hpp>

namespace quicreuse {
namespace {

class KernelSourceIpSelector final : public SourceIpSelector {
 public:
  Result<asio::ip::address> preferred_source_ip(
      const asio::ip::udp::endpoint& destination) override {
    return detail::probe_route(destination);
  }
};

}  // namespace

std::shared_ptr<SourceIpSelector> make_kernel_source_ip_selector() {
  return std::make_shared<KernelSourceIpSelector>();
}

}  // namespace quicreuse
