// The Asio driver of a core::Endpoint: socket, receive loop, timer, and the parked operations of
// connections and streams (library internal).
#pragma once

#include "core/endpoint.hpp"
#include "core/fifo.hpp"
#include "core/rng.hpp"
#include "io/parked_queue.hpp"

#include <quicreuse/connection.hpp>
#include <quicreuse/endpoint.hpp>
#include <quicreuse/stream.hpp>

#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace quicreuse::detail {

// Returns the core address of an Asio endpoint and back.
core::SocketAddress to_core(const asio::ip::udp::endpoint& ep);
asio::ip::udp::endpoint to_asio(const core::SocketAddress& addr);
// Returns the current time on the clock the core uses.
core::Timestamp now();

// A parked operation with an id, so a cancellation can find it (kept in a ParkedQueue).
template <class C>
struct Parked {
  std::uint64_t id = 0;
  C completion;
};

struct ReadOp {
  std::uint64_t id = 0;
  std::vector<asio::mutable_buffer> buffers;
  SizeCompletion completion;
};
struct WriteOp {
  std::uint64_t id = 0;
  std::vector<asio::const_buffer> buffers;
  SizeCompletion completion;
};

// The io-side state of one stream: its parked read and write.
struct StreamWaiters {
  std::optional<ReadOp> read;
  std::optional<WriteOp> write;
};

// ConnectionState is the io-side state of one connection, shared by the endpoint (while the core
// holds the connection) and by user handles (ConnectionRef).
struct ConnectionState : std::enable_shared_from_this<ConnectionState> {
  ConnectionState(std::weak_ptr<EndpointState> endpoint, core::ConnectionHandle handle,
                  asio::any_io_executor executor);

  // Returns the core connection, or nullptr once the core removed it or the endpoint is gone.
  core::Connection* core() const;
  // Marks the endpoint as needing a flush (after an application call).
  void schedule_flush() const;
  // Records the final state and fails every parked operation.
  void on_closed(const core::Connection* conn);
  std::error_code closed_error() const;
  bool closed() const { return closed_; }

  void try_accept_streams(bool bidi);
  void try_open_streams(bool bidi);
  void try_read(std::int64_t id);
  void try_write(std::int64_t id);
  void try_datagrams();
  void release_stream(std::int64_t id);
  void cancel(std::uint64_t op_id);
  Stream make_stream(std::int64_t id);
  // Returns a new id for a parked operation (0 once the endpoint is gone).
  std::uint64_t next_op_id() const;

  std::weak_ptr<EndpointState> endpoint;
  core::ConnectionHandle handle;
  asio::any_io_executor executor;
  std::weak_ptr<ConnectionRef> user_ref;  // the live user-side guard, if any

  bool closed_ = false;
  CloseInfo close_info;
  std::error_code close_error;
  // Snapshot kept after the core forgets the connection.
  std::string alpn;
  std::optional<CipherSuite> cipher_suite;
  std::shared_ptr<const CertificateChain> peer_chain;  // shared with the core; null if none
  asio::ip::udp::endpoint local;
  asio::ip::udp::endpoint remote;
  std::any user_value;
  bool is_client = false;
  ConnectionStats last_stats;

  ParkedQueue<Parked<StreamCompletion>> accept_bidi;
  ParkedQueue<Parked<StreamCompletion>> accept_uni;
  ParkedQueue<Parked<StreamCompletion>> open_bidi;
  ParkedQueue<Parked<StreamCompletion>> open_uni;
  ParkedQueue<Parked<DatagramCompletion>> datagram_waiters;
  ParkedQueue<Parked<ErrorCompletion>> closed_waiters;
  std::vector<std::function<void(const CloseInfo&)>> close_callbacks;
  std::unordered_map<std::int64_t, StreamWaiters> streams;
};

