#include "cert_info.hpp"

#include <gnutls/x509.h>

#include <memory>

namespace quicreuse::tool {
namespace {

struct CrtDeleter {
  void operator()(gnutls_x509_crt_int* crt) const noexcept { gnutls_x509_crt_deinit(crt); }
};

}  // namespace

std::string certificate_common_name(const std::vector<std::uint8_t>& der) {
  gnutls_x509_crt_t raw = nullptr;
  if (der.empty() || gnutls_x509_crt_init(&raw) < 0) {
    return "?";
  }
  const std::unique_ptr<gnutls_x509_crt_int, CrtDeleter> crt(raw);
  // GnuTLS takes a non-const pointer but does not modify the input.
  const gnutls_datum_t datum{const_cast<unsigned char*>(der.data()),
                             static_cast<unsigned>(der.size())};
  if (gnutls_x509_crt_import(crt.get(), &datum, GNUTLS_X509_FMT_DER) < 0) {
    return "?";
  }
  char buf[256];
  std::size_t size = sizeof buf;
  if (gnutls_x509_crt_get_dn_by_oid(crt.get(), GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) < 0) {
    return "?";
  }
  return {buf, size};
}

}  // namespace quicreuse::tool
