// Several threads at once: an io_context run by four threads, managers confined to strands
// (decision D16), listeners opened and closed and dials made from several threads. Run under
// TSan (make test-tsan) and ASan (make test-asan) like every test.
#include "io_helpers.hpp"

#include <quicreuse/conn_manager.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
const ConnManager::Key kKey{};

asio::awaitable<void> serve(Listener& listener) {
  for (;;) {
    auto conn = co_await listener.accept();
    if (!conn) {
      co_return;
    }
    asio::co_spawn(co_await asio::this_coro::executor, echo_connection(std::move(*conn)),
                   asio::detached);
  }
}

TlsServerConfig proto_tls(const std::string& alpn) {
  std::vector<std::string> alpns;
  alpns.push_back(alpn);
  return server_tls(std::move(alpns));
}

TlsClientConfig offer(const std::string& alpn) {
  std::vector<std::string> alpns;
  alpns.push_back(alpn);
  return client_tls(std::move(alpns));
}

// One client: listens, dials the server from that socket, echoes, closes the listener; rounds
// times. Runs on its manager's strand.
asio::awaitable<void> client_rounds(std::shared_ptr<ConnManager> cm, Multiaddr server, int index,
                                    int rounds, std::atomic<int>& ok, std::atomic<int>& failed) {
  for (int r = 0; r < rounds; ++r) {
    // Earlier rounds' sockets stay pooled until collected: the association makes the dial leave
    // from this round's listen socket.
    const Association mine("client-" + std::to_string(index));
    auto ln = cm->listen_quic_and_associate(mine, *Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1"),
                                            proto_tls("client/1"));
    if (!ln) {
      ++failed;
      continue;
    }
    const std::string alpn = "p" + std::to_string((index + r) % 4);
    auto conn = co_await cm->dial_quic(server, offer(alpn), {}, mine);
    bool good = false;
    if (conn) {
      const auto data = pattern(20'000, static_cast<std::uint64_t>(index * 100 + r));
      good =
          co_await echo_round_trip(*conn, data) == data && conn->local_endpoint() == (*ln)->addr();
      conn->close();
    }
    (*ln)->close();
    (good ? ok : failed)++;
  }
}

TEST(Concurrency, ListenersAndDialsFromSeveralThreadsAtOnce) {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i) {
    runners.emplace_back([&io] { io.run(); });
  }
  // The server manager and its four protocols, set up on its strand.
  auto server_strand = asio::make_strand(io);
  auto server = ConnManager::create(server_strand, kKey, kKey);
  ASSERT_TRUE(server);
  std::vector<std::unique_ptr<Listener>> listeners;
  std::promise<Multiaddr> server_addr;
  asio::post(server_strand, [&] {
    Multiaddr addr = *Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1");
    for (int p = 0; p < 4; ++p) {
      auto ln = (*server)->listen_quic(addr, proto_tls("p" + std::to_string(p)));
      if (!ln) {
        continue;
      }
      addr = (*ln)->multiaddrs()[0];
      asio::co_spawn(server_strand, serve(**ln), asio::detached);
      listeners.push_back(std::move(*ln));
    }
    server_addr.set_value(addr);
  });
  auto addr_future = server_addr.get_future();
  ASSERT_EQ(addr_future.wait_for(10s), std::future_status::ready);
  const Multiaddr target = addr_future.get();

  // Four client managers, each started from its own thread.
  constexpr int kClients = 4;
  constexpr int kRounds = 8;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::shared_ptr<ConnManager>> clients;
  std::vector<asio::strand<asio::io_context::executor_type>> strands;
  for (int c = 0; c < kClients; ++c) {
    strands.push_back(asio::make_strand(io));
    auto cm = ConnManager::create(strands.back(), kKey, kKey);
    ASSERT_TRUE(cm);
    clients.push_back(*cm);
  }
  std::vector<std::thread> starters;
  for (int c = 0; c < kClients; ++c) {
    starters.emplace_back([&, c] {
      asio::co_spawn(
          strands[static_cast<std::size_t>(c)],
          client_rounds(clients[static_cast<std::size_t>(c)], target, c, kRounds, ok, failed),
          asio::detached);
    });
  }
  for (auto& t : starters) {
    t.join();
  }
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (ok + failed < kClients * kRounds && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ok.load(), kClients * kRounds);
  EXPECT_EQ(failed.load(), 0);

  // Close everything on its own strand, then stop the threads.
  std::vector<std::future<void>> closed;
  for (std::size_t c = 0; c < clients.size(); ++c) {
    auto done = std::make_shared<std::promise<void>>();
    closed.push_back(done->get_future());
    asio::post(strands[c], [cm = clients[c], done] {
      cm->close();
      done->set_value();
    });
  }
  auto server_done = std::make_shared<std::promise<void>>();
  closed.push_back(server_done->get_future());
  asio::post(server_strand, [&, server_done] {
    listeners.clear();
    (*server)->close();
    server_done->set_value();
  });
  for (auto& f : closed) {
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
  }
  // Let the closes drain on their strands, then release the managers on their strands too.
  std::this_thread::sleep_for(100ms);
  work.reset();
  io.stop();
  for (auto& t : runners) {
    t.join();
  }
}

}  // namespace
}  // namespace quicreuse::test
