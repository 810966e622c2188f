#include "support/pair_app.hpp"

#include <algorithm>
#include <cstdlib>
#include <span>

namespace quicreuse::fuzz {
namespace {

// The bytes every write takes its data from.
constexpr std::size_t kPatternSize = 0x8000;
const std::array<std::uint8_t, kPatternSize>& pattern() {
  static const std::array<std::uint8_t, kPatternSize> bytes = [] {
    std::array<std::uint8_t, kPatternSize> b{};
    for (std::size_t i = 0; i < b.size(); ++i) {
      b[i] = static_cast<std::uint8_t>((i * 7 + 3) & 0xffU);
    }
    return b;
  }();
  return bytes;
}

// The server echoes at most this much in total, so that a run stays short.
constexpr std::uint64_t kMaxEcho = 256 * 1024;

std::size_t index_of(Side side) {
  return static_cast<std::size_t>(side);
}

bool is_bidi(std::int64_t id) {
  return (id & 0x2) == 0;
}

}  // namespace

PairApp::PairApp(EndpointPair& pair) : pair_(pair) {
  for (const Side side : {Side::server, Side::client}) {
    pair_.node(side).on_event = [this, side](core::Connection& conn,
                                             const core::ConnectionEvent& ev) {
      on_event(side, conn, ev);
    };
  }
}

PairApp::~PairApp() {
  for (const Side side : {Side::server, Side::client}) {
    pair_.node(side).on_event = nullptr;
  }
}

void PairApp::on_event(Side side, core::Connection& conn, const core::ConnectionEvent& ev) {
  using Type = core::ConnectionEvent::Type;
  SideState& state = sides_[index_of(side)];
  switch (ev.type) {
    case Type::stream_opened:
      while (auto id = conn.accept_stream(ev.bidi)) {
        state.streams.push_back(*id);
      }
      break;
    case Type::stream_readable:
      read_all(side, conn, ev.stream_id);
      break;
    case Type::datagram_received:
      while (conn.receive_datagram()) {
      }
      break;
    default:
      break;
  }
}

void PairApp::read_all(Side side, core::Connection& conn, std::int64_t id) {
  SideState& state = sides_[index_of(side)];
  std::array<std::uint8_t, 4096> buf{};
  for (;;) {
    auto read = conn.read_stream(id, buf, pair_.now());
    if (!read || (read->bytes == 0 && !read->fin)) {
      return;
    }
    if (side == Side::server && is_bidi(id) && state.echoed < kMaxEcho) {
      const std::span<const std::uint8_t> data(buf.data(), read->bytes);
      if (auto written = conn.write_stream(id, data, read->fin); written) {
        state.echoed += *written;
      }
    }
    if (read->bytes == 0) {
      return;  // FIN alone
    }
  }
}

void PairApp::act(Side side, AppOp op, std::uint16_t arg) {
  core::Connection* conn = pair_.connection(side);
  if (conn == nullptr) {
    return;
  }
  SideState& state = sides_[index_of(side)];
  const std::size_t size = arg & 0x7fffU;
  const bool fin = (arg & 0x8000U) != 0;
  const std::span<const std::uint8_t> data(pattern().data(), size);
  const bool have_stream = !state.streams.empty();
  const std::int64_t stream = have_stream ? state.streams.back() : -1;
  const auto action =
      static_cast<AppOp>(static_cast<unsigned>(op) % static_cast<unsigned>(AppOp::count_));
  // Results are ignored: refusals (limits, closed streams) are part of what is fuzzed.
  switch (action) {
    case AppOp::none:
    case AppOp::count_:
      break;
    case AppOp::open_bidi:
    case AppOp::open_uni:
      if (auto id = conn->open_stream(action == AppOp::open_bidi); id) {
        state.streams.push_back(*id);
        (void)conn->write_stream(*id, data, fin);
      }
      break;
    case AppOp::write:
      if (have_stream) {
        (void)conn->write_stream(stream, data, fin);
      }
      break;
    case AppOp::send_datagram: {
      const std::size_t length = arg % 1201U;  // 0 included: empty datagrams are valid
      (void)conn->send_datagram(std::span(pattern().data(), length));
      break;
    }
    case AppOp::reset_stream:
      if (have_stream) {
        (void)conn->reset_stream(stream, arg);
      }
      break;
    case AppOp::stop_sending:
      if (have_stream) {
        (void)conn->stop_sending(stream, arg);
      }
      break;
    case AppOp::release_stream:
      if (have_stream) {
        conn->release_stream(stream);
        state.streams.pop_back();
      }
      break;
    case AppOp::close:
      conn->close(arg, "fuzz");
      break;
    case AppOp::close_transport:
      conn->close_transport(arg, "fuzz");
      break;
  }
  pair_.flush();
}

}  // namespace quicreuse::fuzz
