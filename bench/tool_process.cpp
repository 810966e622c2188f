#include "tool_process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace quicreuse::bench {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Returns the resident set of pid in bytes (0 when unreadable).
std::uint64_t rss_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;
    }
  }
  return 0;
}

double mib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

// Starts `tool listen /ip4/127.0.0.1/udp/0/quic-v1` with its stdout on a pipe; returns the pid
// and the bound port read from its "listening" line.
bool start_tool(const std::string& tool, pid_t& pid, std::uint16_t& port) {
  int fds[2];
  if (pipe(fds) != 0) {
    return false;
  }
  pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(tool.c_str(), tool.c_str(), "listen", "/ip4/127.0.0.1/udp/0/quic-v1",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string text;
  char buf[256];
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline && text.find('\n') == std::string::npos) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  // Keep draining the tool's output in the background (it prints a line per connection).
  std::thread([fd = fds[0]] {
    char sink[4096];
    while (read(fd, sink, sizeof sink) > 0) {
    }
    close(fd);
  }).detach();
  const auto at = text.find("/udp/");
  if (at == std::string::npos) {
    return false;
  }
  port = static_cast<std::uint16_t>(std::stoul(text.substr(at + 5)));
  return true;
}

}  // namespace quicreuse::bench
