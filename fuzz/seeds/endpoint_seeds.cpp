// Seeds of the endpoint harness: real exchanges between the pair's endpoints after their
// handshake, recorded in the harness's record format (support/records.hpp) as they happened:
// every datagram delivered, every application action, every clock advance. Each recording is
// replayed at once in a fresh pair to check that it reproduces the same conversation (same
// datagram sizes in the same order), which is what makes it a useful seed.
#include "core/packet_protection.hpp"
#include "seeds.hpp"
#include "support/endpoint_pair.hpp"
#include "support/pair_app.hpp"
#include "support/records.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace quicreuse::fuzz {
namespace {

using namespace std::chrono_literals;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "make_seeds: %s\n", what.c_str());
  std::exit(1);
}

// Recorder drives a pair through a scenario and keeps the records of what happened.
class Recorder {
 public:
  Recorder() : app_(pair_) {
    if (!pair_.handshake()) {
      fail("endpoint seeds: no handshake");
    }
    pair_.tap = [this](Side to, const Datagram& d) {
      Record r;
      r.target = to == Side::server ? Target::to_server : Target::to_client;
      r.datagram = d.bytes;
      // A short-header packet ends with transparent protection's zero tag: record it sealed
      // (tag stripped, added back on delivery), so that mutations at its end keep the tag.
      constexpr std::size_t kTag = core::kTransparentTagLength;
      if (!d.bytes.empty() && (d.bytes[0] & 0x80U) == 0 && d.bytes.size() > kTag &&
          std::all_of(d.bytes.end() - kTag, d.bytes.end(), [](std::uint8_t b) { return b == 0; })) {
        r.datagram.resize(r.datagram.size() - kTag);
        r.sealed = true;
      }
      records_.push_back(std::move(r));
    };
    pair_.advance_tap = [this](std::chrono::milliseconds d) {
      Record r;
      r.target = Target::server_app;
      r.advance_ms = static_cast<std::uint16_t>(d.count());
      records_.push_back(std::move(r));
    };
    settle();  // what follows the handshake: HANDSHAKE_DONE, tickets, NEW_CONNECTION_ID, ACKs
  }

  void act(Side side, AppOp op, std::uint16_t arg) {
    Record r;
    r.target = side == Side::server ? Target::server_app : Target::client_app;
    r.op = op;
    r.arg = arg;
    records_.push_back(r);
    app_.act(side, op, arg);
  }

  // Delivers until nothing is in flight and no timer is due within a second.
  void settle() {
    pair_.exchange([this] { return pair_.quiet(1s); }, 400);
  }

  // Lets time pass (in steps of at most max_step) until done() or max_rounds.
  void wait_until(const std::function<bool()>& done, core::Duration max_step) {
    pair_.exchange(done, 400, max_step);
  }

  EndpointPair& pair() { return pair_; }
  [[nodiscard]] const std::vector<Record>& records() const { return records_; }

 private:
  EndpointPair pair_;
  PairApp app_;
  std::vector<Record> records_;
  // The handshake itself is not recorded: the harness performs it before reading its input.
};

// The sizes of the datagrams each side sent, in order.
using Shapes = std::pair<std::vector<std::size_t>, std::vector<std::size_t>>;

Shapes recorded_shapes(const std::vector<Record>& records) {
  Shapes shapes;
  for (const Record& r : records) {
    const std::size_t size = r.datagram.size() + (r.sealed ? core::kTransparentTagLength : 0);
    if (r.target == Target::to_server) {
      shapes.first.push_back(size);  // sent by the client
    } else if (r.target == Target::to_client) {
      shapes.second.push_back(size);
    }
  }
  return shapes;
}

// Replays records as the harness does, in a fresh pair, and returns what each side sent.
Shapes replayed_shapes(const std::vector<Record>& records) {
  EndpointPair pair;
  PairApp app(pair);
  if (!pair.handshake()) {
    fail("endpoint seeds: no handshake on replay");
  }
  Shapes shapes;
  const auto collect = [&] {
    for (const Datagram& d : pair.node(Side::client).take_outbox()) {
      shapes.first.push_back(d.bytes.size());
    }
    for (const Datagram& d : pair.node(Side::server).take_outbox()) {
      shapes.second.push_back(d.bytes.size());
    }
  };
  collect();  // what the handshake's last flush queued (the recording delivered it first)
  for (const Record& r : records) {
    run_record(pair, app, r);
    collect();
  }
  return shapes;
}

