#include "core/tls_session.hpp"

#include "core/cipher_suites.hpp"
#include "core/connection.hpp"
#include "core/handshake_messages.hpp"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <cstring>

namespace quicreuse::core {
namespace {

constexpr std::size_t kMaxAlpnLength = 255;

std::error_code gnutls_error(int rv) {
  return {rv, gnutls_category()};
}

Connection* connection_of(gnutls_session_t session) {
  auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  return ref == nullptr ? nullptr : static_cast<Connection*>(ref->user_data);
}

int verify_callback(gnutls_session_t session) {
  Connection* conn = connection_of(session);
  return conn == nullptr ? GNUTLS_E_CERTIFICATE_ERROR : conn->on_verify_peer();
}

// A ClientHello without QUIC transport parameters ends the handshake with missing_extension
// (CRYPTO_ERROR 0x16d, RFC 9001 8.2); one whose lengths do not add up with decode_error.
// Otherwise the connection picks identity and ALPNs.
int check_client_hello(Connection& conn, const gnutls_datum_t& msg) {
  ClientHelloSummary hello = parse_client_hello_message({msg.data, msg.size});
  if (!hello.well_formed) {
    return GNUTLS_E_UNEXPECTED_PACKET_LENGTH;
  }
  if (!hello.has_quic_transport_parameters) {
    return GNUTLS_E_MISSING_EXTENSION;
  }
  return conn.on_client_hello(hello.info);
}

// The same rule for the server's EncryptedExtensions, on the client.
int check_encrypted_extensions(const gnutls_datum_t& msg) {
  const ExtensionsSummary ee = parse_encrypted_extensions({msg.data, msg.size});
  if (!ee.well_formed) {
    return GNUTLS_E_UNEXPECTED_PACKET_LENGTH;
  }
  return ee.has_quic_transport_parameters ? 0 : GNUTLS_E_MISSING_EXTENSION;
}

// Runs before GnuTLS processes any handshake message it receives (GnuTLS keeps one hook per
// session, so one function serves every message type):
// - ClientHello (server) and EncryptedExtensions (client): the checks above;
// - KeyUpdate: QUIC forbids the TLS KeyUpdate message (RFC 9001 6: keys change with the key
//   phase bit); GnuTLS would re-key and hand ngtcp2 a second set of 1-RTT keys, which ngtcp2 0.12
//   asserts against. It ends the connection with unexpected_message (CRYPTO_ERROR 0x10a).
int handshake_hook(gnutls_session_t session, unsigned htype, unsigned /*when*/, unsigned incoming,
                   const gnutls_datum_t* msg) {
  if (incoming == 0) {
    return 0;
  }
  Connection* conn = connection_of(session);
  if (conn == nullptr || msg == nullptr) {
    return GNUTLS_E_INTERNAL_ERROR;
  }
  switch (htype) {
    case GNUTLS_HANDSHAKE_CLIENT_HELLO:
      try {
        return conn->role() == Role::server ? check_client_hello(*conn, *msg)
                                            : GNUTLS_E_UNEXPECTED_PACKET;
      } catch (...) {
        return GNUTLS_E_MEMORY_ERROR;
      }
    case GNUTLS_HANDSHAKE_ENCRYPTED_EXTENSIONS:
      return conn->role() == Role::client ? check_encrypted_extensions(*msg)
                                          : GNUTLS_E_UNEXPECTED_PACKET;
    case GNUTLS_HANDSHAKE_KEY_UPDATE:
      return GNUTLS_E_UNEXPECTED_PACKET;
    default:
      return 0;
  }
}

int set_alpns(gnutls_session_t session, const std::vector<std::string>& alpns) {
  std::vector<gnutls_datum_t> datums;
  datums.reserve(alpns.size());
  for (const auto& a : alpns) {
    datums.push_back({reinterpret_cast<unsigned char*>(const_cast<char*>(a.data())),
                      static_cast<unsigned>(a.size())});
  }
  return gnutls_alpn_set_protocols(session, datums.data(), static_cast<unsigned>(datums.size()),
                                   GNUTLS_ALPN_MANDATORY);
}

bool valid_alpns(const std::vector<std::string>& alpns) {
  if (alpns.empty()) {
    return false;
  }
  for (const auto& a : alpns) {
    if (a.empty() || a.size() > kMaxAlpnLength) {
      return false;
    }
  }
  return true;
}

Result<TlsSessionPtr> new_session(unsigned flags, ngtcp2_crypto_conn_ref* conn_ref, bool server,
                                  std::span<const CipherSuite> suites,
                                  const QuicTlsConfigurer& configure) {
  auto priority = cipher_priority(suites);
  if (!priority) {
    return fail(priority.error());
  }
  gnutls_session_t raw = nullptr;
  if (int rv = gnutls_init(&raw, flags | GNUTLS_NO_END_OF_EARLY_DATA); rv < 0) {
    return fail(gnutls_error(rv));
  }
  TlsSessionPtr session(raw);
  if (int rv = gnutls_priority_set(raw, *priority); rv < 0) {
    return fail(gnutls_error(rv));
  }
  const int rv = configure ? configure(raw)
                 : server  ? ngtcp2_crypto_gnutls_configure_server_session(raw)
                           : ngtcp2_crypto_gnutls_configure_client_session(raw);
  if (rv != 0) {
    return fail(errc::tls_configuration);
  }
  gnutls_session_set_ptr(raw, conn_ref);
  gnutls_handshake_set_hook_function(raw, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_PRE, handshake_hook);
  return session;
}

}  // namespace

Result<std::shared_ptr<const ClientTlsContext>> make_client_tls_context(
    const TlsClientConfig& config) {
  if (!valid_alpns(config.alpns) || !valid_cipher_suites(config.cipher_suites)) {
    return fail(errc::invalid_argument);
  }
  auto context = std::make_shared<ClientTlsContext>();
  context->config = config;
  gnutls_certificate_credentials_t cred = nullptr;
  if (int rv = gnutls_certificate_allocate_credentials(&cred); rv < 0) {
    return fail(gnutls_error(rv));
  }
  context->credentials.reset(cred);
  if (!config.insecure_skip_verify && !config.verify_server) {
    if (!config.ca_file.empty()) {
      int rv =
          gnutls_certificate_set_x509_trust_file(cred, config.ca_file.c_str(), GNUTLS_X509_FMT_PEM);
      if (rv <= 0) {
        return fail(rv < 0 ? gnutls_error(rv) : make_error_code(errc::tls_configuration));
      }
    } else if (int rv = gnutls_certificate_set_x509_system_trust(cred); rv < 0) {
      return fail(gnutls_error(rv));
    }
  }
  if (config.identity) {
    const auto& native = config.identity->native();
    gnutls_datum_t cert{
        reinterpret_cast<unsigned char*>(const_cast<char*>(native.chain_pem.data())),
        static_cast<unsigned>(native.chain_pem.size())};
    gnutls_datum_t key{reinterpret_cast<unsigned char*>(const_cast<char*>(native.key_pem.data())),
                       static_cast<unsigned>(native.key_pem.size())};
    if (int rv = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM,
                                                      nullptr, 0);
        rv < 0) {
      return fail(gnutls_error(rv));
    }
  }
  return std::shared_ptr<const ClientTlsContext>(std::move(context));
}

