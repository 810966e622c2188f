// Connection and stream behaviour through the public API on real sockets: stream limits, resets,
// datagrams, close codes, flow-control callback, Retry, connection-context hook, qlog, TLS
// verification, idle timeout, statistics.
#include "io_helpers.hpp"

#include <quicreuse/endpoint.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace quicreuse::test {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

struct Pair {
  asio::io_context io;
  Endpoint server;
  Endpoint client;

  explicit Pair(EndpointConfig server_config = {}, EndpointConfig client_config = {}) {
    auto s = Endpoint::bind(io.get_executor(), loopback(false), std::move(server_config));
    auto c = Endpoint::bind(io.get_executor(), loopback(false), std::move(client_config));
    EXPECT_TRUE(s && c);
    server = std::move(*s);
    client = std::move(*c);
  }
};

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(as_tuple(use_awaitable));
}

// Writes one byte on a stream of an echoing peer and reads its echo: one round trip through the
// peer, which every packet the peer sent before it has finished too.
asio::awaitable<void> one_byte_round_trip(Stream& stream) {
  std::vector<std::uint8_t> byte = {0x5a};
  co_await asio::async_write(stream, asio::buffer(byte), as_tuple(use_awaitable));
  std::vector<std::uint8_t> back(1);
  auto [ec, n] = co_await asio::async_read(stream, asio::buffer(back), as_tuple(use_awaitable));
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(back, byte);
}

// Holds accepted connections (and their streams) so they stay open for the test.
struct Accepted {
  std::vector<Connection> connections;
  std::vector<Stream> streams;
};

asio::awaitable<void> accept_and_hold(Endpoint& ep, Accepted& out) {
  for (;;) {
    auto conn = co_await ep.accept();
    if (!conn) {
      co_return;
    }
    out.connections.push_back(*conn);
  }
}

TEST(Connection, OpenWaitsWhileThePeersStreamLimitBlocksIt) {
  EndpointConfig server_config;
  server_config.transport.max_incoming_bidi_streams = 2;
  Pair p(server_config);
  ASSERT_TRUE(p.server.listen(server_tls()));
  asio::co_spawn(p.io, echo_server(p.server), asio::detached);
  bool third_opened_early = false;
  std::vector<std::uint8_t> third_echo;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto conn = co_await p.client.dial(p.server.local_endpoint(), client_tls());
        EXPECT_TRUE(conn);
        if (!conn) {
          co_return;
        }
        auto s1 = co_await conn->open_stream();
        auto s2 = co_await conn->open_stream();
        EXPECT_TRUE(s1 && s2);
        // A third stream must wait: the limit is 2 and both are still open. Without the limit it
        // would open at once, long before a round trip through the server on stream 1 ends.
        auto third =
            co_await (conn->async_open_stream(as_tuple(use_awaitable)) || one_byte_round_trip(*s1));
        third_opened_early = third.index() == 0;
        // Finish stream 1 both ways (the echo server answers FIN with FIN and drops it).
        std::vector<std::uint8_t> one = {1};
        co_await asio::async_write(*s1, asio::buffer(one), as_tuple(use_awaitable));
        (void)s1->shutdown_send();
        std::vector<std::uint8_t> back(8);
        auto [ec, n] = co_await asio::async_read(*s1, asio::buffer(back), as_tuple(use_awaitable));
        EXPECT_EQ(ec, asio::error::eof);
        s1->close();
        // Now the peer raises the limit and the open completes.
        third_echo = co_await echo_round_trip(*conn, pattern(1000, 1));
      },
      20s));
  EXPECT_FALSE(third_opened_early);
  EXPECT_EQ(third_echo, pattern(1000, 1));
}

