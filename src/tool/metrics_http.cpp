#include "metrics_http.hpp"

#include "common.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/read_until.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <charconv>
#include <cstdint>
#include <list>

namespace quicreuse::tool {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using asio::ip::tcp;

struct MetricsServerState {
  explicit MetricsServerState(const asio::any_io_executor& executor) : acceptor(executor) {}

  tcp::acceptor acceptor;
  tcp::endpoint bound;
  std::shared_ptr<MetricsRegistry> registry;
  // Connections being served, closed by close(); expired entries are dropped as new ones come.
  std::list<std::weak_ptr<tcp::socket>> connections;
  bool closed = false;

  void track(const std::shared_ptr<tcp::socket>& socket) {
    connections.remove_if([](const std::weak_ptr<tcp::socket>& w) { return w.expired(); });
    connections.push_back(socket);
  }

  void close() {
    if (closed) {
      return;
    }
    closed = true;
    std::error_code ignored;
    acceptor.close(ignored);
    for (const auto& weak : connections) {
      if (auto socket = weak.lock()) {
        socket->close(ignored);
      }
    }
    connections.clear();
  }
};

namespace {

constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string response(std::string_view status, std::string_view content_type,
                     const std::string& body, bool head, std::string_view extra_headers) {
  std::string out = "HTTP/1.1 ";
  out += status;
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size());
  out += "\r\nConnection: close\r\n";
  out += extra_headers;
  out += "\r\n";
  if (!head) {
    out += body;
  }
  return out;
}

// (No default arguments: some of these are called from coroutines, where GCC 12 mishandles them.)
std::string plain(std::string_view status, bool head, std::string_view extra_headers) {
  return response(status, "text/plain; charset=utf-8", std::string(status) + "\n", head,
                  extra_headers);
}

std::string plain(std::string_view status) {
  return plain(status, false, std::string_view());
}

// Answers one request head (everything up to and including the blank line).
std::string answer(const MetricsServerState& s, std::string_view head) {
  const std::size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    return plain("400 Bad Request");
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (version.substr(0, 7) != "HTTP/1.") {
    return plain("400 Bad Request");
  }
  const bool is_head = method == "HEAD";
  if (method != "GET" && !is_head) {
    return plain("405 Method Not Allowed", false, "Allow: GET, HEAD\r\n");
  }
  if (const std::size_t q = target.find('?'); q != std::string_view::npos) {
    target = target.substr(0, q);
  }
  if (target != "/metrics") {
    return plain("404 Not Found", is_head, std::string_view());
  }
  const std::string body = s.registry ? s.registry->render() : std::string();
  return response("200 OK", kContentType, body, is_head, std::string_view());
}

// Reads the request head into request (bounded by kMaxRequest). Errors: asio::error::not_found
// when the head is larger than that, the read error otherwise.
asio::awaitable<std::error_code> read_head(tcp::socket& socket, std::string& request) {
  auto [ec, n] = co_await asio::async_read_until(
      socket, asio::dynamic_buffer(request, MetricsServer::kMaxRequest), "\r\n\r\n",
      as_tuple(use_awaitable));
  co_return ec;
}

asio::awaitable<std::error_code> write_all(tcp::socket& socket, const std::string& data) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(data), as_tuple(use_awaitable));
  co_return ec;
}

asio::awaitable<void> serve_one(std::shared_ptr<MetricsServerState> s,
                                std::shared_ptr<tcp::socket> socket) {
  std::string request;
  const auto read = co_await with_timeout(read_head(*socket, request), MetricsServer::kReadTimeout);
  std::string reply;
  if (!read) {
    reply = plain("408 Request Timeout");
  } else if (*read == asio::error::not_found) {
    reply = plain("431 Request Header Fields Too Large");
  } else if (!*read) {
    reply = answer(*s, request);
  }
  if (!reply.empty() && socket->is_open()) {
    co_await with_timeout(write_all(*socket, reply), MetricsServer::kReadTimeout);
  }
  std::error_code ignored;
  socket->shutdown(tcp::socket::shutdown_both, ignored);
  socket->close(ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<MetricsServerState> s) {
  for (;;) {
    auto [ec, accepted] = co_await s->acceptor.async_accept(as_tuple(use_awaitable));
    if (s->closed) {
      co_return;
    }
    if (ec) {
      // Out of descriptors and the like: wait a little instead of spinning.
      co_await sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    auto socket = std::make_shared<tcp::socket>(std::move(accepted));
    s->track(socket);
    const auto ex = s->acceptor.get_executor();
    asio::co_spawn(ex, serve_one(s, std::move(socket)), asio::detached);
  }
}

std::string host_text(const asio::ip::address& address) {
  return address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
}

}  // namespace

tl::expected<tcp::endpoint, std::string> parse_metrics_address(std::string_view text) {
  const std::string what = "bad --metrics '" + std::string(text) + "': ";
  auto bad = [&what](const std::string& why) { return tl::make_unexpected(what + why); };
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return bad("missing ']' after the IPv6 host");
    }
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("missing ':PORT' after the host (want HOST:PORT, e.g. 127.0.0.1:9090)");
    }
    port_text = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return bad("missing ':PORT' (want HOST:PORT, e.g. 127.0.0.1:9090)");
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad("IPv6 hosts go in brackets, e.g. [::1]:9090");
    }
  }
  if (host.empty()) {
    return bad("missing host (e.g. 127.0.0.1:9090)");
  }
  std::uint32_t port = 0;
  const auto [end, perr] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || perr != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad("port '" + std::string(port_text) + "' is not a number in 0..65535");
  }
  asio::ip::address address;
  if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else {
    std::error_code ec;
    address = asio::ip::make_address(std::string(host), ec);
    if (ec) {
      return bad("'" + std::string(host) + "' is not an IP address (or localhost)");
    }
  }
  return tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

std::string metrics_url(const tcp::endpoint& bound) {
  return "http://" + host_text(bound.address()) + ":" + std::to_string(bound.port()) + "/metrics";
}

tl::expected<std::unique_ptr<MetricsServer>, std::string> MetricsServer::start(
    const asio::any_io_executor& executor, const tcp::endpoint& address,
    std::shared_ptr<MetricsRegistry> registry) {
  auto s = std::make_shared<MetricsServerState>(executor);
  s->registry = std::move(registry);
  std::error_code ec;
  s->acceptor.open(address.protocol(), ec);
  if (!ec) {
    s->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    s->acceptor.bind(address, ec);
  }
  if (!ec) {
    s->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (!ec) {
    s->bound = s->acceptor.local_endpoint(ec);
  }
  if (ec) {
    std::error_code ignored;
    s->acceptor.close(ignored);
    return tl::make_unexpected("cannot serve metrics on " + host_text(address.address()) + ":" +
                               std::to_string(address.port()) + ": " + ec.message());
  }
  asio::co_spawn(executor, accept_loop(s), asio::detached);
  return std::make_unique<MetricsServer>(std::move(s));
}

MetricsServer::MetricsServer(std::shared_ptr<MetricsServerState> state)
    : state_(std::move(state)) {}

MetricsServer::~MetricsServer() {
  close();
}

tcp::endpoint MetricsServer::local_endpoint() const {
  return state_->bound;
}

void MetricsServer::close() {
  state_->close();
}

}  // namespace quicreuse::tool
