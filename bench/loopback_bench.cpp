// Real sockets on 127.0.0.1: one-connection transfer throughput and sequential handshakes between
// two quicreuse::Endpoints (the full stack: Asio driver, GSO send path, ngtcp2, GnuTLS).
//
// threads:1 runs both endpoints on one io_context on the benchmark thread; threads:2 runs the
// server endpoint on its own io_context and thread (the client stays on the benchmark thread).
// Wall-clock time is measured (UseRealTime).
#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace quicreuse::bench {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;

constexpr std::size_t kChunk = std::size_t{256} * 1024;
constexpr auto kTaskLimit = std::chrono::seconds(60);

TlsServerConfig server_tls() {
  static const auto identity = [] {
    const std::vector<std::string> names{"localhost"};
    auto id = TlsIdentity::self_signed(names);
    if (!id) {
      std::fprintf(stderr, "self_signed: %s\n", id.error().message().c_str());
      std::abort();
    }
    return *id;
  }();
  TlsServerConfig config;
  config.default_choice.identity = identity;
  config.default_choice.alpns = {"bench"};
  return config;
}

TlsClientConfig client_tls() {
  TlsClientConfig config;
  config.alpns = {"bench"};
  config.server_name = "localhost";
  config.insecure_skip_verify = true;
  return config;
}

// ---- Server side coroutines (each owns its inputs) ----

// Reads a stream to its end and discards the data, then answers the FIN with a FIN.
asio::awaitable<void> sink_stream(Stream stream) {
  std::vector<std::uint8_t> buf(kChunk);
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec == asio::error::eof) {
      (void)stream.shutdown_send();
      co_return;
    }
    if (ec) {
      co_return;
    }
  }
}

// Sinks every bidirectional stream of conn, until it closes.
asio::awaitable<void> sink_connection(Connection conn) {
  for (;;) {
    auto [ec, stream] = co_await conn.async_accept_stream(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    asio::co_spawn(conn.get_executor(), sink_stream(std::move(stream)), asio::detached);
  }
}

// Accepts connections until the endpoint closes; each one is sunk until the peer closes it.
asio::awaitable<void> accept_loop(std::shared_ptr<Endpoint> ep) {
  for (;;) {
    auto [ec, conn] = co_await ep->async_accept(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    asio::co_spawn(ep->get_executor(), sink_connection(std::move(conn)), asio::detached);
  }
}

// ---- Client side coroutines ----

// Writes `bytes` on a new stream, half-closes, and waits for the server's FIN (which it sends
// after reading everything). Returns an empty string or an error description.
asio::awaitable<std::string> send_bytes(Connection conn, std::uint64_t bytes,
                                        std::shared_ptr<const std::vector<std::uint8_t>> chunk) {
  auto [ec, stream] = co_await conn.async_open_stream(as_tuple(use_awaitable));
  if (ec) {
    co_return "open_stream: " + ec.message();
  }
  std::uint64_t remaining = bytes;
  while (remaining > 0) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, chunk->size()));
    auto [wec, written] =
        co_await asio::async_write(stream, asio::buffer(chunk->data(), n), as_tuple(use_awaitable));
    if (wec) {
      co_return "write: " + wec.message();
    }
    remaining -= written;
  }
  if (auto r = stream.shutdown_send(); !r) {
    co_return "shutdown_send: " + r.error().message();
  }
  std::uint8_t byte = 0;
  auto [rec, n] = co_await stream.async_read_some(asio::buffer(&byte, 1), as_tuple(use_awaitable));
  if (rec != asio::error::eof) {
    co_return "expected EOF, got: " + rec.message();
  }
  co_return std::string{};
}

// Dials, then closes the connection at once. Returns an empty string or an error description.
asio::awaitable<std::string> handshake_once(std::shared_ptr<Endpoint> client,
                                            asio::ip::udp::endpoint server) {
  auto conn = co_await client->dial(server, client_tls());
  if (!conn) {
    co_return "dial: " + conn.error().message();
  }
  conn->close();
  co_return std::string{};
}

asio::awaitable<Result<Connection>> dial(std::shared_ptr<Endpoint> client,
                                         asio::ip::udp::endpoint server) {
  co_return co_await client->dial(server, client_tls());
}

// Runs task on io (on this thread) until it completes; aborts after kTaskLimit (a hang is a bug).
template <class T>
T run_task(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](const std::exception_ptr& e, T value) {
    done = true;
    error = e;
    if (!e) {
      result.emplace(std::move(value));
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + kTaskLimit;
  while (!done) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "loopback benchmark: task did not complete within 60 s\n");
      std::abort();
    }
    io.run_one_for(std::chrono::milliseconds(100));
    if (io.stopped()) {
      io.restart();
    }
  }
  if (error) {
    std::rethrow_exception(error);
  }
  return std::move(*result);
}

