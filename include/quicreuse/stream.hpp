// Stream: one QUIC stream, usable with asio::async_read / asio::async_write.
#pragma once

#include <quicreuse/detail/io_fwd.hpp>
#include <quicreuse/error.hpp>

#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>

namespace quicreuse {

// Stream is a handle to one bidirectional or unidirectional QUIC stream. It models Asio's
// AsyncReadStream and AsyncWriteStream. Reads complete with asio::error::eof after the peer's FIN.
//
// Ownership: the handle keeps its connection alive (see Connection). Destroying the last handle
// of a stream releases it: unread data is discarded (the peer gets STOP_SENDING 0 if it is still
// sending); data already written keeps being delivered (call shutdown_send() for a FIN).
// Threading: use it on its connection's executor only.
class Stream {
 public:
  using executor_type = asio::any_io_executor;

  // An empty handle (every operation fails with errc::stream_closed).
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;
  ~Stream() = default;

  // Returns the executor of the stream's endpoint.
  [[nodiscard]] executor_type get_executor() const;
  // Returns the QUIC stream ID, or -1 for an empty handle.
  [[nodiscard]] std::int64_t id() const noexcept;
  [[nodiscard]] bool is_bidirectional() const noexcept { return id() >= 0 && (id() & 0x2) == 0; }
  [[nodiscard]] explicit operator bool() const noexcept { return handle_ != nullptr; }

  // Reads some bytes. Completes with (error, bytes): asio::error::eof after the FIN,
  // errc::stream_reset when the peer reset it (see reset_code()), errc::wrong_stream_direction on
  // our own unidirectional stream, the connection's error once it is closed. Supports
  // per-operation cancellation (asio::error::operation_aborted, nothing consumed).
  template <class MutableBufferSequence, class CompletionToken>
  auto async_read_some(const MutableBufferSequence& buffers, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, std::size_t)>(
        [](auto handler, const std::shared_ptr<detail::StreamHandle>& h,
           std::vector<asio::mutable_buffer> bufs, executor_type ex) {
          start_read(h, std::move(bufs), detail::SizeCompletion(std::move(handler), ex));
        },
        token, handle_, detail::buffer_list<asio::mutable_buffer>(buffers), get_executor());
  }

  // Writes some bytes: completes once at least one byte is in the stream's send buffer (data is
  // copied; the library owns it until the peer acknowledges it). Errors: errc::stream_stopped
  // (peer sent STOP_SENDING), errc::stream_closed (after shutdown_send() or reset()),
  // errc::wrong_stream_direction, the connection's error. Supports per-operation cancellation.
  template <class ConstBufferSequence, class CompletionToken>
  auto async_write_some(const ConstBufferSequence& buffers, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, std::size_t)>(
        [](auto handler, const std::shared_ptr<detail::StreamHandle>& h,
           std::vector<asio::const_buffer> bufs, executor_type ex) {
          start_write(h, std::move(bufs), detail::SizeCompletion(std::move(handler), ex));
        },
        token, handle_, detail::buffer_list<asio::const_buffer>(buffers), get_executor());
  }

  // Half-closes the send side: a FIN follows the data already written. Idempotent.
  // Errors: errc::stream_closed (reset or empty handle), errc::wrong_stream_direction, the
  // connection's error.
  Result<void> shutdown_send();
  // Abandons the send side with an application error code (RESET_STREAM).
  Result<void> reset(std::uint64_t code);
  // Asks the peer to stop sending, with an application error code (STOP_SENDING); unread data
  // is discarded.
  Result<void> stop_sending(std::uint64_t code);
  // Returns the peer's RESET_STREAM code, if it reset the stream.
  [[nodiscard]] std::optional<std::uint64_t> reset_code() const;
  // Returns the peer's STOP_SENDING code once known (ngtcp2 learns it when the stream closes).
  [[nodiscard]] std::optional<std::uint64_t> stop_sending_code() const;
  // Releases the handle now (as the destructor does).
  void close() noexcept { handle_.reset(); }

 private:
  friend struct detail::Access;  // builds handles from internal state
  explicit Stream(std::shared_ptr<detail::StreamHandle> handle);
  static void start_read(const std::shared_ptr<detail::StreamHandle>& h,
                         std::vector<asio::mutable_buffer> bufs, detail::SizeCompletion c);
  static void start_write(const std::shared_ptr<detail::StreamHandle>& h,
                          std::vector<asio::const_buffer> bufs, detail::SizeCompletion c);

  std::shared_ptr<detail::StreamHandle> handle_;
};

}  // namespace quicreuse