TEST(Connection, ResetAndStopSendingCarryTheirCodesToThePeer) {
  Pair p;
  ASSERT_TRUE(p.server.listen(server_tls()));
  std::error_code server_read_error;
  std::optional<std::uint64_t> server_saw_reset;
  std::error_code client_write_error;
  std::optional<std::uint64_t> client_saw_stop;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto [accepted, conn] =
            co_await (p.server.accept() && p.client.dial(p.server.local_endpoint(), client_tls()));
        EXPECT_TRUE(accepted && conn);
        if (!accepted || !conn) {
          co_return;
        }
        // Client resets its stream with code 7.
        auto s = co_await conn->open_stream();
        std::vector<std::uint8_t> hi = {'h', 'i'};
        co_await asio::async_write(*s, asio::buffer(hi), as_tuple(use_awaitable));
        auto in = co_await accepted->accept_stream();
        EXPECT_TRUE(in);
        (void)s->reset(7);
        std::vector<std::uint8_t> buf(16);
        for (;;) {
          auto [ec, n] = co_await in->async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
          if (ec) {
            server_read_error = ec;
            break;
          }
        }
        server_saw_reset = in->reset_code();

        // Server asks the client to stop sending, code 9.
        auto s2 = co_await conn->open_stream();
        co_await asio::async_write(*s2, asio::buffer(hi), as_tuple(use_awaitable));
        auto in2 = co_await accepted->accept_stream();
        EXPECT_TRUE(in2);
        // From here on the server echoes the client's new streams: each echo is a round trip
        // that lets whatever the server sent before it (STOP_SENDING, acknowledgements) arrive.
        asio::co_spawn(co_await asio::this_coro::executor, echo_connection(*accepted),
                       asio::detached);
        (void)in2->stop_sending(9);
        std::vector<std::uint8_t> chunk(1000, 1);
        for (int i = 0; i < 200; ++i) {
          auto [ec, n] =
              co_await asio::async_write(*s2, asio::buffer(chunk), as_tuple(use_awaitable));
          if (ec) {
            client_write_error = ec;
            break;
          }
          co_await echo_round_trip(*conn, pattern(1, 2));
        }
        // The code becomes known once the stream closed on both sides.
        (void)in2->shutdown_send();
        for (int i = 0; i < 200 && !s2->stop_sending_code(); ++i) {
          auto [ec, n] = co_await s2->async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
          if (ec) {
            co_await echo_round_trip(*conn, pattern(1, 3));
          }
        }
        client_saw_stop = s2->stop_sending_code();
      },
      20s));
  EXPECT_EQ(server_read_error, make_error_code(errc::stream_reset));
  EXPECT_EQ(server_saw_reset, 7u);
  EXPECT_EQ(client_write_error, make_error_code(errc::stream_stopped));
  EXPECT_EQ(client_saw_stop, 9u);
}

TEST(Connection, DatagramsRoundTripAndCloseCodeAndReasonReachThePeer) {
  Pair p;
  ASSERT_TRUE(p.server.listen(server_tls()));
  std::vector<std::uint8_t> got;
  std::error_code closed_error;
  CloseInfo info;
  ConnectionStats stats;
  asio::ip::udp::endpoint seen_remote;
  asio::ip::udp::endpoint seen_local;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto [accepted, conn] =
            co_await (p.server.accept() && p.client.dial(p.server.local_endpoint(), client_tls()));
        EXPECT_TRUE(accepted && conn);
        if (!accepted || !conn) {
          co_return;
        }
        seen_remote = accepted->remote_endpoint();
        seen_local = accepted->local_endpoint();
        std::vector<std::uint8_t> ping = {'p', 'i', 'n', 'g'};
        // Datagrams are unreliable: send again until one arrives (each wait is bounded).
        for (int attempt = 0; attempt < 50 && got.empty(); ++attempt) {
          EXPECT_TRUE(conn->send_datagram(ping));
          auto received = co_await (accepted->async_receive_datagram(as_tuple(use_awaitable)) ||
                                    sleep_for(200ms));
          if (received.index() == 0) {
            auto [ec, d] = std::get<0>(received);
            EXPECT_FALSE(ec);
            got = d;
          }
        }
        stats = conn->stats();
        conn->close(0x42, "bye");
        auto [cec] = co_await accepted->async_wait_closed(as_tuple(use_awaitable));
        closed_error = cec;
        info = accepted->close_info();
      },
      20s));
  EXPECT_EQ(got, (std::vector<std::uint8_t>{'p', 'i', 'n', 'g'}));
  EXPECT_EQ(closed_error, make_application_error(0x42));
  EXPECT_EQ(info.kind, CloseInfo::Kind::application);
  EXPECT_TRUE(info.remote);
  EXPECT_EQ(info.code, 0x42u);
  EXPECT_EQ(info.reason, "bye");
  EXPECT_EQ(seen_remote, p.client.local_endpoint());
  EXPECT_EQ(seen_local, p.server.local_endpoint());
  EXPECT_GT(stats.bytes_sent, 0u);
  EXPECT_GT(stats.packets_received, 0u);
  EXPECT_GT(stats.smoothed_rtt.count(), 0);
  EXPECT_GT(stats.congestion_window, 0u);
}

