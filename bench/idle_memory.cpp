// idle_memory: what one established, idle QUIC connection costs in memory.
//
// A server process and a client process (fork) talk over UDP on 127.0.0.1 through the public
// Endpoint API. The client dials N connections from one endpoint and the server accepts them on
// another; both keep every Connection handle. Once all N handshakes are done, each side waits
// until its endpoint has neither sent nor received a datagram for a quiet period, then samples:
// resident set size (/proc/self/statm), malloc'd bytes (mallinfo2: uordblks + hblkhd) and the
// bytes ngtcp2 holds (every ngtcp2_conn allocates through a counting ngtcp2_mem). The parent
// prints both sides before (endpoint bound, no connection yet) and after, per connection.
//
//   build/bench/idle_memory [--conns N] [--quiet-ms M] [--concurrency K] [--keep-alive-ms K]
//                           [--parent server|client] [--trim] [--exit-at-idle] [--ngtcp2-sizes]
//
// --parent says which side runs in the parent process (the one heaptrack or massif profile,
// since neither follows a fork); --trim calls malloc_trim(0) before the idle sample;
// --exit-at-idle leaves the process with every connection still allocated after the sample, so
// that a heap profiler reports the idle heap as "leaked" (see bench/README.md); --ngtcp2-sizes
// lists the parent's live ngtcp2 blocks by size. --keep-alive-ms overrides the keep-alive period
// (0 disables it): with tens of thousands of connections, keep-alives leave no quiet period.
#include "core/ngtcp2_memory.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace quicreuse::bench {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using Clock = std::chrono::steady_clock;

// ---- Options ----

struct Options {
  std::size_t conns = 2000;
  std::chrono::milliseconds quiet{500};
  std::size_t concurrency = 16;  // dials in flight (the server's accept queue holds 32)
  bool server_is_parent = true;
  bool trim = false;
  bool exit_at_idle = false;
  bool ngtcp2_sizes = false;
  std::optional<std::chrono::milliseconds> keep_alive;  // absent: the library default (15 s)
  std::chrono::seconds deadline{300};
};

void usage() {
  std::fprintf(stderr,
               "usage: idle_memory [--conns N] [--quiet-ms M] [--concurrency K] "
               "[--keep-alive-ms K] [--parent server|client] [--trim] [--exit-at-idle] "
               "[--ngtcp2-sizes]\n");
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--conns" && has_value) {
      o.conns = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--quiet-ms" && has_value) {
      o.quiet = std::chrono::milliseconds(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--keep-alive-ms" && has_value) {
      o.keep_alive = std::chrono::milliseconds(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--concurrency" && has_value) {
      o.concurrency = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--parent" && has_value) {
      const std::string_view v = argv[++i];
      if (v != "server" && v != "client") {
        return std::nullopt;
      }
      o.server_is_parent = v == "server";
    } else if (arg == "--trim") {
      o.trim = true;
    } else if (arg == "--exit-at-idle") {
      o.exit_at_idle = true;
    } else if (arg == "--ngtcp2-sizes") {
      o.ngtcp2_sizes = true;
    } else {
      return std::nullopt;
    }
  }
  if (o.conns == 0 || o.concurrency == 0) {
    return std::nullopt;
  }
  return o;
}

// ---- Counting allocator for ngtcp2 ----

// Live bytes (as malloc_usable_size reports them) and blocks that ngtcp2 holds.
std::atomic<std::int64_t> g_ngtcp2_bytes{0};
std::atomic<std::int64_t> g_ngtcp2_blocks{0};

// With --ngtcp2-sizes: the usable size of every live ngtcp2 block.
std::unordered_map<void*, std::size_t>* g_ngtcp2_live = nullptr;

