#include "core/rng.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <cstring>

namespace quicreuse::core {

std::uint64_t Rng::uniform(std::uint64_t bound) {
  // Rejection sampling avoids modulo bias.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    std::uint64_t v = 0;
    fill({reinterpret_cast<std::uint8_t*>(&v), sizeof v});
    if (v < limit) {
      return v % bound;
    }
  }
}

void SystemRng::fill(std::span<std::uint8_t> out) {
  if (out.empty()) {
    return;
  }
  // GNUTLS_RND_NONCE cannot fail once the library is initialised; abort rather than use zeros.
  if (gnutls_rnd(GNUTLS_RND_NONCE, out.data(), out.size()) != 0) {
    std::abort();
  }
}

void SeededRng::fill(std::span<std::uint8_t> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    const std::uint64_t v = engine_();
    const std::size_t n = std::min(sizeof v, out.size() - i);
    std::memcpy(out.data() + i, &v, n);
    i += n;
  }
}

}  // namespace quicreuse::core
