// The tool under a reader that does not read its stdout, and its STUN rate limit (real sockets on
// 127.0.0.0/8, the tool under timeout).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#ifndef QUICREUSE_TOOL_PATH
#error "QUICREUSE_TOOL_PATH must name the built quicreuse tool"
#endif

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The tool with stdout on a pipe of the smallest size that the test reads only when asked to.
class PipedTool {
 public:
  explicit PipedTool(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0) {
      return;
    }
    (void)fcntl(fds[1], F_SETPIPE_SZ, 4096);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<std::string> argv = {"timeout", "-k", "10", "60", QUICREUSE_TOOL_PATH};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> c;
      for (auto& a : argv) {
        c.push_back(a.data());
      }
      c.push_back(nullptr);
      execvp("timeout", c.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
  }
  PipedTool(const PipedTool&) = delete;
  PipedTool& operator=(const PipedTool&) = delete;
  PipedTool(PipedTool&&) = delete;
  PipedTool& operator=(PipedTool&&) = delete;
  ~PipedTool() {
    if (pid_ > 0 && !status_) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) {
      close(out_);
    }
  }

  // Reads (bounded) until a line starting with prefix; returns the rest of it.
  std::optional<std::string> read_line(const std::string& prefix, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      for (auto eol = text_.find('\n'); eol != std::string::npos; eol = text_.find('\n')) {
        std::string line = text_.substr(0, eol);
        text_.erase(0, eol + 1);
        if (line.rfind(prefix, 0) == 0) {
          return line.substr(prefix.size());
        }
      }
      if (!pump(50ms)) {
        return std::nullopt;
      }
    }
    return std::nullopt;
  }
  // Reads what is available within limit into the unread text; false at end of file.
  bool pump(std::chrono::milliseconds limit) {
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(limit.count())) > 0) {
      char buf[4096];
      const ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) {
        return false;
      }
      text_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  // Sends SIGTERM and waits (bounded) for the exit code, reading stdout meanwhile.
  std::optional<int> stop(std::chrono::milliseconds limit) {
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      (void)pump(20ms);  // the tool flushes its output before it exits
    }
    return std::nullopt;
  }
  [[nodiscard]] const std::string& unread() const { return text_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string text_;
  std::optional<int> status_;
};

// A UDP socket on 127.0.0.<host> sending STUN Binding Requests to 127.0.0.1:port.
class StunSender {
 public:
  StunSender(std::uint8_t host, std::uint16_t port) : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(0x7f000000u | host);
    ok_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0;
    server_.sin_family = AF_INET;
    server_.sin_port = htons(port);
    server_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  StunSender(const StunSender&) = delete;
  StunSender& operator=(const StunSender&) = delete;
  StunSender(StunSender&& o) noexcept : fd_(o.fd_), ok_(o.ok_), server_(o.server_) { o.fd_ = -1; }
  StunSender& operator=(StunSender&&) = delete;
  ~StunSender() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  [[nodiscard]] bool ok() const { return ok_; }

  void send(std::uint32_t id) {
    std::array<std::uint8_t, 20> request{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    std::memcpy(request.data() + 8, &id, sizeof id);
    (void)sendto(fd_, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&server_),
                 sizeof server_);
  }
  // Waits (at most limit) for one Binding Success Response.
  bool first_answer(std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) {
        continue;
      }
      std::array<std::uint8_t, 1500> buf{};
      const ssize_t got = recv(fd_, buf.data(), buf.size(), 0);
      if (got >= 20 && buf[0] == 0x01 && buf[1] == 0x01) {
        return true;
      }
    }
    return false;
  }
  // Counts Binding Success Responses arriving within limit.
  int answers(std::chrono::milliseconds limit) {
    int n = 0;
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) {
        continue;
      }
      std::array<std::uint8_t, 1500> buf{};
      const ssize_t got = recv(fd_, buf.data(), buf.size(), 0);
      n += (got >= 20 && buf[0] == 0x01 && buf[1] == 0x01) ? 1 : 0;
    }
    return n;
  }

 private:
  int fd_;
  bool ok_ = false;
  sockaddr_in server_{};
};

std::uint16_t listen_port(PipedTool& tool) {
  auto rest = tool.read_line("listening /ip4/127.0.0.1/udp/", 10'000ms);
  return rest ? static_cast<std::uint16_t>(std::stoul(*rest)) : 0;
}

TEST(CliOutput, AServerWhoseStdoutIsNotReadKeepsServing) {
  PipedTool tool({"listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--stun"});
  const std::uint16_t port = listen_port(tool);
  ASSERT_NE(port, 0);
  // 100 hosts x 5 requests: 500 "stun answered" lines, far more than the 4 KiB pipe holds. The
  // test does not read them.
  std::vector<StunSender> senders;
  for (std::uint8_t host = 2; host < 102; ++host) {
    senders.emplace_back(host, port);
    ASSERT_TRUE(senders.back().ok());
  }
  // One request at a time (the tool's non-QUIC queue holds 32 datagrams), each awaited.
  int answered = 0;
  for (std::uint32_t round = 0; round < 5; ++round) {
    for (auto& s : senders) {
      for (int attempt = 0; attempt < 3; ++attempt) {
        s.send(round);
        if (s.first_answer(200ms)) {
          ++answered;
          break;
        }
      }
    }
  }
  EXPECT_EQ(answered, 500);
  // The pipe is full and nobody reads it: a new host is still answered.
  StunSender late(200, port);
  ASSERT_TRUE(late.ok());
  int late_answers = 0;
  for (int i = 0; i < 50 && late_answers == 0; ++i) {  // bounded: 50 x 100 ms
    late.send(7);
    late_answers = late.first_answer(100ms) ? 1 : 0;
  }
  EXPECT_EQ(late_answers, 1);
  EXPECT_EQ(tool.stop(10s), 0);
}

TEST(CliOutput, StunAnswersAreRateLimitedPerSourceAddress) {
  PipedTool tool({"listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--stun"});
  const std::uint16_t port = listen_port(tool);
  ASSERT_NE(port, 0);
  StunSender flood(210, port);
  ASSERT_TRUE(flood.ok());
  const auto start = Clock::now();
  for (std::uint32_t i = 0; i < 200; ++i) {
    flood.send(i);
  }
  const int answers = flood.answers(300ms);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  // A burst of 20, then 10 per second: whatever the machine's speed, no more than that.
  EXPECT_GE(answers, 20);
  EXPECT_LE(answers, 20 + static_cast<int>(10 * elapsed) + 1) << elapsed;
  // Another address has its own allowance.
  StunSender other(211, port);
  ASSERT_TRUE(other.ok());
  other.send(1);
  EXPECT_TRUE(other.first_answer(2000ms));
  EXPECT_EQ(tool.stop(10s), 0);
  EXPECT_TRUE(tool.read_line("stun refused ", 2000ms).has_value()) << tool.unread();
}

}  // namespace
}  // namespace quicreuse::test
