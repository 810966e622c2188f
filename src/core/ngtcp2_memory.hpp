// The allocator that core::Connection hands to ngtcp2 (ngtcp2_conn_client_new/server_new's mem
// argument). ngtcp2's default allocator (malloc) unless a profiler installed another, so that it
// can count exactly what ngtcp2 holds per connection (bench/idle_memory.cpp does).
#pragma once

#include <ngtcp2/ngtcp2.h>

namespace quicreuse::core {

// Returns the allocator for new ngtcp2 connections; nullptr means ngtcp2's default.
[[nodiscard]] const ngtcp2_mem* ngtcp2_allocator() noexcept;
// Sets the allocator for connections created from now on (nullptr restores the default). mem
// must outlive every connection created with it; connections keep the one they started with.
void set_ngtcp2_allocator(const ngtcp2_mem* mem) noexcept;

}  // namespace quicreuse::core