TEST(Connection, WindowIncreaseCallbackSeesTheAlpnAndMayRefuse) {
  EndpointConfig server_config;
  server_config.transport.initial_connection_window = std::uint64_t{64} * 1024;
  server_config.transport.initial_stream_window = std::uint64_t{64} * 1024;
  Pair p(server_config);
  int asked = 0;
  std::string asked_alpn;
  ListenOptions options;
  options.allow_window_increase = [&](std::string_view alpn, const asio::ip::udp::endpoint&,
                                      std::uint64_t delta) {
    ++asked;
    asked_alpn = alpn;
    EXPECT_GT(delta, 0u);
    return false;  // refuse: the connection window stays at 64 KiB
  };
  ASSERT_TRUE(p.server.listen(server_tls(), options));
  asio::co_spawn(p.io, echo_server(p.server), asio::detached);
  std::vector<std::uint8_t> echoed;
  const auto data = pattern(std::size_t{4} * 1024 * 1024, 4);
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        auto conn = co_await p.client.dial(p.server.local_endpoint(), client_tls());
        EXPECT_TRUE(conn);
        if (conn) {
          echoed = co_await echo_round_trip(*conn, data);
        }
      },
      60s));
  EXPECT_TRUE(echoed == data);  // refusing growth slows a transfer, never breaks it
  EXPECT_GT(asked, 0);
  EXPECT_EQ(asked_alpn, "echo/1");
}

TEST(Connection, RetryIsDoneWhenVerifySourceAddressAsks) {
  EndpointConfig server_config;
  int asked = 0;
  server_config.verify_source_address = [&](const asio::ip::udp::endpoint&) {
    ++asked;
    return true;
  };
  Pair p(server_config);
  ASSERT_TRUE(p.server.listen(server_tls()));
  asio::co_spawn(p.io, echo_server(p.server), asio::detached);
  std::vector<std::uint8_t> echoed;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        auto conn = co_await p.client.dial(p.server.local_endpoint(), client_tls());
        EXPECT_TRUE(conn) << conn.error().message();
        if (conn) {
          echoed = co_await echo_round_trip(*conn, pattern(10, 1));
        }
      },
      20s));
  EXPECT_EQ(echoed, pattern(10, 1));
  EXPECT_EQ(p.server.stats().retries_sent, 1u);
  EXPECT_EQ(asked, 1);
}

TEST(Connection, ConnectionContextHookRefusesOrAttachesAValue) {
  EndpointConfig server_config;
  bool refuse = true;
  server_config.connection_context = [&](const IncomingConnectionInfo& info) -> Result<std::any> {
    if (refuse) {
      return fail(errc::connection_refused);
    }
    return std::any(info.remote);
  };
  Pair p(server_config);
  ASSERT_TRUE(p.server.listen(server_tls()));
  std::error_code refused;
  std::any value;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto conn = co_await p.client.dial(p.server.local_endpoint(), client_tls());
        EXPECT_FALSE(conn);
        if (!conn) {
          refused = conn.error();
        }
        refuse = false;
        auto [accepted, ok] =
            co_await (p.server.accept() && p.client.dial(p.server.local_endpoint(), client_tls()));
        EXPECT_TRUE(accepted && ok);
        if (accepted) {
          value = accepted->user_value();
        }
      },
      20s));
  EXPECT_EQ(refused, make_transport_error(0x2));
  EXPECT_NE(refused.message().find("CONNECTION_REFUSED"), std::string::npos);
  ASSERT_EQ(value.type(), typeid(asio::ip::udp::endpoint));
  EXPECT_EQ(std::any_cast<asio::ip::udp::endpoint>(value), p.client.local_endpoint());
}

