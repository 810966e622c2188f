#include "support/records.hpp"

#include "core/packet_protection.hpp"

#include <algorithm>

namespace quicreuse::fuzz {
namespace {

std::uint16_t read16(std::span<const std::uint8_t> in, std::size_t at) {
  return static_cast<std::uint16_t>((in[at] << 8) | in[at + 1]);
}

void put16(std::vector<std::uint8_t>& out, std::size_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

bool is_datagram(Target target) {
  return target == Target::to_server || target == Target::to_client;
}

}  // namespace

std::vector<Record> parse_records(std::span<const std::uint8_t> input, std::size_t max_records) {
  std::vector<Record> records;
  std::size_t pos = 0;
  while (records.size() < max_records && input.size() - pos >= 3) {
    Record r;
    r.target = static_cast<Target>(input[pos] & 0x3U);
    r.alternate = (input[pos] & 0x4U) != 0;
    r.sealed = (input[pos] & 0x8U) != 0;
    r.advance_ms = read16(input, pos + 1);
    if (is_datagram(r.target)) {
      if (input.size() - pos < 5) {
        break;
      }
      const std::size_t length = read16(input, pos + 3);
      pos += 5;
      const std::size_t n = std::min(length, input.size() - pos);
      r.datagram.assign(input.begin() + static_cast<std::ptrdiff_t>(pos),
                        input.begin() + static_cast<std::ptrdiff_t>(pos + n));
      pos += n;
    } else {
      if (input.size() - pos < 6) {
        break;
      }
      r.op = static_cast<AppOp>(input[pos + 3]);
      r.arg = read16(input, pos + 4);
      pos += 6;
    }
    records.push_back(std::move(r));
  }
  return records;
}

void append_record(std::vector<std::uint8_t>& out, const Record& record) {
  out.push_back(static_cast<std::uint8_t>(static_cast<unsigned>(record.target) |
                                          (record.alternate ? 0x4U : 0U) |
                                          (record.sealed ? 0x8U : 0U)));
  put16(out, record.advance_ms);
  if (is_datagram(record.target)) {
    put16(out, record.datagram.size());
    out.insert(out.end(), record.datagram.begin(), record.datagram.end());
  } else {
    out.push_back(static_cast<std::uint8_t>(record.op));
    put16(out, record.arg);
  }
}

core::SocketAddress record_source(EndpointPair& pair, const Record& record) {
  if (record.alternate) {
    const std::uint8_t third[4] = {10, 0, 0, 9};
    return core::SocketAddress::v4(third, 6000);
  }
  return pair.node(record.target == Target::to_server ? Side::client : Side::server).address();
}

void run_record(EndpointPair& pair, PairApp& app, const Record& record,
                const DatagramCheck& check) {
  if (record.advance_ms > 0) {
    pair.advance(std::chrono::milliseconds(record.advance_ms));
  }
  switch (record.target) {
    case Target::to_server:
    case Target::to_client: {
      Node& node = pair.node(record.target == Target::to_server ? Side::server : Side::client);
      std::vector<std::uint8_t> sealed;
      std::span<const std::uint8_t> datagram = record.datagram;
      if (record.sealed) {
        sealed = record.datagram;
        sealed.resize(sealed.size() + core::kTransparentTagLength, 0);
        datagram = sealed;
      }
      const std::size_t queued = node.outbox().size();
      const auto outcome =
          node.endpoint().handle_datagram(pair.now(), record_source(pair, record), datagram, node);
      if (check) {
        check(record, outcome, datagram.size(), node.outbox().subspan(queued));
      }
      pair.flush();
      break;
    }
    case Target::server_app:
      app.act(Side::server, record.op, record.arg);
      break;
    case Target::client_app:
      app.act(Side::client, record.op, record.arg);
      break;
  }
}

}  // namespace quicreuse::fuzz
