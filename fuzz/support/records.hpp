// The endpoint harness's input format: a sequence of records, each moving the virtual clock and
// then delivering one datagram to an endpoint or performing one application action on it.
//
//   byte 0     kind: bits 0-1 the target (0 datagram to the server, 1 datagram to the client,
//              2 action on the server, 3 action on the client); bit 2 (datagrams) sent from the
//              alternate address instead of the peer's; bit 3 (datagrams) append the 16-byte zero
//              tag that transparent protection expects (so mutated frames need not keep it);
//              other bits ignored
//   bytes 1-2  milliseconds to advance first (big endian; 0: no advance, no timers run)
//   datagram:  bytes 3-4 length (big endian), then the datagram (cut short at the end of input)
//   action:    byte 3 the AppOp (pair_app.hpp, wrapping), bytes 4-5 its argument (big endian)
//
// A record whose fixed fields are cut short by the end of the input is dropped. Recorded exchanges
// (fuzz/seeds) use the same format, so a seed replays a real conversation that the fuzzer then
// mutates.
#pragma once

#include "support/endpoint_pair.hpp"
#include "support/pair_app.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace quicreuse::fuzz {

// The endpoint harness reads at most this many records: enough for a real exchange (the seeds)
// and long fuzzed conversations, few enough to keep one run in milliseconds.
inline constexpr std::size_t kMaxRecords = 128;

enum class Target : std::uint8_t { to_server = 0, to_client = 1, server_app = 2, client_app = 3 };

struct Record {
  Target target = Target::to_server;
  bool alternate = false;  // datagram from the alternate address (a third host)
  bool sealed = false;     // 16 zero bytes appended to the datagram when it is delivered
  std::uint16_t advance_ms = 0;
  std::vector<std::uint8_t> datagram;
  AppOp op = AppOp::none;
  std::uint16_t arg = 0;
};

// Returns the first max_records complete records of input.
std::vector<Record> parse_records(std::span<const std::uint8_t> input, std::size_t max_records);
// Appends record in the format above.
void append_record(std::vector<std::uint8_t>& out, const Record& record);

// Returns the address a datagram record comes from: the peer of its target, or a third host.
core::SocketAddress record_source(EndpointPair& pair, const Record& record);

// DatagramCheck sees what handle_datagram did with a record's datagram (of size bytes, the tag
// included when sealed) and what the endpoint sent at once (before the flush that follows).
using DatagramCheck = std::function<void(const Record& record, core::DatagramOutcome outcome,
                                         std::size_t size, std::span<const Datagram> sent_at_once)>;

// Runs record against the pair: advances the clock (when advance_ms > 0), then hands the datagram
// to its endpoint (and flushes) or performs the action. What the endpoints send stays in their
// outboxes.
void run_record(EndpointPair& pair, PairApp& app, const Record& record,
                const DatagramCheck& check = nullptr);

}  // namespace quicreuse::fuzz
