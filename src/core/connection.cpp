// core::Connection: construction and destruction, the event queue, statistics and the TLS hooks.
// The rest of its implementation is split by concept: connection_callbacks.cpp (ngtcp2's
// callbacks and init()), connection_receive.cpp, connection_write.cpp, connection_streams.cpp,
// connection_datagrams.cpp, connection_close.cpp, connection_timers.cpp,
// connection_key_update.cpp, connection_release.cpp and connection_padding.cpp.
#include "core/connection.hpp"

namespace quicreuse::core {
namespace {

// Datagrams ngtcp2 0.12 marks ECT(0) while it tests a path for ECN
// (NGTCP2_ECN_MAX_NUM_VALIDATION_PKTS, in its private ngtcp2_conn.h).
constexpr std::uint64_t kEcnTestDatagrams = 10;

}  // namespace

Connection::Connection(ConnectionHost& host, ConnectionParams params)
    : host_(host), params_(std::move(params)), remote_(params_.remote), local_(params_.local) {}

Connection::~Connection() {
  BufferBudget& budget = host_.buffer_budget();
  budget.remove_send(send_held_);
  budget.remove_receive(recv_held_);
  budget.release_window(window_growth_);
  if (waiting_for_budget_) {
    budget.cancel_wait(params_.handle);
  }
  for (const auto& cid : cids_) {
    host_.unregister_cid(params_.handle, cid);
  }
  for (const auto& token : peer_tokens_) {
    host_.unregister_reset_token(params_.handle, token);
  }
}

std::vector<ConnectionEvent> Connection::take_events() {
  std::vector<ConnectionEvent> out;
  out.swap(events_);
  return out;
}

void Connection::emit(ConnectionEvent::Type type, std::int64_t id, bool bidi) {
  events_.push_back({type, id, bidi});
  host_.mark_dirty(params_.handle);
}

ConnectionStats Connection::stats() const {
  ConnectionStats st;
  if (conn_ != nullptr) {
    ngtcp2_conn_stat cs{};
    ngtcp2_conn_get_conn_stat(conn_.get(), &cs);
    st.smoothed_rtt = Duration(cs.smoothed_rtt);
    st.min_rtt = Duration(cs.min_rtt == UINT64_MAX ? 0 : cs.min_rtt);
    st.latest_rtt = Duration(cs.latest_rtt);
    st.congestion_window = cs.cwnd;
    st.bytes_in_flight = cs.bytes_in_flight;
  }
  st.bytes_sent = bytes_sent_;
  st.bytes_received = bytes_received_;
  st.packets_sent = packets_sent_;
  st.packets_received = packets_received_;
  st.datagrams_dropped = datagrams_.dropped();
  st.key_updates_initiated = key_updates_initiated_;
  st.ecn_ect0_sent = ecn_ect0_sent_;
  st.ecn_received = ecn_received_;
  st.ecn_peer = frame_guard_.peer_ecn();
  // ngtcp2 marks at most kEcnTestDatagrams datagrams while it tests a path and every
  // ack-eliciting one once ACK frames counted its marks (its state is private in 0.12): more
  // marks than that, with the peer counting them, means ngtcp2 found the path ECN-capable.
  st.ecn_validated = ecn_ect0_sent_ > kEcnTestDatagrams && st.ecn_peer.ect0 + st.ecn_peer.ce > 0;
  return st;
}

// ---------------------------------------------------------------------------------------------
// TLS hooks

int Connection::on_client_hello(const ClientHelloInfo& info) {
  try {
    const TlsServerConfig& config = *params_.server_tls;
    if (config.select) {
      auto choice = config.select(info);
      if (!choice) {
        return GNUTLS_E_NO_APPLICATION_PROTOCOL;
      }
      server_choice_ = std::move(*choice);
    } else {
      server_choice_ = config.default_choice;
    }
    return apply_server_choice(tls_.get(), server_choice_);
  } catch (...) {
    return GNUTLS_E_INTERNAL_ERROR;
  }
}

int Connection::on_verify_peer() {
  try {
    const PeerVerifier& verify = params_.role == Role::client
                                     ? params_.client_tls->config.verify_server
                                     : server_choice_.verify_client;
    if (!verify) {
      return 0;
    }
    return verify(peer_chain(tls_.get())) ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
  } catch (...) {
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
}

}  // namespace quicreuse::core
