// Interop with foreign stacks: quic-go 0.29 (our Go peer), ngtcp2's gtlsclient/gtlsserver, and
// coturn's turnutils_stunclient. Every external program runs under `timeout`; a missing program
// is a test failure, never a skip.
#include "interop_helpers.hpp"
#include "io_helpers.hpp"
#include "subprocess.hpp"

#include <quicreuse/conn_manager.hpp>
#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <gnutls/crypto.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto* path : {&kGoPeer, &kGtlsClient, &kGtlsServer, &kStunClient, &kCertTool}) {
      ASSERT_TRUE(is_executable(*path)) << *path << " is missing: run scripts/setup (a missing "
                                        << "peer is a failure, not a skip)";
    }
  }
  asio::io_context io;
};

TEST_F(Interop, OurClientToQuicGoServerEchoes) {
  Subprocess server({kGoPeer, "server", "-addr", "127.0.0.1:0", "-count", "1"}, 60s);
  ASSERT_TRUE(server.started());
  auto client = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(client);
  std::vector<std::uint8_t> echoed;
  std::string alpn;
  std::optional<int> server_exit;
  const auto data = pattern(1'000'000, 5);
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto addr = co_await wait_line(server, "listening ", 20s);
        EXPECT_TRUE(addr) << server.output();
        if (!addr) {
          co_return;
        }
        auto conn = co_await client->dial(parse_endpoint(*addr), client_tls());
        EXPECT_TRUE(conn) << conn.error().message();
        if (!conn) {
          co_return;
        }
        alpn = conn->alpn();
        echoed = co_await echo_round_trip(*conn, data);
        conn->close();
        server_exit = co_await wait_exit(server, 20s);
      },
      60s));
  EXPECT_EQ(alpn, "echo/1");
  EXPECT_TRUE(echoed == data) << std::string(
      echoed.begin(),
      echoed.begin() + std::min<std::ptrdiff_t>(80, static_cast<std::ptrdiff_t>(echoed.size())));
  EXPECT_EQ(server_exit, 0) << server.output();
}

TEST_F(Interop, QuicGoClientToOurServerEchoes) {
  auto server = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(server);
  ASSERT_TRUE(server->listen(server_tls()));
  asio::co_spawn(io, echo_server(*server), asio::detached);
  const std::string addr = "127.0.0.1:" + std::to_string(server->local_endpoint().port());
  Subprocess client({kGoPeer, "client", "-addr", addr, "-insecure", "-bytes", "300000", "-conns",
                     "3", "-streams", "4", "-timeout", "30s"},
                    60s);
  std::optional<int> exit_code;
  ASSERT_TRUE(run_bounded(
      io, [&]() -> asio::awaitable<void> { exit_code = co_await wait_exit(client, 50s); }, 60s));
  EXPECT_EQ(exit_code, 0) << client.output();
  EXPECT_TRUE(find_line(client.output(), "OK 3600000")) << client.output();
  EXPECT_EQ(server->stats().connections_accepted, 3u);
}

