// The subcommands of the quicreuse tool; each takes the arguments after its name and returns the
// process exit code (output.hpp: kExitOk, kExitFailure, kExitUsage).
#pragma once

#include <span>
#include <string>

namespace quicreuse::tool {

int run_listen(std::span<const std::string> args);
int run_dial(std::span<const std::string> args);
int run_perf(std::span<const std::string> args);
int run_demo(std::span<const std::string> args);

}  // namespace quicreuse::tool
