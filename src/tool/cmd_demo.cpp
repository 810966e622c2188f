// quicreuse demo: the library's story on loopback, in one process, narrated step by step. Node A
// is a ConnManager serving two protocols, STUN and its own dials on one UDP port; node B is a
// second ConnManager; the remote clients are a plain Endpoint.
#include "cert_info.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "multiaddr_arg.hpp"
#include "output.hpp"
#include "streams.hpp"

#include <quicreuse/metrics.hpp>
#include <quicreuse/stun.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdlib>
#include <random>
#include <sstream>

namespace quicreuse::tool {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using asio::ip::udp;

constexpr std::string_view kUsage = R"(usage: quicreuse demo

Runs, in one process on loopback and with no arguments, the story of the library: a connection
manager serving two protocols (echo/1 and chat/1, each with its own certificate and its own
listener) on one UDP port, a STUN request answered on that same port through the shared non-QUIC
packet conn, a dial through the manager that leaves from the listen port (the peer reports the
port it saw), one protocol's listener closed while the other keeps serving, and the manager's
metrics at the end. Exit code 0 when every step succeeded.
)";

constexpr auto kStepTimeout = std::chrono::seconds(5);

// Identities made before the event loop starts.
struct Identities {
  std::shared_ptr<const TlsIdentity> echo;
  std::shared_ptr<const TlsIdentity> chat;
  std::shared_ptr<const TlsIdentity> b;
};

// Demo is the state of one run; it lives in demo_main's frame and is passed by reference to the
// steps, which that frame awaits.
struct Demo {
  Demo() = default;
  Demo(const Demo&) = delete;
  Demo& operator=(const Demo&) = delete;
  Demo(Demo&&) = delete;
  Demo& operator=(Demo&&) = delete;
  ~Demo() { close_all(); }

  Identities ids;
  std::shared_ptr<ConnManager> a;  // node A: echo/1 + chat/1 + STUN + dials, one UDP port
  std::shared_ptr<Listener> a_echo;
  std::shared_ptr<Listener> a_chat;
  std::shared_ptr<NonQuicPacketConn> a_stun;
  udp::endpoint a_addr;
  std::shared_ptr<ConnManager> b;  // node B, dialed by A
  std::shared_ptr<Listener> b_whoami;
  EndpointSet plain;                 // the plain QUIC client of steps 2 to 4 and 7
  std::shared_ptr<Endpoint> client;  // (in plain)
  std::shared_ptr<std::vector<udp::endpoint>> b_observed =
      std::make_shared<std::vector<udp::endpoint>>();
  std::shared_ptr<int> stun_answered = std::make_shared<int>(0);
  int passed = 0;
  int failed = 0;

  void close_all() {
    for (const auto* listener : {&a_echo, &a_chat, &b_whoami}) {
      if (*listener) {
        (*listener)->close();
      }
    }
    if (a_stun) {
      a_stun->close();
    }
    for (const auto* cm : {&a, &b}) {
      if (*cm) {
        (*cm)->close();
      }
    }
    plain.close_all();
  }
};

void say(std::string_view line) {
  print_line(line);
}

void step_result(Demo& d, bool ok, std::string_view why) {
  if (ok) {
    ++d.passed;
    say("    ok");
  } else {
    ++d.failed;
    say("    FAILED: " + std::string(why));
  }
}

// --- server side of A and B -----------------------------------------------------------------

asio::awaitable<void> chat_stream(Stream stream) {
  std::vector<std::uint8_t> message;
  if (auto ec = co_await read_to_end(stream, message); ec) {
    co_return;
  }
  const auto reply = to_bytes("chat: " + to_text(message));
  co_await write_and_finish(stream, reply);
}

