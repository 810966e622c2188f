// Memory bounds under peers that write and never read: the per-connection send budget, the
// flow-control windows and the endpoint-wide budget (window growth, deferred stream credit).
#include "sim_gtest.hpp"
#include "sim_network.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace quicreuse::test {
namespace {

using namespace std::chrono_literals;
using core::ConnectionEvent;
using T = ConnectionEvent::Type;

constexpr std::size_t kEchoChunk = 16 * 1024;
constexpr std::uint64_t kMiB = 1024 * 1024;

// A well-behaved echo server: each stream holds at most kEchoChunk bytes read but not yet written.
struct BoundedEcho {
  SimNetwork& net;
  SimNode& node;
  std::vector<core::ConnectionHandle> accepted;
  std::map<std::pair<core::ConnectionHandle, std::int64_t>, std::vector<std::uint8_t>> pending;
  std::uint64_t bytes_read = 0;
  bool reading = true;  // false: the server application stops reading (for budget tests)

  BoundedEcho(SimNetwork& n, SimNode& nd) : net(n), node(nd) {
    node.on_incoming_cb = [this] {
      while (auto h = node.endpoint().accept()) {
        accepted.push_back(*h);
      }
    };
    node.on_event = [this](core::Connection& conn, const ConnectionEvent& ev) {
      if (ev.type == T::stream_opened) {
        while (auto id = conn.accept_stream(true)) {
          pump(conn, *id);
        }
      } else if ((ev.type == T::stream_readable || ev.type == T::stream_writable) &&
                 ev.stream_id >= 0) {
        pump(conn, ev.stream_id);
      }
    };
  }

  void pump(core::Connection& conn, std::int64_t id) {
    auto& buf = pending[{conn.handle(), id}];
    for (;;) {
      if (!buf.empty()) {
        auto n = conn.write_stream(id, buf, false);
        if (!n) {
          return;
        }
        buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
        if (!buf.empty()) {
          return;  // wait for stream_writable
        }
      }
      if (!reading) {
        return;
      }
      buf.resize(kEchoChunk);
      auto r = conn.read_stream(id, buf, net.now());
      if (!r || r->bytes == 0) {
        buf.clear();
        if (r && r->fin && conn.write_stream(id, {}, true)) {
          conn.release_stream(id);  // done with it, as an application dropping its handle
        }
        return;
      }
      buf.resize(r->bytes);
      bytes_read += r->bytes;
    }
  }

  std::uint64_t held_by_application() const {
    std::uint64_t n = 0;
    for (const auto& [key, buf] : pending) {
      n += buf.size();
    }
    return n;
  }
};

// A hostile client: opens `streams` bidirectional streams and writes on each as fast as it is
// allowed, never reading anything.
struct NonReadingWriter {
  SimNetwork& net;
  SimNode& node;
  std::size_t streams;
  std::optional<core::ConnectionHandle> handle;
  std::vector<std::int64_t> opened;
  std::uint64_t written = 0;
  std::vector<std::uint8_t> chunk = pattern_bytes(64 * 1024, 3);

  NonReadingWriter(SimNetwork& n, SimNode& nd, std::size_t count)
      : net(n), node(nd), streams(count) {
    node.on_event = [this](core::Connection& conn, const ConnectionEvent& ev) {
      if (ev.type == T::handshake_completed || ev.type == T::streams_available) {
        open_more(conn);
      } else if (ev.type == T::stream_writable && ev.stream_id >= 0) {
        write_all(conn, ev.stream_id);
      }
    };
  }

  bool dial(const SimNode& server) {
    core::Connection* c = dial_and_wait(net, node, server, test_client_tls());
    if (c == nullptr || !c->handshake_completed()) {
      return false;
    }
    handle = c->handle();
    return true;
  }

  void open_more(core::Connection& conn) {
    while (opened.size() < streams) {
      auto id = conn.open_stream(true);
      if (!id) {
        return;
      }
      opened.push_back(*id);
      write_all(conn, *id);
    }
  }

  void write_all(core::Connection& conn, std::int64_t id) {
    for (;;) {
      auto n = conn.write_stream(id, chunk, false);
      if (!n || *n == 0) {
        return;
      }
      written += *n;
    }
  }