TEST_F(Interop, AlpnMismatchFailsOnBothSidesWithCryptoError0x178) {
  // Their client offering an ALPN we do not serve.
  auto server = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(server);
  ASSERT_TRUE(server->listen(server_tls()));
  asio::co_spawn(io, echo_server(*server), asio::detached);
  const std::string addr = "127.0.0.1:" + std::to_string(server->local_endpoint().port());
  Subprocess go_client(
      {kGoPeer, "client", "-addr", addr, "-insecure", "-alpn", "nope", "-timeout", "10s"}, 30s);
  // Our client offering an ALPN the Go server does not serve.
  Subprocess go_server({kGoPeer, "server", "-addr", "127.0.0.1:0"}, 60s);
  auto client = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(client);
  std::optional<int> client_exit;
  std::error_code our_dial_error;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        client_exit = co_await wait_exit(go_client, 25s);
        auto go_addr = co_await wait_line(go_server, "listening ", 20s);
        EXPECT_TRUE(go_addr) << go_server.output();
        if (!go_addr) {
          co_return;
        }
        std::vector<std::string> nope = {"nope"};
        auto conn = co_await client->dial(parse_endpoint(*go_addr), client_tls(nope));
        EXPECT_FALSE(conn);
        if (!conn) {
          our_dial_error = conn.error();
        }
      },
      60s));
  go_server.terminate();
  EXPECT_EQ(client_exit, 1) << go_client.output();
  EXPECT_NE(go_client.output().find("transport_error_code=0x178"), std::string::npos)
      << go_client.output();
  EXPECT_EQ(server->stats().connections_incoming, 1u);  // created, failed,
  EXPECT_EQ(server->stats().connections_accepted, 0u);  // never accepted
  EXPECT_EQ(our_dial_error, make_transport_error(0x178)) << our_dial_error.message();
  EXPECT_NE(our_dial_error.message().find("0x178"), std::string::npos);
}

TEST_F(Interop, GtlsclientCompletesTheHandshakeWithOurListenerOnH3) {
  auto server = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(server);
  std::vector<std::string> alpns = {"echo/1", "h3"};
  ASSERT_TRUE(server->listen(server_tls(alpns)));
  const std::string port = std::to_string(server->local_endpoint().port());
  Subprocess gtls({kGtlsClient, "--no-quic-dump", "--no-http-dump", "--exit-on-all-streams-close",
                   "127.0.0.1", port, "https://localhost/"},
                  20s);
  std::string accepted_alpn;
  std::optional<int> exit_code;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        auto conn = co_await server->accept();
        EXPECT_TRUE(conn) << conn.error().message();
        if (!conn) {
          co_return;
        }
        accepted_alpn = conn->alpn();
        // We do not speak HTTP/3: once gtlsclient reports the handshake, close with H3_NO_ERROR.
        auto line = co_await wait_line(gtls, "QUIC handshake has been confirmed", 10s);
        EXPECT_TRUE(line) << gtls.output();
        conn->close(0x100, "no http/3 here");
        exit_code = co_await wait_exit(gtls, 15s);
      },
      30s));
  EXPECT_EQ(accepted_alpn, "h3");
  EXPECT_NE(gtls.output().find("Negotiated ALPN is h3"), std::string::npos) << gtls.output();
  EXPECT_TRUE(exit_code.has_value()) << gtls.output();
}

TEST_F(Interop, OurDialCompletesTheHandshakeWithGtlsserverOnH3) {
  const auto files = make_cert_files();
  const std::string key = files.first;
  const std::string cert = files.second;
  // gtlsserver needs its port up front: take a free one from the kernel.
  std::uint16_t port = 0;
  {
    asio::ip::udp::socket probe(io, loopback(false));
    port = probe.local_endpoint().port();
  }
  Subprocess gtls({kGtlsServer, "--no-quic-dump", "--no-http-dump", "127.0.0.1",
                   std::to_string(port), key, cert},
                  30s);
  auto client = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(client);
  std::string alpn;
  std::error_code error;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        // gtlsserver prints nothing on start: retry the dial briefly until it listens.
        for (int attempt = 0; attempt < 20; ++attempt) {
          auto config = client_tls(std::vector<std::string>{"h3"});
          config.ca_file = cert;  // verify its certificate for real
          config.insecure_skip_verify = false;
          auto conn = co_await client->dial(loopback(false, port), config);
          if (conn) {
            alpn = conn->alpn();
            conn->close();
            error = {};
            co_return;
          }
          error = conn.error();
          asio::steady_timer t(io, 100ms);
          co_await t.async_wait(as_tuple(use_awaitable));
        }
      },
      40s));
  gtls.terminate();
  EXPECT_FALSE(error) << error.message() << "\n" << gtls.output();
  EXPECT_EQ(alpn, "h3");
}

