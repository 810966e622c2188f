// The one owner of an ngtcp2_conn: a unique_ptr with ngtcp2's deleter, and the factory that
// builds one for either role.
#pragma once

#include <quicreuse/error.hpp>

#include <ngtcp2/ngtcp2.h>

#include <cstdint>
#include <memory>

namespace quicreuse::core {

enum class Role { client, server };

struct Ngtcp2ConnDeleter {
  void operator()(ngtcp2_conn* conn) const noexcept { ngtcp2_conn_del(conn); }
};
// Owns one ngtcp2 connection; its destructor frees it with ngtcp2_conn_del.
using Ngtcp2ConnPtr = std::unique_ptr<ngtcp2_conn, Ngtcp2ConnDeleter>;

// What ngtcp2_conn_client_new / ngtcp2_conn_server_new take, by role. Every pointer must stay
// valid during the call only (ngtcp2 copies them), except user_data, which every callback of the
// connection receives for as long as it lives.
struct Ngtcp2ConnSetup {
  Role role = Role::client;
  const ngtcp2_cid* dcid = nullptr;
  const ngtcp2_cid* scid = nullptr;
  const ngtcp2_path* path = nullptr;
  std::uint32_t version = NGTCP2_PROTO_VER_V1;
  const ngtcp2_callbacks* callbacks = nullptr;
  const ngtcp2_settings* settings = nullptr;
  const ngtcp2_transport_params* params = nullptr;
  void* user_data = nullptr;
};

// Builds the ngtcp2 connection of setup.role with the library's allocator. Errors:
// errc::internal_error when a pointer of setup is null, or ngtcp2's code in ngtcp2_category()
// (e.g. NGTCP2_ERR_NOMEM).
[[nodiscard]] Result<Ngtcp2ConnPtr> make_ngtcp2_conn(const Ngtcp2ConnSetup& setup);

}  // namespace quicreuse::core
