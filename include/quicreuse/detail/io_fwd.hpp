// Declarations shared by the public I/O headers and their implementation in src/io.
#pragma once

#include <quicreuse/detail/completion.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/udp.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <system_error>
#include <vector>

namespace quicreuse {
class Connection;
class Stream;
}  // namespace quicreuse

namespace quicreuse::detail {

// Builds public handles from internal state (src/io/access.hpp).
struct Access;
struct EndpointState;
struct ConnectionState;
struct ConnectionRef;
struct StreamHandle;

using SizeCompletion = Completion<std::error_code, std::size_t>;
using StreamCompletion = Completion<std::error_code, Stream>;
using ConnectionCompletion = Completion<std::error_code, Connection>;
using DatagramCompletion = Completion<std::error_code, std::vector<std::uint8_t>>;
using ErrorCompletion = Completion<std::error_code>;
using PacketCompletion = Completion<std::error_code, std::size_t, asio::ip::udp::endpoint>;

// Copies a buffer sequence into a vector of buffers.
template <class Buffer, class Sequence>
std::vector<Buffer> buffer_list(const Sequence& buffers) {
  std::vector<Buffer> out;
  for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
       ++it) {
    out.emplace_back(*it);
  }
  return out;
}

}  // namespace quicreuse::detail
