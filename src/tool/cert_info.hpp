// Reading a peer certificate for display (the library exposes DER bytes only).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace quicreuse::tool {

// Returns the subject common name of a DER certificate, or "?" when it cannot be parsed.
std::string certificate_common_name(const std::vector<std::uint8_t>& der);

}  // namespace quicreuse::tool
