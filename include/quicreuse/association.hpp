// Association: an opaque tag that steers dials to the socket a protocol listens on (D14).
#pragma once

#include <functional>
#include <string>
#include <utility>

namespace quicreuse {

// Association is a small copyable value compared by equality. A protocol (say a libp2p QUIC or
// WebTransport transport) listens with its association and dials with the same one, so its dials
// leave from its own listen socket when several sockets could serve them (hole punching needs
// the socket whose NAT mapping was advertised). It is a preference, never an exclusion. The
// default-constructed value is the null association: it matches every socket.
class Association {
 public:
  Association() = default;
  explicit Association(std::string name) : name_(std::move(name)) {}

  [[nodiscard]] bool is_null() const noexcept { return name_.empty(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  friend bool operator==(const Association&, const Association&) = default;

 private:
  std::string name_;
};

}  // namespace quicreuse

template <>
struct std::hash<quicreuse::Association> {
  std::size_t operator()(const quicreuse::Association& a) const noexcept {
    return std::hash<std::string>{}(a.name());
  }
};
