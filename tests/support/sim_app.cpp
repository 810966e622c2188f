#include "sim_app.hpp"

#include <gtest/gtest.h>

#include <random>

namespace quicreuse::test {

std::vector<std::uint8_t> pattern_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) {
    b = static_cast<std::uint8_t>(rng());
  }
  return out;
}

std::vector<std::uint8_t> to_bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

void StreamPump::queue(core::Connection& conn, std::int64_t id, std::vector<std::uint8_t> data,
                       bool fin) {
  Out& o = out_[id];
  o.data.insert(o.data.end(), data.begin(), data.end());
  o.fin = o.fin || fin;
  o.done = false;
  pump(conn);
}

void StreamPump::pump(core::Connection& conn) {
  for (auto& [id, o] : out_) {
    if (o.done) {
      continue;
    }
    const std::span<const std::uint8_t> rest(o.data.data() + o.offset, o.data.size() - o.offset);
    auto n = conn.write_stream(id, rest, o.fin);
    if (!n) {
      last_error = n.error();
      o.done = true;
      continue;
    }
    o.offset += *n;
    if (o.offset == o.data.size() && (o.fin || rest.empty())) {
      o.done = o.fin;
    }
  }
}

bool StreamPump::drain(core::Connection& conn, std::int64_t id, core::Timestamp now) {
  std::vector<std::uint8_t>& in = in_[id];
  std::uint8_t buf[16384];
  for (;;) {
    auto r = conn.read_stream(id, buf, now);
    if (!r) {
      last_error = r.error();
      return false;
    }
    in.insert(in.end(), buf, buf + r->bytes);
    if (r->fin) {
      fin_[id] = true;
      return true;
    }
    if (r->bytes == 0) {
      return false;
    }
  }
}

EchoServer::EchoServer(SimNetwork& n, SimNode& nd) : net(n), node(nd) {
  node.on_incoming_cb = [this] {
    while (auto h = node.endpoint().accept()) {
      accepted.push_back(*h);
    }
  };
  node.on_event = [this](core::Connection& conn, const core::ConnectionEvent& ev) {
    using T = core::ConnectionEvent::Type;
    if (ev.type == T::stream_opened) {
      while (conn.accept_stream(true)) {
      }
    }
    if (ev.type == T::stream_readable && ev.stream_id >= 0) {
      const bool fin = pump.drain(conn, ev.stream_id, net.now());
      if (fin && echoed.insert({conn.handle(), ev.stream_id}).second) {
        pump.queue(conn, ev.stream_id, pump.received(ev.stream_id), true);
      }
    }
    if (ev.type == T::stream_writable) {
      pump.pump(conn);
    }
  };
}

core::Connection* dial_and_wait(SimNetwork& net, SimNode& client, const SimNode& server,
                                std::shared_ptr<const core::ClientTlsContext> tls, Duration limit) {
  auto h = client.endpoint().connect(net.now(), server.address(), std::move(tls));
  EXPECT_TRUE(h.has_value());
  if (!h) {
    return nullptr;
  }
  const bool settled = net.run_until(
      [&] {
        core::Connection* c = client.endpoint().find(*h);
        return c == nullptr || c->handshake_completed() || c->is_closed();
      },
      limit);
  EXPECT_TRUE(settled);
  return settled ? client.endpoint().find(*h) : nullptr;
}

std::shared_ptr<const TlsServerConfig> test_server_tls(std::vector<std::string> alpns) {
  auto identity = TlsIdentity::self_signed({"localhost"});
  EXPECT_TRUE(identity.has_value());
  auto config = std::make_shared<TlsServerConfig>();
  config->default_choice.identity = *identity;
  config->default_choice.alpns = std::move(alpns);
  return config;
}

std::shared_ptr<const core::ClientTlsContext> test_client_tls(std::vector<std::string> alpns) {
  TlsClientConfig config;
  config.alpns = std::move(alpns);
  config.server_name = "localhost";
  config.insecure_skip_verify = true;
  auto context = core::make_client_tls_context(config);
  EXPECT_TRUE(context.has_value());
  return *context;
}

}  // namespace quicreuse::test