// Parks a stream operation (accept/open) with a cancellation hook.
void park_stream_op(const std::shared_ptr<ConnectionState>& st,
                    ParkedQueue<Parked<StreamCompletion>>& queue, StreamCompletion c);
// Returns a callback that cancels the parked operation op_id of st (if still parked).
std::function<void()> make_canceller(const std::shared_ptr<ConnectionState>& st,
                                     std::uint64_t op_id);

// ConnectionRef is the user-side guard: when the last one goes, an open connection is closed.
struct ConnectionRef {
  explicit ConnectionRef(std::shared_ptr<ConnectionState> s) : state(std::move(s)) {}
  ConnectionRef(const ConnectionRef&) = delete;
  ConnectionRef& operator=(const ConnectionRef&) = delete;
  ConnectionRef(ConnectionRef&&) = delete;
  ConnectionRef& operator=(ConnectionRef&&) = delete;
  ~ConnectionRef();
  std::shared_ptr<ConnectionState> state;
};

// StreamHandle is the state behind a Stream handle.
struct StreamHandle {
  StreamHandle(std::shared_ptr<ConnectionRef> r, std::int64_t stream_id)
      : ref(std::move(r)), id(stream_id) {}
  StreamHandle(const StreamHandle&) = delete;
  StreamHandle& operator=(const StreamHandle&) = delete;
  StreamHandle(StreamHandle&&) = delete;
  StreamHandle& operator=(StreamHandle&&) = delete;
  ~StreamHandle();
  std::shared_ptr<ConnectionRef> ref;
  std::int64_t id;
};

// A dial waiting for its handshake (parked in EndpointState::dials).
struct PendingDial {
  std::uint64_t id = 0;
  core::ConnectionHandle handle = 0;
  ConnectionCompletion completion;
};
// A read of a non-QUIC datagram waiting for one (parked in EndpointState::non_quic_readers).
struct NonQuicRead {
  std::uint64_t id = 0;
  asio::mutable_buffer buffer;
  PacketCompletion completion;
};