// LoopbackPair is a listening server endpoint and a client endpoint on 127.0.0.1.
class LoopbackPair {
 public:
  explicit LoopbackPair(bool server_thread) {
    const asio::ip::udp::endpoint any_port(asio::ip::address_v4::loopback(), 0);
    asio::io_context& sio = server_thread ? server_io_ : io_;
    auto s = Endpoint::bind(sio.get_executor(), any_port);
    auto c = Endpoint::bind(io_.get_executor(), any_port);
    if (!s || !c) {
      error_ = "bind failed";
      return;
    }
    server_ = std::make_shared<Endpoint>(std::move(*s));
    client_ = std::make_shared<Endpoint>(std::move(*c));
    if (auto r = server_->listen(server_tls()); !r) {
      error_ = "listen: " + r.error().message();
      return;
    }
    server_address_ = server_->local_endpoint();
    asio::co_spawn(sio, accept_loop(server_), asio::detached);
    if (server_thread) {
      thread_ = std::thread([this] { server_io_.run(); });
    }
  }
  LoopbackPair(const LoopbackPair&) = delete;
  LoopbackPair& operator=(const LoopbackPair&) = delete;
  LoopbackPair(LoopbackPair&&) = delete;
  LoopbackPair& operator=(LoopbackPair&&) = delete;

  ~LoopbackPair() {
    try {
      shutdown();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "loopback benchmark: shutdown failed: %s\n", e.what());
    }
  }

  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] asio::io_context& io() { return io_; }
  [[nodiscard]] const std::shared_ptr<Endpoint>& client() const { return client_; }
  [[nodiscard]] const asio::ip::udp::endpoint& server_address() const { return server_address_; }

 private:
  // Closes both endpoints (each on its own executor) and stops the server thread.
  void shutdown() {
    if (client_) {
      client_->close();
    }
    if (thread_.joinable()) {
      std::promise<void> closed;
      asio::post(server_io_, [this, &closed] {
        server_->close();
        closed.set_value();
      });
      closed.get_future().wait();
      server_io_.stop();
      thread_.join();
    } else if (server_) {
      server_->close();
    }
    io_.run_for(std::chrono::milliseconds(20));  // let the coroutines see endpoint_closed
  }

  asio::io_context io_;         // client (and server when single-threaded)
  asio::io_context server_io_;  // server when server_thread
  std::shared_ptr<Endpoint> server_;
  std::shared_ptr<Endpoint> client_;
  asio::ip::udp::endpoint server_address_;
  std::thread thread_;
  std::string error_;
};

// One connection; each iteration sends `bytes` on a new stream and waits for the server's FIN.
void loopback_transfer(benchmark::State& state) {
  const auto bytes = static_cast<std::uint64_t>(state.range(0));
  LoopbackPair pair(state.range(1) == 2);
  if (!pair.error().empty()) {
    state.SkipWithError(pair.error().c_str());
    return;
  }
  auto conn = run_task(pair.io(), dial(pair.client(), pair.server_address()));
  if (!conn) {
    state.SkipWithError(("dial: " + conn.error().message()).c_str());
    return;
  }
  auto chunk = std::make_shared<std::vector<std::uint8_t>>(kChunk);
  std::mt19937_64 rng(1);
  for (auto& b : *chunk) {
    b = static_cast<std::uint8_t>(rng());
  }
  for (auto _ : state) {
    const std::string err = run_task(pair.io(), send_bytes(*conn, bytes, chunk));
    if (!err.empty()) {
      state.SkipWithError(err.c_str());
      return;
    }
  }
  const auto stats = conn->stats();
  const auto total = static_cast<double>(state.iterations()) * static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(total));
  state.counters["Gbit_s"] = benchmark::Counter(total * 8 / 1e9, benchmark::Counter::kIsRate);
  state.counters["pkts_sent"] = benchmark::Counter(static_cast<double>(stats.packets_sent),
                                                   benchmark::Counter::kAvgIterations);
  state.counters["cwnd_KiB"] = static_cast<double>(stats.congestion_window) / 1024.0;
  state.counters["srtt_us"] = static_cast<double>(
      std::chrono::duration_cast<std::chrono::microseconds>(stats.smoothed_rtt).count());
  const auto ep = pair.client()->stats();
  state.counters["send_errors"] = static_cast<double>(ep.send_errors);
  conn->close();
}

// Sequential full handshakes: dial (completes when the client's handshake is done), then close.
void loopback_handshake(benchmark::State& state) {
  LoopbackPair pair(state.range(0) == 2);
  if (!pair.error().empty()) {
    state.SkipWithError(pair.error().c_str());
    return;
  }
  for (auto _ : state) {
    const std::string err =
        run_task(pair.io(), handshake_once(pair.client(), pair.server_address()));
    if (!err.empty()) {
      state.SkipWithError(err.c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(loopback_transfer)
    ->ArgNames({"bytes", "threads"})
    ->Args({64 << 20, 1})
    ->Args({64 << 20, 2})
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(loopback_handshake)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace quicreuse::bench
