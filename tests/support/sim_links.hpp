// The simulator's table of link conditions. As ngtcp2's simulator runs each test over a "short
// delay" and a "long delay" link, the simulator suites run each test over every link here
// (value-parameterised tests: INSTANTIATE_TEST_SUITE_P(Links, Suite, testing::ValuesIn(kSimLinks),
// SimLinkName{})), so that a timer or a bound that only holds on one path shows up.
#pragma once

#include "sim_network.hpp"

#include <array>
#include <chrono>
#include <ostream>
#include <string>

namespace quicreuse::test {

// SimLink is one row of the table: a name (used in test names) and the link's conditions.
struct SimLink {
  const char* name;
  LinkConfig link;
  // True when the link loses datagrams (tests of unreliable delivery must allow for it).
  [[nodiscard]] bool lossy() const { return link.loss > 0; }
};

// A LAN-like path: 1 ms one way, nothing lost.
inline constexpr SimLink kShortDelayLink{"short_delay", {std::chrono::milliseconds(1)}};
// A long path (a satellite hop or the other side of the world): 150 ms one way, nothing lost.
inline constexpr SimLink kLongDelayLink{"long_delay", {std::chrono::milliseconds(150)}};
// A poor path: 20 ms one way, 3 % of datagrams lost, 5 % delayed 10 ms more (reordered).
inline constexpr SimLink kLossyLink{
    "lossy", {std::chrono::milliseconds(20), 0.03, 0.05, std::chrono::milliseconds(10), 0.0}};

inline constexpr std::array<SimLink, 3> kSimLinks{kShortDelayLink, kLongDelayLink, kLossyLink};

// Names a test instance after its link (the fourth argument of INSTANTIATE_TEST_SUITE_P).
struct SimLinkName {
  template <class ParamInfo>
  std::string operator()(const ParamInfo& info) const {
    return info.param.name;
  }
};

// Prints a link in test failure messages.
inline std::ostream& operator<<(std::ostream& out, const SimLink& l) {
  return out << l.name << " (" << std::chrono::duration<double, std::milli>(l.link.delay).count()
             << " ms one way, loss " << l.link.loss << ", reorder " << l.link.reorder << ")";
}

}  // namespace quicreuse::test
