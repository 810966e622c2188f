// The quicreuse tool, run as a user runs it (real sockets on loopback, under timeout).
#include "subprocess.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

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

// Returns the port of a multiaddr text such as "127.0.0.1/udp/4001/quic-v1" (0 if none).
std::uint16_t udp_port(const std::string& multiaddr) {
  const auto at = multiaddr.find("/udp/");
  if (at == std::string::npos) {
    return 0;
  }
  return static_cast<std::uint16_t>(std::stoul(multiaddr.substr(at + 5)));
}

// Returns the number of lines of text that start with prefix.
int count_lines(const std::string& text, const std::string& prefix) {
  int n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (text.compare(pos, prefix.size(), prefix) == 0) {
      ++n;
    }
    const auto eol = text.find('\n', pos);
    if (eol == std::string::npos) {
      break;
    }
    pos = eol + 1;
  }
  return n;
}

// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

sockaddr_in loopback4(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// StunAnswer is what a STUN Binding Success Response told us.
struct StunAnswer {
  std::uint16_t answered_from = 0;  // the source port of the response
  std::uint16_t mapped_port = 0;    // XOR-MAPPED-ADDRESS port
  std::uint32_t mapped_ip = 0;      // XOR-MAPPED-ADDRESS IPv4 (host order)
  std::uint16_t local_port = 0;     // our socket's port
};

constexpr std::uint32_t kStunCookie = 0x2112A442;

// Reads a big-endian 16-bit value.
std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((static_cast<unsigned>(p[0]) << 8) | p[1]);
}

// Sends RFC 5389 Binding Requests (resent every 200 ms, raw bytes) to 127.0.0.1:port until a
// matching Binding Success Response arrives or limit passes.
std::optional<StunAnswer> stun_query(std::uint16_t port, std::chrono::milliseconds limit) {
  Fd s(::socket(AF_INET, SOCK_DGRAM, 0));
  if (s.fd < 0) {
    return std::nullopt;
  }
  sockaddr_in local = loopback4(0);
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    return std::nullopt;
  }
  socklen_t len = sizeof local;
  ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &len);
  std::array<std::uint8_t, 20> request{};
  request[1] = 0x01;  // type 0x0001 Binding Request, length 0
  for (std::size_t i = 0; i < 4; ++i) {
    request[4 + i] = static_cast<std::uint8_t>(kStunCookie >> (24 - 8 * i));
  }
  std::mt19937 rng(std::random_device{}());
  for (std::size_t i = 8; i < 20; ++i) {
    request[i] = static_cast<std::uint8_t>(rng());
  }
  const sockaddr_in server = loopback4(port);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    ::sendto(s.fd, request.data(), request.size(), 0, reinterpret_cast<const sockaddr*>(&server),
             sizeof server);
    pollfd p{s.fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      continue;
    }
    std::array<std::uint8_t, 1500> buf{};
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const auto n =
        ::recvfrom(s.fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    // Binding Success Response (0x0101) for our transaction.
    if (n < 20 || buf[0] != 0x01 || buf[1] != 0x01 ||
        std::memcmp(buf.data() + 4, request.data() + 4, 16) != 0) {
      continue;
    }
    for (std::size_t at = 20; at + 4 <= static_cast<std::size_t>(n);) {
      const unsigned type = be16(buf.data() + at);
      const std::size_t alen = be16(buf.data() + at + 2);
      if (type == 0x0020 && alen == 8 && at + 12 <= static_cast<std::size_t>(n) &&
          buf[at + 5] == 0x01) {  // XOR-MAPPED-ADDRESS, IPv4
        StunAnswer a;
        a.answered_from = ntohs(from.sin_port);
        a.local_port = ntohs(local.sin_port);
        a.mapped_port = static_cast<std::uint16_t>(be16(buf.data() + at + 6) ^ (kStunCookie >> 16));
        std::uint32_t ip = 0;
        for (std::size_t i = 0; i < 4; ++i) {
          ip = (ip << 8) | buf[at + 8 + i];
        }
        a.mapped_ip = ip ^ kStunCookie;
        return a;
      }
      at += 4 + ((alen + 3) & ~std::size_t{3});
    }
  }
  return std::nullopt;
}

// Sends request to 127.0.0.1:port over TCP and returns everything read until the server closes
// (or limit passes).
std::optional<std::string> http_exchange(std::uint16_t port, const std::string& request,
                                         std::chrono::milliseconds limit) {
  Fd s(::socket(AF_INET, SOCK_STREAM, 0));
  if (s.fd < 0) {
    return std::nullopt;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(limit.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((limit.count() % 1000) * 1000);
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const sockaddr_in server = loopback4(port);
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0) {
    return std::nullopt;
  }
  if (::send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return std::nullopt;
  }
  std::string response;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::array<char, 4096> buf{};
    const auto n = ::recv(s.fd, buf.data(), buf.size(), 0);
    if (n <= 0) {
      break;
    }
    response.append(buf.data(), static_cast<std::size_t>(n));
  }
  return response;
}

