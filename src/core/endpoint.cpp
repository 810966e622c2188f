#include "core/endpoint.hpp"

#include "core/cipher_suites.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <array>

namespace quicreuse::core {
namespace {

// RFC 9000 14.1: a client Initial is padded to 1200 bytes; smaller unknown-version packets get no
// Version Negotiation (it would amplify).
constexpr std::size_t kMinInitialSize = 1200;
// Stateless resets: only for packets larger than this (quic-go: > 42 bytes), at most this large.
constexpr std::size_t kMinResetTrigger = 43;
constexpr std::size_t kMaxResetSize = 64;
// The initial DCID a client picks (RFC 9000: at least 8 bytes).
constexpr std::size_t kClientInitialDcidLength = 16;
// Client-side NEW_TOKEN cache bound.
constexpr std::size_t kMaxCachedTokens = 256;

// Returns the path of a stateless answer to a datagram received on path: sent from the address
// the peer used.
PathInfo reply_path(const PathInfo& path) {
  return PathInfo{path.local};
}
// Transport error codes (RFC 9000 20.1).
constexpr std::uint64_t kConnectionRefused = 0x2;
constexpr std::uint64_t kInvalidToken = 0xb;

// True when version differs from QUIC v1 in exactly one of its four bytes. Every registered and
// greased version differs from v1 in at least two bytes, so such a version is a damaged v1
// packet; a Version Negotiation in reply, unauthenticated and itself exposed to the same damage,
// can only make the client abandon a v1 connection.
bool one_byte_from_v1(std::uint32_t version) noexcept {
  const std::uint32_t diff = version ^ NGTCP2_PROTO_VER_V1;
  int bytes = 0;
  for (int shift = 0; shift < 32; shift += 8) {
    bytes += ((diff >> shift) & 0xffU) != 0 ? 1 : 0;
  }
  return bytes == 1;
}

SipKey random_sip_key(Rng& rng) {
  SipKey key{};
  rng.fill({reinterpret_cast<std::uint8_t*>(key.data()), sizeof key});
  return key;
}

}  // namespace

std::string_view to_string(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::empty:
      return "empty";
    case DropReason::malformed_long_header:
      return "malformed_long_header";
    case DropReason::unknown_connection:
      return "unknown_connection";
    case DropReason::not_listening:
      return "not_listening";
    case DropReason::unsupported_version:
      return "unsupported_version";
    case DropReason::invalid_initial:
      return "invalid_initial";
    case DropReason::too_many_connections:
      return "too_many_connections";
    case DropReason::accept_queue_full:
      return "accept_queue_full";
    case DropReason::invalid_token:
      return "invalid_token";
    case DropReason::reset_rate_limited:
      return "reset_rate_limited";
    case DropReason::reset_too_small:
      return "reset_too_small";
    case DropReason::connection_init_failed:
      return "connection_init_failed";
    case DropReason::invalid_address:
      return "invalid_address";
    case DropReason::too_many_half_open:
      return "too_many_half_open";
    case DropReason::undecryptable_initial:
      return "undecryptable_initial";
    case DropReason::damaged_version:
      return "damaged_version";
    case DropReason::count:
      break;
  }
  return "unknown";
}

Endpoint::Endpoint(EndpointConfig config, Rng& rng, SocketAddress local)
    : config_(std::move(config)),
      rng_(rng),
      local_(local),
      index_(random_sip_key(rng)),
      reset_limiter_(config_.stateless_resets_per_second, config_.stateless_reset_burst),
      budget_(config_.max_buffered_stream_data) {
  config_.cid_length = std::clamp<std::size_t>(config_.cid_length, 4, kMaxCidLength);
}

Endpoint::~Endpoint() {
  // Connections unregister their CIDs from index_ in their destructors: destroy them first.
  connections_.clear();
}

Result<void> Endpoint::listen(
    std::shared_ptr<const TlsServerConfig> tls,
    std::function<bool(const Connection&, std::uint64_t)> allow_window_increase) {
  if (server_tls_) {
    return fail(errc::already_listening);
  }
  if (!tls ||
      (!tls->select && (!tls->default_choice.identity || tls->default_choice.alpns.empty())) ||
      !valid_cipher_suites(tls->cipher_suites)) {
    return fail(errc::invalid_argument);
  }
  server_tls_ = std::move(tls);
  window_policy_ = std::move(allow_window_increase);
  return {};
}

