#include "core/ngtcp2_conn.hpp"

#include "core/ngtcp2_memory.hpp"

namespace quicreuse::core {

Result<Ngtcp2ConnPtr> make_ngtcp2_conn(const Ngtcp2ConnSetup& setup) {
  if (setup.dcid == nullptr || setup.scid == nullptr || setup.path == nullptr ||
      setup.callbacks == nullptr || setup.settings == nullptr || setup.params == nullptr) {
    return fail(errc::internal_error);
  }
  ngtcp2_conn* conn = nullptr;
  const int rv = setup.role == Role::client
                     ? ngtcp2_conn_client_new(&conn, setup.dcid, setup.scid, setup.path,
                                              setup.version, setup.callbacks, setup.settings,
                                              setup.params, ngtcp2_allocator(), setup.user_data)
                     : ngtcp2_conn_server_new(&conn, setup.dcid, setup.scid, setup.path,
                                              setup.version, setup.callbacks, setup.settings,
                                              setup.params, ngtcp2_allocator(), setup.user_data);
  if (rv != 0) {
    return fail(std::error_code(rv, ngtcp2_category()));
  }
  return Ngtcp2ConnPtr(conn);
}

}  // namespace quicreuse::core
