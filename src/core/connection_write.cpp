// core::Connection's write path: write() and write_packets(), which fill packets with datagrams
// and stream data and hand them to a PacketWriter, which batches them for GSO.
#include "core/connection_internal.hpp"
#include "core/short_packet_padding.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace quicreuse::core {

void Connection::write(Timestamp now, PacketSink& sink) {
  if (state_ == State::closed || state_ == State::draining) {
    return;
  }
  if (state_ == State::closing) {
    if (resend_close_due_) {
      resend_close_due_ = false;
      if (!close_packet_.empty()) {
        sink.send(remote_, close_packet_, close_packet_.size(), PathInfo{local_});
        bytes_sent_ += close_packet_.size();
        ++packets_sent_;
      }
    }
    return;
  }
  if (!close_is_error_) {
    resume_after_budget();
    if (new_token_due_) {
      new_token_due_ = false;
      auto token = make_regular_token(host_.token_key(), remote_, now);
      if (!token.empty()) {
        ngtcp2_conn_submit_new_token(conn_.get(), token.data(), token.size());
      }
    }
    if (key_update_pending_) {
      try_key_update(now);
    }
    write_packets(now, sink);
  }
  if (close_pending_ && state_ != State::closed) {
    // A graceful close lingers (at most one PTO) until stream data queued before it has been
    // sent: pacing may have held it back, and the peer should see it before the close.
    if (!close_is_error_ && !send_queue_.empty()) {
      if (close_linger_deadline_ == Timestamp::max()) {
        close_linger_deadline_ = now + Duration(ngtcp2_conn_get_pto(conn_.get()));
      }
      if (now < close_linger_deadline_) {
        return;
      }
    }
    write_close(now, sink);
  }
}

