#include "common.hpp"

#include "output.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <pthread.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <csignal>
#include <exception>
#include <random>
#include <span>

namespace quicreuse::tool {

void block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_to_completion(asio::io_context& io, asio::awaitable<int> main) {
  std::optional<int> code;
  asio::co_spawn(io, std::move(main), [&code, &io](const std::exception_ptr& error, int rc) {
    code = rc;
    if (error) {
      code = kExitFailure;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        print_error(std::string("internal error: ") + e.what());
      } catch (...) {
        print_error("internal error");
      }
    }
    io.stop();
  });
  io.run();
  // Let the loops of closed endpoints see their cancellation, then drop whatever is left.
  io.restart();
  for (int i = 0; i < 1000 && io.poll() > 0; ++i) {
  }
  return code.value_or(kExitFailure);
}

asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

std::chrono::steady_clock::duration to_duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

std::string format_seconds(double seconds) {
  if (seconds == std::floor(seconds)) {
    return format_fixed(seconds, 0);
  }
  std::string s = format_fixed(seconds, 3);
  while (s.back() == '0') {
    s.pop_back();
  }
  return s;
}

ConnManager::Key random_key() {
  std::random_device random;
  ConnManager::Key key{};
  for (std::size_t i = 0; i < key.size(); i += 4) {
    const std::uint32_t v = random();
    for (std::size_t j = 0; j < 4 && i + j < key.size(); ++j) {
      key[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  }
  return key;
}

tl::expected<std::shared_ptr<ConnManager>, std::string> make_manager(
    const asio::any_io_executor& executor, const std::optional<std::string>& qlog_dir) {
  std::vector<ConnManagerOption> opts;
  opts.push_back(options::enable_metrics());
  if (qlog_dir) {
    opts.push_back(options::qlog_dir(std::filesystem::path(*qlog_dir)));
  }
  auto cm = ConnManager::create(executor, random_key(), random_key(), opts);
  if (!cm) {
    return tl::make_unexpected("cannot create the connection manager: " +
                               manager_reason(cm.error()));
  }
  return *cm;
}

std::string manager_reason(std::error_code ec) {
  const std::string& why = ConnManager::last_error();
  return why.empty() ? ec.message() : why;
}

Result<std::shared_ptr<Endpoint>> EndpointSet::bind(const asio::any_io_executor& executor,
                                                    const asio::ip::udp::endpoint& local,
                                                    const EndpointConfig& config) {
  auto ep = Endpoint::bind(executor, local, config);
  if (!ep) {
    return fail(ep.error());
  }
  all_.push_back(std::make_shared<Endpoint>(std::move(*ep)));
  return all_.back();
}

void EndpointSet::close_all() {
  for (auto& ep : all_) {
    ep->close();
  }
}

EndpointConfig endpoint_config(const std::optional<std::string>& qlog_dir) {
  EndpointConfig config;
  if (qlog_dir) {
    config.qlog_dir = std::filesystem::path(*qlog_dir);
  }
  return config;
}

std::optional<std::string> prepare_qlog_dir(const std::optional<std::string>& qlog_dir) {
  if (!qlog_dir) {
    return std::nullopt;
  }
  std::error_code ec;
  std::filesystem::create_directories(*qlog_dir, ec);
  if (ec || !std::filesystem::is_directory(*qlog_dir)) {
    return "cannot use qlog directory '" + *qlog_dir +
           "': " + (ec ? ec.message() : std::string("not a directory"));
  }
  return std::nullopt;
}

tl::expected<std::shared_ptr<const TlsIdentity>, std::string> load_identity(
    const std::optional<std::string>& cert, const std::optional<std::string>& key) {
  if (cert.has_value() != key.has_value()) {
    return tl::make_unexpected(std::string("--cert and --key must be given together"));
  }
  if (!cert) {
    std::vector<std::string> names;
    names.emplace_back("localhost");
    auto identity = TlsIdentity::self_signed(std::move(names));
    if (!identity) {
      return tl::make_unexpected("cannot make a self-signed certificate: " +
                                 identity.error().message());
    }
    return *identity;
  }
  for (const auto* path : {&*cert, &*key}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*path, ec)) {
      return tl::make_unexpected("cannot read '" + *path +
                                 "': " + (ec ? ec.message() : std::string("no such file")));
    }
  }
  auto identity = TlsIdentity::from_files(*cert, *key);
  if (!identity) {
    return tl::make_unexpected("cannot load certificate '" + *cert + "' and key '" + *key +
                               "': " + identity.error().message());
  }
  return *identity;
}

