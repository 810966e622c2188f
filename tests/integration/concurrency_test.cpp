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

#include <condition_variable>
#include <future>
#include <mutex>
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

// Rounds counts the rounds that ended, from any thread, and lets the test thread wait for them.
class Rounds {
 public:
  void add(bool good) {
    {
      const std::lock_guard lock(mutex_);
      ++(good ? ok_ : failed_);
    }
    ended_.notify_all();
  }
  // Waits until n rounds ended or bound passed; returns whether they all ended.
  bool wait_for(int n, std::chrono::milliseconds bound) {
    std::unique_lock lock(mutex_);
    return ended_.wait_for(lock, bound, [&] { return ok_ + failed_ >= n; });
  }
  int ok() {
    const std::lock_guard lock(mutex_);
    return ok_;
  }
  int failed() {
    const std::lock_guard lock(mutex_);
    return failed_;
  }

 private:
  std::mutex mutex_;  // the rounds end on four strands and are read by the test thread
  std::condition_variable ended_;
  int ok_ = 0;
  int failed_ = 0;
};

// One client: listens, dials the server from that socket, echoes, closes the listener; rounds
// times. Runs on its manager's strand.
asio::awaitable<void> client_rounds(std::shared_ptr<ConnManager> cm, Multiaddr server, int index,
                                    int rounds, Rounds& ended) {
  for (int r = 0; r < rounds; ++r) {
    // Earlier rounds' sockets stay pooled until collected: the association makes the dial leave
    // from this round's listen socket.
    const Association mine("client-" + std::to_string(index));
    auto ln = cm->listen_quic_and_associate(mine, *Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1"),
                                            proto_tls("client/1"));
    if (!ln) {
      ended.add(false);
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
    ended.add(good);
  }
}

TEST(Concurrency, ListenersAndDialsFromSeveralThreadsAtOnce) {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> runners;
  std::vector<std::future<void>> drained;  // ready when a runner's io.run() returned
  for (int i = 0; i < 4; ++i) {
    std::packaged_task<void()> run([&io] { io.run(); });
    drained.push_back(run.get_future());
    runners.emplace_back(std::move(run));
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
  Rounds rounds;
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
          client_rounds(clients[static_cast<std::size_t>(c)], target, c, kRounds, rounds),
          asio::detached);
    });
  }
  for (auto& t : starters) {
    t.join();
  }
  EXPECT_TRUE(rounds.wait_for(kClients * kRounds, 60s));
  EXPECT_EQ(rounds.ok(), kClients * kRounds);
  EXPECT_EQ(rounds.failed(), 0);

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
  // Let the closes drain on their strands: the threads return once nothing is left to run.
  work.reset();
  for (auto& f : drained) {
    EXPECT_EQ(f.wait_for(30s), std::future_status::ready) << "work was left after every close";
  }
  io.stop();  // only needed when the bound above failed
  for (auto& t : runners) {
    t.join();
  }
}

}  // namespace
}  // namespace quicreuse::test
