#include "reuse/resolve.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <memory>

namespace quicreuse::detail {
namespace {

// The lookup's state, shared by the waiting dial and the resolver's completion handler (which
// may outlive the dial when the dial gave up).
struct Lookup {
  explicit Lookup(const asio::any_io_executor& executor)
      : resolver(executor), arrived(executor, asio::steady_timer::time_point::max()) {}
  asio::ip::udp::resolver resolver;
  asio::steady_timer arrived;  // an event: cancelled when the results arrive
  bool finished = false;
  std::error_code error;
  asio::ip::udp::resolver::results_type results;
};

}  // namespace

std::optional<DnsDialTarget> dns_dial_target(const Multiaddr& address) {
  const auto& components = address.components();
  if (components.empty()) {
    return std::nullopt;
  }
  const Protocol host = components.front().protocol;
  if (host != Protocol::dns && host != Protocol::dns4 && host != Protocol::dns6) {
    return std::nullopt;
  }
  DnsDialTarget out;
  out.protocol = host;
  out.name.assign(components.front().value.begin(), components.front().value.end());
  std::vector<Component> replaced = components;
  if (host == Protocol::dns6) {
    replaced.front() = Component{Protocol::ip6, std::vector<std::uint8_t>(16, 0)};
  } else {
    replaced.front() = Component{Protocol::ip4, std::vector<std::uint8_t>(4, 0)};
  }
  auto placeholder = Multiaddr::from_components(std::move(replaced));
  if (!placeholder) {
    return std::nullopt;  // left to the usual conversion, which explains the problem
  }
  out.placeholder = std::move(*placeholder);
  return out;
}

asio::awaitable<Result<asio::ip::address>> resolve_dial_host(Protocol protocol, std::string name,
                                                             std::chrono::milliseconds bound) {
  auto lookup = std::make_shared<Lookup>(co_await asio::this_coro::executor);
  auto on_results = [lookup](std::error_code ec, asio::ip::udp::resolver::results_type results) {
    lookup->finished = true;
    lookup->error = ec;
    lookup->results = std::move(results);
    lookup->arrived.cancel();
  };
  const auto flags = asio::ip::resolver_base::numeric_service;
  if (protocol == Protocol::dns4) {
    lookup->resolver.async_resolve(asio::ip::udp::v4(), name, "0", flags, on_results);
  } else if (protocol == Protocol::dns6) {
    lookup->resolver.async_resolve(asio::ip::udp::v6(), name, "0", flags, on_results);
  } else {
    lookup->resolver.async_resolve(name, "0", flags, on_results);
  }
  lookup->arrived.expires_after(bound);
  auto [waited] =
      co_await lookup->arrived.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  if (!lookup->finished) {
    lookup->resolver.cancel();
    co_return fail(waited ? asio::error::make_error_code(asio::error::operation_aborted)
                          : std::make_error_code(std::errc::timed_out));
  }
  if (lookup->error) {
    co_return fail(lookup->error);
  }
  for (const auto& entry : lookup->results) {
    if (protocol != Protocol::dns || entry.endpoint().address().is_v4()) {
      co_return entry.endpoint().address();
    }
  }
  if (lookup->results.empty()) {
    co_return fail(asio::error::host_not_found);
  }
  co_return lookup->results.begin()->endpoint().address();
}

}  // namespace quicreuse::detail