void Endpoint::stop_listening() {
  server_tls_.reset();
  window_policy_ = nullptr;
  for (const auto& [handle, validated] : half_open_) {
    if (auto it = connections_.find(handle); it != connections_.end()) {
      it->second->close_transport(kConnectionRefused, "listener closed");
    }
  }
}

Result<ConnectionHandle> Endpoint::connect(Timestamp now, const SocketAddress& remote,
                                           std::shared_ptr<const ClientTlsContext> tls,
                                           const SocketAddress& local) {
  if (remote.empty() || (remote.family() != AF_INET && remote.family() != AF_INET6)) {
    return fail(errc::invalid_argument);
  }
  if (remote.family() != local_.family() || (!local.empty() && local.family() != local_.family())) {
    return fail(errc::address_family_mismatch);
  }
  if (connections_.size() >= config_.max_connections) {
    return fail(errc::queue_full);
  }
  ConnectionParams p;
  p.role = Role::client;
  p.handle = next_handle_++;
  p.transport = config_.transport;
  p.local = local.empty() ? local_ : local;
  p.remote = remote;
  std::array<std::uint8_t, kClientInitialDcidLength> dcid{};
  rng_.fill(dcid);
  p.dcid = ConnectionId::from(dcid);
  p.scid = new_cid();
  p.now = now;
  p.qlog = config_.qlog;
  p.configure_tls = config_.configure_tls;
  p.client_tls = std::move(tls);
  if (auto it = tokens_.find(remote); it != tokens_.end()) {
    p.token = it->second;
  }
  auto conn = std::make_unique<Connection>(*this, std::move(p));
  if (auto ok = conn->init(); !ok) {
    return fail(ok.error());
  }
  const ConnectionHandle handle = conn->handle();
  connections_.emplace(handle, std::move(conn));
  ++stats_.connections_dialed;
  mark_dirty(handle);
  return handle;
}

DatagramOutcome Endpoint::drop(DropReason reason) noexcept {
  ++stats_.dropped[static_cast<std::size_t>(reason)];
  return DatagramOutcome::dropped;
}

DatagramOutcome Endpoint::route(ConnectionHandle handle, Timestamp now, const SocketAddress& remote,
                                std::span<const std::uint8_t> datagram, const PathInfo& path) {
  auto it = connections_.find(handle);
  if (it == connections_.end()) {
    return drop(DropReason::unknown_connection);
  }
  it->second->receive(now, remote, datagram, path);
  return DatagramOutcome::routed;
}

DatagramOutcome Endpoint::handle_datagram(Timestamp now, const SocketAddress& remote,
                                          std::span<const std::uint8_t> datagram, PacketSink& sink,
                                          const PathInfo& path) {
  ++stats_.datagrams_received;
  stats_.bytes_received += datagram.size();
  if (remote.family() != local_.family() || (!local_.is_v4() && !local_.is_v6())) {
    return drop(DropReason::invalid_address);  // ngtcp2 needs IPv4 or IPv6 addresses
  }
  const DatagramInfo info = classify_datagram(datagram, config_.cid_length);
  switch (info.kind) {
    case DatagramKind::empty:
      return drop(DropReason::empty);

    case DatagramKind::quic_long_header: {
      // A set top bit means a QUIC long header whatever the fixed bit says (D12).
      if (info.truncated) {
        return drop(DropReason::malformed_long_header);
      }
      if (auto h = index_.find(info.dcid); h) {
        return route(*h, now, remote, datagram, path);
      }
      if (!listening()) {
        return drop(DropReason::not_listening);
      }
      if (info.version != NGTCP2_PROTO_VER_V1) {
        if (info.version == 0 || datagram.size() < kMinInitialSize) {
          return drop(DropReason::unsupported_version);
        }
        if (one_byte_from_v1(info.version)) {
          return drop(DropReason::damaged_version);
        }
        if (!reset_limiter_.try_take(now)) {
          return drop(DropReason::reset_rate_limited);
        }
        return send_version_negotiation(info, remote, sink, path);
      }
      return accept_initial(now, remote, datagram, sink, path);
    }

    case DatagramKind::quic_short_header:
    case DatagramKind::stun:
    case DatagramKind::dtls: {
      // Top bit clear: ambiguous. A known DCID wins, whatever the rest looks like (greased QUIC
      // packets from ngtcp2 and quinn peers have the fixed bit clear).
      if (datagram.size() > config_.cid_length) {
        if (auto h = index_.find(datagram.subspan(1, config_.cid_length)); h) {
          return route(*h, now, remote, datagram, path);
        }
      }
      if (info.kind != DatagramKind::quic_short_header) {
        ++stats_.non_quic_received;
        return DatagramOutcome::non_quic;
      }
      // A stateless reset from a peer carries, in its last 16 bytes, a token the peer gave us.
      if (datagram.size() >= 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + 16) {
        ResetToken token;
        std::copy(datagram.end() - 16, datagram.end(), token.bytes.begin());
        if (auto h = index_.find_token(token); h) {
          ++stats_.stateless_resets_received;
          return route(*h, now, remote, datagram, path);
        }
      }
      if (info.fixed_bit && !info.truncated) {
        return send_stateless_reset(now, info, remote, datagram.size(), sink, path);
      }
      // Fixed bit clear and no connection: never answer it with a reset (D12); it is someone
      // else's protocol.
      ++stats_.non_quic_received;
      return DatagramOutcome::non_quic;
    }
  }
  return drop(DropReason::malformed_long_header);
}