void count_in(void* p) {
  if (p != nullptr) {
    const std::size_t size = malloc_usable_size(p);
    g_ngtcp2_bytes += static_cast<std::int64_t>(size);
    ++g_ngtcp2_blocks;
    if (g_ngtcp2_live != nullptr) {
      (*g_ngtcp2_live)[p] = size;
    }
  }
}
void count_out(void* p) {
  if (p != nullptr) {
    g_ngtcp2_bytes -= static_cast<std::int64_t>(malloc_usable_size(p));
    --g_ngtcp2_blocks;
    if (g_ngtcp2_live != nullptr) {
      g_ngtcp2_live->erase(p);
    }
  }
}

// Returns the live ngtcp2 blocks by usable size, as count and bytes per connection.
std::string ngtcp2_sizes_text(std::size_t conns) {
  std::string out;
  if (g_ngtcp2_live == nullptr || conns == 0) {
    return out;
  }
  std::map<std::size_t, std::size_t> by_size;
  for (const auto& [p, size] : *g_ngtcp2_live) {
    ++by_size[size];
  }
  out = "live ngtcp2 blocks of the parent's side, by usable size, per connection:\n";
  for (const auto& [size, count] : by_size) {
    const double per = static_cast<double>(count) / static_cast<double>(conns);
    if (per >= 0.05) {
      std::array<char, 96> line{};
      std::snprintf(line.data(), line.size(), "  %6zu B x %5.2f = %8.0f B\n", size, per,
                    per * static_cast<double>(size));
      out += line.data();
    }
  }
  return out;
}

// The counting functions forward to the library's own allocator, so that the figures are those of
// the library as it runs without the bench.
void* counting_malloc(std::size_t size, void* user_data) {
  void* p = quicreuse::core::default_ngtcp2_allocator()->malloc(size, user_data);
  count_in(p);
  return p;
}
void counting_free(void* ptr, void* user_data) {
  count_out(ptr);
  quicreuse::core::default_ngtcp2_allocator()->free(ptr, user_data);
}
void* counting_calloc(std::size_t nmemb, std::size_t size, void* user_data) {
  void* p = quicreuse::core::default_ngtcp2_allocator()->calloc(nmemb, size, user_data);
  count_in(p);
  return p;
}
void* counting_realloc(void* ptr, std::size_t size, void* user_data) {
  const auto before = static_cast<std::int64_t>(ptr == nullptr ? 0 : malloc_usable_size(ptr));
  void* p = quicreuse::core::default_ngtcp2_allocator()->realloc(ptr, size, user_data);
  if (p == nullptr && size != 0) {
    return nullptr;  // failed: ptr is untouched
  }
  if (ptr != nullptr) {
    g_ngtcp2_bytes -= before;
    --g_ngtcp2_blocks;
    if (g_ngtcp2_live != nullptr) {
      g_ngtcp2_live->erase(ptr);
    }
  }
  count_in(p);
  return p;
}
const ngtcp2_mem kCountingMem{nullptr, counting_malloc, counting_free, counting_calloc,
                              counting_realloc};

// ---- Samples ----

struct Sample {
  std::uint64_t rss = 0;    // resident bytes
  std::uint64_t heap = 0;   // malloc'd bytes in use (uordblks + hblkhd)
  std::uint64_t held = 0;   // bytes malloc holds from the system (arena + hblkhd)
  std::int64_t ngtcp2 = 0;  // bytes ngtcp2 holds
  std::int64_t blocks = 0;  // blocks ngtcp2 holds
};

Sample sample() {
  Sample s;
  long resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r"); f != nullptr) {
    long size = 0;
    if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) {
      resident = 0;
    }
    std::fclose(f);
  }
  s.rss = static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  const struct mallinfo2 mi = mallinfo2();
  s.heap = mi.uordblks + mi.hblkhd;
  s.held = mi.arena + mi.hblkhd;
  s.ngtcp2 = g_ngtcp2_bytes.load();
  s.blocks = g_ngtcp2_blocks.load();
  return s;
}

// Report is what one side sends to the parent for printing.
struct Report {
  Sample before;
  Sample after;
  std::uint64_t connections = 0;
  std::uint64_t failures = 0;  // dials or accepts that failed (retried)
  double establish_seconds = 0;
  double quiet_wait_seconds = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagrams_received = 0;
  bool ok = false;
};

