// The quicreuse tool, run as a user runs it (real sockets on loopback, under timeout).
#include "subprocess.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#ifndef QUICREUSE_TOOL_PATH
#error "QUICREUSE_TOOL_PATH must name the built quicreuse tool"
#endif

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
const std::string kTool = QUICREUSE_TOOL_PATH;

// Waits (bounded) for the process to exit; returns its code.
std::optional<int> wait_exit(Subprocess& p, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto code = p.poll(); code) {
      return code;
    }
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

// Waits (bounded) for a line starting with prefix; returns the rest of it.
std::optional<std::string> wait_line(Subprocess& p, const std::string& prefix,
                                     std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto line = find_line(p.output(), prefix); line) {
      return line;
    }
    if (p.poll()) {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  return find_line(p.output(), prefix);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(is_executable(kTool)) << kTool << " was not built"; }
};

TEST_F(Cli, DemoRunsTheWholeStory) {
  Subprocess demo({kTool, "demo"}, 60s);
  EXPECT_EQ(wait_exit(demo, 60s), 0) << demo.output();
  EXPECT_NE(demo.output().find("reflexive address"), std::string::npos) << demo.output();
}

TEST_F(Cli, ListenThenDialEchoesAndSignalsExitCleanly) {
  Subprocess listen({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "/ip6/::1/udp/0/quic-v1"},
                    60s);
  auto v4 = wait_line(listen, "listening /ip4/", 10s);
  ASSERT_TRUE(v4) << listen.output();
  auto v6 = wait_line(listen, "listening /ip6/", 10s);
  ASSERT_TRUE(v6) << listen.output();
  Subprocess hello({kTool, "dial", "/ip4/" + *v4, "--insecure", "--message", "hi there"}, 20s);
  EXPECT_EQ(wait_exit(hello, 20s), 0) << hello.output();
  EXPECT_EQ(hello.output(), "hi there\n");
  Subprocess bulk({kTool, "dial", "/ip6/" + *v6, "--insecure", "--bytes", "2000000"}, 30s);
  EXPECT_EQ(wait_exit(bulk, 30s), 0) << bulk.output();
  EXPECT_NE(listen.output().find("accepted "), std::string::npos);
  listen.terminate();
  EXPECT_EQ(wait_exit(listen, 10s), 0) << listen.output();
}

TEST_F(Cli, AlpnMismatchIsExitCodeOneWithTheCryptoError) {
  Subprocess listen({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1"}, 60s);
  auto addr = wait_line(listen, "listening /ip4/", 10s);
  ASSERT_TRUE(addr) << listen.output();
  Subprocess dial({kTool, "dial", "/ip4/" + *addr, "--insecure", "--alpn", "nope/1"}, 20s);
  EXPECT_EQ(wait_exit(dial, 20s), 1) << dial.output();
  EXPECT_NE(dial.output().find("0x178"), std::string::npos) << dial.output();
  listen.terminate();
  EXPECT_EQ(wait_exit(listen, 10s), 0);
}

TEST_F(Cli, BadInputIsOneLineAndExitCodeTwo) {
  Subprocess bad({kTool, "listen", "/ip4/127.0.0.1/udp/70000/quic-v1"}, 10s);
  EXPECT_EQ(wait_exit(bad, 10s), 2);
  const std::string out = bad.output();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("70000"), std::string::npos) << out;
  Subprocess unknown({kTool, "frobnicate"}, 10s);
  EXPECT_EQ(wait_exit(unknown, 10s), 2);
}

TEST_F(Cli, AddressInUseIsExitCodeTwoAndLeavesNothingBound) {
  Subprocess first({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1"}, 60s);
  auto addr = wait_line(first, "listening /ip4/", 10s);
  ASSERT_TRUE(addr) << first.output();
  // The second listen opens a free port first, then fails on the taken one: both are released.
  Subprocess second({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/" + *addr}, 10s);
  EXPECT_EQ(wait_exit(second, 10s), 2) << second.output();
  EXPECT_NE(second.output().find("in use"), std::string::npos) << second.output();
  first.terminate();
  EXPECT_EQ(wait_exit(first, 10s), 0);
}

}  // namespace
}  // namespace quicreuse::test
