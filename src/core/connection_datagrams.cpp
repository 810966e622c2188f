// core::Connection's unreliable datagrams (RFC 9221): negotiation, the send and receive queues.
#include "core/connection_internal.hpp"

#include <algorithm>

namespace quicreuse::core {

bool Connection::datagrams_negotiated() const {
  if (conn_ == nullptr || !params_.transport.enable_datagrams || !handshake_completed_) {
    return false;
  }
  const ngtcp2_transport_params* remote = ngtcp2_conn_get_remote_transport_params(conn_);
  return remote != nullptr && remote->max_datagram_frame_size > 0;
}

Result<void> Connection::send_datagram(std::span<const std::uint8_t> data) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  if (!datagrams_negotiated()) {
    return fail(errc::datagrams_disabled);
  }
  const ngtcp2_transport_params* remote = ngtcp2_conn_get_remote_transport_params(conn_);
  const std::size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_);
  if (data.size() + kDatagramOverhead > path_max ||
      data.size() + 9 > remote->max_datagram_frame_size) {
    return fail(errc::datagram_too_large);
  }
  if (datagrams_out_.size() >= std::max<std::size_t>(1, params_.transport.datagram_send_queue)) {
    return fail(errc::queue_full);
  }
  datagrams_out_.emplace_back(data.begin(), data.end());
  host_.mark_dirty(params_.handle);
  return {};
}

std::optional<std::vector<std::uint8_t>> Connection::receive_datagram() {
  if (datagrams_in_.empty()) {
    return std::nullopt;
  }
  auto d = std::move(datagrams_in_.front());
  datagrams_in_.pop_front();
  return d;
}

}  // namespace quicreuse::core
