// Pieces shared by the subcommands: the event loop runner, timeouts, the connection manager,
// endpoint sets and TLS configuration from command-line options.
#pragma once

#include <quicreuse/conn_manager.hpp>
#include <quicreuse/endpoint.hpp>
#include <quicreuse/tls.hpp>

#include <asio/awaitable.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quicreuse::tool {

// Runs main on io (one thread) until it completes; returns its exit code (1 if it threw, with
// the exception printed). Work left behind by main (closed endpoints unwinding) is drained
// briefly, then dropped.
int run_to_completion(asio::io_context& io, asio::awaitable<int> main);

// Blocks SIGINT and SIGTERM for the rest of the process. Called once a termination signal has
// been received: a second signal (a supervisor often signals the whole process group, and
// `timeout` forwards what it gets) would otherwise kill the process with the default action
// while the signal_set is being torn down, turning a clean exit 0 into 143.
void block_termination_signals();

// Waits for duration (completes early only when cancelled).
asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration duration);

// Runs op with a deadline: its result, or nullopt when duration passed first (op is cancelled
// and its cancellation awaited).
template <class T>
asio::awaitable<std::optional<T>> with_timeout(asio::awaitable<T> op,
                                               std::chrono::steady_clock::duration duration) {
  using namespace asio::experimental::awaitable_operators;
  auto result = co_await (std::move(op) || sleep_for(duration));
  if (result.index() == 0) {
    co_return std::optional<T>(std::move(std::get<0>(result)));
  }
  co_return std::nullopt;
}

// Converts seconds from the command line to a steady_clock duration.
std::chrono::steady_clock::duration to_duration(double seconds);
// Formats seconds as given on the command line would read ("10", "0.5").
std::string format_seconds(double seconds);

// Returns 32 random bytes from std::random_device (the per-process manager keys).
ConnManager::Key random_key();

// Creates the ConnManager of one command: fresh random stateless-reset and token keys, metrics
// on, qlog to qlog_dir when given (else $QLOGDIR, as the library does). Errors: one line.
tl::expected<std::shared_ptr<ConnManager>, std::string> make_manager(
    const asio::any_io_executor& executor, const std::optional<std::string>& qlog_dir);

// Returns the manager's explanation of the failure that just happened on this thread
// (ConnManager::last_error()), or ec's message when it has none. Only for calls that always set
// it when they fail (listen_quic, shared_non_quic_packet_conn).
std::string manager_reason(std::error_code ec);

// EndpointSet owns the bare endpoints of one command (perf, and the demo's plain client);
// destroying it (or close_all) closes them all, so that an error path never leaves a port bound.
// Endpoints are shared so that detached coroutines (accept loops, STUN responders) can hold them
// safely.
class EndpointSet {
 public:
  EndpointSet() = default;
  EndpointSet(const EndpointSet&) = delete;
  EndpointSet& operator=(const EndpointSet&) = delete;
  EndpointSet(EndpointSet&&) = delete;
  EndpointSet& operator=(EndpointSet&&) = delete;
  ~EndpointSet() { close_all(); }

  // Binds an endpoint on local and keeps it. Errors: the bind's error.
  Result<std::shared_ptr<Endpoint>> bind(const asio::any_io_executor& executor,
                                         const asio::ip::udp::endpoint& local,
                                         const EndpointConfig& config);
  [[nodiscard]] const std::vector<std::shared_ptr<Endpoint>>& endpoints() const { return all_; }
  void close_all();

 private:
  std::vector<std::shared_ptr<Endpoint>> all_;
};

// Returns an EndpointConfig with qlog output to qlog_dir when given (else $QLOGDIR, as the
// library does).
EndpointConfig endpoint_config(const std::optional<std::string>& qlog_dir);
// Creates the qlog directory; an error message when it cannot be created.
std::optional<std::string> prepare_qlog_dir(const std::optional<std::string>& qlog_dir);

// Loads --cert/--key, or makes a self-signed identity for "localhost" when both are absent.
// Errors are one-line messages.
tl::expected<std::shared_ptr<const TlsIdentity>, std::string> load_identity(
    const std::optional<std::string>& cert, const std::optional<std::string>& key);

// ClientTlsOptions are the client TLS options shared by dial, listen --dial and perf client.
struct ClientTlsOptions {
  bool insecure = false;
  std::optional<std::string> ca_file;
  std::optional<std::string> server_name;
  std::vector<CipherSuite> cipher_suites;  // offered, in this order; empty: every suite
};

// Parses the value of --cipher-suites: comma-separated TLS 1.3 suite names as parse_cipher_suite
// takes them (any case, "TLS_" optional), each at most once. Absent: empty (every suite).
// Errors are one line naming the bad name and the accepted ones.
tl::expected<std::vector<CipherSuite>, std::string> parse_cipher_suites_option(
    const std::optional<std::string>& text);

// Returns the IANA name of the suite conn negotiated, "unknown" when it has none.
std::string cipher_name(const Connection& conn);

// Builds a client TLS configuration for a dial to remote. server_name defaults to "localhost"
// for loopback addresses, else the IP address text.
TlsClientConfig client_tls(const asio::ip::udp::endpoint& remote, std::vector<std::string> alpns,
                           const ClientTlsOptions& options);

// Returns a one-line description of a dial failure; adds a hint when the certificate was checked
// against the system trust store, or when a handshake_failure answered a restricted cipher suite
// offer.
std::string describe_dial_error(std::error_code ec, const ClientTlsOptions& options);

// Returns what, followed by how conn ended when it is closed and what does not already say it.
std::string with_close_reason(std::string what, const Connection& conn);

// Returns the unspecified address (0.0.0.0:0 or [::]:0) of remote's family.
asio::ip::udp::endpoint any_address_like(const asio::ip::udp::endpoint& remote);

// Returns n pseudo-random bytes (deterministic for a seed).
std::vector<std::uint8_t> pseudo_random_bytes(std::size_t n, std::uint64_t seed);

}  // namespace quicreuse::tool
