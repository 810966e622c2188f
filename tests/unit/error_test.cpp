#include <quicreuse/error.hpp>

#include <gtest/gtest.h>

namespace quicreuse {
namespace {

TEST(Errors, CategoriesGiveReadableMessages) {
  EXPECT_EQ(make_error_code(errc::endpoint_closed).message(), "endpoint closed");
  EXPECT_EQ(std::error_code(errc::queue_full).category().name(), std::string("quicreuse"));
  EXPECT_EQ(make_transport_error(0x2).message(), "CONNECTION_REFUSED (0x2)");
  const std::string crypto = make_transport_error(0x178).message();
  EXPECT_NE(crypto.find("CRYPTO_ERROR (0x178"), std::string::npos) << crypto;
  EXPECT_NE(crypto.find("120"), std::string::npos) << crypto;
  EXPECT_EQ(make_application_error(0x1006).message(), "application error 0x1006");
  EXPECT_EQ(make_application_error(0x1006).value(), 0x1006);
  EXPECT_NE(make_transport_error(0x1006), make_application_error(0x1006));
  EXPECT_FALSE(std::error_code(-203, ngtcp2_category()).message().empty());
  EXPECT_FALSE(std::error_code(-50, gnutls_category()).message().empty());
}

TEST(Errors, CodeZeroIsStillAnError) {
  // An error_code with value 0 would read as success: code 0 maps to errc::closed_by_peer.
  EXPECT_TRUE(make_application_error(0));
  EXPECT_TRUE(make_transport_error(0));
  EXPECT_EQ(make_application_error(0), make_error_code(errc::closed_by_peer));
}

TEST(Errors, HugeApplicationCodesClampInsteadOfWrapping) {
  EXPECT_EQ(make_application_error(0x3fffffffffffffffULL).value(), 0x7fffffff);
}

}  // namespace
}  // namespace quicreuse
