#include "core/cipher_suites.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace quicreuse {
namespace {

struct SuiteNames {
  CipherSuite suite;
  std::string_view iana;
  const char* gnutls_cipher;  // GnuTLS priority keyword
  gnutls_cipher_algorithm_t algorithm;
};

constexpr std::array<SuiteNames, 4> kSuites{{
    {CipherSuite::aes_128_gcm_sha256, "TLS_AES_128_GCM_SHA256", "+AES-128-GCM",
     GNUTLS_CIPHER_AES_128_GCM},
    {CipherSuite::aes_256_gcm_sha384, "TLS_AES_256_GCM_SHA384", "+AES-256-GCM",
     GNUTLS_CIPHER_AES_256_GCM},
    {CipherSuite::chacha20_poly1305_sha256, "TLS_CHACHA20_POLY1305_SHA256", "+CHACHA20-POLY1305",
     GNUTLS_CIPHER_CHACHA20_POLY1305},
    {CipherSuite::aes_128_ccm_sha256, "TLS_AES_128_CCM_SHA256", "+AES-128-CCM",
     GNUTLS_CIPHER_AES_128_CCM},
}};

const SuiteNames* find(CipherSuite suite) noexcept {
  for (const auto& s : kSuites) {
    if (s.suite == suite) {
      return &s;
    }
  }
  return nullptr;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view to_string(CipherSuite suite) noexcept {
  const SuiteNames* s = find(suite);
  return s == nullptr ? std::string_view("unknown") : s->iana;
}

Result<CipherSuite> parse_cipher_suite(std::string_view name) {
  for (const auto& s : kSuites) {
    if (iequals(name, s.iana) || iequals(name, s.iana.substr(4))) {
      return s.suite;
    }
  }
  return fail(errc::invalid_argument);
}

namespace core {
namespace {

constexpr std::string_view kPrefix =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:";
constexpr std::string_view kGroups =
    ":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1";

class PriorityCache {
 public:
  PriorityCache() = default;
  PriorityCache(const PriorityCache&) = delete;
  PriorityCache& operator=(const PriorityCache&) = delete;
  PriorityCache(PriorityCache&&) = delete;
  PriorityCache& operator=(PriorityCache&&) = delete;
  ~PriorityCache() {
    for (auto& [key, priority] : caches_) {
      gnutls_priority_deinit(priority);
    }
  }

  Result<gnutls_priority_t> get(const std::vector<CipherSuite>& suites) {
    const std::lock_guard lock(mutex_);
    if (auto it = caches_.find(suites); it != caches_.end()) {
      return it->second;
    }
    std::string text(kPrefix);
    for (std::size_t i = 0; i < suites.size(); ++i) {
      const SuiteNames* s = find(suites[i]);
      if (s == nullptr) {
        return fail(errc::invalid_argument);
      }
      text += i == 0 ? "" : ":";
      text += s->gnutls_cipher;
    }
    text += kGroups;
    gnutls_priority_t priority = nullptr;
    if (int rv = gnutls_priority_init(&priority, text.c_str(), nullptr); rv < 0) {
      return fail(std::error_code(rv, gnutls_category()));
    }
    caches_.emplace(suites, priority);
    return priority;
  }

 private:
  std::mutex mutex_;
  std::map<std::vector<CipherSuite>, gnutls_priority_t> caches_;
};

}  // namespace

bool valid_cipher_suites(std::span<const CipherSuite> suites) noexcept {
  for (std::size_t i = 0; i < suites.size(); ++i) {
    if (find(suites[i]) == nullptr || std::find(suites.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                                suites.end(), suites[i]) != suites.end()) {
      return false;
    }
  }
  return true;
}

Result<gnutls_priority_t> cipher_priority(std::span<const CipherSuite> suites) {
  if (!valid_cipher_suites(suites)) {
    return fail(errc::invalid_argument);
  }
  std::vector<CipherSuite> key(suites.begin(), suites.end());
  if (key.empty()) {
    for (const auto& s : kSuites) {
      key.push_back(s.suite);
    }
  }
  static PriorityCache cache;  // thread-safe initialisation; shared by every endpoint
  return cache.get(key);
}

std::optional<CipherSuite> negotiated_cipher_suite(gnutls_session_t session) noexcept {
  const gnutls_cipher_algorithm_t algorithm = gnutls_cipher_get(session);
  for (const auto& s : kSuites) {
    if (s.algorithm == algorithm) {
      return s.suite;
    }
  }
  return std::nullopt;
}

}  // namespace core
}  // namespace quicreuse