DatagramOutcome Endpoint::accept_initial(Timestamp now, const SocketAddress& remote,
                                         std::span<const std::uint8_t> datagram, PacketSink& sink,
                                         const PathInfo& path) {
  ngtcp2_pkt_hd hd{};
  if (ngtcp2_accept(&hd, datagram.data(), datagram.size()) != 0) {
    return drop(DropReason::invalid_initial);
  }
  if (connections_.size() >= config_.max_connections) {
    ++stats_.connections_refused;
    refuse(hd, remote, kConnectionRefused, sink, path);
    return drop(DropReason::too_many_connections);
  }
  // Backpressure where it is cheap: while the application has a full queue of handshaken
  // connections it has not accepted, new ones are refused before any state is kept. (Handshakes
  // already under way still complete and queue up; max_connections bounds them.)
  // Only connections that were already waiting when the application last had its turn count:
  // a burst of handshakes completing together in one batch of datagrams is no sign that the
  // application stopped accepting.
  if (accept_queue_.waited() >= config_.accept_queue) {
    ++stats_.connections_refused;
    refuse(hd, remote, kConnectionRefused, sink, path);
    return drop(DropReason::accept_queue_full);
  }
  const std::span<const std::uint8_t> token(hd.token.base, hd.token.len);
  bool validated = false;
  ConnectionId original_dcid = ConnectionId::from(hd.dcid);
  std::optional<ConnectionId> retry_scid;
  switch (token_kind(token)) {
    case TokenKind::retry: {
      auto odcid =
          verify_retry_token(config_.token_key, token, hd.version, remote,
                             ConnectionId::from(hd.dcid), config_.retry_token_lifetime, now);
      if (!odcid) {
        refuse(hd, remote, kInvalidToken, sink, path);
        return drop(DropReason::invalid_token);
      }
      validated = true;
      original_dcid = *odcid;
      retry_scid = ConnectionId::from(hd.dcid);
      break;
    }
    case TokenKind::regular:
      validated =
          verify_regular_token(config_.token_key, token, remote, config_.new_token_lifetime, now);
      break;
    case TokenKind::none:
    case TokenKind::unknown:
      break;
  }
  // Half-open connections (handshake not complete) hold most of a connection's memory. Past
  // max_half_open unvalidated ones, a new client must first prove its address with a Retry
  // round trip (stateless for us); validated ones are refused past twice that.
  const bool crowded = !validated && unvalidated_half_open_ >= config_.max_half_open;
  if (validated && half_open_.size() >= 2 * config_.max_half_open) {
    ++stats_.connections_refused;
    refuse(hd, remote, kConnectionRefused, sink, path);
    return drop(DropReason::too_many_half_open);
  }
  if (!validated &&
      (crowded || (config_.verify_source_address && config_.verify_source_address(remote)))) {
    // Stateless Retry: the client proves it owns its address before we keep any state.
    // ngtcp2_crypto_write_retry asserts a non-empty token and a Retry SCID that differs from the
    // client's DCID (possible by chance with short connection IDs).
    const ConnectionId client_dcid = ConnectionId::from(hd.dcid);
    ConnectionId scid = new_cid();
    while (scid == client_dcid) {
      scid = new_cid();
    }
    auto retry_token =
        make_retry_token(config_.token_key, hd.version, remote, scid, client_dcid, now);
    if (retry_token.empty()) {
      return drop(DropReason::invalid_initial);
    }
    std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> buf{};
    const ngtcp2_cid retry_cid = scid.to_ngtcp2();
    const ngtcp2_ssize n =
        ngtcp2_crypto_write_retry(buf.data(), buf.size(), hd.version, &hd.scid, &retry_cid,
                                  &hd.dcid, retry_token.data(), retry_token.size());
    if (n <= 0) {
      return drop(DropReason::invalid_initial);
    }
    sink.send(remote, {buf.data(), static_cast<std::size_t>(n)}, static_cast<std::size_t>(n),
              reply_path(path));
    ++stats_.retries_sent;
    stats_.retries_for_half_open += crowded ? 1 : 0;
    return DatagramOutcome::retry_sent;
  }
  std::any user_value;
  if (config_.connection_context) {
    auto value = config_.connection_context(remote, validated);
    if (!value) {
      ++stats_.connections_refused;
      return refuse(hd, remote, kConnectionRefused, sink, path);
    }
    user_value = std::move(*value);
  }

  ConnectionParams p;
  p.role = Role::server;
  p.handle = next_handle_++;
  p.transport = config_.transport;
  p.local = path.local.empty() ? local_ : path.local;
  p.remote = remote;
  p.dcid = ConnectionId::from(hd.scid);
  p.scid = new_cid();
  p.original_dcid = original_dcid;
  p.client_initial_dcid = ConnectionId::from(hd.dcid);
  p.retry_scid = retry_scid;
  if (validated) {
    p.token.assign(token.begin(), token.end());
  }
  p.version = hd.version;
  p.now = now;
  p.qlog = config_.qlog;
  p.configure_tls = config_.configure_tls;
  p.server_tls = server_tls_;
  p.user_value = std::move(user_value);
  auto conn = std::make_unique<Connection>(*this, std::move(p));
  if (auto ok = conn->init(); !ok) {
    return drop(DropReason::connection_init_failed);
  }
  const ConnectionHandle handle = conn->handle();
  Connection& ref = *conn;
  if (window_policy_) {
    ref.set_window_increase_policy(
        [policy = window_policy_, c = &ref](std::uint64_t delta) { return policy(*c, delta); });
  }
  connections_.emplace(handle, std::move(conn));
  half_open_.emplace(handle, validated);
  unvalidated_half_open_ += validated ? 0U : 1U;
  ref.receive(now, remote, datagram, path);
  if (ref.terminated()) {
    // Nothing in the datagram decrypted (ngtcp2 dropped the connection): a corrupted or forged
    // Initial. Forget it now rather than at the next flush, or an intact copy later in the same
    // batch of datagrams (a client's back-to-back probes) would reach this dead connection
    // through the DCID it registered, and be swallowed.
    forget_half_open(handle);
    connections_.erase(handle);
    return drop(DropReason::undecryptable_initial);
  }
  ++stats_.connections_incoming;
  stats_.half_open_peak = std::max<std::uint64_t>(stats_.half_open_peak, half_open_.size());
  mark_dirty(handle);
  return DatagramOutcome::accepted;
}

