// TokenBucket: a rate limiter on injected time (refill `rate` tokens per second, up to `burst`).
#pragma once

#include "core/time.hpp"

#include <algorithm>

namespace quicreuse::core {

class TokenBucket {
 public:
  // A bucket refilled at rate tokens per second, holding at most burst tokens; it starts full.
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  // Takes one token if available at now; returns whether it did.
  bool try_take(Timestamp now) noexcept {
    refill(now);
    if (tokens_ < 1.0) {
      return false;
    }
    tokens_ -= 1.0;
    return true;
  }

  // Returns the tokens available at now (for tests and metrics).
  double available(Timestamp now) noexcept {
    refill(now);
    return tokens_;
  }

 private:
  void refill(Timestamp now) noexcept {
    if (!started_) {
      started_ = true;
      last_ = now;
      return;
    }
    if (now > last_) {
      const double seconds = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(burst_, tokens_ + seconds * rate_);
      last_ = now;
    }
  }

  double rate_;
  double burst_;
  double tokens_;
  Timestamp last_{};
  bool started_ = false;
};

}  // namespace quicreuse::core
