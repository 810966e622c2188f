// Asynchronous name resolution for dials to /dns, /dns4 and /dns6 multiaddrs (library internal).
#pragma once

#include <quicreuse/error.hpp>
#include <quicreuse/multiaddr.hpp>

#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace quicreuse::detail {

// DnsDialTarget is a dialable multiaddr split for resolution: the multiaddr with its DNS host
// replaced by a placeholder IP of the family (so that the usual checks run without a lookup),
// and the name to resolve.
struct DnsDialTarget {
  Multiaddr placeholder;  // /ip4/0.0.0.0 or /ip6/:: in place of the DNS component
  Protocol protocol = Protocol::dns;
  std::string name;
};

// Returns the DNS part of a dial address that starts with /dns, /dns4 or /dns6 and has a
// /quic-v1 later on; std::nullopt for any other address (it needs no lookup).
std::optional<DnsDialTarget> dns_dial_target(const Multiaddr& address);

// Resolves name on the resolver's thread while the calling executor keeps running: /dns4 gives
// an IPv4 address, /dns6 an IPv6 one, /dns the first IPv4 result else the first (as Go does).
// Gives up after bound. Supports per-operation cancellation (the caller's `||`): the lookup is
// then abandoned, its result dropped when it arrives. Errors: the resolver's error,
// asio::error::host_not_found (no address), std::errc::timed_out, asio::error::operation_aborted.
asio::awaitable<Result<asio::ip::address>> resolve_dial_host(Protocol protocol, std::string name,
                                                             std::chrono::milliseconds bound);

}  // namespace quicreuse::detail