// EndpointState drives one core::Endpoint over one Asio UDP socket.
struct EndpointState final : std::enable_shared_from_this<EndpointState>,
                             core::PacketSink,
                             core::EndpointObserver {
  EndpointState(asio::ip::udp::socket socket, core::EndpointConfig core_config,
                EndpointConfig config);
  EndpointState(const EndpointState&) = delete;
  EndpointState& operator=(const EndpointState&) = delete;
  EndpointState(EndpointState&&) = delete;
  EndpointState& operator=(EndpointState&&) = delete;
  ~EndpointState() override;

  // Starts the receive loop (after construction, once shared).
  void start();
  // Flushes the core now: writes packets, dispatches events, re-arms the timer.
  void process();
  // Flushes soon (coalesces many application calls into one flush).
  void schedule_flush();
  void close();
  std::uint64_t next_op_id() { return ++op_ids_; }
  std::shared_ptr<ConnectionState> connection_state(core::ConnectionHandle handle);
  Connection make_connection(core::ConnectionHandle handle);

  void accept_ready();
  void on_timer();
  void rearm_timer();
  void deliver_non_quic(std::span<const std::uint8_t> data, const asio::ip::udp::endpoint& from);
  void cancel_accept(std::uint64_t id);
  void cancel_dial(std::uint64_t id);
  void cancel_non_quic(std::uint64_t id);

  // Returns the source address the kernel would pick to reach remote from this socket (a
  // wildcard socket's connections need a real local address), with the socket's port; empty
  // when the socket is bound to a specific address or no route is known.
  core::SocketAddress source_for(const core::SocketAddress& remote) const;

  // Sends what waited for the socket to be writable; flushes the core once it all went.
  void on_writable();
  // Sends queued packets until the socket blocks again (then waits for it, unless closed);
  // returns true when the queue is empty.
  bool drain_send_queue();
  // Keeps the datagrams of data that fit within config.send_queue_bytes, in order; counts the
  // others as dropped.
  void enqueue(const core::SocketAddress& remote, std::span<const std::uint8_t> data,
               std::size_t segment_size, const core::PathInfo& path);
  // Waits for the socket to take more: poll() for a full send buffer, a short timer for ENOBUFS.
  void wait_writable(bool out_of_buffers);
  [[nodiscard]] bool write_blocked_now() const noexcept { return !send_queue.empty(); }

  // core::PacketSink
  void send(const core::SocketAddress& remote, std::span<const std::uint8_t> data,
            std::size_t segment_size, const core::PathInfo& path) override;
  // core::EndpointObserver
  void on_events(core::Connection& conn, std::span<const core::ConnectionEvent> events) override;
  void on_incoming() override;
  void on_removed(core::ConnectionHandle handle) override;

  asio::any_io_executor executor;
  asio::ip::udp::socket socket;
  EndpointConfig config;
  core::SystemRng rng;
  std::unique_ptr<core::Endpoint> core_endpoint;
  asio::steady_timer timer;
  // Memory release after bursts (io/memory_release.hpp).
  asio::steady_timer release_timer;
  std::size_t removed_since_release = 0;
  bool release_armed = false;
  void note_removal();
  core::Timestamp timer_deadline = core::Timestamp::max();
  asio::ip::udp::endpoint local;
  // Bound to 0.0.0.0 or ::: datagrams carry their destination address (IP_PKTINFO), and answers
  // name their source address.
  bool wildcard = false;
  bool ecn_reports = false;  // received datagrams carry their TOS byte (IP_RECVTOS)
  bool closed = false;
  bool flush_scheduled = false;
  bool turn_marker_posted = false;  // an application_turn() is posted
  bool in_process = false;
  bool gso_supported = true;
  std::uint64_t op_ids_ = 0;

  std::unordered_map<core::ConnectionHandle, std::shared_ptr<ConnectionState>> connections;
  ParkedQueue<Parked<ConnectionCompletion>> accept_waiters;
  // Push-style accept (ListenOptions::on_ready / on_stopped).
  std::function<void(std::vector<Connection>)> ready_handler;
  std::function<void(std::error_code)> stopped_handler;
  // Ends push-style listening: posts stopped_handler once with reason.
  void listening_stopped(std::error_code reason);
  Connection adopt_ready(core::ConnectionHandle handle, core::Connection& conn);
  ParkedQueue<PendingDial> dials;
  // Removes and returns the dial waiting for the connection handle, if any.
  std::optional<PendingDial> take_dial(core::ConnectionHandle handle) {
    return dials.take_if([handle](const PendingDial& d) { return d.handle == handle; });
  }

  struct NonQuicDatagram {
    std::vector<std::uint8_t> bytes;
    asio::ip::udp::endpoint from;
  };
  bool non_quic_reader_seen = false;
  ParkedQueue<NonQuicRead> non_quic_readers;
  std::deque<NonQuicDatagram> non_quic_queue;

  // io-level counters (the core keeps the protocol ones).
  std::uint64_t datagrams_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t write_blocked = 0;
  std::uint64_t send_queue_dropped = 0;

  // Write-blocked path: packets in order, waiting for the socket.
  struct QueuedSend {
    core::SocketAddress remote;
    core::PathInfo path;
    std::vector<std::uint8_t> bytes;
    std::size_t segment_size = 0;
  };
  std::deque<QueuedSend> send_queue;
  std::size_t send_queue_size = 0;  // bytes in send_queue
  bool write_wait_armed = false;
  bool flush_after_writable = false;  // process() was deferred while write-blocked
  asio::steady_timer write_retry_timer;
  std::uint64_t receive_errors = 0;
  std::uint64_t non_quic_delivered = 0;
  std::uint64_t non_quic_dropped = 0;
  std::uint64_t memory_releases = 0;
};

}  // namespace quicreuse::detail
