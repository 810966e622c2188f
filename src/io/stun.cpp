#include "core/datagram_classifier.hpp"

#include <quicreuse/stun.hpp>

#include <cstring>

namespace quicreuse::stun {
namespace {

constexpr std::uint8_t kCookie[4] = {0x21, 0x12, 0xA4, 0x42};
constexpr std::uint16_t kBindingRequest = 0x0001;
constexpr std::uint16_t kBindingSuccess = 0x0101;
constexpr std::uint16_t kXorMappedAddress = 0x0020;

std::uint16_t read16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

}  // namespace

bool is_binding_request(std::span<const std::uint8_t> d) noexcept {
  return core::is_stun_message(d) && read16(d.data()) == kBindingRequest;
}

std::vector<std::uint8_t> make_binding_request(const TransactionId& id) {
  std::vector<std::uint8_t> out;
  put16(out, kBindingRequest);
  put16(out, 0);
  out.insert(out.end(), std::begin(kCookie), std::end(kCookie));
  out.insert(out.end(), id.begin(), id.end());
  return out;
}

std::optional<std::vector<std::uint8_t>> make_binding_response(
    std::span<const std::uint8_t> request, const asio::ip::udp::endpoint& mapped) {
  if (!is_binding_request(request)) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> attr;
  const auto xport = static_cast<std::uint16_t>(mapped.port() ^ 0x2112);
  if (mapped.address().is_v4()) {
    attr = {0x00, 0x01};
    put16(attr, xport);
    const auto bytes = mapped.address().to_v4().to_bytes();
    for (std::size_t i = 0; i < 4; ++i) {
      attr.push_back(static_cast<std::uint8_t>(bytes[i] ^ kCookie[i]));
    }
  } else {
    attr = {0x00, 0x02};
    put16(attr, xport);
    const auto bytes = mapped.address().to_v6().to_bytes();
    for (std::size_t i = 0; i < 16; ++i) {
      // XOR with the magic cookie followed by the transaction ID (RFC 5389 15.2).
      const std::uint8_t key = i < 4 ? kCookie[i] : request[8 + (i - 4)];
      attr.push_back(static_cast<std::uint8_t>(bytes[i] ^ key));
    }
  }
  std::vector<std::uint8_t> out;
  put16(out, kBindingSuccess);
  put16(out, static_cast<std::uint16_t>(4 + attr.size()));
  out.insert(out.end(), request.begin() + 4, request.begin() + 20);  // cookie + transaction ID
  put16(out, kXorMappedAddress);
  put16(out, static_cast<std::uint16_t>(attr.size()));
  out.insert(out.end(), attr.begin(), attr.end());
  return out;
}

std::optional<asio::ip::udp::endpoint> parse_binding_response(std::span<const std::uint8_t> d,
                                                              const TransactionId& id) {
  if (!core::is_stun_message(d) || read16(d.data()) != kBindingSuccess ||
      std::memcmp(d.data() + 8, id.data(), id.size()) != 0) {
    return std::nullopt;
  }
  std::size_t pos = 20;
  while (pos + 4 <= d.size()) {
    const std::uint16_t type = read16(d.data() + pos);
    const std::size_t len = read16(d.data() + pos + 2);
    if (pos + 4 + len > d.size()) {
      return std::nullopt;
    }
    const std::uint8_t* v = d.data() + pos + 4;
    if (type == kXorMappedAddress && len >= 8) {
      const auto port = static_cast<std::uint16_t>(read16(v + 2) ^ 0x2112);
      if (v[1] == 0x01 && len == 8) {
        asio::ip::address_v4::bytes_type b{};
        for (std::size_t i = 0; i < 4; ++i) {
          b[i] = static_cast<unsigned char>(v[4 + i] ^ kCookie[i]);
        }
        return asio::ip::udp::endpoint(asio::ip::address_v4(b), port);
      }
      if (v[1] == 0x02 && len == 20) {
        asio::ip::address_v6::bytes_type b{};
        for (std::size_t i = 0; i < 16; ++i) {
          const std::uint8_t key = i < 4 ? kCookie[i] : d[8 + (i - 4)];
          b[i] = static_cast<unsigned char>(v[4 + i] ^ key);
        }
        return asio::ip::udp::endpoint(asio::ip::address_v6(b), port);
      }
      return std::nullopt;
    }
    pos += 4 + ((len + 3) & ~std::size_t{3});
  }
  return std::nullopt;
}

}  // namespace quicreuse::stun
