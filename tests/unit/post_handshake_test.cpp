#include "core/post_handshake.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace quicreuse::core {
namespace {

// A handshake message: msg_type, 24-bit length, body of body_size bytes.
std::vector<std::uint8_t> message(std::uint8_t type, std::size_t body_size) {
  std::vector<std::uint8_t> m = {type, static_cast<std::uint8_t>(body_size >> 16),
                                 static_cast<std::uint8_t>(body_size >> 8),
                                 static_cast<std::uint8_t>(body_size)};
  m.resize(4 + body_size, 0xab);
  return m;
}

TEST(PostHandshakeReader, ClientSkipsNewSessionTicketsSplitAnywhere) {
  std::vector<std::uint8_t> stream = message(4, 143);
  const auto second = message(4, 300);
  stream.insert(stream.end(), second.begin(), second.end());
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    PostHandshakeReader reader(true);
    EXPECT_EQ(reader.read(std::span(stream).first(split)), 0);
    EXPECT_EQ(reader.read(std::span(stream).subspan(split)), 0);
  }
  PostHandshakeReader bytewise(true);
  for (const std::uint8_t b : stream) {
    ASSERT_EQ(bytewise.read({&b, 1}), 0);
  }
}

TEST(PostHandshakeReader, KeyUpdateAndCertificateRequestAreUnexpected) {
  for (const std::uint8_t type : {std::uint8_t{24}, std::uint8_t{13}}) {
    PostHandshakeReader reader(true);
    EXPECT_EQ(reader.read(message(4, 10)), 0);
    EXPECT_EQ(reader.read(message(type, 1)), PostHandshakeReader::kUnexpectedMessage);
    // The verdict stays.
    EXPECT_EQ(reader.read(message(4, 10)), PostHandshakeReader::kUnexpectedMessage);
  }
}

TEST(PostHandshakeReader, ServerAcceptsNoMessageAtAll) {
  PostHandshakeReader reader(false);
  EXPECT_EQ(reader.read({}), 0);
  EXPECT_EQ(reader.read(message(4, 10)), PostHandshakeReader::kUnexpectedMessage);
}

}  // namespace
}  // namespace quicreuse::core
