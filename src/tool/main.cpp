// quicreuse: the command-line tool (spec: cli.md).
#include "commands.hpp"
#include "line_writer.hpp"
#include "output.hpp"

#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kUsage = R"(usage: quicreuse <command> [options]

QUIC listeners, dialers and non-QUIC traffic sharing one UDP port.

commands:
  listen MULTIADDR...   listen through a connection manager and echo every stream (several
                        ALPNs on one port; optionally answer STUN, dial out, serve metrics)
  dial MULTIADDR        dial through a connection manager, send a message on one stream,
                        check the echo
  perf server MULTIADDR serve the perf/1 throughput and handshake benchmark
  perf client MULTIADDR run the perf/1 benchmark against a perf server
  demo                  run the whole story on loopback in one process

Addresses are multiaddrs: /ip4/127.0.0.1/udp/4001/quic-v1, /ip6/::1/udp/0/quic-v1.
Run 'quicreuse <command> --help' for the options of a command.

exit codes: 0 success, 1 the run failed, 2 bad command line or setup error
)";

int run(int argc, char** argv) {
  using namespace quicreuse::tool;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage.data(), stderr);
    return kExitUsage;
  }
  const std::string command = args.front();
  const std::span<const std::string> rest(args.data() + 1, args.size() - 1);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return kExitOk;
  }
  if (command == "--version") {
    print_line("quicreuse 0.1.0");
    return kExitOk;
  }
  if (command == "listen") {
    return run_listen(rest);
  }
  if (command == "dial") {
    return run_dial(rest);
  }
  if (command == "perf") {
    return run_perf(rest);
  }
  if (command == "demo") {
    return run_demo(rest);
  }
  print_error("unknown command '" + command + "' (see 'quicreuse --help')");
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that goes away must not kill the process: writes then fail with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  const int code = run(argc, argv);
  quicreuse::tool::LineWriter::instance().finish();
  return code;
}
