// PairApp: the application on both sides of an EndpointPair, for the endpoint harness and its
// seed recorder. It reacts to connection events the same way every run (accepts streams, reads
// everything, echoes bidirectional streams on the server side, drains datagrams) and performs
// the actions records ask for (open, write, reset, close...), so that a recorded exchange replays
// exactly.
#pragma once

#include "support/endpoint_pair.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace quicreuse::fuzz {

// AppOp is an application action on one side's newest connection. "The stream" is the newest
// stream that side opened or accepted. Values beyond count_ wrap around.
enum class AppOp : std::uint8_t {
  none,             // nothing: the record only moves time
  open_bidi,        // open a bidirectional stream, write arg & 0x7fff bytes, FIN if arg & 0x8000
  open_uni,         // the same with a unidirectional stream
  write,            // write arg & 0x7fff bytes to the stream, FIN if arg & 0x8000
  send_datagram,    // send a datagram of arg % 1201 bytes (0 included)
  reset_stream,     // RESET_STREAM on the stream, code arg
  stop_sending,     // STOP_SENDING on the stream, code arg
  release_stream,   // drop the stream's handle
  close,            // close the connection with application code arg
  close_transport,  // close the connection with transport code arg
  count_,
};

class PairApp {
 public:
  // Installs the event handlers on both nodes of pair (which must outlive this object).
  explicit PairApp(EndpointPair& pair);
  PairApp(const PairApp&) = delete;
  PairApp& operator=(const PairApp&) = delete;
  PairApp(PairApp&&) = delete;
  PairApp& operator=(PairApp&&) = delete;
  ~PairApp();

  // Performs op with arg on side's newest connection (nothing when it has none), then flushes.
  void act(Side side, AppOp op, std::uint16_t arg);

 private:
  struct SideState {
    std::vector<std::int64_t> streams;  // opened or accepted, oldest first
    std::uint64_t echoed = 0;           // bytes echoed so far (bounded)
  };

  void on_event(Side side, core::Connection& conn, const core::ConnectionEvent& ev);
  void read_all(Side side, core::Connection& conn, std::int64_t id);

  EndpointPair& pair_;
  std::array<SideState, 2> sides_;
};

}  // namespace quicreuse::fuzz