DatagramOutcome Endpoint::refuse(const ngtcp2_pkt_hd& hd, const SocketAddress& remote,
                                 std::uint64_t code, PacketSink& sink, const PathInfo& path) {
  // An Initial carrying CONNECTION_CLOSE, keyed from the client's DCID: no state is kept.
  std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> buf{};
  const ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(buf.data(), buf.size(), hd.version,
                                                              &hd.scid, &hd.dcid, code, nullptr, 0);
  if (n > 0) {
    sink.send(remote, {buf.data(), static_cast<std::size_t>(n)}, static_cast<std::size_t>(n),
              reply_path(path));
  }
  return DatagramOutcome::refused;
}

DatagramOutcome Endpoint::send_version_negotiation(const DatagramInfo& info,
                                                   const SocketAddress& remote, PacketSink& sink,
                                                   const PathInfo& path) {
  std::array<std::uint8_t, 256> buf{};
  std::uint8_t unused = 0;
  rng_.fill({&unused, 1});
  const std::uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  const ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
      buf.data(), buf.size(), unused, info.scid.data(), info.scid.size(), info.dcid.data(),
      info.dcid.size(), versions, std::size(versions));
  if (n <= 0) {
    return drop(DropReason::unsupported_version);
  }
  sink.send(remote, {buf.data(), static_cast<std::size_t>(n)}, static_cast<std::size_t>(n),
            reply_path(path));
  ++stats_.version_negotiations_sent;
  return DatagramOutcome::version_negotiation_sent;
}