TEST_F(Interop, TurnutilsStunclientGetsItsReflexiveAddressDuringAQuicTransfer) {
  auto server = Endpoint::bind(io.get_executor(), loopback(false));
  auto client = Endpoint::bind(io.get_executor(), loopback(false));
  ASSERT_TRUE(server && client);
  ASSERT_TRUE(server->listen(server_tls()));
  int answered = 0;
  asio::co_spawn(io, echo_server(*server), asio::detached);
  asio::co_spawn(io, stun_responder(*server, answered), asio::detached);
  const std::string port = std::to_string(server->local_endpoint().port());
  const auto data = pattern(std::size_t{8} * 1024 * 1024, 11);
  std::vector<std::uint8_t> echoed;
  std::optional<int> stun_exit;
  std::unique_ptr<Subprocess> stun;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto conn = co_await client->dial(server->local_endpoint(), client_tls());
        EXPECT_TRUE(conn);
        if (!conn) {
          co_return;
        }
        stun = std::make_unique<Subprocess>(
            std::vector<std::string>{kStunClient, "-p", port, "127.0.0.1"}, 10s);
        auto [result, code] = co_await (echo_round_trip(*conn, data) && wait_exit(*stun, 15s));
        echoed = std::move(result);
        stun_exit = code;
        conn->close();
      },
      60s));
  ASSERT_TRUE(stun);
  EXPECT_EQ(stun_exit, 0) << stun->output();
  EXPECT_NE(stun->output().find("UDP reflexive addr: 127.0.0.1:"), std::string::npos)
      << stun->output();
  EXPECT_GE(answered, 1);
  EXPECT_TRUE(echoed == data);
}

// ---------------------------------------------------------------------------------------------
// Through the ConnManager (issue 3)

std::string sha256_hex(const std::vector<std::uint8_t>& der) {
  std::uint8_t digest[32];
  gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data(), der.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

asio::awaitable<void> serve_listener(Listener& listener) {
  for (;;) {
    auto conn = co_await listener.accept();
    if (!conn) {
      co_return;
    }
    asio::co_spawn(co_await asio::this_coro::executor, echo_connection(std::move(*conn)),
                   asio::detached);
  }
}

asio::awaitable<void> stun_on_shared_conn(NonQuicPacketConn& conn, int& answered) {
  std::vector<std::uint8_t> buf(1500);
  for (;;) {
    auto [ec, n, from] = co_await conn.async_read_from(asio::buffer(buf), as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    if (auto response = stun::make_binding_response({buf.data(), n}, from); response) {
      answered += conn.write_to(*response, from) ? 1 : 0;
    }
  }
}

std::shared_ptr<ConnManager> interop_manager(asio::io_context& io) {
  const ConnManager::Key key{};
  auto cm = ConnManager::create(io.get_executor(), key, key);
  EXPECT_TRUE(cm);
  return *cm;
}

TEST_F(Interop, QuicGoSeesTheRightCertificateForEachOfTwoAlpnsOnOnePort) {
  auto cm = interop_manager(io);
  auto id_echo = TlsIdentity::self_signed({"echo.example"});
  auto id_chat = TlsIdentity::self_signed({"chat.example"});
  ASSERT_TRUE(id_echo && id_chat);
  TlsServerConfig echo_tls;
  echo_tls.default_choice = {*id_echo, {"echo/1"}, {}, {}};
  TlsServerConfig chat_tls;
  chat_tls.default_choice = {*id_chat, {"chat/1"}, {}, {}};
  auto echo_ln = cm->listen_quic(*Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1"), echo_tls);
  ASSERT_TRUE(echo_ln) << ConnManager::last_error();
  auto chat_ln = cm->listen_quic((*echo_ln)->multiaddrs()[0], chat_tls);
  ASSERT_TRUE(chat_ln) << ConnManager::last_error();
  ASSERT_EQ((*echo_ln)->addr(), (*chat_ln)->addr());
  asio::co_spawn(io, serve_listener(**echo_ln), asio::detached);
  asio::co_spawn(io, serve_listener(**chat_ln), asio::detached);
  const std::string addr = "127.0.0.1:" + std::to_string((*echo_ln)->addr().port());
  Subprocess echo_client({kGoPeer, "client", "-addr", addr, "-insecure", "-alpn", "echo/1",
                          "-bytes", "100000", "-timeout", "20s"},
                         40s);
  Subprocess chat_client({kGoPeer, "client", "-addr", addr, "-insecure", "-alpn", "chat/1",
                          "-bytes", "100000", "-timeout", "20s"},
                         40s);
  std::optional<int> echo_exit;
  std::optional<int> chat_exit;
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        echo_exit = co_await wait_exit(echo_client, 30s);
        chat_exit = co_await wait_exit(chat_client, 30s);
      },
      60s));
  EXPECT_EQ(echo_exit, 0) << echo_client.output();
  EXPECT_EQ(chat_exit, 0) << chat_client.output();
  EXPECT_NE(echo_client.output().find("alpn=echo/1"), std::string::npos) << echo_client.output();
  EXPECT_NE(echo_client.output().find("peer_sha256=" + sha256_hex((*id_echo)->leaf_der())),
            std::string::npos)
      << echo_client.output();
  EXPECT_NE(chat_client.output().find("alpn=chat/1"), std::string::npos) << chat_client.output();
  EXPECT_NE(chat_client.output().find("peer_sha256=" + sha256_hex((*id_chat)->leaf_der())),
            std::string::npos)
      << chat_client.output();
}