// ---- TLS ----

TlsServerConfig server_tls() {
  auto identity = TlsIdentity::self_signed({"localhost"});
  if (!identity) {
    std::fprintf(stderr, "self_signed: %s\n", identity.error().message().c_str());
    std::exit(1);
  }
  TlsServerConfig config;
  config.default_choice.identity = *identity;
  config.default_choice.alpns = {"idle"};
  return config;
}

TlsClientConfig client_tls() {
  TlsClientConfig config;
  config.alpns = {"idle"};
  config.server_name = "localhost";
  config.insecure_skip_verify = true;  // no trust store loaded per dial
  return config;
}

// ---- Pipes ----

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) {
      return false;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t size) {
  auto* p = static_cast<std::uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n <= 0) {
      return false;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Channel is one side's end of the two pipes between the processes.
struct Channel {
  int in = -1;
  int out = -1;
};

// ---- One side ----

// Side runs one endpoint (server or client) until its N connections are idle, samples, and then
// waits for the parent to say it is done.
class Side {
 public:
  Side(const Options& options, bool server, Channel channel)
      : options_(options), server_(server), channel_(channel) {}

  // Returns the report; a child sends it to the parent instead.
  Report run(bool parent) {
    parent_ = parent;
    EndpointConfig config;
    config.max_connections = 2 * options_.conns + 64;
    config.accept_queue = std::max<std::size_t>(32, options_.concurrency * 2);
    if (options_.keep_alive) {
      config.transport.keep_alive_period = *options_.keep_alive;
    }
    auto ep = Endpoint::bind(io_.get_executor(), {asio::ip::make_address("127.0.0.1"), 0},
                             std::move(config));
    if (!ep) {
      std::fprintf(stderr, "bind: %s\n", ep.error().message().c_str());
      std::exit(1);
    }
    endpoint_ = std::move(*ep);
    if (server_) {
      if (auto ok = endpoint_.listen(server_tls()); !ok) {
        std::fprintf(stderr, "listen: %s\n", ok.error().message().c_str());
        std::exit(1);
      }
    }
    connections_.reserve(options_.conns);
    asio::co_spawn(io_, main_task(), asio::detached);
    io_.run();
    return report_;
  }

  // The peer's report, read by the parent (valid once run() returned).
  const Report& peer_report() const { return peer_report_; }
  // With --ngtcp2-sizes, the parent's live ngtcp2 blocks at the idle sample.
  const std::string& sizes_text() const { return sizes_text_; }
  Endpoint& endpoint() { return endpoint_; }

 private:
  asio::awaitable<void> accept_all() {
    while (connections_.size() < options_.conns) {
      auto [ec, conn] = co_await endpoint_.async_accept(as_tuple(use_awaitable));
      if (ec) {
        ++report_.failures;
        if (!endpoint_.is_open()) {
          co_return;
        }
        continue;
      }
      connections_.push_back(std::move(conn));
    }
  }

  asio::awaitable<void> dial_some() {
    asio::steady_timer backoff(io_);
    while (next_dial_ < options_.conns) {
      ++next_dial_;
      for (;;) {
        auto [ec, conn] =
            co_await endpoint_.async_dial(peer_, client_tls(), as_tuple(use_awaitable));
        if (!ec) {
          connections_.push_back(std::move(conn));
          break;
        }
        if (++report_.failures > options_.conns || !endpoint_.is_open()) {
          std::fprintf(stderr, "client: dial failed: %s\n", ec.message().c_str());
          co_return;
        }
        // A slow (profiled) server: let failed attempts drain before the next one.
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(as_tuple(use_awaitable));
      }
    }
  }

  // Samples the bound endpoint (its receive loop running), starts the connections, waits for all
  // N, then for a quiet period; samples again; then hands the report over.
  asio::awaitable<void> main_task() {
    asio::steady_timer timer(io_);
    const auto tick = std::max(std::chrono::milliseconds(5), options_.quiet / 20);
    timer.expires_after(tick);
    co_await timer.async_wait(as_tuple(use_awaitable));
    report_.before = sample();
    if (server_) {
      const std::uint16_t port = endpoint_.local_endpoint().port();
      write_all(channel_.out, &port, sizeof port);
      started_ = Clock::now();
      asio::co_spawn(io_, accept_all(), asio::detached);
    } else {
      std::uint16_t port = 0;
      if (!read_all(channel_.in, &port, sizeof port)) {
        std::fprintf(stderr, "client: no server port\n");
        std::exit(1);
      }
      peer_ = {asio::ip::make_address("127.0.0.1"), port};
      started_ = Clock::now();
      for (std::size_t i = 0; i < options_.concurrency; ++i) {
        asio::co_spawn(io_, dial_some(), asio::detached);
      }
    }
    const auto deadline = started_ + options_.deadline;
    while (connections_.size() < options_.conns) {
      timer.expires_after(tick);
      co_await timer.async_wait(as_tuple(use_awaitable));
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "%s: only %zu of %zu connections after %lld s\n",
                     server_ ? "server" : "client", connections_.size(), options_.conns,
                     static_cast<long long>(options_.deadline.count()));
        std::exit(1);
      }
    }
    const auto established = Clock::now();
    report_.establish_seconds = std::chrono::duration<double>(established - started_).count();
    auto last = traffic();
    auto last_change = Clock::now();
    while (Clock::now() - last_change < options_.quiet) {
      timer.expires_after(tick);
      co_await timer.async_wait(as_tuple(use_awaitable));
      if (const auto t = traffic(); t != last) {
        last = t;
        last_change = Clock::now();
      }
      if (Clock::now() > deadline) {
        // With many connections, keep-alives (every 15 s) may never leave a quiet period.
        std::fprintf(stderr,
                     "%s: never quiet for %lld ms (try a shorter --quiet-ms or "
                     "--keep-alive-ms 0)\n",
                     server_ ? "server" : "client", static_cast<long long>(options_.quiet.count()));
        std::exit(1);
      }
    }
    report_.quiet_wait_seconds = std::chrono::duration<double>(Clock::now() - established).count();
    std::size_t open = 0;
    for (const auto& c : connections_) {
      if (c.is_open()) {
        ++open;
      }
    }
    if (options_.trim) {
      malloc_trim(0);
    }
    report_.after = sample();
    if (parent_) {
      sizes_text_ = ngtcp2_sizes_text(connections_.size());
    }
    report_.connections = open;
    const EndpointStats st = endpoint_.stats();
    report_.datagrams_sent = st.datagrams_sent;
    report_.datagrams_received = st.datagrams_received;
    report_.ok = open == options_.conns;
    if (parent_) {
      // Read the child's report, then tell it to finish.
      asio::posix::stream_descriptor in(io_, ::dup(channel_.in));
      auto [ec, n] = co_await asio::async_read(in, asio::buffer(&peer_report_, sizeof peer_report_),
                                               as_tuple(use_awaitable));
      if (ec || n != sizeof peer_report_) {
        std::fprintf(stderr, "no report from the child\n");
        peer_report_ = Report{};
      }
      if (!options_.exit_at_idle) {
        const char done = 'd';
        write_all(channel_.out, &done, 1);
        endpoint_.close();
      }
      io_.stop();
    } else {
      write_all(channel_.out, &report_, sizeof report_);
      asio::posix::stream_descriptor in(io_, ::dup(channel_.in));
      char done = 0;
      co_await asio::async_read(in, asio::buffer(&done, 1), as_tuple(use_awaitable));
      endpoint_.close();
      io_.stop();
    }
  }

  std::pair<std::uint64_t, std::uint64_t> traffic() const {
    const EndpointStats st = endpoint_.stats();
    return {st.datagrams_sent, st.datagrams_received};
  }

  const Options& options_;
  bool server_;
  Channel channel_;
  bool parent_ = false;
  asio::io_context io_{1};
  Endpoint endpoint_;
  asio::ip::udp::endpoint peer_;
  std::vector<Connection> connections_;
  std::size_t next_dial_ = 0;
  Clock::time_point started_;
  Report report_;
  Report peer_report_;
  std::string sizes_text_;
};