void write_recording(const std::filesystem::path& corpus, std::string_view name,
                     const Recorder& recorder) {
  const auto& records = recorder.records();
  if (records.size() > kMaxRecords) {
    fail(std::string(name) + ": " + std::to_string(records.size()) +
         " records, more than the harness reads");
  }
  const Shapes expected = recorded_shapes(records);
  const Shapes replayed = replayed_shapes(records);
  if (replayed.first != expected.first || replayed.second != expected.second) {
    const auto show = [](const char* what, const std::vector<std::size_t>& sizes) {
      std::fprintf(stderr, "  %s:", what);
      for (const std::size_t n : sizes) {
        std::fprintf(stderr, " %zu", n);
      }
      std::fprintf(stderr, "\n");
    };
    show("client sent, recorded", expected.first);
    show("client sent, replayed", replayed.first);
    show("server sent, recorded", expected.second);
    show("server sent, replayed", replayed.second);
    fail(std::string(name) + ": the recording does not replay the same exchange");
  }
  std::vector<std::uint8_t> bytes;
  for (const Record& r : records) {
    append_record(bytes, r);
  }
  write_seed(corpus, "endpoint", name, bytes);
  std::printf("make_seeds: endpoint/%s: %zu records, %zu bytes, %zu + %zu datagrams\n",
              std::string(name).c_str(), records.size(), bytes.size(), expected.first.size(),
              expected.second.size());
}

bool gone(EndpointPair& pair, Side side) {
  return pair.connection(side) == nullptr || pair.connection(side)->is_closed();
}

}  // namespace

void write_endpoint_seeds(const std::filesystem::path& corpus) {
  {  // A bidirectional stream echoed by the server.
    Recorder r;
    r.act(Side::client, AppOp::open_bidi, 0x8000 | 1000);
    r.settle();
    write_recording(corpus, "stream-echo", r);
  }
  {  // Datagrams both ways, and a server-opened unidirectional stream.
    Recorder r;
    r.act(Side::client, AppOp::send_datagram, 100);
    r.act(Side::server, AppOp::send_datagram, 50);
    r.act(Side::server, AppOp::open_uni, 0x8000 | 200);
    r.settle();
    write_recording(corpus, "datagrams-uni-stream", r);
  }
  {  // A stream reset, STOP_SENDING, then the client closes with an application code.
    Recorder r;
    r.act(Side::client, AppOp::open_bidi, 3000);
    r.settle();
    r.act(Side::client, AppOp::reset_stream, 7);
    r.act(Side::server, AppOp::stop_sending, 9);
    r.settle();
    r.act(Side::client, AppOp::close, 42);
    r.wait_until([&r] { return gone(r.pair(), Side::server); }, 100ms);
    write_recording(corpus, "reset-stop-close", r);
  }
  {  // Everything at once, then the server closes with a transport error.
    Recorder r;
    r.act(Side::client, AppOp::open_bidi, 0x8000 | 2000);
    r.act(Side::client, AppOp::open_uni, 500);
    r.act(Side::client, AppOp::write, 0x8000 | 10);
    r.act(Side::client, AppOp::send_datagram, 1200);
    r.settle();
    r.act(Side::server, AppOp::open_bidi, 4000);
    r.act(Side::server, AppOp::release_stream, 0);
    r.settle();
    r.act(Side::server, AppOp::close_transport, 0x0a);
    r.wait_until([&r] { return gone(r.pair(), Side::client); }, 100ms);
    write_recording(corpus, "mixed-transport-close", r);
  }
  {  // Nothing but time: keep-alive PINGs for 35 s of virtual time.
    Recorder r;
    const core::Timestamp until = r.pair().now() + 35s;
    r.wait_until([&r, until] { return r.pair().now() >= until; }, 5s);
    write_recording(corpus, "keep-alive", r);
  }
}

}  // namespace quicreuse::fuzz