Result<TlsSessionPtr> make_client_session(const ClientTlsContext& context,
                                          ngtcp2_crypto_conn_ref* conn_ref,
                                          const QuicTlsConfigurer& configure) {
  auto session =
      new_session(GNUTLS_CLIENT, conn_ref, false, context.config.cipher_suites, configure);
  if (!session) {
    return session;
  }
  gnutls_session_t s = session->get();
  if (int rv = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, context.credentials.get());
      rv < 0) {
    return fail(gnutls_error(rv));
  }
  if (int rv = set_alpns(s, context.config.alpns); rv < 0) {
    return fail(gnutls_error(rv));
  }
  const auto& name = context.config.server_name;
  if (!name.empty()) {
    if (int rv = gnutls_server_name_set(s, GNUTLS_NAME_DNS, name.data(), name.size()); rv < 0) {
      return fail(gnutls_error(rv));
    }
  }
  if (context.config.insecure_skip_verify) {
    // No verification at all.
  } else if (context.config.verify_server) {
    gnutls_session_set_verify_function(s, verify_callback);
  } else {
    gnutls_session_set_verify_cert(s, name.empty() ? nullptr : name.c_str(), 0);
  }
  return session;
}

Result<TlsSessionPtr> make_server_session(const TlsServerConfig& config,
                                          ngtcp2_crypto_conn_ref* conn_ref,
                                          const QuicTlsConfigurer& configure) {
  auto session = new_session(GNUTLS_SERVER, conn_ref, true, config.cipher_suites, configure);
  if (!session) {
    return session;
  }
  gnutls_session_t s = session->get();
  if (config.default_choice.identity) {
    if (int rv = apply_server_choice(s, config.default_choice); rv < 0) {
      return fail(gnutls_error(rv));
    }
  }
  return session;
}

int apply_server_choice(gnutls_session_t session, const TlsServerChoice& choice) {
  if (!choice.identity || !valid_alpns(choice.alpns)) {
    return GNUTLS_E_INVALID_REQUEST;
  }
  if (int rv = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE,
                                      choice.identity->native().credentials.get());
      rv < 0) {
    return rv;
  }
  if (int rv = set_alpns(session, choice.alpns); rv < 0) {
    return rv;
  }
  switch (choice.client_auth) {
    case TlsServerChoice::ClientAuth::none:
      gnutls_certificate_server_set_request(session, GNUTLS_CERT_IGNORE);
      break;
    case TlsServerChoice::ClientAuth::request:
      gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
      break;
    case TlsServerChoice::ClientAuth::require:
      gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
      break;
  }
  if (choice.client_auth != TlsServerChoice::ClientAuth::none) {
    gnutls_session_set_verify_function(session, verify_callback);
  }
  return 0;
}

std::string selected_alpn(gnutls_session_t session) {
  gnutls_datum_t proto{};
  if (gnutls_alpn_get_selected_protocol(session, &proto) != 0) {
    return {};
  }
  return {reinterpret_cast<const char*>(proto.data), proto.size};
}

CertificateChain peer_chain(gnutls_session_t session) {
  CertificateChain chain;
  unsigned count = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &count);
  for (unsigned i = 0; certs != nullptr && i < count; ++i) {
    chain.emplace_back(certs[i].data, certs[i].data + certs[i].size);
  }
  return chain;
}

}  // namespace quicreuse::core
