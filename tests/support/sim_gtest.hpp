// The GoogleTest layer over the simulator (sim_network.hpp, sim_app.hpp): shorthands that record a
// test failure when a step that should not fail does. The simulator itself needs no GoogleTest.
#pragma once

#include "sim_app.hpp"

#include <memory>
#include <string>
#include <vector>

namespace quicreuse::test {

// Dials server from client and runs the network until the handshake completed or failed; returns
// the client connection (nullptr if it is gone or the handshake did not settle within limit).
// A failed dial or a handshake that does not settle is a test failure.
core::Connection* dial_and_wait(SimNetwork& net, SimNode& client, const SimNode& server,
                                std::shared_ptr<const core::ClientTlsContext> tls,
                                Duration limit = std::chrono::seconds(20));

// make_test_server_tls and make_test_client_tls, a failure being a test failure.
std::shared_ptr<const TlsServerConfig> test_server_tls(std::vector<std::string> alpns = {"echo/1"});
std::shared_ptr<const core::ClientTlsContext> test_client_tls(std::vector<std::string> alpns = {
                                                                  "echo/1"});

}  // namespace quicreuse::test
