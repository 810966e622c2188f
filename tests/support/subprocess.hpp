// Subprocess: runs a foreign program (always under coreutils `timeout`) with its output captured
// in a file, for interop tests. Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace quicreuse::test {

class Subprocess {
 public:
  // Starts `timeout -k 10 <limit> argv...` with stdout and stderr appended to one capture file.
  // terminate() signals `timeout` too, which then allows the program 10 s to exit before it
  // kills it: a clean shutdown on a loaded machine (a sanitizer's exit-time leak check included)
  // is not cut short, and a stuck one still ends.
  Subprocess(std::vector<std::string> argv, std::chrono::seconds limit);
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  Subprocess(Subprocess&&) = delete;
  Subprocess& operator=(Subprocess&&) = delete;
  // Kills the process group if still running, and reaps it.
  ~Subprocess();

  // True if the process started.
  [[nodiscard]] bool started() const { return pid_ > 0; }
  // Returns the exit code once the process has ended (non-blocking); 128+N for signal N.
  std::optional<int> poll();
  // Sends SIGTERM to the process group.
  void terminate();
  // Sends SIGKILL to the process group: the program gets no chance to say goodbye to its peers
  // (a crash, as far as they can tell).
  void kill();
  // Returns everything the process printed so far.
  [[nodiscard]] std::string output() const;
  // Returns the command line, for messages.
  [[nodiscard]] const std::string& command() const { return command_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string capture_path_;
  std::string command_;
};

// Returns true if path names an executable file.
bool is_executable(const std::string& path);
// Returns the first line of text that starts with prefix, without the prefix.
std::optional<std::string> find_line(const std::string& text, const std::string& prefix);

}  // namespace quicreuse::test
