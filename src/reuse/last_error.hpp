// The ConnManager's one-line error explanations, read back with ConnManager::last_error()
// (library internal).
#pragma once

#include <quicreuse/error.hpp>

#include <string>
#include <system_error>

namespace quicreuse::detail {

// The thread's last ConnManager error text (ConnManager::last_error()).
extern thread_local std::string t_last_error;
// Sets the thread's last ConnManager error text and returns ec as a failure.
tl::unexpected<std::error_code> fail_with(std::error_code ec, std::string message);
tl::unexpected<std::error_code> fail_with(errc e, std::string message);

}  // namespace quicreuse::detail