void Connection::write_packets(Timestamp now, PacketSink& sink) {
  const ngtcp2_tstamp ts = to_ngtcp2(now);
  const std::size_t max_udp = ngtcp2_conn_get_max_tx_udp_payload_size(conn_.get());
  const std::size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_.get());
  // The driver's batch limit (what its socket sends in one call) bounds the packets of one call.
  const std::size_t batch_limit = std::max<std::size_t>(1, host_.max_packets_per_write());
  const std::size_t max_packets =
      std::clamp<std::size_t>(ngtcp2_conn_get_send_quantum(conn_.get()) / max_udp, 1, batch_limit);
  // One transmit buffer per endpoint, not per connection: the sink consumes packets at once.
  std::vector<std::uint8_t>& tx_buffer = host_.tx_buffer();
  if (tx_buffer.size() < batch_limit * max_udp) {
    tx_buffer.resize(batch_limit * max_udp);
  }
  // A client's handshake probe goes out twice. A server's copy must stay within the
  // anti-amplification limit (RFC 9000 8.1), which ngtcp2 counts without it: three times what
  // the unvalidated address sent us.
  std::uint64_t copy_limit = 0;
  if (std::exchange(duplicate_probe_, false)) {
    copy_limit = params_.role == Role::client || handshake_completed_
                     ? std::numeric_limits<std::uint64_t>::max()
                     : 3 * bytes_received_;
  }
  PacketWriter writer(sink, tx_buffer, {max_packets, path_max}, {bytes_sent_, ecn_ect0_sent_},
                      copy_limit);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};

  // Hands the packet of n bytes at writer.next() to the writer; returns false to stop writing.
  auto emit_packet = [&](std::size_t n) {
    ++packets_sent_;
    SocketAddress to(ps.path.remote.addr, ps.path.remote.addrlen);
    if (to.empty()) {
      to = remote_;
    } else if (!(to == remote_)) {
      remote_ = to;  // the peer's address changed (migration or NAT rebinding)
    }
    // ngtcp2 marks whole datagrams (pi is per datagram): ECT(0) while it tests the path's ECN
    // support and once the path is validated.
    PathInfo from{SocketAddress(ps.path.local.addr, ps.path.local.addrlen),
                  static_cast<std::uint8_t>(pi.ecn & NGTCP2_ECN_MASK)};
    if (from.local.empty()) {
      from.local = local_;
    } else if (!(from.local == local_)) {
      local_ = from.local;  // the peer moved to another of our addresses
    }
    return writer.add(n, to, from);
  };

  for (;;) {
    // Unreliable datagrams go first: they are small and time-sensitive. One that does not fit
    // what is left of a packet goes into the next, fresh one; only one that fails to fit
    // DatagramQueue::kSendAttempts packets in a row (ACK frames and control frames take room) is
    // dropped. Nothing is dropped for want of congestion window: writing stops and resumes later.
    if (datagrams_.has_outgoing() && handshake_completed_) {
      int accepted = 0;
      const auto& front = datagrams_.next_outgoing();
      ngtcp2_vec v{const_cast<std::uint8_t*>(front.data()), front.size()};  // ngtcp2 only reads
      // An empty datagram is a DATAGRAM frame without data: no vector at all, since ngtcp2
      // asserts that every vector it copies is non-empty.
      const std::size_t vcnt = front.empty() ? 0 : 1;
      PaddingScope padding(writer.next() + max_udp, may_pad_short_packets());
      const ngtcp2_ssize n = ngtcp2_conn_writev_datagram(
          conn_.get(), &ps.path, &pi, writer.next(), max_udp, &accepted,
          NGTCP2_WRITE_DATAGRAM_FLAG_MORE, datagrams_.next_outgoing_id(), &v, vcnt, ts);
      if (n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE) {
        datagrams_.drop_outgoing();  // the peer cannot take it
        continue;
      }
      if (accepted != 0) {
        datagrams_.outgoing_sent();
      } else if (n > 0) {
        datagrams_.outgoing_missed_packet();
      }
      if (n == NGTCP2_ERR_WRITE_MORE) {
        continue;  // the packet has room left: fill it
      }
      if (n < 0) {
        fail_with_liberr(static_cast<int>(n));
        return;
      }
      if (n == 0 && accepted == 0 && datagrams_.has_outgoing() &&
          datagrams_.next_outgoing().size() + kDatagramOverhead > path_max) {
        datagrams_.drop_outgoing();  // the path shrank under it: it can never fit
        continue;
      }
      if (n == 0 || !emit_packet(static_cast<std::size_t>(n) + padding.added())) {
        break;  // congestion window, pacing or the batch limit: later
      }
      continue;
    }

    StreamState* s = nullptr;
    while (!send_queue_.empty()) {
      s = find_stream(send_queue_.front());
      if (s != nullptr && s->queued && !s->send_closed && !s->blocked && has_pending_send(*s)) {
        break;
      }
      if (s != nullptr) {
        s->queued = false;
      }
      send_queue_.pop_front();
      s = nullptr;
    }
    std::array<ngtcp2_vec, 16> vec{};
    std::size_t vcnt = 0;
    std::int64_t sid = -1;
    std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    bool with_fin = false;
    if (s != nullptr) {
      const bool has_data = s->sent < s->send.end_offset();
      if (has_data && ngtcp2_conn_get_max_data_left(conn_.get()) == 0) {
        s = nullptr;  // connection-level flow control: only control frames this round
      } else {
        sid = s->id;
        vcnt = s->send.peek(s->sent, vec);
        std::uint64_t covered = 0;
        for (std::size_t i = 0; i < vcnt; ++i) {
          covered += vec[i].len;
        }
        if (s->fin_requested && s->sent + covered == s->send.end_offset()) {
          flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
          with_fin = true;
        }
      }
    }
    ngtcp2_ssize ndatalen = -1;
    // Padding may lengthen a short packet sealed by this call (short_packet_padding.hpp); the
    // buffer ngtcp2 gets ends where the padding must, too.
    PaddingScope padding(writer.next() + max_udp, may_pad_short_packets());
    const ngtcp2_ssize n =
        ngtcp2_conn_writev_stream(conn_.get(), &ps.path, &pi, writer.next(), max_udp, &ndatalen,
                                  flags, sid, vec.data(), vcnt, ts);
    if (n < 0) {
      switch (n) {
        case NGTCP2_ERR_STREAM_DATA_BLOCKED:
          s->blocked = true;
          s->queued = false;
          send_queue_.pop_front();
          continue;
        case NGTCP2_ERR_STREAM_SHUT_WR:
        case NGTCP2_ERR_STREAM_NOT_FOUND:
          // Not reset by us: the peer sent STOP_SENDING (ngtcp2 answered with RESET_STREAM).
          if (!s->reset_locally) {
            s->stopped_by_peer = true;
            emit(ConnectionEvent::Type::stream_writable, s->id);
          }
          s->send_closed = true;
          s->queued = false;
          send_queue_.pop_front();
          continue;
        case NGTCP2_ERR_WRITE_MORE:
          advance_stream(*s, static_cast<std::size_t>(ndatalen), with_fin);
          continue;
        default:
          fail_with_liberr(static_cast<int>(n));
          return;
      }
    }
    if (s != nullptr && ndatalen >= 0) {
      advance_stream(*s, static_cast<std::size_t>(ndatalen), with_fin);
      if (s->queued && !send_queue_.empty() && send_queue_.front() == s->id) {
        // Round robin: a stream that filled a packet goes to the back of the queue.
        send_queue_.pop_front();
        send_queue_.push_back(s->id);
      }
    }
    if (n == 0) {
      break;
    }
    if (!emit_packet(static_cast<std::size_t>(n) + padding.added())) {
      break;
    }
  }
  writer.flush();
  // ngtcp2 0.12 paces with the 333 ms initial RTT until it has a sample, which holds a client's
  // Finished and first data back by ~22 ms after its 1200-byte Initial (fixed upstream in 0.14,
  // "Use 1ms as initial srtt when calculating pacing rate"). No pacing before the first sample.
  ngtcp2_conn_stat stat{};
  ngtcp2_conn_get_conn_stat(conn_.get(), &stat);
  if (stat.first_rtt_sample_ts != UINT64_MAX) {
    ngtcp2_conn_update_pkt_tx_time(conn_.get(), ts);
  }
}

}  // namespace quicreuse::core