TEST_F(Interop, ManagerDialToQuicGoLeavesFromTheListenPortWhichAlsoAnswersStun) {
  auto cm = interop_manager(io);
  auto ln = cm->listen_quic(*Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1"), server_tls());
  ASSERT_TRUE(ln) << ConnManager::last_error();
  auto shared = cm->shared_non_quic_packet_conn("udp4", (*ln)->addr());
  ASSERT_TRUE(shared) << ConnManager::last_error();
  int answered = 0;
  asio::co_spawn(io, stun_on_shared_conn(**shared, answered), asio::detached);
  const std::string port = std::to_string((*ln)->addr().port());
  Subprocess go_server({kGoPeer, "server", "-addr", "127.0.0.1:0", "-count", "1"}, 60s);
  std::vector<std::uint8_t> echoed;
  std::optional<int> stun_exit;
  std::unique_ptr<Subprocess> stun;
  const auto data = pattern(2'000'000, 21);
  ASSERT_TRUE(run_bounded(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto go_addr = co_await wait_line(go_server, "listening ", 20s);
        EXPECT_TRUE(go_addr) << go_server.output();
        if (!go_addr) {
          co_return;
        }
        auto target = to_quic_multiaddr(parse_endpoint(*go_addr));
        auto conn = co_await cm->dial_quic(*target, client_tls());
        EXPECT_TRUE(conn) << ConnManager::last_error();
        if (!conn) {
          co_return;
        }
        stun = std::make_unique<Subprocess>(
            std::vector<std::string>{kStunClient, "-p", port, "127.0.0.1"}, 10s);
        auto [result, code] = co_await (echo_round_trip(*conn, data) && wait_exit(*stun, 15s));
        echoed = std::move(result);
        stun_exit = code;
        conn->close();
        co_await wait_exit(go_server, 10s);
      },
      60s));
  EXPECT_TRUE(echoed == data);
  // The Go server saw our listen port as the remote port of the dial.
  EXPECT_NE(go_server.output().find("accepted remote=127.0.0.1:" + port + " "), std::string::npos)
      << go_server.output();
  ASSERT_TRUE(stun);
  EXPECT_EQ(stun_exit, 0) << stun->output();
  EXPECT_NE(stun->output().find("UDP reflexive addr: 127.0.0.1:"), std::string::npos)
      << stun->output();
  EXPECT_GE(answered, 1);
}

}  // namespace
}  // namespace quicreuse::test
