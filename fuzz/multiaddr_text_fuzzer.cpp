// Fuzzes Multiaddr::parse, the text form of multiaddrs (include/quicreuse/multiaddr.hpp), which
// reads user configuration and addresses learnt from peers. A rejected input must be explained in
// one line; an accepted one must satisfy every property of multiaddr_properties.hpp (its printed
// text and its bytes parse back to it, and so on).
//
// Input: the text, as is.
#include "fuzz_check.hpp"
#include "multiaddr_properties.hpp"

#include <quicreuse/multiaddr.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why(quicreuse::fuzz::kUntouched);
  const auto parsed = quicreuse::Multiaddr::parse(text, &why);
  quicreuse::fuzz::check_why(parsed, why);
  if (parsed) {
    quicreuse::fuzz::check_valid_multiaddr(*parsed);
  }
  return 0;
}