TEST(Connection, QlogWritesOneFilePerConnectionAndRole) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("quicreuse-qlog-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  EndpointConfig config;
  config.qlog_dir = dir;
  Pair p(config, config);
  ASSERT_TRUE(p.server.listen(server_tls()));
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto [accepted, conn] =
            co_await (p.server.accept() && p.client.dial(p.server.local_endpoint(), client_tls()));
        EXPECT_TRUE(accepted && conn);
        if (!accepted || !conn) {
          co_return;
        }
        asio::co_spawn(co_await asio::this_coro::executor, echo_connection(*accepted),
                       asio::detached);
        co_await echo_round_trip(*conn, pattern(10, 1));
        conn->close();
        // Both sides have closed once the server saw the client's CONNECTION_CLOSE.
        co_await accepted->async_wait_closed(as_tuple(use_awaitable));
      },
      20s));
  p.server.close();
  p.client.close();
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  ASSERT_EQ(names.size(), 2u);
  std::sort(names.begin(), names.end());
  // Both files are named by the client's original DCID (16 bytes = 32 hex digits).
  ASSERT_EQ(names[0].size(), 32u + std::string("_client.sqlog").size());
  EXPECT_EQ(names[0].substr(32), "_client.sqlog");
  EXPECT_EQ(names[1].substr(32), "_server.sqlog");
  EXPECT_EQ(names[0].substr(0, 32), names[1].substr(0, 32));
  std::ifstream in(dir / names[1]);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text[0], '\x1e');  // JSON-SEQ record separator
  EXPECT_NE(text.find("qlog_version"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Connection, ServerCertificateIsVerifiedByCaFileNameAndCallback) {
  Pair p;
  auto identity = TlsIdentity::self_signed({"localhost"});
  ASSERT_TRUE(identity);
  TlsServerConfig tls;
  tls.default_choice.identity = *identity;
  tls.default_choice.alpns = {"echo/1"};
  ASSERT_TRUE(p.server.listen(tls));
  asio::co_spawn(p.io, echo_server(p.server), asio::detached);
  const auto ca = std::filesystem::temp_directory_path() /
                  ("quicreuse-ca-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(ca) << (*identity)->certificate_pem();
  std::error_code good;
  std::error_code wrong_name;
  std::error_code callback_no;
  std::error_code unknown_ca;
  bool callback_saw_leaf = false;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        TlsClientConfig config;
        config.alpns = std::vector<std::string>{"echo/1"};
        config.server_name = "localhost";
        config.ca_file = ca;
        auto ok = co_await p.client.dial(p.server.local_endpoint(), config);
        good = ok ? std::error_code{} : ok.error();
        config.server_name = "example.com";
        auto bad = co_await p.client.dial(p.server.local_endpoint(), config);
        wrong_name = bad ? std::error_code{} : bad.error();
        TlsClientConfig cb;
        cb.alpns = std::vector<std::string>{"echo/1"};
        cb.verify_server = [&](const CertificateChain& chain) {
          callback_saw_leaf = !chain.empty() && chain[0] == (*identity)->leaf_der();
          return false;
        };
        auto no = co_await p.client.dial(p.server.local_endpoint(), cb);
        callback_no = no ? std::error_code{} : no.error();
        TlsClientConfig system;  // system trust store: a self-signed certificate is unknown
        system.alpns = std::vector<std::string>{"echo/1"};
        system.server_name = "localhost";
        auto unknown = co_await p.client.dial(p.server.local_endpoint(), system);
        unknown_ca = unknown ? std::error_code{} : unknown.error();
      },
      30s));
  std::filesystem::remove(ca);
  EXPECT_FALSE(good) << good.message();
  EXPECT_TRUE(wrong_name);
  EXPECT_EQ(wrong_name.category(), transport_error_category()) << wrong_name.message();
  EXPECT_TRUE(callback_no);
  EXPECT_TRUE(callback_saw_leaf);
  EXPECT_TRUE(unknown_ca);
}

TEST(Connection, ClientCertificateRequiredAndVerifiedByTheServer) {
  Pair p;
  auto server_id = TlsIdentity::self_signed({"localhost"});
  auto client_id = TlsIdentity::self_signed({"client.example"});
  ASSERT_TRUE(server_id && client_id);
  TlsServerConfig tls;
  tls.default_choice.identity = *server_id;
  tls.default_choice.alpns = {"echo/1"};
  tls.default_choice.client_auth = TlsServerChoice::ClientAuth::require;
  tls.default_choice.verify_client = [&](const CertificateChain& chain) {
    return !chain.empty() && chain[0] == (*client_id)->leaf_der();
  };
  ASSERT_TRUE(p.server.listen(tls));
  std::error_code with_cert;
  std::error_code without_cert;
  CertificateChain server_saw;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto config = client_tls();
        config.identity = *client_id;
        auto [accepted, ok] =
            co_await (p.server.accept() && p.client.dial(p.server.local_endpoint(), config));
        with_cert = ok ? std::error_code{} : ok.error();
        if (accepted) {
          server_saw = accepted->peer_certificates();
        }
        auto none = co_await p.client.dial(p.server.local_endpoint(), client_tls());
        // Without a certificate the server aborts the handshake; the client may learn it at once or
        // when its first stream fails.
        if (none) {
          auto s = co_await none->open_stream();
          std::vector<std::uint8_t> x = {1};
          if (s) {
            co_await asio::async_write(*s, asio::buffer(x), as_tuple(use_awaitable));
          }
          auto [ec] = co_await none->async_wait_closed(as_tuple(use_awaitable));
          without_cert = ec;
        } else {
          without_cert = none.error();
        }
      },
      30s));
  EXPECT_FALSE(with_cert) << with_cert.message();
  ASSERT_FALSE(server_saw.empty());
  EXPECT_EQ(server_saw[0], (*client_id)->leaf_der());
  EXPECT_TRUE(without_cert);
  EXPECT_EQ(without_cert.category(), transport_error_category()) << without_cert.message();
}