asio::awaitable<void> chat_connection(Connection conn) {
  for (;;) {
    auto [ec, stream] = co_await conn.async_accept_stream(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    asio::co_spawn(conn.get_executor(), chat_stream(std::move(stream)), asio::detached);
  }
}

// A's protocols each have their own Listener: the manager routes by negotiated ALPN.
asio::awaitable<void> serve_echo(std::shared_ptr<Listener> listener) {
  for (;;) {
    auto [ec, conn] = co_await listener->async_accept(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    const auto ex = conn.get_executor();
    asio::co_spawn(ex, echo_connection(std::move(conn)), asio::detached);
  }
}

asio::awaitable<void> serve_chat(std::shared_ptr<Listener> listener) {
  for (;;) {
    auto [ec, conn] = co_await listener->async_accept(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    const auto ex = conn.get_executor();
    asio::co_spawn(ex, chat_connection(std::move(conn)), asio::detached);
  }
}

// B answers each stream with the address it saw the connection come from.
asio::awaitable<void> whoami_stream(Stream stream, udp::endpoint remote) {
  std::vector<std::uint8_t> request;
  if (auto ec = co_await read_to_end(stream, request); ec) {
    co_return;
  }
  const auto reply = to_bytes("you came from " + format_host_port(remote));
  co_await write_and_finish(stream, reply);
}

asio::awaitable<void> serve_b(std::shared_ptr<Listener> listener,
                              std::shared_ptr<std::vector<udp::endpoint>> observed) {
  for (;;) {
    auto [ec, conn] = co_await listener->async_accept(as_tuple(use_awaitable));
    if (ec) {
      co_return;
    }
    observed->push_back(conn.remote_endpoint());
    auto [sec, stream] = co_await conn.async_accept_stream(as_tuple(use_awaitable));
    if (!sec) {
      asio::co_spawn(conn.get_executor(), whoami_stream(std::move(stream), conn.remote_endpoint()),
                     asio::detached);
    }
  }
}

TlsServerConfig server_tls(std::shared_ptr<const TlsIdentity> identity, std::string alpn) {
  TlsServerConfig tls;
  tls.default_choice.identity = std::move(identity);
  tls.default_choice.alpns.push_back(std::move(alpn));
  return tls;
}

std::string identity_name(const Demo& d, const std::vector<std::uint8_t>& leaf) {
  if (leaf == d.ids.echo->leaf_der()) {
    return "the echo/1 identity";
  }
  if (leaf == d.ids.chat->leaf_der()) {
    return "the chat/1 identity";
  }
  if (leaf == d.ids.b->leaf_der()) {
    return "B's identity";
  }
  return "an unknown identity";
}

TlsClientConfig insecure_client(std::string alpn) {
  TlsClientConfig tls;
  tls.alpns.push_back(std::move(alpn));
  tls.server_name = "localhost";
  tls.insecure_skip_verify = true;  // the demo checks the certificate by comparing it below
  return tls;
}

// --- setup (plain functions) -------------------------------------------------------------------

// Node A: one manager, a Listener for echo/1 and one for chat/1 (each with its certificate) on one
// UDP port, and a STUN responder on that port's shared non-QUIC packet conn. Returns the error.
std::string start_a(Demo& d, const asio::any_io_executor& ex) {
  auto cm = make_manager(ex, std::nullopt);
  if (!cm) {
    return cm.error();
  }
  d.a = *cm;
  auto first = Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1");
  if (!first) {
    return "cannot parse A's address";
  }
  auto echo = d.a->listen_quic(*first, server_tls(d.ids.echo, "echo/1"));
  if (!echo) {
    return "A cannot listen for echo/1: " + manager_reason(echo.error());
  }
  d.a_echo = std::shared_ptr<Listener>(std::move(*echo));
  // The second protocol joins the first one's socket: same address, real port.
  auto chat = d.a->listen_quic(d.a_echo->multiaddrs().front(), server_tls(d.ids.chat, "chat/1"));
  if (!chat) {
    return "A cannot listen for chat/1: " + manager_reason(chat.error());
  }
  d.a_chat = std::shared_ptr<Listener>(std::move(*chat));
  d.a_addr = d.a_echo->addr();
  if (d.a_chat->addr() != d.a_addr) {
    return "the chat/1 listener is on " + format_host_port(d.a_chat->addr()) + ", not on " +
           format_host_port(d.a_addr);
  }
  auto stun = d.a->shared_non_quic_packet_conn("udp4", d.a_addr);
  if (!stun) {
    return "A cannot share its socket for STUN: " + manager_reason(stun.error());
  }
  d.a_stun = std::shared_ptr<NonQuicPacketConn>(std::move(*stun));
  auto client = d.plain.bind(ex, udp::endpoint(asio::ip::address_v4::loopback(), 0),
                             endpoint_config(std::nullopt));
  if (!client) {
    return "cannot bind the plain client on 127.0.0.1: " + client.error().message();
  }
  d.client = *client;
  asio::co_spawn(ex, serve_echo(d.a_echo), asio::detached);
  asio::co_spawn(ex, serve_chat(d.a_chat), asio::detached);
  StunObserver count = [n = d.stun_answered](const udp::endpoint&) { ++*n; };
  asio::co_spawn(ex, stun_responder(d.a_stun, std::move(count)), asio::detached);
  return {};
}

// Node B: its own manager, listening for whoami/1. Returns the error.
std::string start_b(Demo& d, const asio::any_io_executor& ex) {
  auto cm = make_manager(ex, std::nullopt);
  if (!cm) {
    return cm.error();
  }
  d.b = *cm;
  auto where = Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1");
  if (!where) {
    return "cannot parse B's address";
  }
  auto listener = d.b->listen_quic(*where, server_tls(d.ids.b, "whoami/1"));
  if (!listener) {
    return "B cannot listen: " + manager_reason(listener.error());
  }
  d.b_whoami = std::shared_ptr<Listener>(std::move(*listener));
  asio::co_spawn(ex, serve_b(d.b_whoami, d.b_observed), asio::detached);
  return {};
}

// --- steps ---------------------------------------------------------------------------------------

// Dials A with one ALPN, sends message, checks the reply and which certificate A presented.
asio::awaitable<std::string> protocol_client(Demo& d, std::string alpn, std::string message,
                                             std::string expected_reply,
                                             std::shared_ptr<const TlsIdentity> expected_id) {
  auto conn = co_await d.client->dial(d.a_addr, insecure_client(alpn));
  if (!conn) {
    co_return "dial failed: " + conn.error().message();
  }
  const auto chain = conn->peer_certificates();
  if (chain.empty()) {
    co_return std::string("no peer certificate");
  }
  say("    " + alpn + " client: connected from " + format_host_port(conn->local_endpoint()) +
      ", negotiated alpn=" + conn->alpn() + ", certificate CN=" +
      certificate_common_name(chain[0]) + " (" + identity_name(d, chain[0]) + ")");
  auto reply = co_await round_trip(*conn, to_bytes(message));
  conn->close();
  if (!reply) {
    co_return reply.error();
  }
  say("    " + alpn + " client: sent \"" + message + "\", got \"" + to_text(*reply) + "\"");
  if (conn->alpn() != alpn) {
    co_return "negotiated " + conn->alpn() + " instead of " + alpn;
  }
  if (chain[0] != expected_id->leaf_der()) {
    co_return "A presented " + identity_name(d, chain[0]) + " instead of the " + alpn + " one";
  }
  if (to_text(*reply) != expected_reply) {
    co_return "expected the reply \"" + expected_reply + "\"";
  }
  co_return std::string();
}

// Dials A offering only alpn, which A does not (or no longer) serve: the handshake must fail with
// CRYPTO_ERROR 0x178 (no_application_protocol).
asio::awaitable<std::string> refused_client(Demo& d, std::string alpn) {
  auto conn = co_await d.client->dial(d.a_addr, insecure_client(alpn));
  if (conn) {
    conn->close();
    co_return "A accepted " + alpn + ", which it does not serve";
  }
  say("    " + alpn + " client: refused with " + conn.error().message());
  if (conn.error() != make_transport_error(0x178)) {
    co_return std::string("expected CRYPTO_ERROR 0x178 (no_application_protocol)");
  }
  co_return std::string();
}

struct StunOutcome {
  std::string error;
  udp::endpoint local;
  udp::endpoint answered_from;
  udp::endpoint mapped;
};

asio::awaitable<StunOutcome> stun_query(udp::endpoint server) {
  StunOutcome out;
  udp::socket socket(co_await asio::this_coro::executor);
  std::error_code ec;
  socket.open(udp::v4(), ec);
  if (!ec) {
    socket.bind(udp::endpoint(asio::ip::address_v4::loopback(), 0), ec);
  }
  if (ec) {
    out.error = "cannot open a UDP socket: " + ec.message();
    co_return out;
  }
  out.local = socket.local_endpoint();
  stun::TransactionId id{};
  std::random_device random;
  for (auto& byte : id) {
    byte = static_cast<std::uint8_t>(random());
  }
  const auto request = stun::make_binding_request(id);
  auto [sec, sent] =
      co_await socket.async_send_to(asio::buffer(request), server, as_tuple(use_awaitable));
  if (sec) {
    out.error = "send failed: " + sec.message();
    co_return out;
  }
  std::vector<std::uint8_t> buf(1500);
  auto [rec, n] = co_await socket.async_receive_from(asio::buffer(buf), out.answered_from,
                                                     as_tuple(use_awaitable));
  if (rec) {
    out.error = "receive failed: " + rec.message();
    co_return out;
  }
  const auto mapped =
      stun::parse_binding_response(std::span<const std::uint8_t>(buf.data(), n), id);
  if (!mapped) {
    out.error = "the answer is not a Binding Success Response for our transaction";
    co_return out;
  }
  out.mapped = *mapped;
  co_return out;
}

asio::awaitable<std::string> dial_from_listen_port(Demo& d) {
  const Multiaddr b_addr = d.b_whoami->multiaddrs().front();
  auto conn = co_await d.a->dial_quic(b_addr, insecure_client("whoami/1"));
  if (!conn) {
    co_return "dial failed: " + conn.error().message();
  }
  auto reply = co_await round_trip(*conn, to_bytes("who am I?"));
  const auto local = conn->local_endpoint();
  conn->close();
  if (!reply) {
    co_return reply.error();
  }
  say("    A's manager dialed B (" + b_addr.to_string() + ") from " + format_host_port(local) +
      ", its listening socket");
  say("    B answered: \"" + to_text(*reply) + "\"");
  const std::string expected = "you came from " + format_host_port(d.a_addr);
  if (to_text(*reply) != expected) {
    co_return "B saw another address than A's listen address " + format_host_port(d.a_addr);
  }
  if (d.b_observed->empty() || d.b_observed->back().port() != d.a_addr.port()) {
    co_return std::string("B's accepted connection does not come from A's port");
  }
  say("    the remote port B saw (" + std::to_string(d.b_observed->back().port()) +
      ") is A's listen port (" + std::to_string(d.a_addr.port()) + ")");
  co_return std::string();
}

// Returns the value of the sample `series` ("name{labels}" or "name") in Prometheus text.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

// Prints the non-zero samples of A's metrics that tell this story; returns what is missing.
std::string print_metrics(const Demo& d) {
  const auto registry = d.a->metrics();
  if (!registry) {
    return "A's manager has no metrics registry";
  }
  const std::string text = registry->render();
  const std::vector<std::string> names = {
      "quicreuse_connections_started_total", "quicreuse_connections_closed_total",
      "quicreuse_connections_refused_total", "quicreuse_handshake_duration_seconds_count",
      "quicreuse_non_quic_packets_total",    "quicreuse_pooled_endpoints",
      "quicreuse_endpoint_references",       "quicreuse_quic_listeners"};
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || line.size() < 2 ||
        line.compare(line.size() - 2, 2, " 0") == 0) {
      continue;
    }
    for (const auto& name : names) {
      if (line.compare(0, name.size(), name) == 0 &&
          (line[name.size()] == '{' || line[name.size()] == ' ')) {
        say("    " + line);
      }
    }
  }
  auto at_least = [&text](const std::string& series, double n) {
    const auto v = sample(text, series);
    return v && *v >= n;
  };
  if (!at_least("quicreuse_connections_started_total{direction=\"incoming\"}", 4)) {
    return "fewer than 4 incoming connections counted (echo/1, chat/1, echo/1 after the close)";
  }
  if (!at_least("quicreuse_connections_started_total{direction=\"outgoing\"}", 1)) {
    return "A's dial to B is not counted";
  }
  if (!at_least("quicreuse_handshake_duration_seconds_count{direction=\"incoming\"}", 3)) {
    return "fewer than 3 incoming handshakes timed";
  }
  if (!at_least("quicreuse_non_quic_packets_total{result=\"forwarded\"}", 1) ||
      *d.stun_answered < 1) {
    return "the STUN request is not counted";
  }
  if (sample(text, R"(quicreuse_pooled_endpoints{family="udp4",pool="unicast"})") != 1.0 ||
      sample(text, R"(quicreuse_pooled_endpoints{family="udp4",pool="global_dialers"})") != 0.0) {
    return "A should own exactly one UDP socket (its dial must not have opened another)";
  }
  return {};
}

template <class T>
asio::awaitable<std::string> bounded(asio::awaitable<T> step) {
  auto r = co_await with_timeout(std::move(step), kStepTimeout);
  if (!r) {
    co_return "no result within " + std::to_string(kStepTimeout.count()) + " s";
  }
  co_return std::move(*r);
}

asio::awaitable<int> demo_main(Identities ids) {
  const auto ex = co_await asio::this_coro::executor;
  Demo d;
  d.ids = std::move(ids);
  say("quicreuse demo: one UDP port shared by two protocols, STUN and outgoing dials (loopback)");
  say("");

  say("[1] A's connection manager listens for echo/1 and chat/1 on one UDP port, one listener "
      "and one certificate per protocol");
  {
    const std::string error = start_a(d, ex);
    if (!error.empty()) {
      step_result(d, false, error);
      co_return kExitFailure;
    }
    say("    A: " + d.a_echo->multiaddrs().front().to_string() +
        " (listen_quic for echo/1, then for chat/1 on the same address: one socket)");
    say("    echo/1 certificate CN=" + certificate_common_name(d.ids.echo->leaf_der()) +
        ", chat/1 certificate CN=" + certificate_common_name(d.ids.chat->leaf_der()));
    step_result(d, true, "");
  }

  say("[2] a client dials A with echo/1 and gets its echo");
  {
    auto error = co_await bounded(
        protocol_client(d, "echo/1", "hello over echo/1", "hello over echo/1", d.ids.echo));
    step_result(d, error.empty(), error);
  }

  say("[3] a client dials A with chat/1 and gets a chat answer, on the same port");
  {
    auto error =
        co_await bounded(protocol_client(d, "chat/1", "hi there", "chat: hi there", d.ids.chat));
    step_result(d, error.empty(), error);
  }

  say("[4] a client offering only nope/1 is refused during the handshake");
  {
    auto error = co_await bounded(refused_client(d, "nope/1"));
    step_result(d, error.empty(), error);
  }

  say("[5] a STUN Binding Request from a plain UDP socket is answered on A's port (shared "
      "non-QUIC packet conn)");
  {
    auto outcome = co_await with_timeout(stun_query(d.a_addr), kStepTimeout);
    std::string error;
    if (!outcome) {
      error = "no STUN answer within " + std::to_string(kStepTimeout.count()) + " s";
    } else if (!outcome->error.empty()) {
      error = outcome->error;
    } else {
      say("    STUN client " + format_host_port(outcome->local) + " got its answer from " +
          format_host_port(outcome->answered_from) + ": reflexive address " +
          format_host_port(outcome->mapped));
      if (outcome->answered_from != d.a_addr) {
        error = "the answer came from another port than A's";
      } else if (outcome->mapped != outcome->local) {
        error = "the reflexive address is not the STUN client's address";
      }
    }
    step_result(d, error.empty(), error);
  }

  say("[6] node B (its own manager) listens; A's manager dials B, the dial leaves from A's "
      "listen port and B reports what it saw");
  {
    std::string error = start_b(d, ex);
    if (error.empty()) {
      error = co_await bounded(dial_from_listen_port(d));
    }
    step_result(d, error.empty(), error);
  }

  say("[7] A closes its chat/1 listener; echo/1 keeps serving on the same port");
  {
    d.a_chat->close();
    std::string error = co_await bounded(refused_client(d, "chat/1"));
    if (error.empty()) {
      error = co_await bounded(
          protocol_client(d, "echo/1", "still there?", "still there?", d.ids.echo));
    }
    if (error.empty() && d.a_echo->addr() != d.a_addr) {
      error = "the echo/1 listener moved to " + format_host_port(d.a_echo->addr());
    }
    step_result(d, error.empty(), error);
  }

  say("[8] A's connection manager metrics (excerpt of its Prometheus text, non-zero samples)");
  {
    const std::string error = print_metrics(d);
    step_result(d, error.empty(), error);
  }

  d.close_all();
  say("");
  if (d.failed == 0) {
    say("demo: all " + std::to_string(d.passed) + " steps succeeded");
    co_return kExitOk;
  }
  say("demo: " + std::to_string(d.failed) + " of " + std::to_string(d.passed + d.failed) +
      " steps FAILED");
  co_return kExitFailure;
}

tl::expected<std::shared_ptr<const TlsIdentity>, std::string> make_identity(std::string name) {
  std::vector<std::string> names;
  names.push_back(std::move(name));
  auto id = TlsIdentity::self_signed(std::move(names));
  if (!id) {
    return tl::make_unexpected("cannot make a certificate: " + id.error().message());
  }
  return *id;
}

}  // namespace

int run_demo(std::span<const std::string> args) {
  if (!args.empty()) {
    if (args.front() == "--help" || args.front() == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return kExitOk;
    }
    print_error("demo takes no arguments (got '" + args.front() + "')");
    return kExitUsage;
  }
  Identities ids;
  auto echo = make_identity("echo.demo.quicreuse");
  auto chat = make_identity("chat.demo.quicreuse");
  auto b = make_identity("b.demo.quicreuse");
  if (!echo || !chat || !b) {
    print_error(!echo ? echo.error() : !chat ? chat.error() : b.error());
    return kExitFailure;
  }
  ids.echo = *echo;
  ids.chat = *chat;
  ids.b = *b;
  asio::io_context io;
  return run_to_completion(io, demo_main(std::move(ids)));
}

}  // namespace quicreuse::tool
