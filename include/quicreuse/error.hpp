// Error vocabulary of quicreuse: std::error_code values in our own categories, and Result<T>.
//
// Every fallible call returns either Result<T> (synchronous) or completes an asynchronous operation
// with a std::error_code. Codes keep their origin: QUIC transport error codes (RFC 9000
// section 20.1, CRYPTO_ERROR carrying the TLS alert), application error codes chosen by the peer or
// by us, ngtcp2 library codes and GnuTLS codes each have a category whose message() is readable. No
// exception is ever thrown through the library's C callbacks.
#pragma once

#include <tl/expected.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace quicreuse {

// errc lists the conditions that quicreuse itself reports.
enum class errc {           // NOLINT(readability-identifier-naming): named like std::errc
  endpoint_closed = 1,      // the endpoint was closed; pending and later operations fail
  connection_closed,        // the connection was closed locally (see Connection::close_info)
  closed_by_peer,           // the peer closed with code 0 (NO_ERROR or application code 0)
  listener_closed,          // the listener was closed; accept() fails
  already_listening,        // listen() was called twice on one endpoint
  not_listening,            // accept() on an endpoint that does not listen
  invalid_argument,         // a parameter was malformed (bad ALPN, empty list, bad address...)
  address_family_mismatch,  // the remote address family differs from the socket's
  queue_full,               // a bounded queue overflowed; the item was dropped
  idle_timeout,             // the connection was idle for longer than its idle timeout
  handshake_timeout,        // the handshake did not finish in time
  stateless_reset,          // the peer sent a stateless reset for this connection
  connection_refused,       // the server refused the connection (CONNECTION_REFUSED)
  version_negotiation,      // the server does not support QUIC v1
  stream_limit_reached,     // the peer's stream limit does not allow a new stream now
  stream_reset,             // the peer reset the stream (its code: Stream::reset_code())
  stream_stopped,           // the peer asked us to stop sending (STOP_SENDING)
  stream_closed,            // the stream's side was already finished or reset locally
  wrong_stream_direction,   // read on a send-only stream or write on a receive-only stream
  datagrams_disabled,       // RFC 9221 datagrams were not negotiated
  datagram_too_large,       // the datagram does not fit in one packet
  tls_configuration,        // a certificate, key or CA file could not be loaded
  no_application_protocol,  // no ALPN in common with the peer
  certificate_rejected,     // the peer certificate failed verification
  internal_error,           // a bug or an unexpected library failure
  key_update_not_ready,     // a requested key update still waits for RFC 9001 to allow it
};

// Returns the category of errc values ("quicreuse").
const std::error_category& quicreuse_category() noexcept;
// Returns the category of QUIC transport error codes; value() is the code (e.g. 0x178).
const std::error_category& transport_error_category() noexcept;
// Returns the category of QUIC application error codes; value() is the code, clamped to INT_MAX.
const std::error_category& application_error_category() noexcept;
// Returns the category of ngtcp2 library codes (NGTCP2_ERR_*, negative values).
const std::error_category& ngtcp2_category() noexcept;
// Returns the category of GnuTLS codes (GNUTLS_E_*, negative values).
const std::error_category& gnutls_category() noexcept;

// Makes an error_code from an errc.
std::error_code make_error_code(errc e) noexcept;
// Makes an error_code for a QUIC transport error code (CRYPTO_ERROR = 0x100 + TLS alert).
// Code 0 (NO_ERROR) gives errc::closed_by_peer: an error_code of value 0 would mean success.
std::error_code make_transport_error(std::uint64_t code) noexcept;
// Makes an error_code for a QUIC application error code; code 0 gives errc::closed_by_peer.
std::error_code make_application_error(std::uint64_t code) noexcept;

// Result<T> is either a value or the error_code that explains its absence.
template <class T>
using Result = tl::expected<T, std::error_code>;

// Returns an unexpected value for Result<T> from an error_code or an errc.
inline tl::unexpected<std::error_code> fail(std::error_code ec) {
  return tl::unexpected(ec);
}
inline tl::unexpected<std::error_code> fail(errc e) {
  return tl::unexpected(make_error_code(e));
}

// CloseInfo says how a connection ended: who closed it, with which code and reason.
struct CloseInfo {
  enum class Kind {
    none,         // still open
    transport,    // a QUIC transport error code (also NO_ERROR)
    application,  // an application error code
    idle_timeout,
    handshake_timeout,
    stateless_reset,
    endpoint_closed,  // our endpoint was closed under the connection
    internal,         // a local failure (see error)
  };
  Kind kind = Kind::none;
  bool remote = false;     // true when the peer sent the CONNECTION_CLOSE
  std::uint64_t code = 0;  // transport or application code
  std::string reason;      // reason phrase carried in CONNECTION_CLOSE
  std::error_code error;   // the same as an error_code in one of our categories
};

}  // namespace quicreuse

template <>
struct std::is_error_code_enum<quicreuse::errc> : std::true_type {};