DatagramOutcome Endpoint::send_stateless_reset(Timestamp now, const DatagramInfo& info,
                                               const SocketAddress& remote, std::size_t size,
                                               PacketSink& sink, const PathInfo& path) {
  // RFC 9000 10.3: never larger than the packet that caused it (no loops, no amplification),
  // and large enough to look like a short-header packet.
  if (size < kMinResetTrigger) {
    return drop(DropReason::reset_too_small);
  }
  if (!reset_limiter_.try_take(now)) {
    return drop(DropReason::reset_rate_limited);
  }
  const ResetToken token = derive_reset_token(config_.reset_key, ConnectionId::from(info.dcid));
  const std::size_t total = std::min(size - 1, kMaxResetSize);
  const std::size_t randlen = total - 1 - token.bytes.size();
  std::array<std::uint8_t, kMaxResetSize> random{};
  rng_.fill({random.data(), randlen});
  std::array<std::uint8_t, kMaxResetSize> buf{};
  const ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(
      buf.data(), buf.size(), token.bytes.data(), random.data(), randlen);
  if (n <= 0) {
    return drop(DropReason::reset_too_small);
  }
  sink.send(remote, {buf.data(), static_cast<std::size_t>(n)}, static_cast<std::size_t>(n),
            reply_path(path));
  ++stats_.stateless_resets_sent;
  return DatagramOutcome::stateless_reset_sent;
}

void Endpoint::application_turn() {
  accept_queue_.erase_if([this](ConnectionHandle h) {
    auto it = connections_.find(h);
    return it == connections_.end() || it->second->is_closed();
  });
  accept_queue_.application_turn();
}

void Endpoint::flush(Timestamp now, PacketSink& sink, EndpointObserver& observer) {
  // Observers may make connections dirty again (by reading or writing); a bounded number of
  // rounds keeps a misbehaving observer from looping forever.
  for (const ConnectionHandle handle : budget_.take_wakeups()) {
    mark_dirty(handle);  // the connection resumes what waited for budget in its write()
  }
  for (int round = 0; round < 16 && !dirty_.empty(); ++round) {
    std::vector<ConnectionHandle> batch;
    batch.swap(dirty_);
    dirty_set_.clear();
    for (ConnectionHandle handle : batch) {
      auto it = connections_.find(handle);
      if (it == connections_.end()) {
        continue;
      }
      Connection& conn = *it->second;
      conn.write(now, sink);
      auto events = conn.take_events();
      bool incoming = false;
      for (const auto& ev : events) {
        if (ev.type == ConnectionEvent::Type::handshake_completed) {
          record_handshake(conn, now);
          forget_half_open(handle);
        }
        if (ev.type == ConnectionEvent::Type::handshake_completed && conn.role() == Role::server &&
            !conn.is_closed()) {
          accept_queue_.push(handle);
          ++stats_.connections_accepted;
          incoming = true;
        }
      }
      if (!events.empty()) {
        observer.on_events(conn, events);
      }
      if (incoming) {
        observer.on_incoming();
      }
      if (conn.terminated()) {
        remove(handle, observer);
      } else {
        schedule_timer(conn);
      }
    }
  }
}

void Endpoint::schedule_timer(Connection& conn) {
  const Timestamp t = conn.expiry();
  auto [it, inserted] = armed_.try_emplace(conn.handle(), t);
  if (!inserted) {
    if (it->second == t) {
      return;
    }
    it->second = t;
  }
  if (t != Timestamp::max()) {
    timers_.push({t, conn.handle()});
  }
}

Timestamp Endpoint::next_expiry() {
  while (!timers_.empty()) {
    const TimerEntry& top = timers_.top();
    auto it = armed_.find(top.handle);
    if (it != armed_.end() && it->second == top.when) {
      return top.when;
    }
    timers_.pop();  // stale: re-armed or removed since
  }
  return Timestamp::max();
}

void Endpoint::handle_expiry(Timestamp now) {
  while (!timers_.empty() && timers_.top().when <= now) {
    const TimerEntry top = timers_.top();
    timers_.pop();
    auto armed = armed_.find(top.handle);
    if (armed == armed_.end() || armed->second != top.when) {
      continue;
    }
    armed_.erase(armed);
    if (auto it = connections_.find(top.handle); it != connections_.end()) {
      it->second->handle_expiry(now);
      mark_dirty(top.handle);
    }
  }
}

