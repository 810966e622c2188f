#include "stun_limiter.hpp"

#include <algorithm>

namespace quicreuse::tool {

StunLimiter::StunLimiter(Limits limits) : limits_(limits), total_tokens_(limits.total_burst) {}

bool StunLimiter::take(double& tokens, Clock::time_point& last, Clock::time_point now, double rate,
                       double burst) {
  if (last != Clock::time_point{} && now > last) {
    tokens = std::min(burst, tokens + rate * std::chrono::duration<double>(now - last).count());
  }
  last = std::max(last, now);
  if (tokens < 1.0) {
    return false;
  }
  tokens -= 1.0;
  return true;
}

bool StunLimiter::allow(const asio::ip::udp::endpoint& from, Clock::time_point now) {
  // The address without the port: one host cannot get more by using many ports.
  const std::string key = from.address().to_string();
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= std::max<std::size_t>(1, limits_.max_addresses)) {
      buckets_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(key);
    it = buckets_.emplace(key, Bucket{limits_.per_address_burst, now, order_.begin()}).first;
  } else {
    order_.splice(order_.begin(), order_, it->second.order);
  }
  Bucket& b = it->second;
  if (!take(b.tokens, b.last, now, limits_.per_address_rate, limits_.per_address_burst) ||
      !take(total_tokens_, total_last_, now, limits_.total_rate, limits_.total_burst)) {
    ++refused_;
    return false;
  }
  return true;
}

}  // namespace quicreuse::tool
