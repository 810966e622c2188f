#include "interop_helpers.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace quicreuse::test {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

// Waits (bounded) until proc exits; returns its exit code.
asio::awaitable<std::optional<int>> wait_exit(Subprocess& proc, std::chrono::milliseconds limit) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto code = proc.poll(); code) {
      co_return code;
    }
    t.expires_after(10ms);
    co_await t.async_wait(as_tuple(use_awaitable));
  }
  co_return std::nullopt;
}

// Waits (bounded) until proc prints a line starting with prefix; returns the rest of the line.
asio::awaitable<std::optional<std::string>> wait_line(Subprocess& proc, std::string prefix,
                                                      std::chrono::milliseconds limit) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto line = find_line(proc.output(), prefix); line) {
      co_return line;
    }
    if (proc.poll()) {
      break;
    }
    t.expires_after(10ms);
    co_await t.async_wait(as_tuple(use_awaitable));
  }
  co_return find_line(proc.output(), prefix);
}

asio::awaitable<std::optional<asio::ip::udp::endpoint>> wait_listening(Subprocess& peer) {
  auto addr = co_await wait_line(peer, "listening ", 20s);
  EXPECT_TRUE(addr) << peer.output();
  if (!addr) {
    co_return std::nullopt;
  }
  co_return parse_endpoint(*addr);
}

asio::ip::udp::endpoint parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  std::string host = text.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  return {asio::ip::make_address(host),
          static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)))};
}

// Writes a key and a self-signed certificate for localhost with certtool; returns their paths.
std::pair<std::string, std::string> make_cert_files() {
  // One directory per test process: ctest runs interop tests in parallel, and a shared one let a
  // process rewrite the key and certificate while another's peer was loading them.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("quicreuse-interop-cert-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string key = (dir / "key.pem").string();
  const std::string cert = (dir / "cert.pem").string();
  const std::string tmpl = (dir / "cert.tmpl").string();
  std::ofstream(tmpl)
      << "cn = localhost\ndns_name = localhost\nexpiration_days = 30\nsigning_key\n";
  Subprocess k({kCertTool, "--generate-privkey", "--key-type=ecdsa", "--outfile", key}, 20s);
  while (!k.poll()) {
    ::usleep(10'000);
  }
  Subprocess c({kCertTool, "--generate-self-signed", "--load-privkey", key, "--template", tmpl,
                "--outfile", cert},
               20s);
  while (!c.poll()) {
    ::usleep(10'000);
  }
  return {key, cert};
}

}  // namespace quicreuse::test