// ---- Printing ----

double kib(double bytes) {
  return bytes / 1024.0;
}
double mib(double bytes) {
  return bytes / (1024.0 * 1024.0);
}

void print_row(const char* name, const Report& r) {
  if (r.connections == 0) {
    std::printf("%-7s no report\n", name);
    return;
  }
  const double n = static_cast<double>(r.connections);
  const auto delta = [&](auto Sample::*field) {
    return static_cast<double>(r.after.*field) - static_cast<double>(r.before.*field);
  };
  std::printf("%-7s %9.1f %9.1f %10.2f %10.2f %10.2f %10.2f %8.1f\n", name,
              mib(static_cast<double>(r.before.rss)), mib(static_cast<double>(r.after.rss)),
              kib(delta(&Sample::rss) / n), kib(delta(&Sample::heap) / n),
              kib(delta(&Sample::held) / n), kib(delta(&Sample::ngtcp2) / n),
              delta(&Sample::blocks) / n);
}

void print(const Options& o, const Report& server, const Report& client) {
  std::printf("idle_memory: %zu connections on 127.0.0.1, quiet period %lld ms%s\n", o.conns,
              static_cast<long long>(o.quiet.count()),
              o.trim ? ", malloc_trim(0) before sample" : "");
  for (const auto* r : {&server, &client}) {
    std::printf(
        "  %s: %llu open, established in %.2f s, idle after %.2f s more, %llu retries, "
        "%llu datagrams sent / %llu received\n",
        r == &server ? "server" : "client", static_cast<unsigned long long>(r->connections),
        r->establish_seconds, r->quiet_wait_seconds, static_cast<unsigned long long>(r->failures),
        static_cast<unsigned long long>(r->datagrams_sent),
        static_cast<unsigned long long>(r->datagrams_received));
  }
  std::printf("        RSS before RSS after   RSS/conn  malloc'd/  malloc'd/   ngtcp2/  ngtcp2\n");
  std::printf("             (MiB)     (MiB)      (KiB) conn (KiB) held (KiB) conn (KiB)  blocks\n");
  print_row("server", server);
  print_row("client", client);
}

}  // namespace
}  // namespace quicreuse::bench

