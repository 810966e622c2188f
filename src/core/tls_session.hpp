// GnuTLS session set-up for QUIC (ngtcp2_crypto_gnutls), client and server side.
#pragma once

#include "core/tls_native.hpp"

#include <quicreuse/error.hpp>
#include <quicreuse/tls.hpp>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace quicreuse::core {

struct SessionDeleter {
  void operator()(gnutls_session_int* s) const noexcept { gnutls_deinit(s); }
};
// TlsSessionPtr owns a GnuTLS session.
using TlsSessionPtr = std::unique_ptr<gnutls_session_int, SessionDeleter>;

// ClientTlsContext is a TlsClientConfig turned into GnuTLS credentials; shared by the sessions of
// every dial made with it.
struct ClientTlsContext {
  TlsClientConfig config;
  CredentialsPtr credentials;
};

// QuicTlsConfigurer wires a new GnuTLS session to its ngtcp2 connection (secrets, handshake
// data, alerts, the transport-parameters extension); returns 0 or a negative value. Empty means
// ngtcp2_crypto_gnutls_configure_{client,server}_session. Tests replace it to play peers that
// break the rules (e.g. no transport parameters).
using QuicTlsConfigurer = std::function<int(gnutls_session_t)>;

// Returns a client context for config. Errors: errc::invalid_argument (no ALPN, ALPN longer than
// 255 bytes), errc::tls_configuration or a gnutls_category code (CA file, client identity).
Result<std::shared_ptr<const ClientTlsContext>> make_client_tls_context(
    const TlsClientConfig& config);

// Creates a client session wired to ngtcp2 through conn_ref (which must outlive the session).
// The handshake fails with missing_extension if the server's EncryptedExtensions lacks QUIC
// transport parameters; a TLS KeyUpdate message from the peer (forbidden in QUIC) fails the
// connection with unexpected_message, on both sides.
// The session's verify function calls Connection::on_verify_peer through conn_ref when the
// config has a verify_server callback.
Result<TlsSessionPtr> make_client_session(const ClientTlsContext& context,
                                          ngtcp2_crypto_conn_ref* conn_ref,
                                          const QuicTlsConfigurer& configure = {});

// Creates a server session with the default identity and ALPNs of config, and a ClientHello hook
// that refuses a ClientHello without QUIC transport parameters (missing_extension) and otherwise
// calls Connection::on_client_hello through conn_ref.
Result<TlsSessionPtr> make_server_session(const TlsServerConfig& config,
                                          ngtcp2_crypto_conn_ref* conn_ref,
                                          const QuicTlsConfigurer& configure = {});

// Applies a server choice to a session (credentials, ALPN list, client authentication).
// Returns 0 or a GnuTLS error code.
int apply_server_choice(gnutls_session_t session, const TlsServerChoice& choice);

// Returns the negotiated ALPN, or an empty string.
std::string selected_alpn(gnutls_session_t session);
// Returns the peer's certificate chain (leaf first), possibly empty.
CertificateChain peer_chain(gnutls_session_t session);

}  // namespace quicreuse::core
