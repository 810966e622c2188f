// qlog files: one <original DCID hex>_<client|server>.sqlog per connection (JSON-SEQ).
#pragma once

#include "core/connection.hpp"

#include <filesystem>

namespace quicreuse::detail {

// Returns a factory writing qlog files into dir (created with its parents if missing). Files that
// cannot be created are skipped: qlog never fails a connection.
core::QlogFactory file_qlog_factory(std::filesystem::path dir);

}  // namespace quicreuse::detail
