// Fuzzes the receive path of core::Endpoint and core::Connection (ngtcp2 underneath) from both
// sides: our server facing a malicious client, and our client facing a malicious server.
//
// Every input starts from the same state: a server and a client (fuzz/support/endpoint_pair)
// that have just completed a handshake on a virtual clock. The input is then a sequence of
// records (fuzz/support/records.hpp): datagrams to either endpoint, from its peer's address or
// from a third host, application actions on either side, and clock advances that run the
// timers. What the endpoints send is not delivered: the fuzzer plays the network and both
// peers. The build makes packet protection transparent (src/core/packet_protection.hpp), so the
// fuzzer's frames are parsed instead of failing authentication. At the end both endpoints close
// every connection.
//
// Besides crashes, ngtcp2 assertion failures (Debian's ngtcp2 keeps them), leaks and UB, it
// checks what core/endpoint.hpp and the README promise about hostile input: stateless resets are
// smaller than the packet that caused them, Version Negotiation answers only datagrams of 1200
// bytes or more, and closing everything leaves no connection.
#include "core/packet_protection.hpp"
#include "fuzz_check.hpp"
#include "support/endpoint_pair.hpp"
#include "support/pair_app.hpp"
#include "support/records.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

static_assert(quicreuse::core::kTransparentPacketProtection,
              "the endpoint harness needs QUICREUSE_FUZZING_TRANSPARENT_PROTECTION (fuzz preset)");

namespace {

using quicreuse::core::DatagramOutcome;
using quicreuse::fuzz::Datagram;
using quicreuse::fuzz::Record;
using quicreuse::fuzz::Side;

// Checks what the endpoint sent at once (without a connection) in answer to a datagram.
void check_datagram(const quicreuse::core::SocketAddress& source, std::size_t size,
                    DatagramOutcome outcome, std::span<const Datagram> sent_at_once) {
  for (const Datagram& d : sent_at_once) {
    QUICREUSE_FUZZ_CHECK(d.to == source);  // stateless answers go back where the datagram came from
  }
  switch (outcome) {
    case DatagramOutcome::stateless_reset_sent:
      QUICREUSE_FUZZ_CHECK(sent_at_once.size() == 1);
      QUICREUSE_FUZZ_CHECK(sent_at_once[0].bytes.size() < size);
      break;
    case DatagramOutcome::version_negotiation_sent:
      QUICREUSE_FUZZ_CHECK(sent_at_once.size() == 1);
      QUICREUSE_FUZZ_CHECK(size >= 1200);
      break;
    case DatagramOutcome::retry_sent:
      QUICREUSE_FUZZ_CHECK(sent_at_once.size() == 1);
      break;
    case DatagramOutcome::refused:
    case DatagramOutcome::dropped:  // a full table or a bad token is refused with a close
      QUICREUSE_FUZZ_CHECK(sent_at_once.size() <= 1);
      break;
    case DatagramOutcome::routed:
    case DatagramOutcome::accepted:
    case DatagramOutcome::non_quic:
      QUICREUSE_FUZZ_CHECK(sent_at_once.empty());  // connections send on flush()
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  quicreuse::fuzz::EndpointPair pair;
  quicreuse::fuzz::PairApp app(pair);
  if (!pair.handshake()) {
    std::abort();  // the harness itself is broken: every run must start from a handshake
  }
  for (const Side side : {Side::server, Side::client}) {
    (void)pair.node(side).take_outbox();
  }

  for (const Record& record :
       quicreuse::fuzz::parse_records({data, size}, quicreuse::fuzz::kMaxRecords)) {
    quicreuse::fuzz::run_record(pair, app, record,
                                [&pair](const Record& r, DatagramOutcome outcome,
                                        std::size_t datagram_size, std::span<const Datagram> sent) {
                                  check_datagram(quicreuse::fuzz::record_source(pair, r),
                                                 datagram_size, outcome, sent);
                                });
    for (const Side side : {Side::server, Side::client}) {
      (void)pair.node(side).take_outbox();  // the fuzzer is the network: nothing is delivered
    }
  }

  for (const Side side : {Side::server, Side::client}) {
    auto& node = pair.node(side);
    node.endpoint().close_all(pair.now(), node, node);
    QUICREUSE_FUZZ_CHECK(node.endpoint().connection_count() == 0);
  }
  return 0;
}