namespace {

constexpr std::array<CipherSuite, 4> kAllSuites{
    CipherSuite::aes_128_gcm_sha256,
    CipherSuite::aes_256_gcm_sha384,
    CipherSuite::chacha20_poly1305_sha256,
    CipherSuite::aes_128_ccm_sha256,
};

std::string suite_list(std::span<const CipherSuite> suites) {
  std::string out;
  for (const auto suite : suites) {
    out += out.empty() ? "" : ", ";
    out += to_string(suite);
  }
  return out;
}

}  // namespace

tl::expected<std::vector<CipherSuite>, std::string> parse_cipher_suites_option(
    const std::optional<std::string>& text) {
  std::vector<CipherSuite> suites;
  if (!text) {
    return suites;
  }
  std::string_view rest(*text);
  for (;;) {
    const auto comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    auto suite = parse_cipher_suite(name);
    if (!suite) {
      return tl::make_unexpected(
          "bad --cipher-suites '" + std::string(name) +
          "' (accepted, comma-separated, any case, TLS_ optional: " + suite_list(kAllSuites) + ")");
    }
    if (std::find(suites.begin(), suites.end(), *suite) != suites.end()) {
      return tl::make_unexpected("--cipher-suites names " + std::string(to_string(*suite)) +
                                 " more than once");
    }
    suites.push_back(*suite);
    if (comma == std::string_view::npos) {
      return suites;
    }
    rest.remove_prefix(comma + 1);
  }
}

std::string cipher_name(const Connection& conn) {
  const auto suite = conn.cipher_suite();
  return suite ? std::string(to_string(*suite)) : std::string("unknown");
}

TlsClientConfig client_tls(const asio::ip::udp::endpoint& remote, std::vector<std::string> alpns,
                           const ClientTlsOptions& options) {
  TlsClientConfig config;
  config.alpns = std::move(alpns);
  if (options.server_name) {
    config.server_name = *options.server_name;
  } else if (remote.address().is_loopback()) {
    config.server_name = "localhost";
  } else {
    config.server_name = remote.address().to_string();
  }
  config.insecure_skip_verify = options.insecure;
  if (!options.insecure && options.ca_file) {
    config.ca_file = *options.ca_file;
  }
  config.cipher_suites = options.cipher_suites;
  return config;
}

std::string describe_dial_error(std::error_code ec, const ClientTlsOptions& options) {
  std::string what = ec.message();
  constexpr int kHandshakeFailure = 0x128;  // CRYPTO_ERROR carrying TLS alert 40
  if (!options.cipher_suites.empty() && ec.category() == transport_error_category() &&
      ec.value() == kHandshakeFailure) {
    return what + " (a server that accepts none of the offered cipher suites answers so; " +
           "--cipher-suites offered " + suite_list(options.cipher_suites) + ")";
  }
  const bool system_trust = !options.insecure && !options.ca_file;
  const bool certificate_problem =
      ec == make_error_code(errc::certificate_rejected) || (ec.category() == gnutls_category()) ||
      (ec.category() == transport_error_category() && ec.value() >= 0x100 && ec.value() <= 0x1ff &&
       ec.value() != 0x178);
  if (system_trust && certificate_problem) {
    what +=
        " (the server certificate was verified against the system trust store, which rejects "
        "self-signed certificates: pass --ca PEM to trust it, or --insecure)";
  } else if (options.ca_file && certificate_problem) {
    what += " (the server certificate was verified with --ca " + *options.ca_file + ")";
  }
  return what;
}

std::string with_close_reason(std::string what, const Connection& conn) {
  const CloseInfo info = conn.close_info();
  if (info.kind == CloseInfo::Kind::none || !info.error) {
    return what;
  }
  const std::string reason = info.error.message();
  if (what.find(reason) == std::string::npos) {
    what += " (connection: " + reason + ")";
  }
  return what;
}

asio::ip::udp::endpoint any_address_like(const asio::ip::udp::endpoint& remote) {
  if (remote.address().is_v6()) {
    return {asio::ip::address_v6::any(), 0};
  }
  return {asio::ip::address_v4::any(), 0};
}

std::vector<std::uint8_t> pseudo_random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t v = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) {
      out[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  }
  return out;
}

}  // namespace quicreuse::tool
