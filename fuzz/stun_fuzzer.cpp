// Fuzzes the STUN Binding helpers of include/quicreuse/stun.hpp, which answer and read STUN on a
// shared QUIC port: is_binding_request and make_binding_response see any datagram a peer sends,
// parse_binding_response sees what a STUN server (or anyone spoofing it) answers.
//
// Input: the datagram. It is checked as a request (and answered for an IPv4 and an IPv6 mapped
// address, whose responses must parse back to those addresses), then read as a response to its
// own transaction ID and to a fixed one.
#include "core/datagram_classifier.hpp"
#include "fuzz_check.hpp"

#include <quicreuse/stun.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace {

using quicreuse::stun::TransactionId;
using Bytes = std::span<const std::uint8_t>;

std::uint16_t read16(Bytes d, std::size_t at) {
  return static_cast<std::uint16_t>((d[at] << 8) | d[at + 1]);
}

// Checks that response answers request as RFC 5389 wants: a Binding Success Response with the
// request's cookie and transaction ID, one XOR-MAPPED-ADDRESS attribute decoding to mapped.
void check_response(Bytes request, const std::vector<std::uint8_t>& response,
                    const asio::ip::udp::endpoint& mapped) {
  QUICREUSE_FUZZ_CHECK(quicreuse::core::is_stun_message(response));
  QUICREUSE_FUZZ_CHECK(read16(response, 0) == 0x0101);
  QUICREUSE_FUZZ_CHECK(std::equal(request.begin() + 4, request.begin() + 20, response.begin() + 4));
  TransactionId id{};
  std::copy(request.begin() + 8, request.begin() + 20, id.begin());
  const auto parsed = quicreuse::stun::parse_binding_response(response, id);
  QUICREUSE_FUZZ_CHECK(parsed.has_value() && *parsed == mapped);
  // Bound to the transaction: another ID must not match.
  TransactionId other = id;
  other[0] ^= 1;
  QUICREUSE_FUZZ_CHECK(!quicreuse::stun::parse_binding_response(response, other).has_value());
}

void check_parse(Bytes d, const TransactionId& id) {
  const auto parsed = quicreuse::stun::parse_binding_response(d, id);
  if (!parsed) {
    return;
  }
  // Only a well-formed Binding Success Response for this transaction yields an address.
  QUICREUSE_FUZZ_CHECK(quicreuse::core::is_stun_message(d));
  QUICREUSE_FUZZ_CHECK(read16(d, 0) == 0x0101);
  QUICREUSE_FUZZ_CHECK(std::equal(id.begin(), id.end(), d.begin() + 8));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes d(data, size);
  const bool request = quicreuse::stun::is_binding_request(d);
  QUICREUSE_FUZZ_CHECK(request == (quicreuse::core::is_stun_message(d) && read16(d, 0) == 0x0001));

  const asio::ip::udp::endpoint mapped4(asio::ip::make_address_v4("192.0.2.7"), 4001);
  const asio::ip::udp::endpoint mapped6(asio::ip::make_address_v6("2001:db8::1:2"), 65535);
  for (const auto& mapped : {mapped4, mapped6}) {
    const auto response = quicreuse::stun::make_binding_response(d, mapped);
    QUICREUSE_FUZZ_CHECK(response.has_value() == request);
    if (response) {
      check_response(d, *response, mapped);
    }
  }

  TransactionId own{};
  if (size >= 20) {
    std::copy(d.begin() + 8, d.begin() + 20, own.begin());
  }
  check_parse(d, own);
  check_parse(d, TransactionId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});

  // A request built by make_binding_request is one, with the ID it was given.
  const auto built = quicreuse::stun::make_binding_request(own);
  QUICREUSE_FUZZ_CHECK(quicreuse::stun::is_binding_request(built));
  QUICREUSE_FUZZ_CHECK(std::equal(own.begin(), own.end(), built.begin() + 8));
  return 0;
}
