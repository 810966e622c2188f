// TLS 1.3 cipher suite selection for GnuTLS sessions: priority strings per suite list, cached.
#pragma once

#include <quicreuse/error.hpp>
#include <quicreuse/tls.hpp>

#include <gnutls/gnutls.h>

#include <optional>
#include <span>

namespace quicreuse::core {

// True when suites names no suite twice (an empty list means every suite).
bool valid_cipher_suites(std::span<const CipherSuite> suites) noexcept;

// Returns the GnuTLS priority cache for TLS 1.3 with suites in that order (empty: all four),
// without middlebox compatibility mode (QUIC forbids it), with the usual key-exchange groups.
// Caches are built once per distinct list and live until the program exits (at most 64: the
// ordered lists without repeats). Errors: errc::invalid_argument (a repeated suite), a
// gnutls_category code if GnuTLS refuses the string.
Result<gnutls_priority_t> cipher_priority(std::span<const CipherSuite> suites);

// Returns the suite a session negotiated, or nothing before the handshake has chosen one.
std::optional<CipherSuite> negotiated_cipher_suite(gnutls_session_t session) noexcept;

}  // namespace quicreuse::core