int main(int argc, char** argv) {
  using namespace quicreuse::bench;
  const auto options = parse(argc, argv);
  if (!options) {
    usage();
    return 2;
  }
  quicreuse::core::set_ngtcp2_allocator(&kCountingMem);
  if (options->ngtcp2_sizes) {
    g_ngtcp2_live = new std::unordered_map<void*, std::size_t>();  // lives until exit
  }
  std::signal(SIGPIPE, SIG_IGN);  // NOLINT(cert-err33-c)
  int to_child[2];
  int to_parent[2];
  if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0) {
    std::perror("pipe");
    return 1;
  }
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  const bool parent = child != 0;
  const bool server = parent == options->server_is_parent;
  const Channel channel =
      parent ? Channel{to_parent[0], to_child[1]} : Channel{to_child[0], to_parent[1]};
  ::close(parent ? to_parent[1] : to_child[1]);
  ::close(parent ? to_child[0] : to_parent[0]);
  Side side(*options, server, channel);
  const Report mine = side.run(parent);
  if (!parent) {
    std::_Exit(mine.ok ? 0 : 1);
  }
  const Report& theirs = side.peer_report();
  print(*options, server ? mine : theirs, server ? theirs : mine);
  std::fputs(side.sizes_text().c_str(), stdout);
  std::fflush(stdout);
  if (options->exit_at_idle) {
    // Leave with every connection allocated: a heap profiler reports the idle heap as leaked.
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    std::exit(mine.ok && theirs.ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return mine.ok && theirs.ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
