// Fuzzes Multiaddr::from_bytes, the binary form of multiaddrs (include/quicreuse/multiaddr.hpp),
// as peers send it. Varints must be minimal, so an accepted input has exactly one encoding: its
// to_bytes() must be the input itself. It must also satisfy every property of
// multiaddr_properties.hpp.
//
// Input: the bytes, as is.
#include "fuzz_check.hpp"
#include "multiaddr_properties.hpp"

#include <quicreuse/multiaddr.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  std::string why(quicreuse::fuzz::kUntouched);
  const auto decoded = quicreuse::Multiaddr::from_bytes(bytes, &why);
  quicreuse::fuzz::check_why(decoded, why);
  if (decoded) {
    QUICREUSE_FUZZ_CHECK(std::equal(bytes.begin(), bytes.end(), decoded->to_bytes().begin(),
                                    decoded->to_bytes().end()));
    quicreuse::fuzz::check_valid_multiaddr(*decoded);
  }
  return 0;
}