std::optional<ConnectionHandle> Endpoint::accept() {
  while (!accept_queue_.empty()) {
    const ConnectionHandle handle = accept_queue_.pop();
    auto it = connections_.find(handle);
    if (it != connections_.end() && !it->second->is_closed()) {
      return handle;
    }
  }
  return std::nullopt;
}

Connection* Endpoint::find(ConnectionHandle handle) noexcept {
  auto it = connections_.find(handle);
  return it == connections_.end() ? nullptr : it->second.get();
}

void Endpoint::close_all(Timestamp now, PacketSink& sink, EndpointObserver& observer) {
  stop_listening();
  std::vector<ConnectionHandle> handles;
  handles.reserve(connections_.size());
  for (const auto& [handle, conn] : connections_) {
    handles.push_back(handle);
  }
  for (ConnectionHandle handle : handles) {
    auto it = connections_.find(handle);
    if (it == connections_.end()) {
      continue;
    }
    Connection& conn = *it->second;
    conn.abandon(now, sink);
    auto events = conn.take_events();
    if (!events.empty()) {
      observer.on_events(conn, events);
    }
    remove(handle, observer);
  }
  accept_queue_.clear();
  dirty_.clear();
  dirty_set_.clear();
}

void Endpoint::record_handshake(const Connection& conn, Timestamp now) {
  const std::size_t role = conn.role() == Role::client ? 0 : 1;
  const double seconds = std::chrono::duration<double>(now - conn.created()).count();
  std::size_t bucket = 0;
  while (bucket < kHandshakeBuckets.size() && seconds > kHandshakeBuckets[bucket]) {
    ++bucket;
  }
  ++stats_.handshake_buckets[role][bucket];
  stats_.handshake_seconds[role] += seconds;
  ++stats_.handshakes[role];
}

void Endpoint::remove(ConnectionHandle handle, EndpointObserver& observer) {
  if (auto it = connections_.find(handle); it != connections_.end()) {
    const std::size_t role = it->second->role() == Role::client ? 0 : 1;
    const auto kind = static_cast<std::size_t>(it->second->close_info().kind);
    if (kind < kCloseKinds) {
      ++stats_.closed_by_kind[role][kind];
    }
  }
  forget_half_open(handle);
  if (connections_.erase(handle) > 0) {
    ++stats_.connections_closed;
    armed_.erase(handle);
    observer.on_removed(handle);
  }
}

void Endpoint::forget_half_open(ConnectionHandle handle) {
  if (auto it = half_open_.find(handle); it != half_open_.end()) {
    unvalidated_half_open_ -= it->second ? 0U : 1U;
    half_open_.erase(it);
  }
}

ConnectionId Endpoint::new_cid() {
  std::array<std::uint8_t, kMaxCidLength> bytes{};
  for (;;) {
    rng_.fill({bytes.data(), config_.cid_length});
    ConnectionId cid = ConnectionId::from({bytes.data(), config_.cid_length});
    if (!index_.find(cid.span())) {
      return cid;
    }
  }
}

bool Endpoint::register_cid(ConnectionHandle handle, const ConnectionId& cid) {
  return index_.insert(cid, handle);
}

void Endpoint::unregister_cid(ConnectionHandle handle, const ConnectionId& cid) {
  index_.erase(cid, handle);
}

void Endpoint::register_reset_token(ConnectionHandle handle, const ResetToken& token) {
  index_.insert_token(token, handle);
}

void Endpoint::unregister_reset_token(ConnectionHandle handle, const ResetToken& token) {
  index_.erase_token(token, handle);
}

void Endpoint::mark_dirty(ConnectionHandle handle) {
  if (dirty_set_.insert(handle).second) {
    dirty_.push_back(handle);
  }
}

void Endpoint::store_token(const SocketAddress& remote, std::vector<std::uint8_t> token) {
  auto [it, inserted] = tokens_.insert_or_assign(remote, std::move(token));
  if (inserted) {
    token_order_.push_back(remote);
    if (token_order_.size() > kMaxCachedTokens) {
      tokens_.erase(token_order_.front());
      token_order_.pop_front();
    }
  }
}

}  // namespace quicreuse::core
