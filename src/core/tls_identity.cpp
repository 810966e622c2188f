// TlsIdentity: GnuTLS certificate credentials built from PEM or generated in-process.
#include "core/tls_native.hpp"

#include <quicreuse/tls.hpp>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <ctime>
#include <fstream>
#include <sstream>

namespace quicreuse {
namespace {

std::error_code gnutls_error(int rv) {
  return {rv, gnutls_category()};
}

struct CrtDeleter {
  void operator()(gnutls_x509_crt_int* c) const noexcept { gnutls_x509_crt_deinit(c); }
};
struct KeyDeleter {
  void operator()(gnutls_x509_privkey_int* k) const noexcept { gnutls_x509_privkey_deinit(k); }
};
using CrtPtr = std::unique_ptr<gnutls_x509_crt_int, CrtDeleter>;
using KeyPtr = std::unique_ptr<gnutls_x509_privkey_int, KeyDeleter>;

gnutls_datum_t datum(std::string_view s) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
          static_cast<unsigned>(s.size())};
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(errc::tls_configuration);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::vector<std::uint8_t>> leaf_der_of(std::string_view chain_pem) {
  gnutls_x509_crt_t* list = nullptr;
  unsigned count = 0;
  gnutls_datum_t pem = datum(chain_pem);
  int rv = gnutls_x509_crt_list_import2(&list, &count, &pem, GNUTLS_X509_FMT_PEM, 0);
  if (rv < 0) {
    return fail(gnutls_error(rv));
  }
  std::vector<std::uint8_t> der;
  gnutls_datum_t out{};
  if (count > 0 && gnutls_x509_crt_export2(list[0], GNUTLS_X509_FMT_DER, &out) == 0) {
    der.assign(out.data, out.data + out.size);
    gnutls_free(out.data);
  }
  for (unsigned i = 0; i < count; ++i) {
    gnutls_x509_crt_deinit(list[i]);
  }
  gnutls_free(list);
  if (der.empty()) {
    return fail(errc::tls_configuration);
  }
  return der;
}

}  // namespace

TlsIdentity::TlsIdentity(std::unique_ptr<Native> native, std::string chain_pem,
                         std::vector<std::uint8_t> leaf)
    : native_(std::move(native)), chain_pem_(std::move(chain_pem)), leaf_der_(std::move(leaf)) {}

TlsIdentity::~TlsIdentity() = default;

Result<std::shared_ptr<const TlsIdentity>> TlsIdentity::from_pem(std::string_view chain_pem,
                                                                 std::string_view key_pem) {
  auto native = std::make_unique<Native>();
  gnutls_certificate_credentials_t cred = nullptr;
  if (int rv = gnutls_certificate_allocate_credentials(&cred); rv < 0) {
    return fail(gnutls_error(rv));
  }
  native->credentials.reset(cred);
  gnutls_datum_t cert = datum(chain_pem);
  gnutls_datum_t key = datum(key_pem);
  if (int rv =
          gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
      rv < 0) {
    return fail(gnutls_error(rv));
  }
  native->chain_pem.assign(chain_pem);
  native->key_pem.assign(key_pem);
  auto leaf = leaf_der_of(chain_pem);
  if (!leaf) {
    return fail(leaf.error());
  }
  return std::shared_ptr<const TlsIdentity>(
      new TlsIdentity(std::move(native), std::string(chain_pem), std::move(*leaf)));
}

Result<std::shared_ptr<const TlsIdentity>> TlsIdentity::from_files(
    const std::filesystem::path& chain, const std::filesystem::path& key) {
  auto chain_pem = read_file(chain);
  if (!chain_pem) {
    return fail(chain_pem.error());
  }
  auto key_pem = read_file(key);
  if (!key_pem) {
    return fail(key_pem.error());
  }
  return from_pem(*chain_pem, *key_pem);
}

Result<std::shared_ptr<const TlsIdentity>> TlsIdentity::self_signed(
    std::vector<std::string> dns_names, std::chrono::hours validity) {
  if (dns_names.empty() || dns_names.front().empty()) {
    return fail(errc::invalid_argument);
  }
  gnutls_x509_privkey_t raw_key = nullptr;
  if (int rv = gnutls_x509_privkey_init(&raw_key); rv < 0) {
    return fail(gnutls_error(rv));
  }
  KeyPtr key(raw_key);
  gnutls_x509_crt_t raw_crt = nullptr;
  if (int rv = gnutls_x509_crt_init(&raw_crt); rv < 0) {
    return fail(gnutls_error(rv));
  }
  CrtPtr crt(raw_crt);

  std::uint8_t serial[16];
  if (int rv = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial); rv < 0) {
    return fail(gnutls_error(rv));
  }
  serial[0] &= 0x7f;  // a positive INTEGER
  const std::time_t now = std::time(nullptr);
  const std::string dn = "CN=" + dns_names.front();
  const int steps[] = {
      gnutls_x509_privkey_generate(key.get(), GNUTLS_PK_ECDSA,
                                   GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
      gnutls_x509_crt_set_version(crt.get(), 3),
      gnutls_x509_crt_set_serial(crt.get(), serial, sizeof serial),
      gnutls_x509_crt_set_activation_time(crt.get(), now - 3600),
      gnutls_x509_crt_set_expiration_time(
          crt.get(), now + static_cast<std::time_t>(
                               std::chrono::duration_cast<std::chrono::seconds>(validity).count())),
      gnutls_x509_crt_set_dn(crt.get(), dn.c_str(), nullptr),
      gnutls_x509_crt_set_key(crt.get(), key.get()),
      gnutls_x509_crt_set_key_usage(crt.get(), GNUTLS_KEY_DIGITAL_SIGNATURE),
      gnutls_x509_crt_set_basic_constraints(crt.get(), 0, -1),
  };
  for (int rv : steps) {
    if (rv < 0) {
      return fail(gnutls_error(rv));
    }
  }
  for (const auto& name : dns_names) {
    if (int rv = gnutls_x509_crt_set_subject_alt_name(crt.get(), GNUTLS_SAN_DNSNAME, name.data(),
                                                      static_cast<unsigned>(name.size()),
                                                      GNUTLS_FSAN_APPEND);
        rv < 0) {
      return fail(gnutls_error(rv));
    }
  }
  if (int rv = gnutls_x509_crt_sign2(crt.get(), crt.get(), key.get(), GNUTLS_DIG_SHA256, 0);
      rv < 0) {
    return fail(gnutls_error(rv));
  }
  gnutls_datum_t cert_pem{};
  gnutls_datum_t key_pem{};
  if (int rv = gnutls_x509_crt_export2(crt.get(), GNUTLS_X509_FMT_PEM, &cert_pem); rv < 0) {
    return fail(gnutls_error(rv));
  }
  if (int rv = gnutls_x509_privkey_export2(key.get(), GNUTLS_X509_FMT_PEM, &key_pem); rv < 0) {
    gnutls_free(cert_pem.data);
    return fail(gnutls_error(rv));
  }
  std::string cert_text(reinterpret_cast<char*>(cert_pem.data), cert_pem.size);
  std::string key_text(reinterpret_cast<char*>(key_pem.data), key_pem.size);
  gnutls_free(cert_pem.data);
  gnutls_memset(key_pem.data, 0, key_pem.size);
  gnutls_free(key_pem.data);
  return from_pem(cert_text, key_text);
}

}  // namespace quicreuse
