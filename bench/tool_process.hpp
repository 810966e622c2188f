// Helpers for benchmarks that measure a running `quicreuse listen`: start it, read its port,
// read its resident set.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace quicreuse::bench {

// Returns the resident set of pid in bytes (0 when unreadable).
std::uint64_t rss_of(pid_t pid);

// Returns bytes in MiB.
double mib(std::uint64_t bytes);

// Starts `tool listen /ip4/127.0.0.1/udp/0/quic-v1` with its stdout on a pipe and sets pid and
// the bound port read from its "listening" line (waiting at most 10 s). The rest of its output
// (a line per connection) is drained by a detached thread. False if it could not be started or
// printed no port.
bool start_tool(const std::string& tool, pid_t& pid, std::uint16_t& port);

}  // namespace quicreuse::bench
