// core::Connection's internal header: the file-local helpers that more than one of its
// implementation files (src/core/connection*.cpp) use. Not for use outside them.
#pragma once

#include "core/connection.hpp"

#include <cstddef>
#include <cstdint>

namespace quicreuse::core {

// A DATAGRAM frame has at most 1 type byte + an 8-byte length; the packet adds at most a
// 1+20+4 byte short header and a 16-byte AEAD tag.
constexpr std::size_t kDatagramOverhead = 1 + 8 + 1 + 20 + 4 + 16;

inline bool is_bidi(std::int64_t id) noexcept {
  return (id & 0x2) == 0;
}

// The connection whose packets ngtcp2_conn_read_pkt is processing on this thread: ngtcp2's
// decrypt callback has no user data, and the frame guard runs there (see Callbacks::decrypt).
// Inline: one variable for all of Connection's files (receive() sets it, decrypt reads it).
inline thread_local Connection* receiving = nullptr;

class ReceivingScope {
 public:
  explicit ReceivingScope(Connection* c) : previous_(receiving) { receiving = c; }
  ReceivingScope(const ReceivingScope&) = delete;
  ReceivingScope& operator=(const ReceivingScope&) = delete;
  ReceivingScope(ReceivingScope&&) = delete;
  ReceivingScope& operator=(ReceivingScope&&) = delete;
  ~ReceivingScope() { receiving = previous_; }

 private:
  Connection* previous_;
};

}  // namespace quicreuse::core
