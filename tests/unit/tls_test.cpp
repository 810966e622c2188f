// TLS helpers: identities, ClientHello and EncryptedExtensions parsing.
#include "core/handshake_messages.hpp"
#include "core/tls_session.hpp"

#include <quicreuse/tls.hpp>

#include <gtest/gtest.h>

namespace quicreuse::core {
namespace {

// Builds a ClientHello body (no handshake header) with the given extensions.
std::vector<std::uint8_t> client_hello(
    const std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>>& exts) {
  std::vector<std::uint8_t> b = {0x03, 0x03};
  b.resize(b.size() + 32, 0x11);          // random
  b.push_back(0);                         // session id
  b.insert(b.end(), {0, 2, 0x13, 0x01});  // cipher suites
  b.insert(b.end(), {1, 0});              // compression methods
  std::vector<std::uint8_t> e;
  for (const auto& [type, data] : exts) {
    e.push_back(static_cast<std::uint8_t>(type >> 8));
    e.push_back(static_cast<std::uint8_t>(type));
    e.push_back(static_cast<std::uint8_t>(data.size() >> 8));
    e.push_back(static_cast<std::uint8_t>(data.size()));
    e.insert(e.end(), data.begin(), data.end());
  }
  b.push_back(static_cast<std::uint8_t>(e.size() >> 8));
  b.push_back(static_cast<std::uint8_t>(e.size()));
  b.insert(b.end(), e.begin(), e.end());
  return b;
}

std::vector<std::uint8_t> alpn_ext(const std::vector<std::string>& names) {
  std::vector<std::uint8_t> list;
  for (const auto& n : names) {
    list.push_back(static_cast<std::uint8_t>(n.size()));
    list.insert(list.end(), n.begin(), n.end());
  }
  std::vector<std::uint8_t> out = {static_cast<std::uint8_t>(list.size() >> 8),
                                   static_cast<std::uint8_t>(list.size())};
  out.insert(out.end(), list.begin(), list.end());
  return out;
}

std::vector<std::uint8_t> sni_ext(const std::string& name) {
  std::vector<std::uint8_t> entry = {0, static_cast<std::uint8_t>(name.size() >> 8),
                                     static_cast<std::uint8_t>(name.size())};
  entry.insert(entry.end(), name.begin(), name.end());
  std::vector<std::uint8_t> out = {static_cast<std::uint8_t>(entry.size() >> 8),
                                   static_cast<std::uint8_t>(entry.size())};
  out.insert(out.end(), entry.begin(), entry.end());
  return out;
}

TEST(ClientHello, OfferedAlpnsInClientOrderAndSni) {
  const auto hello =
      client_hello({{0, sni_ext("example.com")}, {16, alpn_ext({"h3", "libp2p", "echo/1"})}});
  const ClientHelloInfo info = parse_client_hello(hello);
  EXPECT_EQ(info.alpns, (std::vector<std::string>{"h3", "libp2p", "echo/1"}));
  EXPECT_EQ(info.server_name, "example.com");
}

TEST(ClientHello, MissingAndMalformedInputGiveNothing) {
  EXPECT_TRUE(parse_client_hello(client_hello({})).alpns.empty());
  auto bad_alpn = alpn_ext({"h3"});
  bad_alpn[2] = 50;  // name length past the end
  EXPECT_TRUE(parse_client_hello(client_hello({{16, bad_alpn}})).alpns.empty());
  auto hello = client_hello({{16, alpn_ext({"h3"})}});
  for (std::size_t cut = 0; cut < hello.size(); ++cut) {
    // Any truncation is handled without reading past the end (ASan checks this).
    (void)parse_client_hello(std::span(hello).first(cut));
  }
  EXPECT_TRUE(parse_client_hello({}).alpns.empty());
}

TEST(ClientHello, TellsWhetherQuicTransportParametersArePresent) {
  const auto with_tp = parse_client_hello_message(
      client_hello({{16, alpn_ext({"h3"})}, {kQuicTransportParametersExtension, {0x01, 0x00}}}));
  EXPECT_TRUE(with_tp.well_formed);
  EXPECT_TRUE(with_tp.has_quic_transport_parameters);
  const auto without = parse_client_hello_message(client_hello({{16, alpn_ext({"h3"})}}));
  EXPECT_TRUE(without.well_formed);
  EXPECT_FALSE(without.has_quic_transport_parameters);
  // The draft codepoint (0xffa5) is not RFC 9001's.
  EXPECT_FALSE(
      parse_client_hello_message(client_hello({{0xffa5, {}}})).has_quic_transport_parameters);
  // Truncated anywhere, or with bytes after the extensions: not well formed.
  auto hello = client_hello({{kQuicTransportParametersExtension, {}}});
  for (std::size_t cut = 0; cut < hello.size(); ++cut) {
    EXPECT_FALSE(parse_client_hello_message(std::span(hello).first(cut)).well_formed) << cut;
  }
  hello.push_back(0);
  EXPECT_FALSE(parse_client_hello_message(hello).well_formed);
}

TEST(EncryptedExtensions, TellsWhetherQuicTransportParametersArePresent) {
  // extensions<2>: ALPN "h3", then transport parameters (2 bytes).
  const std::vector<std::uint8_t> ee = {0, 15, 0, 16, 0, 5, 0, 3, 2, 'h', '3', 0, 0x39, 0, 2, 1, 0};
  EXPECT_TRUE(parse_encrypted_extensions(ee).well_formed);
  EXPECT_TRUE(parse_encrypted_extensions(ee).has_quic_transport_parameters);
  const std::vector<std::uint8_t> no_tp = {0, 9, 0, 16, 0, 5, 0, 3, 2, 'h', '3'};
  EXPECT_TRUE(parse_encrypted_extensions(no_tp).well_formed);
  EXPECT_FALSE(parse_encrypted_extensions(no_tp).has_quic_transport_parameters);
  EXPECT_TRUE(parse_encrypted_extensions(std::vector<std::uint8_t>{0, 0}).well_formed);
  for (std::size_t cut = 0; cut < ee.size(); ++cut) {
    EXPECT_FALSE(parse_encrypted_extensions(std::span(ee).first(cut)).well_formed) << cut;
  }
}

TEST(TlsIdentity, SelfSignedHasPemAndDer) {
  auto id = TlsIdentity::self_signed({"localhost", "example.org"});
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_NE((*id)->certificate_pem().find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_GT((*id)->leaf_der().size(), 100u);
  EXPECT_FALSE(TlsIdentity::self_signed({}).has_value());
}

TEST(TlsIdentity, BadPemAndMissingFilesAreErrors) {
  auto bad = TlsIdentity::from_pem("not a certificate", "not a key");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().category(), gnutls_category());
  auto missing = TlsIdentity::from_files("/nonexistent/cert.pem", "/nonexistent/key.pem");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), make_error_code(errc::tls_configuration));
}

TEST(TlsClientContext, RejectsEmptyOrOversizedAlpns) {
  TlsClientConfig config;
  config.insecure_skip_verify = true;
  EXPECT_EQ(make_client_tls_context(config).error(), make_error_code(errc::invalid_argument));
  config.alpns = {std::string(256, 'a')};
  EXPECT_EQ(make_client_tls_context(config).error(), make_error_code(errc::invalid_argument));
  config.alpns = {"h3"};
  EXPECT_TRUE(make_client_tls_context(config));
  config.insecure_skip_verify = false;
  config.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(make_client_tls_context(config));
}

}  // namespace
}  // namespace quicreuse::core