TEST(Connection, IdleTimeoutClosesAQuietConnection) {
  EndpointConfig config;
  config.transport.max_idle_timeout = 300ms;
  config.transport.keep_alive_period = 0ms;
  Pair p(config, config);
  ASSERT_TRUE(p.server.listen(server_tls()));
  Accepted held;
  asio::co_spawn(p.io, accept_and_hold(p.server, held), asio::detached);
  std::error_code closed;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        auto conn = co_await p.client.dial(p.server.local_endpoint(), client_tls());
        EXPECT_TRUE(conn);
        if (conn) {
          auto [ec] = co_await conn->async_wait_closed(as_tuple(use_awaitable));
          closed = ec;
        }
      },
      20s));
  EXPECT_EQ(closed, make_error_code(errc::idle_timeout));
}

TEST(Connection, KeepAliveHoldsAQuietConnectionOpen) {
  EndpointConfig config;
  config.transport.max_idle_timeout = 1000ms;
  config.transport.keep_alive_period = 100ms;
  Pair p(config, config);
  ASSERT_TRUE(p.server.listen(server_tls()));
  Accepted held;
  asio::co_spawn(p.io, accept_and_hold(p.server, held), asio::detached);
  // A control pair with the same idle timeout and no keep-alive: each of its connections closing
  // by idle timeout proves that one idle timeout went by.
  EndpointConfig quiet_config = config;
  quiet_config.transport.keep_alive_period = 0ms;
  auto quiet_server = Endpoint::bind(p.io.get_executor(), loopback(false), quiet_config);
  auto quiet_client = Endpoint::bind(p.io.get_executor(), loopback(false), quiet_config);
  ASSERT_TRUE(quiet_server && quiet_client);
  ASSERT_TRUE(quiet_server->listen(server_tls()));
  Accepted quiet_held;
  asio::co_spawn(p.io, accept_and_hold(*quiet_server, quiet_held), asio::detached);
  bool open_after = false;
  std::vector<std::error_code> quiet_closes;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        auto conn = co_await p.client.dial(p.server.local_endpoint(), client_tls());
        EXPECT_TRUE(conn);
        if (!conn) {
          co_return;
        }
        // Three idle timeouts, one after the other, while conn stays quiet.
        for (int i = 0; i < 3; ++i) {
          auto control = co_await quiet_client->dial(quiet_server->local_endpoint(), client_tls());
          EXPECT_TRUE(control);
          if (!control) {
            co_return;
          }
          auto [ec] = co_await control->async_wait_closed(as_tuple(use_awaitable));
          quiet_closes.push_back(ec);
        }
        open_after = conn->is_open();
      },
      20s));
  EXPECT_EQ(quiet_closes, std::vector<std::error_code>(3, make_error_code(errc::idle_timeout)));
  EXPECT_TRUE(open_after);
}

TEST(Connection, DroppingTheLastHandleClosesTheConnection) {
  Pair p;
  ASSERT_TRUE(p.server.listen(server_tls()));
  std::error_code server_side;
  ASSERT_TRUE(run_bounded(
      p.io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto [accepted, conn] =
            co_await (p.server.accept() && p.client.dial(p.server.local_endpoint(), client_tls()));
        EXPECT_TRUE(accepted && conn);
        if (!accepted || !conn) {
          co_return;
        }
        conn = fail(errc::connection_closed);  // drop the client's only handle
        auto [ec] = co_await accepted->async_wait_closed(as_tuple(use_awaitable));
        server_side = ec;
      },
      20s));
  EXPECT_EQ(server_side, make_error_code(errc::closed_by_peer));
}

}  // namespace
}  // namespace quicreuse::test