  core::Connection* connection() { return handle ? node.endpoint().find(*handle) : nullptr; }
};

TEST(SimMemoryBounds, APeerWith256StreamsThatNeverReadsIsHeldToItsBudgets) {
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  BoundedEcho echo(net, server);
  NonReadingWriter attacker(net, client, 256);
  ASSERT_TRUE(attacker.dial(server));
  net.run_for(20s);

  ASSERT_EQ(echo.accepted.size(), 1u);
  core::Connection* s = server.endpoint().find(echo.accepted[0]);
  ASSERT_NE(s, nullptr);
  ASSERT_FALSE(s->is_closed());
  EXPECT_EQ(attacker.opened.size(), 256u);
  const TransportConfig defaults;
  // The send budget is what stops the echo: it is full, and never exceeded.
  EXPECT_LE(s->buffered_send(), defaults.connection_send_buffer);
  EXPECT_GE(s->buffered_send(), defaults.connection_send_buffer - 256 * kEchoChunk);
  // What the peer pushed and nobody read stays within the window granted to it.
  EXPECT_LE(s->buffered_receive(), s->receive_window());
  EXPECT_LE(s->receive_window(), defaults.max_connection_window);
  const std::uint64_t held =
      s->buffered_send() + s->buffered_receive() + echo.held_by_application();
  EXPECT_LE(held, 24 * kMiB) << "send " << s->buffered_send() << " receive "
                             << s->buffered_receive() << " app " << echo.held_by_application();
  // The attacker's own side (our client library) is bounded the same way.
  core::Connection* c = attacker.connection();
  ASSERT_NE(c, nullptr);
  EXPECT_LE(c->buffered_send(), defaults.connection_send_buffer);
  const core::BufferBudget& budget = server.endpoint().buffer_budget();
  EXPECT_LE(budget.used(), budget.limit());
  EXPECT_EQ(budget.send_bytes(), s->buffered_send());
  EXPECT_EQ(budget.receive_bytes(), s->buffered_receive());
}

TEST(SimMemoryBounds, TenNonReadingPeersStayWithinTheEndpointBudget) {
  SimNetwork net;
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  BoundedEcho echo(net, server);
  std::vector<std::unique_ptr<NonReadingWriter>> attackers;
  for (std::uint8_t i = 0; i < 10; ++i) {
    SimNode& node = net.add_node(sim_address(static_cast<std::uint8_t>(10 + i), 5000),
                                 sim_config(static_cast<std::uint8_t>(20 + i)));
    attackers.push_back(std::make_unique<NonReadingWriter>(net, node, 64));
    ASSERT_TRUE(attackers.back()->dial(server));
  }
  net.run_for(20s);
  ASSERT_EQ(echo.accepted.size(), 10u);
  const TransportConfig defaults;
  std::uint64_t held = echo.held_by_application();
  for (core::ConnectionHandle h : echo.accepted) {
    core::Connection* s = server.endpoint().find(h);
    ASSERT_NE(s, nullptr);
    EXPECT_LE(s->buffered_send(), defaults.connection_send_buffer);
    EXPECT_LE(s->buffered_receive(), s->receive_window());
    held += s->buffered_send() + s->buffered_receive();
  }
  const core::BufferBudget& budget = server.endpoint().buffer_budget();
  // Window growth is charged to the budget and only granted while it fits; sends are bounded
  // per connection.
  EXPECT_LE(budget.window_growth(), budget.limit());
  EXPECT_LE(held, budget.limit() + 10 * defaults.initial_connection_window +
                      10 * defaults.connection_send_buffer + 10 * 64 * kEchoChunk)
      << "held " << held;
  EXPECT_GT(held, 10 * defaults.connection_send_buffer / 2);  // the peers did push hard
}

TEST(SimMemoryBounds, WindowsDoNotGrowPastTheEndpointBudget) {
  // The same fast transfer, with the default budget and with none: only the first grows the
  // server's window.
  for (const std::uint64_t limit : {std::uint64_t{64} * kMiB, std::uint64_t{0}}) {
    SimNetwork net;
    auto config = sim_config(1);
    config.max_buffered_stream_data = limit;
    SimNode& server = net.add_node(sim_address(1, 443), config);
    SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
    ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
    EchoServer sink(net, server);  // reads everything at once
    core::Connection* c = dial_and_wait(net, client, server, test_client_tls());
    ASSERT_TRUE(c != nullptr && c->handshake_completed());
    StreamPump pump;
    auto id = c->open_stream(true);
    ASSERT_TRUE(id);
    client.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
      if (ev.type == T::stream_writable) {
        pump.pump(conn);
      }
    };
    pump.queue(*c, *id, pattern_bytes(16 * kMiB, 5), false);
    ASSERT_TRUE(net.run_until([&] { return sink.pump.received(*id).size() == 16 * kMiB; }, 60s));
    ASSERT_EQ(sink.accepted.size(), 1u);
    core::Connection* s = server.endpoint().find(sink.accepted[0]);
    ASSERT_NE(s, nullptr);
    const TransportConfig defaults;
    if (limit == 0) {
      EXPECT_EQ(s->receive_window(), defaults.initial_connection_window);
      EXPECT_GT(server.endpoint().buffer_budget().window_growth_refused(), 0u);
    } else {
      EXPECT_GT(s->receive_window(), defaults.initial_connection_window);
      EXPECT_EQ(server.endpoint().buffer_budget().window_growth(),
                s->receive_window() - defaults.initial_connection_window);
    }
  }
}

