// TransportConfig: per-connection QUIC settings, with the defaults of spec section 5.1.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace quicreuse {

// TransportConfig holds the QUIC transport settings applied to every connection of an endpoint
// (dialed and accepted alike). Defaults follow go-libp2p's quicreuse (spec section 5.1).
struct TransportConfig {
  // Streams the peer may open concurrently.
  std::uint64_t max_incoming_bidi_streams = 256;
  std::uint64_t max_incoming_uni_streams = 5;
  // Flow control: windows start at the initial values and grow (auto-tuning) as the application
  // consumes data quickly, up to the maxima.
  std::uint64_t initial_stream_window = std::uint64_t{512} * 1024;
  std::uint64_t max_stream_window = std::uint64_t{10} * 1024 * 1024;
  std::uint64_t initial_connection_window = std::uint64_t{768} * 1024;
  std::uint64_t max_connection_window = std::uint64_t{15} * 1024 * 1024;
  // Timers. A zero keep_alive_period disables keep-alives; they are sent at
  // min(keep_alive_period, idle / 3), idle being the smaller of our max_idle_timeout and the
  // peer's (known once the handshake completes). A third, where quic-go uses half: quic-go
  // retransmits a lost keep-alive PING after a probe timeout, ngtcp2 0.12 only sends the next
  // keep-alive, so at a third one lost PING still reaches the peer within its idle timeout.
  std::chrono::milliseconds keep_alive_period{15'000};
  // Before the handshake completes the connection gives up after this much silence; the whole
  // handshake may take at most twice this.
  std::chrono::milliseconds handshake_idle_timeout{5'000};
  std::chrono::milliseconds max_idle_timeout{30'000};
  // The round-trip time assumed until the first sample (RFC 9002 6.2.2 suggests 333 ms; like
  // quic-go we start from 100 ms, so a lost Initial is resent after 300 ms, not after 1 s).
  // Must be between 1 ms and 10 s.
  std::chrono::milliseconds initial_rtt{100};
  // RFC 9221 unreliable datagrams.
  bool enable_datagrams = true;
  // Bytes of stream data the application may queue per stream before writes wait.
  std::size_t stream_send_buffer = std::size_t{1024} * 1024;
  // Bytes of stream data the application may queue on all streams of one connection together
  // (sent but not yet acknowledged, or not yet sent); past it, stream writes wait until the peer
  // acknowledges data. This bounds what one peer that never reads can make us hold.
  std::size_t connection_send_buffer = std::size_t{4} * 1024 * 1024;
  // Received datagrams kept until the application reads them (older ones are dropped, counted).
  std::size_t datagram_receive_queue = 128;
  // Datagrams queued for sending (a full queue rejects send_datagram with errc::queue_full).
  std::size_t datagram_send_queue = 128;
};

}  // namespace quicreuse
