// Randomness in the sans-IO core is injected, so simulations can replay exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>

namespace quicreuse::core {

// Rng fills buffers with random bytes. Implementations need not be thread-safe: every user is
// confined to one executor.
class Rng {
 public:
  Rng() = default;
  Rng(const Rng&) = delete;
  Rng& operator=(const Rng&) = delete;
  Rng(Rng&&) = delete;
  Rng& operator=(Rng&&) = delete;
  virtual ~Rng() = default;

  // Fills out with random bytes.
  virtual void fill(std::span<std::uint8_t> out) = 0;

  // Returns a uniformly distributed value in [0, bound) (bound > 0).
  std::uint64_t uniform(std::uint64_t bound);
};

// SystemRng draws from GnuTLS's nonce-grade generator (unpredictable; used for CIDs and padding).
class SystemRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// SeededRng is a deterministic generator for tests and simulations.
class SeededRng final : public Rng {
 public:
  explicit SeededRng(std::uint64_t seed) : engine_(seed) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::mt19937_64 engine_;
};

}  // namespace quicreuse::core
