#include "subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace quicreuse::test {

Subprocess::Subprocess(std::vector<std::string> argv, std::chrono::seconds limit) {
  std::vector<std::string> full = {"timeout", "-k", "10", std::to_string(limit.count())};
  full.insert(full.end(), argv.begin(), argv.end());
  for (const auto& a : full) {
    command_ += (command_.empty() ? "" : " ") + a;
  }
  char tmpl[] = "/tmp/quicreuse-interop-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) {
    return;
  }
  capture_path_ = tmpl;
  std::vector<char*> args;
  for (auto& a : full) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  if (pid_ > 0) {
    ::setpgid(pid_, pid_);
  }
  ::close(fd);
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !status_) {
    ::kill(-pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (!capture_path_.empty()) {
    ::unlink(capture_path_.c_str());
  }
}

std::optional<int> Subprocess::poll() {
  if (status_ || pid_ <= 0) {
    return status_;
  }
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return status_;
}

void Subprocess::terminate() {
  if (pid_ > 0 && !status_) {
    ::kill(-pid_, SIGTERM);
  }
}

void Subprocess::kill() {
  if (pid_ > 0 && !status_) {
    ::kill(-pid_, SIGKILL);
  }
}

std::string Subprocess::output() const {
  std::ifstream in(capture_path_);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

std::optional<std::string> find_line(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      return line.substr(prefix.size());
    }
  }
  return std::nullopt;
}

}  // namespace quicreuse::test
