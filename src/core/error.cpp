// Error categories of quicreuse (see include/quicreuse/error.hpp).
#include <quicreuse/error.hpp>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>

#include <climits>
#include <cstdio>
#include <string>

namespace quicreuse {
namespace {

class QuicreuseCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "quicreuse"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::endpoint_closed:
        return "endpoint closed";
      case errc::connection_closed:
        return "connection closed";
      case errc::closed_by_peer:
        return "connection closed by peer (code 0)";
      case errc::listener_closed:
        return "listener closed";
      case errc::already_listening:
        return "endpoint is already listening";
      case errc::not_listening:
        return "endpoint is not listening";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::address_family_mismatch:
        return "address family does not match the socket";
      case errc::queue_full:
        return "queue full";
      case errc::idle_timeout:
        return "idle timeout";
      case errc::handshake_timeout:
        return "handshake timeout";
      case errc::stateless_reset:
        return "stateless reset received";
      case errc::connection_refused:
        return "connection refused";
      case errc::version_negotiation:
        return "no supported QUIC version in common";
      case errc::stream_limit_reached:
        return "stream limit reached";
      case errc::stream_reset:
        return "stream reset by peer";
      case errc::stream_stopped:
        return "peer stopped reading the stream";
      case errc::stream_closed:
        return "stream closed";
      case errc::wrong_stream_direction:
        return "operation not allowed on this stream direction";
      case errc::datagrams_disabled:
        return "datagrams not negotiated";
      case errc::datagram_too_large:
        return "datagram too large";
      case errc::tls_configuration:
        return "TLS configuration error";
      case errc::no_application_protocol:
        return "no application protocol in common";
      case errc::certificate_rejected:
        return "peer certificate rejected";
      case errc::internal_error:
        return "internal error";
      case errc::key_update_not_ready:
        return "key update not possible yet";
    }
    return "unknown quicreuse error " + std::to_string(value);
  }
};

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

class TransportCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "quic-transport"; }
  [[nodiscard]] std::string message(int value) const override {
    auto code = static_cast<std::uint64_t>(static_cast<unsigned>(value));
    static constexpr const char* kNames[] = {"NO_ERROR",
                                             "INTERNAL_ERROR",
                                             "CONNECTION_REFUSED",
                                             "FLOW_CONTROL_ERROR",
                                             "STREAM_LIMIT_ERROR",
                                             "STREAM_STATE_ERROR",
                                             "FINAL_SIZE_ERROR",
                                             "FRAME_ENCODING_ERROR",
                                             "TRANSPORT_PARAMETER_ERROR",
                                             "CONNECTION_ID_LIMIT_ERROR",
                                             "PROTOCOL_VIOLATION",
                                             "INVALID_TOKEN",
                                             "APPLICATION_ERROR",
                                             "CRYPTO_BUFFER_EXCEEDED",
                                             "KEY_UPDATE_ERROR",
                                             "AEAD_LIMIT_REACHED",
                                             "NO_VIABLE_PATH"};
    if (code < std::size(kNames)) {
      return std::string(kNames[code]) + " (" + hex(code) + ")";
    }
    if (code >= 0x100 && code <= 0x1ff) {
      auto alert = static_cast<unsigned>(code - 0x100);
      const char* alert_name =
          gnutls_alert_get_strname(static_cast<gnutls_alert_description_t>(alert));
      return "CRYPTO_ERROR (" + hex(code) + ", TLS alert " + std::to_string(alert) +
             (alert_name != nullptr ? std::string(" ") + alert_name : std::string()) + ")";
    }
    return "transport error " + hex(code);
  }
};

class ApplicationCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "quic-application"; }
  [[nodiscard]] std::string message(int value) const override {
    return "application error " + hex(static_cast<unsigned>(value));
  }
};

class Ngtcp2Category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "ngtcp2"; }
  [[nodiscard]] std::string message(int value) const override { return ngtcp2_strerror(value); }
};

class GnutlsCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "gnutls"; }
  [[nodiscard]] std::string message(int value) const override { return gnutls_strerror(value); }
};

int clamp_code(std::uint64_t code) {
  return code > static_cast<std::uint64_t>(INT_MAX) ? INT_MAX : static_cast<int>(code);
}

}  // namespace

const std::error_category& quicreuse_category() noexcept {
  static const QuicreuseCategory category;
  return category;
}
const std::error_category& transport_error_category() noexcept {
  static const TransportCategory category;
  return category;
}
const std::error_category& application_error_category() noexcept {
  static const ApplicationCategory category;
  return category;
}
const std::error_category& ngtcp2_category() noexcept {
  static const Ngtcp2Category category;
  return category;
}
const std::error_category& gnutls_category() noexcept {
  static const GnutlsCategory category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), quicreuse_category()};
}
std::error_code make_transport_error(std::uint64_t code) noexcept {
  if (code == 0) {
    return make_error_code(errc::closed_by_peer);
  }
  return {clamp_code(code), transport_error_category()};
}
std::error_code make_application_error(std::uint64_t code) noexcept {
  if (code == 0) {
    return make_error_code(errc::closed_by_peer);
  }
  return {clamp_code(code), application_error_category()};
}

}  // namespace quicreuse
