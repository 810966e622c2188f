// A tiny HTTP/1.1 server for `--metrics HOST:PORT`: GET /metrics answers the Prometheus text of a
// MetricsRegistry; every other path is 404. One request per connection (Connection: close),
// requests bounded to 8 KiB, a read timeout per connection.
#pragma once

#include <quicreuse/metrics.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>
#include <tl/expected.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace quicreuse::tool {

// Parses HOST:PORT for --metrics: an IPv4 literal, [IPv6], or localhost (127.0.0.1), and a port
// in 0..65535 (0: any free port). Errors: one line.
tl::expected<asio::ip::tcp::endpoint, std::string> parse_metrics_address(std::string_view text);

// Returns http://HOST:PORT/metrics for a bound address ([..] around IPv6 hosts).
std::string metrics_url(const asio::ip::tcp::endpoint& bound);

struct MetricsServerState;

// MetricsServer serves one registry on one TCP address until close() (or destruction).
// Threading: use it on the executor it was started on.
class MetricsServer {
 public:
  static constexpr std::size_t kMaxRequest = std::size_t{8} * 1024;
  static constexpr std::chrono::seconds kReadTimeout{5};

  // Binds address and starts serving. Errors: one line naming the address and the bind error.
  static tl::expected<std::unique_ptr<MetricsServer>, std::string> start(
      const asio::any_io_executor& executor, const asio::ip::tcp::endpoint& address,
      std::shared_ptr<MetricsRegistry> registry);

  explicit MetricsServer(std::shared_ptr<MetricsServerState> state);
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  MetricsServer(MetricsServer&&) = delete;
  MetricsServer& operator=(MetricsServer&&) = delete;
  ~MetricsServer();

  // Returns the bound address (the real port when 0 was asked).
  [[nodiscard]] asio::ip::tcp::endpoint local_endpoint() const;
  // Stops accepting and closes the connections being served. Idempotent.
  void close();

 private:
  std::shared_ptr<MetricsServerState> state_;
};

}  // namespace quicreuse::tool
