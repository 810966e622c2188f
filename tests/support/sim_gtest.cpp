#include "sim_gtest.hpp"

#include <gtest/gtest.h>

namespace quicreuse::test {

core::Connection* dial_and_wait(SimNetwork& net, SimNode& client, const SimNode& server,
                                std::shared_ptr<const core::ClientTlsContext> tls, Duration limit) {
  const DialOutcome out = dial_until_settled(net, client, server, std::move(tls), limit);
  EXPECT_FALSE(out.connect_error) << out.connect_error.message();
  if (out.connect_error) {
    return nullptr;
  }
  EXPECT_TRUE(out.settled);
  return out.settled ? out.connection : nullptr;
}

std::shared_ptr<const TlsServerConfig> test_server_tls(std::vector<std::string> alpns) {
  auto config = make_test_server_tls(std::move(alpns));
  EXPECT_TRUE(config.has_value()) << config.error().message();
  return config ? *config : nullptr;
}

std::shared_ptr<const core::ClientTlsContext> test_client_tls(std::vector<std::string> alpns) {
  auto context = make_test_client_tls(std::move(alpns));
  EXPECT_TRUE(context.has_value()) << context.error().message();
  return context ? *context : nullptr;
}

}  // namespace quicreuse::test
