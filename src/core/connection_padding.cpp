// core::Connection and short packet padding (short_packet_padding.hpp): when the packets of a
// write may be padded.
//
// Only once the handshake is confirmed: before that, the packets are the handshake's, whose
// lengths ngtcp2 chooses (Initial datagrams are padded to 1200 bytes anyway), and a peer that
// has not finished the handshake holds no state to lose.
//
// A server pads only on a path whose peer address is validated. On a path that is not (the
// peer moved, and ngtcp2 is validating its new address), ngtcp2 holds what it sends to three
// times what it received there (RFC 9000 8), counting the unpadded lengths; padding could
// overstep that limit by a few bytes a packet. The handshake validates the first address, a
// successful path validation the later ones; a failed one sends ngtcp2 back to the old path.
#include "core/connection.hpp"

namespace quicreuse::core {
namespace {

// The peer's address on ngtcp2's current path (empty if ngtcp2 has none yet).
SocketAddress current_remote(ngtcp2_conn* conn) noexcept {
  const ngtcp2_path* path = ngtcp2_conn_get_path(conn);
  if (path == nullptr || path->remote.addr == nullptr) {
    return {};
  }
  return {path->remote.addr, path->remote.addrlen};
}

}  // namespace

bool Connection::may_pad_short_packets() const noexcept {
  if (!confirmed_ || conn_ == nullptr) {
    return false;
  }
  if (params_.role == Role::client) {
    return true;  // a client's sending is never limited by address validation
  }
  const SocketAddress remote = current_remote(conn_.get());
  return !remote.empty() && remote == validated_remote_;
}

void Connection::note_validated_path() noexcept {
  validated_remote_ = current_remote(conn_.get());
}

int Connection::path_validation(ngtcp2_conn* /*conn*/, std::uint32_t /*flags*/,
                                const ngtcp2_path* path, ngtcp2_path_validation_result res,
                                void* ud) noexcept {
  auto* c = static_cast<Connection*>(ud);
  if (res == NGTCP2_PATH_VALIDATION_RESULT_SUCCESS && path != nullptr &&
      path->remote.addr != nullptr) {
    c->validated_remote_ = SocketAddress(path->remote.addr, path->remote.addrlen);
  }
  return 0;
}

}  // namespace quicreuse::core
