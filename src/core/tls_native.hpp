// GnuTLS handles behind the public TLS types (library internal).
#pragma once

#include <quicreuse/tls.hpp>

#include <gnutls/gnutls.h>

#include <memory>
#include <string>

namespace quicreuse {

struct CredentialsDeleter {
  void operator()(gnutls_certificate_credentials_st* c) const noexcept {
    gnutls_certificate_free_credentials(c);
  }
};
using CredentialsPtr = std::unique_ptr<gnutls_certificate_credentials_st, CredentialsDeleter>;

struct TlsIdentity::Native {
  CredentialsPtr credentials;
  std::string chain_pem;  // kept so client sessions can combine the identity with a trust store
  std::string key_pem;    // wiped on destruction
  Native() = default;
  Native(const Native&) = delete;
  Native& operator=(const Native&) = delete;
  Native(Native&&) = delete;
  Native& operator=(Native&&) = delete;
  ~Native() {
    volatile char* p = key_pem.data();
    for (std::size_t i = 0; i < key_pem.size(); ++i) {
      p[i] = 0;
    }
  }
};

}  // namespace quicreuse
