// qlog files: one <original DCID hex>_<client|server>.sqlog per connection (JSON-SEQ); further
// connections with the same original DCID get "-2", "-3"... before ".sqlog", up to 16 in all.
#pragma once

#include "core/connection.hpp"

#include <filesystem>

namespace quicreuse::detail {

// Returns a factory writing qlog files into dir (created with its parents if missing). Files that
// cannot be created are skipped: qlog never fails a connection.
core::QlogFactory file_qlog_factory(std::filesystem::path dir);

}  // namespace quicreuse::detail