TEST(SimMemoryBounds, NewPeerStreamsWaitWhileTheBudgetIsUsedUpAndResumeAfter) {
  SimNetwork net;
  auto config = sim_config(1);
  config.max_buffered_stream_data = 256 * 1024;
  config.transport.max_incoming_bidi_streams = 2;
  SimNode& server = net.add_node(sim_address(1, 443), config);
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  BoundedEcho echo(net, server);
  // The client reads only when told to: first it lets the echo of stream 0 pile up at the server.
  StreamPump pump;
  bool read_stream0 = false;
  std::set<std::int64_t> finished;
  client.on_event = [&](core::Connection& conn, const ConnectionEvent& ev) {
    if (ev.type == T::stream_writable) {
      pump.pump(conn);
    } else if (ev.type == T::stream_readable && ev.stream_id >= 0 &&
               (ev.stream_id != 0 || read_stream0)) {
      if (pump.drain(conn, ev.stream_id, net.now())) {
        finished.insert(ev.stream_id);
      }
    }
  };
  core::Connection* c = dial_and_wait(net, client, server, test_client_tls());
  ASSERT_TRUE(c != nullptr && c->handshake_completed());
  auto s0 = c->open_stream(true);
  ASSERT_TRUE(s0);
  // Stream 0 carries more than the server can send before the client reads (a 1 MiB stream send
  // buffer plus the client's 512 KiB stream window) but not so much that unread data fills the
  // server's connection window: the echo reads it all, and holds most of it.
  const auto payload = pattern_bytes(kMiB + 256 * 1024, 1);
  pump.queue(*c, *s0, payload, true);
  const core::BufferBudget& budget = server.endpoint().buffer_budget();
  ASSERT_TRUE(net.run_until([&] { return budget.exhausted(); }, 20s));
  // A second stream completes both ways; its credit is held back while the budget is used up.
  auto s1 = c->open_stream(true);
  ASSERT_TRUE(s1);
  pump.queue(*c, *s1, to_bytes("small"), true);
  ASSERT_TRUE(net.run_until([&] { return finished.size() == 1; }, 20s));
  ASSERT_TRUE(net.run_until([&] { return budget.deferred_streams() == 1; }, 20s));
  net.run_for(2s);
  EXPECT_EQ(c->open_stream(true).error(), make_error_code(errc::stream_limit_reached));
  // Once the client reads the echo of stream 0, the server's buffers drain and the credit goes out.
  read_stream0 = true;
  pump.drain(*c, *s0, net.now());
  ASSERT_TRUE(net.run_until([&] { return finished.size() == 2; }, 30s));
  ASSERT_TRUE(net.run_until([&] { return c->open_stream(true).has_value(); }, 10s));
  EXPECT_EQ(pump.received(*s0), payload);
}

TEST(SimMemoryBounds, TheConnectionSendBudgetMakesOtherStreamsWaitForAcknowledgements) {
  SimNetwork net;
  auto client_config = sim_config(2);
  client_config.transport.connection_send_buffer = 256 * 1024;
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), client_config);
  ASSERT_TRUE(server.endpoint().listen(test_server_tls()));
  EchoServer sink(net, server);
  core::Connection* c = dial_and_wait(net, client, server, test_client_tls());
  ASSERT_TRUE(c != nullptr && c->handshake_completed());
  auto a = c->open_stream(true);
  auto b = c->open_stream(true);
  ASSERT_TRUE(a && b);
  const auto big = pattern_bytes(kMiB, 7);
  auto na = c->write_stream(*a, big, false);
  ASSERT_TRUE(na);
  EXPECT_EQ(*na, 256u * 1024);  // the stream could take 1 MiB; the connection takes 256 KiB
  auto nb = c->write_stream(*b, to_bytes("b"), false);
  ASSERT_TRUE(nb);
  EXPECT_EQ(*nb, 0u);
  EXPECT_EQ(c->buffered_send(), 256u * 1024);
  bool b_writable = false;
  client.on_event = [&](core::Connection&, const ConnectionEvent& ev) {
    b_writable = b_writable || (ev.type == T::stream_writable && ev.stream_id == *b);
  };
  ASSERT_TRUE(net.run_until([&] { return b_writable; }, 10s));
  auto again = c->write_stream(*b, to_bytes("b"), false);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 1u);
}

}  // namespace
}  // namespace quicreuse::test