std::optional<std::string> http_get(std::uint16_t port, const std::string& path) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 10'000ms);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(is_executable(kTool)) << kTool << " was not built"; }
};

TEST_F(Cli, DemoRunsTheWholeStory) {
  Subprocess demo({kTool, "demo"}, 60s);
  EXPECT_EQ(wait_exit(demo, 60s), 0) << demo.output();
  const std::string out = demo.output();
  EXPECT_NE(out.find("reflexive address"), std::string::npos) << out;
  // Step 7 runs now: chat/1 closed and refused, echo/1 still answering on the same port.
  EXPECT_NE(out.find("[7] A closes its chat/1 listener"), std::string::npos) << out;
  EXPECT_NE(out.find("chat/1 client: refused"), std::string::npos) << out;
  EXPECT_NE(out.find("got \"still there?\""), std::string::npos) << out;
  EXPECT_NE(out.find("quicreuse_connections_started_total{direction=\"incoming\"}"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find("demo: all 8 steps succeeded"), std::string::npos) << out;
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

TEST_F(Cli, TwoAlpnsShareOnePortAndEachIsServed) {
  Subprocess listen(
      {kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--alpn", "echo/1", "--alpn", "chat/1"},
      60s);
  auto addr = wait_line(listen, "listening /ip4/", 10s);
  ASSERT_TRUE(addr) << listen.output();
  Subprocess echo(
      {kTool, "dial", "/ip4/" + *addr, "--insecure", "--alpn", "echo/1", "--message", "over echo"},
      20s);
  EXPECT_EQ(wait_exit(echo, 20s), 0) << echo.output();
  EXPECT_EQ(echo.output(), "over echo\n");
  Subprocess chat(
      {kTool, "dial", "/ip4/" + *addr, "--insecure", "--alpn", "chat/1", "--message", "over chat"},
      20s);
  EXPECT_EQ(wait_exit(chat, 20s), 0) << chat.output();
  EXPECT_EQ(chat.output(), "over chat\n");
  Subprocess other({kTool, "dial", "/ip4/" + *addr, "--insecure", "--alpn", "nope/1"}, 20s);
  EXPECT_EQ(wait_exit(other, 20s), 1) << other.output();
  // The tool prints 'accepted' before echoing, and each dial exited after its echo: both lines
  // are there already.
  const std::string out = listen.output();
  EXPECT_NE(out.find(" alpn=echo/1 cipher="), std::string::npos) << out;
  EXPECT_NE(out.find(" alpn=chat/1 cipher="), std::string::npos) << out;
  EXPECT_EQ(count_lines(out, "listening "), 1) << out;  // one line per address, not per ALPN
  listen.terminate();
  EXPECT_EQ(wait_exit(listen, 10s), 0) << listen.output();
}

TEST_F(Cli, StunIsAnsweredOnTheListenPort) {
  Subprocess listen({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--stun"}, 60s);
  auto addr = wait_line(listen, "listening /ip4/", 10s);
  ASSERT_TRUE(addr) << listen.output();
  const std::uint16_t port = udp_port(*addr);
  ASSERT_NE(port, 0) << *addr;
  auto answer = stun_query(port, 10'000ms);
  ASSERT_TRUE(answer) << listen.output();
  EXPECT_EQ(answer->answered_from, port);
  EXPECT_EQ(answer->mapped_port, answer->local_port);
  EXPECT_EQ(answer->mapped_ip, INADDR_LOOPBACK);
  EXPECT_TRUE(wait_line(listen, "stun answered 127.0.0.1:", 10s)) << listen.output();
  // QUIC still works on the same port.
  Subprocess hello({kTool, "dial", "/ip4/" + *addr, "--insecure"}, 20s);
  EXPECT_EQ(wait_exit(hello, 20s), 0) << hello.output();
  listen.terminate();
  EXPECT_EQ(wait_exit(listen, 10s), 0) << listen.output();
}

TEST_F(Cli, MetricsAreServedOverHttp) {
  Subprocess listen({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--metrics", "127.0.0.1:0"},
                    60s);
  auto addr = wait_line(listen, "listening /ip4/", 10s);
  ASSERT_TRUE(addr) << listen.output();
  auto url = wait_line(listen, "metrics http://127.0.0.1:", 10s);
  ASSERT_TRUE(url) << listen.output();
  const auto http_port = static_cast<std::uint16_t>(std::stoul(*url));
  ASSERT_NE(http_port, 0) << *url;
  EXPECT_NE(url->find("/metrics"), std::string::npos) << *url;
  Subprocess hello({kTool, "dial", "/ip4/" + *addr, "--insecure"}, 20s);
  EXPECT_EQ(wait_exit(hello, 20s), 0) << hello.output();

  auto response = http_get(http_port, "/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *response;
  EXPECT_NE(response->find("Content-Type: text/plain; version=0.0.4"), std::string::npos)
      << *response;
  EXPECT_NE(response->find("\n# TYPE quicreuse_connections_started_total counter\n"),
            std::string::npos)
      << *response;
  // The dial above finished its echo, so its connection was counted.
  EXPECT_NE(response->find("\nquicreuse_connections_started_total{direction=\"incoming\"} 1\n"),
            std::string::npos)
      << *response;
  EXPECT_NE(response->find("\nquicreuse_pooled_endpoints{family=\"udp4\",pool=\"unicast\"} 1\n"),
            std::string::npos)
      << *response;

  auto missing = http_get(http_port, "/other");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->rfind("HTTP/1.1 404 ", 0), 0u) << *missing;
  // A request head larger than 8 KiB is refused, not buffered.
  auto huge = http_exchange(
      http_port, "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n",
      10'000ms);
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->rfind("HTTP/1.1 431 ", 0), 0u) << *huge;

  // The metrics port is taken now: a second tool fails with one line and exit code 2.
  Subprocess second({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--metrics",
                     "127.0.0.1:" + std::to_string(http_port)},
                    10s);
  EXPECT_EQ(wait_exit(second, 10s), 2) << second.output();
  const std::string err = second.output();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("in use"), std::string::npos) << err;

  listen.terminate();
  EXPECT_EQ(wait_exit(listen, 10s), 0) << listen.output();
}

TEST_F(Cli, DialWithListenLeavesFromTheListenPort) {
  Subprocess server({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1"}, 60s);
  auto target = wait_line(server, "listening /ip4/", 10s);
  ASSERT_TRUE(target) << server.output();
  Subprocess dial({kTool, "dial", "/ip4/" + *target, "--insecure", "--listen",
                   "/ip4/127.0.0.1/udp/0/quic-v1", "--message", "from my listen port"},
                  20s);
  EXPECT_EQ(wait_exit(dial, 20s), 0) << dial.output();
  auto own = find_line(dial.output(), "listening /ip4/");
  ASSERT_TRUE(own) << dial.output();
  const std::uint16_t port = udp_port(*own);
  ASSERT_NE(port, 0) << *own;
  EXPECT_NE(dial.output().find("from my listen port\n"), std::string::npos) << dial.output();
  auto accepted = wait_line(server, "accepted ", 10s);
  ASSERT_TRUE(accepted) << server.output();
  EXPECT_EQ(*accepted,
            "127.0.0.1:" + std::to_string(port) + " alpn=echo/1 cipher=TLS_AES_128_GCM_SHA256")
      << server.output();
  server.terminate();
  EXPECT_EQ(wait_exit(server, 10s), 0) << server.output();
}

TEST_F(Cli, ListenDialLeavesFromTheListenPort) {
  Subprocess server({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--alpn", "chat/1"}, 60s);
  auto target = wait_line(server, "listening /ip4/", 10s);
  ASSERT_TRUE(target) << server.output();
  Subprocess node({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--dial", "/ip4/" + *target,
                   "--dial-alpn", "chat/1"},
                  60s);
  auto own = wait_line(node, "listening /ip4/", 10s);
  ASSERT_TRUE(own) << node.output();
  const std::uint16_t port = udp_port(*own);
  auto reply = wait_line(node, "dial reply: ", 20s);
  ASSERT_TRUE(reply) << node.output();
  EXPECT_EQ(*reply, "hello (from 127.0.0.1:" + std::to_string(port) + ")");
  auto accepted = wait_line(server, "accepted ", 10s);
  ASSERT_TRUE(accepted) << server.output();
  EXPECT_EQ(*accepted,
            "127.0.0.1:" + std::to_string(port) + " alpn=chat/1 cipher=TLS_AES_128_GCM_SHA256");
  node.terminate();
  server.terminate();
  EXPECT_EQ(wait_exit(node, 10s), 0) << node.output();
  EXPECT_EQ(wait_exit(server, 10s), 0) << server.output();
}

TEST_F(Cli, DialCipherSuitesChoosesTheNegotiatedSuite) {
  Subprocess listen({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1"}, 60s);
  auto addr = wait_line(listen, "listening /ip4/", 10s);
  ASSERT_TRUE(addr) << listen.output();
  Subprocess dial({kTool, "dial", "/ip4/" + *addr, "--insecure", "--cipher-suites",
                   "TLS_CHACHA20_POLY1305_SHA256", "--json"},
                  20s);
  EXPECT_EQ(wait_exit(dial, 20s), 0) << dial.output();
  EXPECT_NE(dial.output().find(R"("event":"connected")"), std::string::npos) << dial.output();
  EXPECT_NE(dial.output().find(R"("cipher":"TLS_CHACHA20_POLY1305_SHA256")"), std::string::npos)
      << dial.output();
  // The dial exited after its echo, so the listener printed its line before echoing.
  auto accepted = wait_line(listen, "accepted ", 10s);
  ASSERT_TRUE(accepted) << listen.output();
  EXPECT_NE(accepted->find(" alpn=echo/1 cipher=TLS_CHACHA20_POLY1305_SHA256"), std::string::npos)
      << listen.output();
  listen.terminate();
  EXPECT_EQ(wait_exit(listen, 10s), 0) << listen.output();
}

TEST_F(Cli, ListenCipherSuitesRestrictsWhatIsAccepted) {
  // The short, lower-case form is accepted too.
  Subprocess listen({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--json", "--cipher-suites",
                     "aes_256_gcm_sha384"},
                    60s);
  auto addr = wait_line(listen, R"({"event":"listening","addr":"/ip4/)", 10s);
  ASSERT_TRUE(addr) << listen.output();
  const std::string target = "/ip4/" + addr->substr(0, addr->find('"'));
  // A default offer (every suite) gets the only one the listener accepts.
  Subprocess any({kTool, "dial", target, "--insecure", "--message", "any"}, 20s);
  EXPECT_EQ(wait_exit(any, 20s), 0) << any.output();
  EXPECT_EQ(any.output(), "any\n");
  EXPECT_NE(listen.output().find(R"("alpn":"echo/1","cipher":"TLS_AES_256_GCM_SHA384")"),
            std::string::npos)
      << listen.output();
  // A client offering only ChaCha20 is refused with handshake_failure, and says why.
  Subprocess chacha({kTool, "dial", target, "--insecure", "--timeout", "10", "--cipher-suites",
                     "TLS_CHACHA20_POLY1305_SHA256"},
                    20s);
  EXPECT_EQ(wait_exit(chacha, 20s), 1) << chacha.output();
  const std::string err = chacha.output();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("0x128"), std::string::npos) << err;
  EXPECT_NE(err.find("none of the offered cipher suites"), std::string::npos) << err;
  EXPECT_EQ(err.find("timeout"), std::string::npos) << err;
  listen.terminate();
  EXPECT_EQ(wait_exit(listen, 10s), 0) << listen.output();
}

TEST_F(Cli, BadCipherSuitesAreOneLineAndExitCodeTwo) {
  const std::string accepted =
      "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, "
      "TLS_AES_128_CCM_SHA256";
  const std::vector<std::vector<std::string>> commands = {
      {kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1"},
      {kTool, "dial", "/ip4/127.0.0.1/udp/4001/quic-v1", "--insecure"},
      {kTool, "perf", "server", "/ip4/127.0.0.1/udp/0/quic-v1"},
      {kTool, "perf", "client", "/ip4/127.0.0.1/udp/4001/quic-v1", "--insecure"},
  };
  for (auto argv : commands) {
    argv.emplace_back("--cipher-suites");
    argv.emplace_back("TLS_AES_128_GCM_SHA256,TLS_RC4_128_SHA");
    Subprocess bad(argv, 10s);
    EXPECT_EQ(wait_exit(bad, 10s), 2) << bad.command() << "\n" << bad.output();
    const std::string out = bad.output();
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << bad.command() << "\n" << out;
    EXPECT_NE(out.find("bad --cipher-suites 'TLS_RC4_128_SHA'"), std::string::npos) << out;
    EXPECT_NE(out.find(accepted), std::string::npos) << out;
    EXPECT_EQ(out.find("listening"), std::string::npos) << out;  // nothing was bound
  }
  Subprocess twice({kTool, "dial", "/ip4/127.0.0.1/udp/4001/quic-v1", "--cipher-suites",
                    "chacha20_poly1305_sha256,TLS_CHACHA20_POLY1305_SHA256"},
                   10s);
  EXPECT_EQ(wait_exit(twice, 10s), 2) << twice.output();
  EXPECT_NE(twice.output().find("TLS_CHACHA20_POLY1305_SHA256 more than once"), std::string::npos)
      << twice.output();
  Subprocess empty({kTool, "listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--cipher-suites",
                    "TLS_AES_128_GCM_SHA256,"},
                   10s);
  EXPECT_EQ(wait_exit(empty, 10s), 2) << empty.output();
  EXPECT_NE(empty.output().find("bad --cipher-suites ''"), std::string::npos) << empty.output();
}

}  // namespace
}  // namespace quicreuse::test
