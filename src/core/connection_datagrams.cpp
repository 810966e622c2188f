// core::Connection's unreliable datagrams (RFC 9221): negotiation, the send and receive queues.
#include "core/connection_internal.hpp"

namespace quicreuse::core {

bool Connection::datagrams_negotiated() const {
  if (conn_ == nullptr || !params_.transport.enable_datagrams || !handshake_completed_) {
    return false;
  }
  const ngtcp2_transport_params* remote = ngtcp2_conn_get_remote_transport_params(conn_.get());
  return remote != nullptr && remote->max_datagram_frame_size > 0;
}

Result<void> Connection::send_datagram(std::span<const std::uint8_t> data) {
  if (auto ok = check_open(); !ok) {
    return fail(ok.error());
  }
  if (!datagrams_negotiated()) {
    return fail(errc::datagrams_disabled);
  }
  const ngtcp2_transport_params* remote = ngtcp2_conn_get_remote_transport_params(conn_.get());
  const std::size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_.get());
  if (data.size() + kDatagramOverhead > path_max ||
      data.size() + 9 > remote->max_datagram_frame_size) {
    return fail(errc::datagram_too_large);
  }
  if (!datagrams_.push_outgoing(data)) {
    return fail(errc::queue_full);
  }
  host_.mark_dirty(params_.handle);
  return {};
}

std::optional<std::vector<std::uint8_t>> Connection::receive_datagram() {
  return datagrams_.pop_received();
}

}  // namespace quicreuse::core
