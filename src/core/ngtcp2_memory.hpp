// The allocator that core::Connection hands to ngtcp2 (ngtcp2_conn_client_new/server_new's mem
// argument): default_ngtcp2_allocator() unless a profiler installed another (bench/idle_memory.cpp
// counts exactly what ngtcp2 holds per connection that way, forwarding to the default).
#pragma once

#include <ngtcp2/ngtcp2.h>

namespace quicreuse::core {

// Returns the library's allocator for ngtcp2: malloc, except that whole pages inside a newly
// allocated block are discarded (madvise MADV_DONTNEED) before ngtcp2 gets it. ngtcp2 0.12 keeps
// per-connection pools (skip lists, frame chains, retransmission entries) in blocks of 4 to 12 KB
// and writes only their first few hundred bytes while a connection is idle; when malloc reuses
// memory that freed allocations had written (a handshake's transients), those untouched pages
// would otherwise stay resident. Discarded pages cost nothing until written and read as zeros.
// Thread-safe (stateless).
[[nodiscard]] const ngtcp2_mem* default_ngtcp2_allocator() noexcept;

// Returns the allocator for new ngtcp2 connections.
[[nodiscard]] const ngtcp2_mem* ngtcp2_allocator() noexcept;
// Sets the allocator for connections created from now on (nullptr restores the default). mem
// must outlive every connection created with it; connections keep the one they started with.
void set_ngtcp2_allocator(const ngtcp2_mem* mem) noexcept;

}  // namespace quicreuse::core
