// StunLimiter: how many STUN answers the tool sends, per source address and in all. A STUN
// answer is larger than its request, so an unlimited responder is a free reflector for spoofed
// sources; each address gets a small token bucket, and the table of addresses is bounded.
#pragma once

#include <asio/ip/udp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

namespace quicreuse::tool {

class StunLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Answers per second and burst per source address, and in all.
  struct Limits {
    double per_address_rate = 10;
    double per_address_burst = 20;
    double total_rate = 2000;
    double total_burst = 2000;
    std::size_t max_addresses = 4096;  // least recently seen addresses are forgotten
  };

  StunLimiter() : StunLimiter(Limits{}) {}
  explicit StunLimiter(Limits limits);

  // Returns whether a request from `from` at now may be answered (and counts it if not).
  bool allow(const asio::ip::udp::endpoint& from, Clock::time_point now);
  [[nodiscard]] std::uint64_t refused() const noexcept { return refused_; }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
    std::list<std::string>::iterator order;
  };
  static bool take(double& tokens, Clock::time_point& last, Clock::time_point now, double rate,
                   double burst);

  Limits limits_;
  double total_tokens_;
  Clock::time_point total_last_{};
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> order_;  // most recently seen first
  std::uint64_t refused_ = 0;
};

}  // namespace quicreuse::tool
