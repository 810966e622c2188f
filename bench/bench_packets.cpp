#include "bench_packets.hpp"

#include <algorithm>

namespace quicreuse::bench {
namespace {

void fill_random(std::span<std::uint8_t> out, std::mt19937_64& rng) {
  for (auto& b : out) {
    b = static_cast<std::uint8_t>(rng());
  }
}

}  // namespace

std::vector<std::uint8_t> random_bytes(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::uint8_t> out(n);
  fill_random(out, rng);
  return out;
}

Datagram make_short_header(std::span<const std::uint8_t> dcid, std::size_t size,
                           std::mt19937_64& rng) {
  Datagram d(std::max(size, 1 + dcid.size()));
  fill_random(d, rng);
  d[0] = static_cast<std::uint8_t>(0x40 | (d[0] & 0x3f));  // top bit clear, fixed bit set
  std::copy(dcid.begin(), dcid.end(), d.begin() + 1);
  return d;
}

Datagram make_initial(std::size_t size, std::mt19937_64& rng) {
  constexpr std::size_t kCidLength = 16;
  // flags, version (4), dcid len, dcid, scid len, scid, token length (0), length (2-byte varint).
  constexpr std::size_t kHeader = 1 + 4 + 1 + kCidLength + 1 + kCidLength + 1 + 2;
  Datagram d(std::max(size, kHeader + 20));
  fill_random(d, rng);
  std::size_t i = 0;
  d[i++] = 0xc3;  // long header, fixed bit, Initial, 4-byte packet number
  d[i++] = 0x00;
  d[i++] = 0x00;
  d[i++] = 0x00;
  d[i++] = 0x01;
  d[i++] = kCidLength;
  i += kCidLength;
  d[i++] = kCidLength;
  i += kCidLength;
  d[i++] = 0x00;  // token length
  const std::size_t rest = d.size() - i - 2;
  d[i++] = static_cast<std::uint8_t>(0x40 | ((rest >> 8) & 0x3f));
  d[i++] = static_cast<std::uint8_t>(rest & 0xff);
  return d;
}

Datagram make_stun_binding_request(std::mt19937_64& rng) {
  Datagram d(20);
  fill_random(d, rng);
  d[0] = 0x00;
  d[1] = 0x01;  // Binding Request
  d[2] = 0x00;
  d[3] = 0x00;  // no attributes
  d[4] = 0x21;
  d[5] = 0x12;
  d[6] = 0xa4;
  d[7] = 0x42;  // magic cookie
  return d;
}

Datagram make_dtls_record(std::size_t size, std::mt19937_64& rng) {
  Datagram d(std::max<std::size_t>(size, 13));
  fill_random(d, rng);
  d[0] = 22;  // handshake
  d[1] = 0xfe;
  d[2] = 0xfd;  // DTLS 1.2
  const std::size_t body = d.size() - 13;
  d[11] = static_cast<std::uint8_t>(body >> 8);
  d[12] = static_cast<std::uint8_t>(body & 0xff);
  return d;
}

Datagram make_junk(std::size_t size, std::mt19937_64& rng) {
  Datagram d(size);
  fill_random(d, rng);
  return d;
}

}  // namespace quicreuse::bench
