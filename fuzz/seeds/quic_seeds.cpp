// Seeds from a real exchange between a core::Endpoint client and server (see seeds.hpp).
#include "core/packet_protection.hpp"
#include "core/tls_session.hpp"
#include "seeds.hpp"
#include "support/endpoint_pair.hpp"

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace quicreuse::fuzz {
namespace {

using Bytes = std::vector<std::uint8_t>;

// The ClientHello body the client's GnuTLS session sent last (set by capture_client_hello).
Bytes captured_client_hello;

int capture_client_hello(gnutls_session_t /*session*/, unsigned htype, unsigned /*when*/,
                         unsigned incoming, const gnutls_datum_t* msg) {
  if (htype == GNUTLS_HANDSHAKE_CLIENT_HELLO && incoming == 0 && msg != nullptr) {
    captured_client_hello.assign(msg->data, msg->data + msg->size);
  }
  return 0;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "make_seeds: %s\n", what);
  std::exit(1);
}

// Starts the pair's client with tls (the pair's own context when null) and hooks its TLS session,
// which sends its ClientHello on the next flush.
void connect_and_hook(EndpointPair& pair, std::shared_ptr<const core::ClientTlsContext> tls) {
  if (!pair.connect(std::move(tls))) {
    fail("connect failed");
  }
  core::Connection* conn = pair.connection(Side::client);
  auto* session = static_cast<gnutls_session_t>(ngtcp2_conn_get_tls_native_handle(conn->native()));
  gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST,
                                     capture_client_hello);
}

// The classifier harness reads its first byte as the short-header DCID length (the endpoints'
// default, 16).
Bytes classifier_input(const Bytes& datagram) {
  Bytes input{16};
  input.insert(input.end(), datagram.begin(), datagram.end());
  return input;
}

// Returns the file name of a packet seed. The fuzz build's packet protection is transparent
// (core/packet_protection.hpp): its packets are named apart from really protected ones.
std::string packet_seed(const char* name) {
  return core::kTransparentPacketProtection ? std::string(name) + "-transparent" : name;
}

}  // namespace

void write_quic_seeds(const std::filesystem::path& corpus) {
  // A full exchange: handshake, then one stream with a few bytes, recorded as delivered.
  std::vector<Datagram> to_server;
  std::vector<Datagram> to_client;
  {
    EndpointPair pair;
    pair.tap = [&](Side to, const Datagram& d) {
      (to == Side::server ? to_server : to_client).push_back(d);
    };
    connect_and_hook(pair, nullptr);
    if (!pair.complete_handshake()) {
      fail("no handshake");
    }
    core::Connection* client = pair.connection(Side::client);
    const auto stream = client->open_stream(true);
    const std::uint8_t hello[] = {'h', 'e', 'l', 'l', 'o'};
    if (!stream || !client->write_stream(*stream, hello, true)) {
      fail("no stream");
    }
    pair.exchange([] { return false; }, 20);
  }
  if (captured_client_hello.empty() || to_server.empty() || to_client.empty()) {
    fail("nothing captured");
  }
  write_seed(corpus, "client_hello", "gnutls-quic-client-hello", captured_client_hello);
  write_seed(corpus, "datagram_classifier", packet_seed("quic-client-initial"),
             classifier_input(to_server.front().bytes));
  write_seed(corpus, "datagram_classifier", packet_seed("quic-server-initial-handshake"),
             classifier_input(to_client.front().bytes));
  for (const Datagram& d : to_server) {
    if ((d.bytes.front() & 0x80) == 0) {
      write_seed(corpus, "datagram_classifier", packet_seed("quic-client-1rtt"),
                 classifier_input(d.bytes));
      break;
    }
  }

  // Another client configuration: three ALPNs and a server name.
  {
    TlsClientConfig config;
    config.alpns = {"libp2p", "h3", "echo/1"};
    config.server_name = "peer.example";
    config.insecure_skip_verify = true;
    auto context = core::make_client_tls_context(config);
    if (!context) {
      fail("no client TLS context");
    }
    captured_client_hello.clear();
    EndpointPair pair(7);
    connect_and_hook(pair, *context);
    pair.flush();
    if (captured_client_hello.empty()) {
      fail("no second ClientHello");
    }
    write_seed(corpus, "client_hello", "gnutls-quic-client-hello-3-alpns-sni",
               captured_client_hello);
  }

  // A long header of an unknown version, as a client probing for Version Negotiation sends it.
  Bytes probe = {0xc3, 0x1a, 0x2a, 0x3a, 0x4a, 8, 1, 2, 3, 4, 5, 6, 7, 8, 4, 9, 9, 9, 9};
  probe.resize(1200, 0);
  write_seed(corpus, "datagram_classifier", "quic-unknown-version", classifier_input(probe));
}

}  // namespace quicreuse::fuzz
