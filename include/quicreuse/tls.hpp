// TLS configuration for quicreuse endpoints: identities, server and client configurations.
//
// QUIC always runs TLS 1.3 (GnuTLS underneath). A server picks its identity and ALPN list per
// connection from what the client offers (TlsServerConfig::select), which is how several
// protocols with their own certificates share one UDP port.
#pragma once

#include <quicreuse/error.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace quicreuse {

// TlsIdentity is a certificate chain with its private key, ready for use by TLS sessions. It is
// immutable and shared (std::shared_ptr<const TlsIdentity>) by every session that uses it.
class TlsIdentity {
 public:
  struct Native;  // GnuTLS credentials; defined in the library

  // Loads a PEM certificate chain (leaf first) and a PEM private key.
  // Errors: a gnutls_category code when GnuTLS rejects the input (bad PEM, key does not match).
  static Result<std::shared_ptr<const TlsIdentity>> from_pem(std::string_view chain_pem,
                                                             std::string_view key_pem);
  // Loads the chain and key from PEM files. Errors: as from_pem, or errc::tls_configuration when
  // a file cannot be read.
  static Result<std::shared_ptr<const TlsIdentity>> from_files(const std::filesystem::path& chain,
                                                               const std::filesystem::path& key);
  // Generates a fresh ECDSA P-256 key and a self-signed certificate for dns_names (the first one
  // is also the subject CN), valid from one hour ago for `validity`.
  static Result<std::shared_ptr<const TlsIdentity>> self_signed(
      std::vector<std::string> dns_names = {"localhost"},
      std::chrono::hours validity = std::chrono::hours(24 * 30));

  TlsIdentity(const TlsIdentity&) = delete;
  TlsIdentity& operator=(const TlsIdentity&) = delete;
  TlsIdentity(TlsIdentity&&) = delete;
  TlsIdentity& operator=(TlsIdentity&&) = delete;
  ~TlsIdentity();

  // Returns the certificate chain in PEM (usable as a CA file for a self-signed identity).
  [[nodiscard]] const std::string& certificate_pem() const noexcept { return chain_pem_; }
  // Returns the DER encoding of the leaf certificate.
  [[nodiscard]] const std::vector<std::uint8_t>& leaf_der() const noexcept { return leaf_der_; }
  // Returns the GnuTLS credentials (library internal).
  [[nodiscard]] const Native& native() const noexcept { return *native_; }

 private:
  TlsIdentity(std::unique_ptr<Native> native, std::string chain_pem,
              std::vector<std::uint8_t> leaf);
  std::unique_ptr<Native> native_;
  std::string chain_pem_;
  std::vector<std::uint8_t> leaf_der_;
};

// CipherSuite names a TLS 1.3 cipher suite QUIC can use (RFC 9001 5.3).
enum class CipherSuite {
  aes_128_gcm_sha256,        // TLS_AES_128_GCM_SHA256
  aes_256_gcm_sha384,        // TLS_AES_256_GCM_SHA384
  chacha20_poly1305_sha256,  // TLS_CHACHA20_POLY1305_SHA256
  aes_128_ccm_sha256,        // TLS_AES_128_CCM_SHA256
};

// Returns the IANA name of suite ("TLS_AES_128_GCM_SHA256"...).
std::string_view to_string(CipherSuite suite) noexcept;
// Parses an IANA name, case-insensitively, with or without the "TLS_" prefix
// ("TLS_CHACHA20_POLY1305_SHA256", "chacha20_poly1305_sha256"). Errors: errc::invalid_argument.
Result<CipherSuite> parse_cipher_suite(std::string_view name);

// CertificateChain is a peer's certificate chain, leaf first, DER encoded.
using CertificateChain = std::vector<std::vector<std::uint8_t>>;

// PeerVerifier decides whether a peer's certificate chain is acceptable. Returning false aborts
// the handshake with a bad_certificate alert (the peer sees CRYPTO_ERROR 0x12a).
using PeerVerifier = std::function<bool(const CertificateChain& chain)>;

// ClientHelloInfo is what a server sees of a ClientHello when choosing its TLS configuration.
struct ClientHelloInfo {
  std::vector<std::string> alpns;  // offered ALPN protocols, in the client's order
  std::string server_name;         // SNI host name, empty when absent
};

// TlsServerChoice is a server's per-connection TLS choice: identity and ALPN list.
struct TlsServerChoice {
  std::shared_ptr<const TlsIdentity> identity;
  std::vector<std::string> alpns;  // in server preference order; must not be empty
  // Client certificates: none, requested (verified if sent) or required.
  enum class ClientAuth { none, request, require } client_auth = ClientAuth::none;
  PeerVerifier verify_client;  // used when a client certificate is sent; absent: accept any
};

// TlsServerConfig configures the server side of an endpoint.
struct TlsServerConfig {
  // Default choice, used when select is empty.
  TlsServerChoice default_choice;
  // Called once per connection with the ClientHello; returns the identity and ALPNs to use, or an
  // error to refuse (the client then sees CRYPTO_ERROR 0x178, no_application_protocol). Runs on
  // the endpoint's executor; must not block.
  std::function<Result<TlsServerChoice>(const ClientHelloInfo&)> select;
  // Cipher suites the server accepts, for every connection; empty means all four, in the order
  // of CipherSuite. A client offering none of them fails with CRYPTO_ERROR 0x128
  // (handshake_failure). Listening with a repeated suite fails with errc::invalid_argument.
  std::vector<CipherSuite> cipher_suites;
};

// TlsClientConfig configures a dial.
struct TlsClientConfig {
  std::vector<std::string> alpns;  // offered ALPNs, in preference order; must not be empty
  std::string server_name;         // SNI, and the name verified against the certificate
  // Verification, first match wins: insecure_skip_verify, then verify_server, then ca_file, then
  // the system trust store (with server_name).
  bool insecure_skip_verify = false;
  PeerVerifier verify_server;
  std::filesystem::path ca_file;
  std::shared_ptr<const TlsIdentity> identity;  // client certificate, optional
  // Cipher suites offered, in preference order; empty means all four, in the order of
  // CipherSuite. A repeated suite makes the dial fail with errc::invalid_argument.
  std::vector<CipherSuite> cipher_suites;
};

}  // namespace quicreuse
