// core::Connection closing: the close requests (close, close_transport, abandon), read errors
// that end the connection, the CONNECTION_CLOSE packet, and the close information and error.
#include "core/connection.hpp"
#include "core/short_packet_padding.hpp"

#include <algorithm>
#include <array>

namespace quicreuse::core {
namespace {

// Longest CONNECTION_CLOSE reason phrase we send (a packet must hold it).
constexpr std::size_t kMaxCloseReason = 512;

// A reason phrase that does not fit one packet would make ngtcp2 write no CONNECTION_CLOSE at
// all: keep at most kMaxCloseReason bytes, cut at a UTF-8 character boundary.
std::string truncate_reason(std::string_view reason) {
  std::size_t n = std::min(reason.size(), kMaxCloseReason);
  while (n > 0 && n < reason.size() && (static_cast<unsigned char>(reason[n]) & 0xc0) == 0x80) {
    --n;
  }
  return std::string(reason.substr(0, n));
}

}  // namespace

void Connection::handle_read_error(int rv, Timestamp now) {
  switch (rv) {
    case NGTCP2_ERR_DRAINING: {
      state_ = State::draining;
      drain_deadline_ = now + Duration(3 * ngtcp2_conn_get_pto(conn_.get()));
      CloseInfo info;
      info.remote = true;
      if (stateless_reset_received_) {
        info.kind = CloseInfo::Kind::stateless_reset;
        info.error = make_error_code(errc::stateless_reset);
      } else {
        ngtcp2_connection_close_error ccerr{};
        ngtcp2_conn_get_connection_close_error(conn_.get(), &ccerr);
        info.code = ccerr.error_code;
        if (ccerr.reason != nullptr) {
          info.reason.assign(reinterpret_cast<const char*>(ccerr.reason), ccerr.reasonlen);
        }
        if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
          info.kind = CloseInfo::Kind::application;
          info.error = make_application_error(ccerr.error_code);
        } else {
          info.kind = CloseInfo::Kind::transport;
          info.error = make_transport_error(ccerr.error_code);
        }
      }
      set_close_info(std::move(info));
      return;
    }
    case NGTCP2_ERR_RECV_VERSION_NEGOTIATION: {
      CloseInfo info;
      info.kind = CloseInfo::Kind::internal;
      info.remote = true;
      info.error = make_error_code(errc::version_negotiation);
      enter_closed(std::move(info));
      return;
    }
    case NGTCP2_ERR_DROP_CONN: {
      CloseInfo info;
      info.kind = CloseInfo::Kind::internal;
      info.error = std::error_code(rv, ngtcp2_category());
      enter_closed(std::move(info));
      return;
    }
    case NGTCP2_ERR_CRYPTO: {
      const std::uint8_t alert = ngtcp2_conn_get_tls_alert(conn_.get());
      ngtcp2_connection_close_error_set_transport_error_tls_alert(&pending_close_, alert, nullptr,
                                                                  0);
      CloseInfo info;
      info.kind = CloseInfo::Kind::transport;
      info.code = pending_close_.error_code;
      info.error = make_transport_error(info.code);
      close_pending_ = true;
      close_is_error_ = true;
      set_close_info(std::move(info));
      return;
    }
    default:
      fail_with_liberr(rv);
      return;
  }
}

void Connection::fail_with_liberr(int liberr) {
  ngtcp2_connection_close_error_set_transport_error_liberr(&pending_close_, liberr, nullptr, 0);
  CloseInfo info;
  info.kind = CloseInfo::Kind::transport;
  info.code = pending_close_.error_code;
  info.error = make_transport_error(info.code);
  close_pending_ = true;
  close_is_error_ = true;
  set_close_info(std::move(info));
  host_.mark_dirty(params_.handle);
}

void Connection::set_close_info(CloseInfo info) {
  if (close_info_.kind == CloseInfo::Kind::none) {
    close_info_ = std::move(info);
  }
  if (!closed_emitted_) {
    closed_emitted_ = true;
    emit(ConnectionEvent::Type::closed);
  }
}

void Connection::enter_closed(CloseInfo info) {
  state_ = State::closed;
  set_close_info(std::move(info));
}

void Connection::write_close(Timestamp now, PacketSink& sink) {
  close_pending_ = false;
  std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> buf{};
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  PaddingScope padding(buf.data() + buf.size(), may_pad_short_packets());
  const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      conn_.get(), &ps.path, &pi, buf.data(), buf.size(), &pending_close_, to_ngtcp2(now));
  if (n <= 0) {
    // Nothing can be sent (e.g. a client that never sent an Initial): done.
    state_ = State::closed;
    return;
  }
  close_packet_.assign(buf.data(), buf.data() + n + padding.added());
  sink.send(remote_, close_packet_, close_packet_.size(),
            PathInfo{local_, static_cast<std::uint8_t>(pi.ecn & NGTCP2_ECN_MASK)});
  bytes_sent_ += close_packet_.size();
  ++packets_sent_;
  state_ = State::closing;
  drain_deadline_ = now + Duration(3 * ngtcp2_conn_get_pto(conn_.get()));
}

void Connection::abandon(Timestamp now, PacketSink& sink) {
  if (state_ == State::closed) {
    return;
  }
  CloseInfo info;
  info.kind = CloseInfo::Kind::endpoint_closed;
  info.error = make_error_code(errc::endpoint_closed);
  if (state_ == State::handshaking || state_ == State::established) {
    if (!close_pending_) {
      ngtcp2_connection_close_error_set_application_error(&pending_close_, 0, nullptr, 0);
      close_pending_ = true;
    }
    set_close_info(std::move(info));
    write_close(now, sink);
  } else {
    set_close_info(std::move(info));
  }
  state_ = State::closed;
}

Result<void> Connection::check_open() const {
  if (is_closed()) {
    return fail(close_error());
  }
  return {};
}

std::error_code Connection::close_error() const {
  if (close_info_.kind == CloseInfo::Kind::none) {
    return make_error_code(errc::connection_closed);
  }
  if (!close_info_.remote && (close_info_.kind == CloseInfo::Kind::application)) {
    return make_error_code(errc::connection_closed);
  }
  return close_info_.error;
}

void Connection::close(std::uint64_t app_code, std::string_view reason) {
  request_close(CloseInfo::Kind::application, app_code, reason);
}

void Connection::close_transport(std::uint64_t code, std::string_view reason) {
  request_close(CloseInfo::Kind::transport, code, reason);
}

void Connection::request_close(CloseInfo::Kind kind, std::uint64_t code, std::string_view reason) {
  if (is_closed() || conn_ == nullptr) {
    return;
  }
  close_reason_ = truncate_reason(reason);
  const auto* phrase = reinterpret_cast<const std::uint8_t*>(close_reason_.data());
  CloseInfo info;
  info.kind = kind;
  info.code = code;
  info.reason = close_reason_;
  if (kind == CloseInfo::Kind::application) {
    ngtcp2_connection_close_error_set_application_error(&pending_close_, code, phrase,
                                                        close_reason_.size());
    info.error = make_application_error(code);
  } else {
    ngtcp2_connection_close_error_set_transport_error(&pending_close_, code, phrase,
                                                      close_reason_.size());
    info.error = make_transport_error(code);
  }
  close_pending_ = true;
  set_close_info(std::move(info));
  host_.mark_dirty(params_.handle);
}

}  // namespace quicreuse::core
