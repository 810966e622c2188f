#include "sim_app.hpp"

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

EchoClient::EchoClient(SimNetwork& n, SimNode& nd) : net(n), node(nd) {
  node.on_event = [this](core::Connection& conn, const core::ConnectionEvent& ev) {
    if (ev.stream_id != stream || stream < 0) {
      return;
    }
    if (ev.type == core::ConnectionEvent::Type::stream_readable) {
      fin = pump.drain(conn, stream, net.now()) || fin;
    } else if (ev.type == core::ConnectionEvent::Type::stream_writable) {
      pump.pump(conn);
    }
  };
}

bool EchoClient::send(const SimNode& server, std::vector<std::uint8_t> data, Duration limit) {
  auto tls = make_test_client_tls({"echo/1"});
  if (!tls) {
    return false;
  }
  auto h = node.endpoint().connect(net.now(), server.address(), *tls);
  if (!h) {
    return false;
  }
  handle = *h;
  if (!net.run_until(
          [&] {
            auto* c = node.endpoint().find(*handle);
            return c == nullptr || c->handshake_completed() || c->is_closed();
          },
          limit)) {
    return false;
  }
  core::Connection* c = node.endpoint().find(*handle);
  if (c == nullptr || !c->handshake_completed()) {
    return false;
  }
  auto id = c->open_stream(true);
  if (!id) {
    return false;
  }
  stream = *id;
  pump.queue(*c, stream, std::move(data), true);
  return net.run_until([&] { return fin; }, limit);
}

DialOutcome dial_until_settled(SimNetwork& net, SimNode& client, const SimNode& server,
                               std::shared_ptr<const core::ClientTlsContext> tls, Duration limit) {
  DialOutcome out;
  auto h = client.endpoint().connect(net.now(), server.address(), std::move(tls));
  if (!h) {
    out.connect_error = h.error();
    return out;
  }
  out.settled = net.run_until(
      [&] {
        core::Connection* c = client.endpoint().find(*h);
        return c == nullptr || c->handshake_completed() || c->is_closed();
      },
      limit);
  out.connection = client.endpoint().find(*h);
  return out;
}

Result<std::shared_ptr<const TlsServerConfig>> make_test_server_tls(
    std::vector<std::string> alpns) {
  auto identity = TlsIdentity::self_signed({"localhost"});
  if (!identity) {
    return fail(identity.error());
  }
  auto config = std::make_shared<TlsServerConfig>();
  config->default_choice.identity = *identity;
  config->default_choice.alpns = std::move(alpns);
  return std::shared_ptr<const TlsServerConfig>(std::move(config));
}

Result<std::shared_ptr<const core::ClientTlsContext>> make_test_client_tls(
    std::vector<std::string> alpns) {
  TlsClientConfig config;
  config.alpns = std::move(alpns);
  config.server_name = "localhost";
  config.insecure_skip_verify = true;
  return core::make_client_tls_context(config);
}

EchoRun echo_over(const LinkConfig& link, std::uint64_t seed, Duration limit) {
  SimNetwork net(link, seed);
  SimNode& server = net.add_node(sim_address(1, 443), sim_config(1));
  SimNode& client = net.add_node(sim_address(2, 5000), sim_config(2));
  EchoRun out;
  auto tls = make_test_server_tls({"echo/1"});
  if (!tls || !server.endpoint().listen(*tls)) {
    out.why = "listen failed";
    return out;
  }
  EchoServer echo(net, server);
  EchoClient ec(net, client);
  const Timestamp start = net.now();
  out.echoed = ec.send(server, pattern_bytes(1024, seed), limit) &&
               ec.pump.received(ec.stream) == pattern_bytes(1024, seed);
  out.took = net.now() - start;
  if (!out.echoed) {
    core::Connection* c = ec.handle ? client.endpoint().find(*ec.handle) : nullptr;
    out.why = c == nullptr ? "gone" : c->is_closed() ? c->close_error().message() : "not done";
  }
  return out;
}

}  // namespace quicreuse::test
